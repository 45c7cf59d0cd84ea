//! The one integration-test binary. Each module tests one user-visible
//! capability through the real binary or the library, against real files
//! and (where the capability talks to servers) real Dovecot and Postfix.

// Test helpers outside #[test] functions may unwrap: a failure is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

/// Classification and decisions: dev set accuracy and corpus machine mail.
mod classify;
/// Helpers shared by the modules: temp state dirs, running the binary.
mod common;
/// Specialists' corrections: kept, replayed against rules, exported.
mod corrections;
/// `helpgate run` against real servers: IDLE/polling, restarts, TLS, crash test.
mod daemon;
/// Held-out realistic mail set: accuracy report and hard guarantees.
mod e2e_eval;
/// Bounded in-tree fuzzing of parse and compose, seeded from ../shared/corpus.
mod fuzz;
/// Real Dovecot + Postfix on loopback per test (TestEnv / MailStack).
mod harness;
/// Issue 10: hostile mail, injected panics, trust, hijack, store edges.
mod hostile;
/// `ingest`, `tickets`, `messages`, `check-config`: the no-server path.
mod ingest;
/// Every mail of ../shared/corpus is stored and round-trips byte-exact.
mod ingest_corpus;
/// A labelled set outside the repo (HELPGATE_LABELLED): dev/eval scores.
mod labelled_eval;
/// Issue 10, mail as it really arrives: mbox archives, winmail.dat,
/// bounces shown with their address, status and ticket.
mod mail_as_it_arrives;
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
/// Reply trimming measured on public fixtures and hand-written cases.
mod reply_trimming;
/// `helpgate report` in three formats; the HTML in headless Chromium.
mod report;
/// The second opinion: `rules train`, its vote in `rules test` and ingest.
mod second_opinion;
/// Content spam: recorded, never answered or queued; oversize appeals.
mod spam;
/// The web console: real Chromium via WebDriver, CSRF, expiry, throttling.
mod web;
