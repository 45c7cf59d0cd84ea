//! Templates and composition of outgoing mail. (Placeholder until the
//! replies issue lands.)
