//! The long-running supervisor: IMAP intake per mailbox, outbox worker,
//! rules reloader. (Placeholder until the daemon issue lands.)
