//! The only place that orders the stages for one message:
//! parse -> guard -> classify (pure, may run in parallel: [`Pipeline::prepare`]),
//! then, inside the store transaction, duplicate check -> thread -> decide ->
//! write ticket, message and outbox rows ([`Pipeline::commit`]).
//!
//! Each message is all-or-nothing (a savepoint inside the batch
//! transaction); a message whose rows cannot be written is quarantined raw
//! with the reason instead, so nothing is lost.

use crate::classify::{self, Classification};
use crate::clock::Clock;
use crate::decide::{self, Action, Decision, TicketContext};
use crate::guard::{self, Verdict};
use crate::intake::RawMessage;
use crate::parse::{self, ParseNote, ParsedEmail};
use crate::rules::RuleSet;
use crate::store::messages::{NewMessage, StoredBodyRef};
use crate::store::tickets::{NewTicket, TicketUpdate};
use crate::store::{messages, tickets, ts, Store, StoreError};
use crate::thread::{self, TicketRef};
use crate::ticket::{MessageId, TicketId, TicketState};
use rusqlite::Connection;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("cannot store message")]
    Store(#[from] StoreError),
    /// A bug met this message. It is quarantined with this reason, so a
    /// restart does not meet it again and the mails behind it flow.
    #[error("processing panicked: {0}")]
    Panicked(String),
}

impl PipelineError {
    pub fn is_transient(&self) -> bool {
        match self {
            PipelineError::Store(e) => e.is_transient(),
            PipelineError::Panicked(_) => false,
        }
    }
}

/// What happened to one message.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Started a new ticket.
    NewTicket {
        ticket: TicketId,
        message: MessageId,
        action: Action,
    },
    /// Joined an existing ticket.
    FollowUp {
        ticket: TicketId,
        message: MessageId,
        action: Action,
    },
    /// Stored without a ticket (machine mail that answers nothing of ours).
    Recorded { message: MessageId, action: Action },
    /// Already stored (same Message-ID and content): nothing changed.
    Duplicate { message: MessageId },
    /// Could not be stored as a message; kept raw in quarantine.
    Quarantined { quarantine: i64, reason: String },
}

/// A message parsed and classified, ready to commit.
#[derive(Debug)]
pub struct Prepared {
    pub raw: RawMessage,
    pub email: ParsedEmail,
    pub verdict: Verdict,
    pub classification: Classification,
    /// Set when the message is over the size limit: its size.
    pub oversize: Option<u64>,
    /// The stored view of the body ([`messages::StoredBody`]) as JSON,
    /// made here so the store thread only writes it.
    pub body_json: String,
    /// Set when preparing panicked: the message is quarantined with it.
    pub failure: Option<String>,
}

/// Everything the stages need besides the store.
#[derive(Debug, Clone)]
pub struct Pipeline {
    pub rules: Arc<RuleSet>,
    pub clock: Clock,
    /// The project this intake is bound to (a daemon mailbox's `project`):
    /// it wins over routing by recipient. `None`: the rules route.
    pub bound_project: Option<String>,
    pub max_message_bytes: u64,
    /// Templates and limits for the replies a decision causes (issue 5).
    pub replies: Arc<crate::reply::Planner>,
}

