//! The one integration-test binary. Each module tests one user-visible
//! capability through the real binary or the library, against real files
//! and (where the capability talks to servers) real Dovecot and Postfix.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

/// Classification and decisions: dev set accuracy and corpus machine mail.
mod classify;
/// Helpers shared by the modules: temp state dirs, running the binary.
mod common;
/// `helpgate run` against real servers: IDLE/polling, restarts, TLS, crash test.
mod daemon;
/// Held-out realistic mail set: accuracy report and hard guarantees.
mod e2e_eval;
/// Real Dovecot + Postfix on loopback per test (TestEnv / MailStack).
mod harness;
/// `ingest`, `tickets`, `messages`, `check-config`: the no-server path.
mod ingest;
/// Every mail of ../shared/corpus is stored and round-trips byte-exact.
mod ingest_corpus;
/// The harness itself works: delivery, restart, UIDVALIDITY reset.
mod mailstack;
/// The parser against ../shared/corpus: golden files, reply splitting, bounces.
mod parse_corpus;
/// Participant IDs, trackers, forget and export (issue 13).
mod participants;
/// `helpgate quarantine list|show|replay`.
mod quarantine;
/// Replies: templates, outbox via real Postfix, loop guard, specialists.
mod reply;
