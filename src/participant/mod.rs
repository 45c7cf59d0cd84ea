//! Who writes: participant and task IDs found in mail, tickets linked by
//! participant, and the data-protection requests (forget, export).
//!
//! - [`ids`]: per-project ID patterns and extraction (pure).
//! - [`link`]: IDs on messages and tickets, a participant's other tickets,
//!   merges, a specialist's link.
//! - [`hook`]: what the pipeline calls once per message: IDs, merges, and
//!   what the project's tracker says about a rejection or upload question.
//! - [`forget`]: erase a person; [`export`]: everything held about one.

pub mod export;
pub mod forget;
pub mod hook;
pub mod ids;
pub mod link;
