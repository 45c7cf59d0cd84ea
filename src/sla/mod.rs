//! Service-level clocks: a first-response and a resolution clock per
//! ticket, from the policies in `[sla]`.
//!
//! - [`policy`]: which targets apply (most specific policy wins).
//! - [`hours`]: business hours per project, in its time zone.
//! - [`clock`]: the pure fold of a ticket's history into its clocks, and
//!   where a clock stands at a moment ([`ClockView`]).
//! - [`sync`]: refold the tickets changed since the last pass into the
//!   store's clock columns.
//! - [`due`]: breaches and near breaches, one ticket's clocks.
//! - [`escalate`]: on breach, move the ticket and tell a lead, once.

pub mod clock;
pub mod due;
pub mod escalate;
pub mod hours;
pub mod policy;
pub mod sync;

pub use clock::{ClockState, ClockView, Clocks};
pub use due::{due, view, DueTicket};
pub use policy::{Escalation, Policy, SlaConfig};
pub use sync::sync;

#[cfg(test)]
mod tests;