impl Pipeline {
    /// The context-free, CPU-bound part: parse, guard, classify. Pure.
    /// Never panics: a panic while preparing one message marks that
    /// message for quarantine ([`Prepared::failure`]).
    pub fn prepare(&self, raw: RawMessage) -> Prepared {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.prepare_inner(&raw))) {
            Ok(mut p) => {
                p.raw = raw;
                p
            }
            Err(payload) => {
                let reason = crate::fault::panic_text(&*payload);
                tracing::error!(source = %raw.source, reason = %reason, "preparing a message panicked: it is quarantined");
                Self::failed(raw, reason)
            }
        }
    }

    /// A message that is not prepared but quarantined raw with `reason`
    /// when committed.
    pub fn failed(raw: RawMessage, reason: String) -> Prepared {
        Prepared {
            email: ParsedEmail {
                content_hash: parse::content_hash(&raw.bytes),
                ..ParsedEmail::default()
            },
            raw,
            verdict: Verdict::Human,
            classification: Classification::default(),
            oversize: None,
            body_json: String::new(),
            failure: Some(reason),
        }
    }

    fn prepare_inner(&self, raw: &RawMessage) -> Prepared {
        crate::fault::maybe_panic(crate::fault::Stage::Prepare, &raw.bytes);
        let size = raw.bytes.len() as u64;
        let oversize = (size > self.max_message_bytes).then_some(size);
        let mut email = match oversize {
            // Only the header block: the body may be anything and huge.
            Some(_) => {
                let mut e = parse::parse(header_block(&raw.bytes));
                e.size = raw.bytes.len();
                e.content_hash = parse::content_hash(&raw.bytes);
                e
            }
            None => parse::parse(&raw.bytes),
        };
        if let Some(size) = oversize {
            email.notes.push(ParseNote::with(
                "oversize",
                format!(
                    "{size} bytes, over the limit of {} bytes",
                    self.max_message_bytes
                ),
            ));
        }
        let mut classification = classify::classify(&email, &self.rules);
        let mut verdict = classify::spam::screen(
            guard::check_with(&email, &self.rules, &self.replies.trust),
            &classification.spam,
            &self.rules,
        );
        classify::ask_second_opinion(&email, &mut verdict, &self.rules, &mut classification);
        let body_json = body_json(&email);
        Prepared {
            // Filled in by `prepare`, which owns the bytes.
            raw: RawMessage {
                source: String::new(),
                mailbox: None,
                bytes: Vec::new(),
            },
            email,
            verdict,
            classification,
            oversize,
            body_json,
            failure: None,
        }
    }

    /// Prepare a batch on all cores (this thread one of them), keeping
    /// order; threads claim small chunks, so one that is preempted holds up
    /// the batch by a chunk at most.
    pub fn prepare_all(&self, batch: Vec<RawMessage>) -> Vec<Prepared> {
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8);
        if batch.len() < 16 || workers < 2 {
            return batch.into_iter().map(|r| self.prepare(r)).collect();
        }
        let job = crate::work::Job::new(batch);
        let prepare = |r: RawMessage| self.prepare(r);
        std::thread::scope(|s| {
            for _ in 1..workers {
                s.spawn(|| job.help(prepare));
            }
            job.finish(prepare)
        })
    }

    /// Parse, classify and store a batch in one transaction.
    pub fn process_batch(
        &self,
        store: &mut Store,
        batch: Vec<RawMessage>,
    ) -> Result<Vec<Outcome>, PipelineError> {
        let prepared = self.prepare_all(batch);
        self.commit_all(store, &prepared, |_| Ok(()))
    }

    /// Store prepared messages in one transaction, together with what
    /// `with` writes (a mailbox cursor). Each message stays all-or-nothing:
    /// the batch is first tried without a savepoint per message (dropping
    /// them cut the store thread's instructions by 8 %); if any message
    /// fails for a reason retrying will not fix, the whole transaction is
    /// rolled back and redone message by message with savepoints,
    /// quarantining the ones that fail.
    pub fn commit_all(
        &self,
        store: &mut Store,
        prepared: &[Prepared],
        with: impl Fn(&Connection) -> Result<(), StoreError>,
    ) -> Result<Vec<Outcome>, PipelineError> {
        type One<'a> = &'a dyn Fn(&Connection, &Prepared) -> Result<Outcome, PipelineError>;
        let mut attempt = |one: One<'_>| {
            store.transaction(|tx| {
                let outcomes = prepared
                    .iter()
                    .map(|p| one(tx, p))
                    .collect::<Result<Vec<_>, _>>()?;
                with(tx)?;
                index_for_search(tx, &outcomes)?;
                Ok::<_, PipelineError>(outcomes)
            })
        };
        match attempt(&|tx, p| self.commit_guarded(tx, p)) {
            Err(e) if !e.is_transient() => {
                tracing::debug!(error = %error_chain(&e), "batch rolled back: storing message by message");
                attempt(&|tx, p| self.commit_savepointed(tx, p))
            }
            other => other,
        }
    }

    /// Store one prepared message inside the caller's transaction. The
    /// message's rows are all-or-nothing; if they cannot be written for a
    /// reason that retrying will not fix, the raw bytes go to quarantine.
    pub fn commit(&self, conn: &Connection, p: &Prepared) -> Result<Outcome, PipelineError> {
        let outcome = self.commit_savepointed(conn, p)?;
        index_for_search(conn, std::slice::from_ref(&outcome))?;
        Ok(outcome)
    }

    /// [`Self::commit`] without adding the message to the search index.
    fn commit_savepointed(
        &self,
        conn: &Connection,
        p: &Prepared,
    ) -> Result<Outcome, PipelineError> {
        // Cached statements: parsing the SQL each time cost the store
        // thread a few microseconds per message.
        conn.prepare_cached("SAVEPOINT msg")
            .and_then(|mut st| st.execute([]))
            .map_err(StoreError::from)?;
        match self.commit_guarded(conn, p) {
            Ok(outcome) => {
                conn.prepare_cached("RELEASE msg")
                    .and_then(|mut st| st.execute([]))
                    .map_err(StoreError::from)?;
                Ok(outcome)
            }
            Err(e) => {
                conn.execute_batch("ROLLBACK TO msg; RELEASE msg")
                    .map_err(StoreError::from)?;
                if e.is_transient() {
                    return Err(e);
                }
                let reason = error_chain(&e);
                let id = quarantine(conn, &p.raw, &reason, &self.clock)?;
                // Said only once it is true: the quarantine row is written.
                tracing::warn!(source = %p.raw.source, reason = %reason, "message quarantined");
                Ok(Outcome::Quarantined {
                    quarantine: id,
                    reason,
                })
            }
        }
    }

    /// [`Self::commit_inner`], with a panic turned into an error that
    /// quarantines the message.
    fn commit_guarded(&self, conn: &Connection, p: &Prepared) -> Result<Outcome, PipelineError> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit_inner(conn, p)))
            .unwrap_or_else(|payload| {
                let reason = crate::fault::panic_text(&*payload);
                tracing::error!(source = %p.raw.source, reason = %reason, "storing a message panicked: it is quarantined");
                Err(PipelineError::Panicked(reason))
            })
    }

    fn commit_inner(&self, conn: &Connection, p: &Prepared) -> Result<Outcome, PipelineError> {
        if let Some(why) = &p.failure {
            return Err(PipelineError::Panicked(why.clone()));
        }
        crate::fault::maybe_panic(crate::fault::Stage::Commit, &p.raw.bytes);
        let email = &p.email;
        let known = messages::known(conn, &email.message_id, &email.content_hash)?;
        if let messages::Known::Same(id) = known {
            return Ok(Outcome::Duplicate { message: id });
        }
        let mut notes = email.notes.clone();
        if !email.message_id_synthesized && known == messages::Known::Reused {
            notes.push(ParseNote::with(
                "message_id_reused",
                "another stored message has this Message-ID with different content",
            ));
        }
        let (located, thread_notes) =
            thread::locate_tagged(conn, email, self.replies.site_tag.as_deref())?;
        // Replies: a bounce of our reply finds its ticket through the DSN.
        let located = crate::reply::bounce::relocate(conn, email, located)?;
        notes.extend(thread_notes);
        let existing = match located {
            TicketRef::Existing { ticket, .. } => tickets::get(conn, ticket)?,
            TicketRef::New => None,
        };
        let ctx = TicketContext {
            follow_up: existing.is_some(),
            project: match (&existing, &self.bound_project) {
                (Some(t), _) => t.project.clone(),
                (None, Some(bound)) => bound.clone(),
                (None, None) => self
                    .rules
                    .project_for(email, p.raw.mailbox.as_deref())
                    .id
                    .clone(),
            },
            ticket_language: existing.as_ref().and_then(|t| t.language.clone()),
            ticket_topic: existing.as_ref().and_then(|t| t.topic.clone()),
            ticket_queue: existing.as_ref().and_then(|t| t.queue.clone()),
        };
        // Refined once: the decision and the stored classification agree.
        let mut class = p.classification.clone();
        classify::refine(&mut class, &ctx, &self.rules);
        let mut decision = match p.oversize {
            Some(size) => decide::oversize(
                &p.verdict,
                &class,
                &ctx,
                &self.rules,
                size,
                self.max_message_bytes,
            ),
            None => decide::decide_with_second_opinion(&p.verdict, &mut class, &ctx, &self.rules),
        };
        let now = self.clock.now();
        if let Verdict::Machine { kind, .. } = &p.verdict {
            if decision.action == Action::Ignore {
                class.topic = Some(kind.clone());
                // Machine mail has no language of a participant.
                class.language = None;
                class.language_source = None;
            }
        }
        let class = &class;
        // Issue 13: IDs, and the tracker's word on rejections and uploads.
        let found = crate::participant::hook::before_ticket(
            &crate::participant::hook::Context {
                rules: &self.rules,
                templates: &self.replies.templates,
                trackers: &self.replies.trackers,
                project: &ctx.project,
                email,
                verdict: &p.verdict,
                topic: class.topic.as_deref(),
                language: class.language.as_deref(),
                follow_up: ctx.follow_up,
                sender: participant(email).as_deref(),
            },
            &mut decision,
        );
        let ticket = match (&existing, decision.action) {
            (Some(t), action) => {
                let state = if action == Action::Ignore {
                    t.state
                } else {
                    t.state.on_follow_up(true)
                };
                let (language, topic) = if p.verdict.is_machine() {
                    (None, None)
                } else {
                    refreshed(t, class, &ctx.project, &self.rules)
                };
                tickets::update(
                    conn,
                    t.id,
                    &TicketUpdate {
                        state,
                        queue: decision.queue.clone().or_else(|| t.queue.clone()),
                        language,
                        topic,
                        at: now,
                    },
                )?;
                Some(t.id)
            }
            (None, Action::Ignore) => None,
            (None, action) => {
                // In a burst the breaker holds back most answers: such a
                // ticket is inserted as the planner will leave it, since
                // changing it after costs an update of every index of
                // `tickets` under the desk-count trigger (14 % of all perf
                // samples of ingesting 10,000 mails that arrive at once).
                let held = action == Action::AutoReply
                    && crate::reply::limits::breaker_open(conn, email, now)?;
                Some(tickets::insert(
                    conn,
                    &NewTicket {
                        project: ctx.project.clone(),
                        state: if action == Action::AutoReply && !held {
                            TicketState::Answered
                        } else {
                            TicketState::Open
                        },
                        queue: if held {
                            decision
                                .queue
                                .clone()
                                .or_else(|| Some(crate::store::outbox::HELD_BACK_QUEUE.into()))
                        } else {
                            decision.queue.clone()
                        },
                        language: class.language.clone(),
                        topic: class.topic.clone(),
                        participant: participant(email),
                        subject: email.subject.clone(),
                        at: now,
                    },
                )?)
            }
        };
        // --- replies (issue 5): plan the reply this decision causes, in this
        // transaction; the loop guard or a limit may hand it to a human.
        let reply = match ticket {
            Some(t) => self.replies.on_decision(
                conn,
                &crate::reply::Decided {
                    ticket: t,
                    project: &ctx.project,
                    email,
                    verdict: &p.verdict,
                    class,
                    decision: &decision,
                    oversize: p.oversize.is_some(),
                    rules: &self.rules,
                    now,
                    found: Some(&found),
                },
            )?,
            None => crate::reply::ReplyOutcome::default(),
        };
        if let Some(why) = &reply.held_back {
            decision.hold_back(why, &self.rules.default_queue);
        }
        // --- end replies
        let details = serde_json::to_string(&Details {
            guard: &p.verdict,
            classification: class,
            decision: &decision,
        })
        .map_err(StoreError::from)?;
        let message = messages::insert(
            conn,
            &NewMessage {
                message_id: &email.message_id,
                content_hash: &email.content_hash,
                ticket,
                source: &p.raw.source,
                received_at: now,
                from: email.from.as_ref().map(|a| a.email.as_str()),
                subject: &email.subject,
                language: class.language.as_deref(),
                topic: class.topic.as_deref(),
                action: decision.action.as_str(),
                reason: &decision.reason,
                notes: &notes,
                body: &p.body_json,
                classification: Some(&details),
                raw: &p.raw.bytes,
            },
        )?;
        if let Some(id) = reply.outbox {
            crate::store::outbox::set_cause(conn, id, message)?;
        }
        if let Some(facts) = crate::reply::bounce::facts(conn, email, ticket)? {
            messages::set_bounce(conn, message, &facts)?;
        }
        if let (Some(t), None) = (ticket, &existing) {
            crate::queue_notice::on_new_ticket(
                conn,
                &self.replies.queue_notices,
                self.replies.site_tag.as_deref(),
                t,
                now,
            )?;
        }
        crate::participant::hook::after_message(
            conn,
            &self.rules,
            &found,
            crate::participant::hook::Stored {
                ticket,
                message,
                new_ticket: existing.is_none(),
                needs_human: matches!(decision.action, Action::Human | Action::Escalate),
            },
            now,
        )?;
        let action = decision.action;
        Ok(match (ticket, existing.is_some()) {
            (Some(ticket), true) => Outcome::FollowUp {
                ticket,
                message,
                action,
            },
            (Some(ticket), false) => Outcome::NewTicket {
                ticket,
                message,
                action,
            },
            (None, _) => Outcome::Recorded { message, action },
        })
    }
}

