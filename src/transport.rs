//! The one seam to lettre's transports: SMTP or files. (Placeholder until
//! the replies issue lands.)
