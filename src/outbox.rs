//! Delivers outbox rows through a [`crate::transport`]. (Placeholder until
//! the replies issue lands.)