/// What a participant's follow-up changes in its ticket's classification:
/// a language the ticket lacked; a topic when the ticket had none or only
/// `other` ("Hi, I have a question" first, the question after), or when the
/// follow-up is about something sensitive (an appeal, a deletion request,
/// abuse), which is what the ticket is about from then on. A follow-up
/// whose own topic is uncertain changes no topic.
fn refreshed(
    ticket: &tickets::Ticket,
    class: &Classification,
    project: &str,
    rules: &crate::rules::RuleSet,
) -> (Option<String>, Option<String>) {
    let language = match ticket.language {
        None => class.language.clone(),
        Some(_) => None,
    };
    let topic = match (&class.topic, class.topic_uncertain) {
        (Some(new), false) if ticket.topic.as_ref() != Some(new) => {
            let vague = ticket.topic.as_deref().is_none_or(|t| t == "other");
            (new != "other" && (vague || rules.is_sensitive_topic(project, new)))
                .then(|| new.clone())
        }
        _ => None,
    };
    (language, topic)
}

/// What a message's `classification` column holds.
#[derive(Serialize)]
struct Details<'a> {
    guard: &'a Verdict,
    classification: &'a Classification,
    decision: &'a Decision,
}

fn body_json(email: &ParsedEmail) -> String {
    let body = StoredBodyRef {
        new_text: &email.body.new_text,
        quoted: email.body.quoted.as_deref(),
        signature: email.body.signature.as_deref(),
        forwarded: email.body.forwarded.as_deref(),
        html_only: email.html_only,
        attachments: &email.attachments,
        to: email.to.iter().map(|a| a.email.as_str()).collect(),
        date: email.date,
        delivery_report: email.delivery_report.as_ref(),
    };
    serde_json::to_string(&body).expect("a parsed body always serializes")
}

/// The ticket's participant: Reply-To when it names a person, else From.
pub fn participant(email: &ParsedEmail) -> Option<String> {
    let is_list = email.header("list-id").is_some() || email.header("list-post").is_some();
    match (&email.reply_to, &email.from) {
        (Some(r), _) if !is_list && !r.email.is_empty() => Some(r.email.clone()),
        (_, Some(f)) if !f.email.is_empty() => Some(f.email.clone()),
        _ => None,
    }
}

/// The header block of a message: everything up to the first empty line,
/// at most 1 MiB.
fn header_block(raw: &[u8]) -> &[u8] {
    let limit = raw.len().min(1 << 20);
    let head = &raw[..limit];
    let end = find(head, b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| find(head, b"\n\n").map(|i| i + 2))
        .unwrap_or(limit);
    &raw[..end]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Index the messages a transaction stored, in one statement after its
/// other writes ([`messages::index_for_search`] says why).
fn index_for_search(conn: &Connection, outcomes: &[Outcome]) -> Result<(), StoreError> {
    let ids: Vec<MessageId> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::NewTicket { message, .. }
            | Outcome::FollowUp { message, .. }
            | Outcome::Recorded { message, .. } => Some(*message),
            Outcome::Duplicate { .. } | Outcome::Quarantined { .. } => None,
        })
        .collect();
    messages::index_for_search(conn, &ids)
}

fn quarantine(
    conn: &Connection,
    raw: &RawMessage,
    reason: &str,
    clock: &Clock,
) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO quarantine (source, reason, raw, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(rusqlite::params![
        raw.source,
        reason,
        crate::store::messages::RawColumn(&raw.bytes),
        ts(clock.now())
    ])?;
    let id = conn.last_insert_rowid();
    crate::store::messages::write_streamed(conn, "quarantine", id, &raw.bytes)?;
    Ok(id)
}

/// "outer: inner: innermost", for reasons stored with quarantined mail.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(subject: &str, id: &str) -> RawMessage {
        RawMessage {
            source: format!("test:{id}"),
            mailbox: None,
            bytes: format!(
                "From: Ana <ana@example.test>\r\nTo: support@helpgate.example\r\nSubject: {subject}\r\nMessage-ID: <{id}@example.test>\r\n\r\nWhen will I be paid for last week's recordings?\r\n"
            )
            .into_bytes(),
        }
    }

    fn test_pipeline() -> Pipeline {
        Pipeline {
            rules: Arc::new(RuleSet::builtin()),
            clock: Clock::fixed_unix(1_790_000_000),
            bound_project: None,
            max_message_bytes: 50 << 20,
            replies: Arc::new(crate::reply::Planner::default()),
        }
    }

    #[test]
    fn a_message_that_cannot_be_stored_is_quarantined_and_the_rest_of_its_batch_lands() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        // A store failure no retry fixes, for one message only.
        store
            .conn()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.subject = 'boom'
                 BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;",
            )
            .unwrap();
        let pipeline = test_pipeline();
        let batch = vec![
            mail("Payment", "a"),
            mail("boom", "b"),
            mail("Payment", "c"),
        ];
        let outcomes = pipeline.process_batch(&mut store, batch).unwrap();
        assert!(
            matches!(outcomes[0], Outcome::NewTicket { .. }),
            "{outcomes:?}"
        );
        assert!(
            matches!(&outcomes[1], Outcome::Quarantined { reason, .. } if reason.contains("refused by test trigger")),
            "{outcomes:?}"
        );
        assert!(
            matches!(outcomes[2], Outcome::NewTicket { .. }),
            "{outcomes:?}"
        );
        let count = |sql: &str| -> i64 { store.conn().query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(count("SELECT COUNT(*) FROM messages"), 2);
        // Nothing half-written for the refused message: no ticket of its own.
        assert_eq!(count("SELECT COUNT(*) FROM tickets"), 2);
        assert_eq!(count("SELECT COUNT(*) FROM quarantine"), 1);
        // The search index holds the two stored messages, not the refused one.
        assert_eq!(
            count("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'paid'"),
            2
        );
    }

    #[test]
    fn a_large_mail_is_stored_and_quarantined_byte_for_byte() {
        // Above `STREAM_RAW_ABOVE` the raw mail is written piecewise into
        // a zero blob: what is read back must be the mail, to the byte.
        let big = |subject: &str, id: &str| {
            let mut m = mail(subject, id);
            let line = b"Words of a long letter, line after line, with no end in sight.\r\n";
            while m.bytes.len() <= 3 * crate::store::messages::STREAM_RAW_ABOVE {
                m.bytes.extend_from_slice(line);
            }
            m.bytes.extend_from_slice(b"The last line.\r\n");
            m
        };
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        store
            .conn()
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.subject = 'boom'
                 BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END;",
            )
            .unwrap();
        let (kept, refused) = (big("Payment", "a"), big("boom", "b"));
        let outcomes = test_pipeline()
            .process_batch(&mut store, vec![kept.clone(), refused.clone()])
            .unwrap();
        let Outcome::NewTicket { message, .. } = outcomes[0] else {
            panic!("{outcomes:?}")
        };
        let stored = crate::store::messages::raw(store.conn(), message)
            .unwrap()
            .unwrap();
        assert!(
            stored == kept.bytes,
            "the stored mail differs from the one ingested"
        );
        let Outcome::Quarantined { quarantine, .. } = outcomes[1] else {
            panic!("{outcomes:?}")
        };
        let quarantined: Vec<u8> = store
            .conn()
            .query_row(
                "SELECT raw FROM quarantine WHERE id = ?1",
                [quarantine],
                |r| r.get(0),
            )
            .unwrap();
        assert!(quarantined == refused.bytes, "the quarantined mail differs");
    }

    #[test]
    fn every_stored_message_is_searchable_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_in(dir.path()).unwrap();
        let pipeline = test_pipeline();
        let first = vec![mail("Payment", "a"), mail("Zahlung", "b")];
        pipeline.process_batch(&mut store, first).unwrap();
        // The same message again is a duplicate: no second index entry.
        let again = vec![mail("Zahlung", "b"), mail("Pagamento", "c")];
        let outcomes = pipeline.process_batch(&mut store, again).unwrap();
        assert!(
            matches!(outcomes[0], Outcome::Duplicate { .. }),
            "{outcomes:?}"
        );
        let hits = |q: &str| -> Vec<i64> {
            let mut st = store
                .conn()
                .prepare(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid",
                )
                .unwrap();
            st.query_map([q], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(hits("paid"), vec![1, 2, 3]);
        assert_eq!(hits("zahlung"), vec![2]);
        assert_eq!(hits("pagamento"), vec![3]);
    }
}
