//! What a specialist does to a ticket, shared by the CLI and the web
//! console: claim, assign, move, reclassify, note, close, reopen, merge,
//! reply. Each runs in the caller's transaction, checks the rule set where a
//! value must come from it, and leaves an event saying who did what.

use crate::reply::{self, templates::Templates, SpecialistBody};
use crate::rules::RuleSet;
use crate::store::{events, tickets, ts, StoreError};
use crate::ticket::{TicketId, TicketState};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no ticket with id {0}")]
    NoTicket(i64),
    #[error(
        "[#{ticket}] is claimed by {by}; taking it over must be asked for explicitly (--force)"
    )]
    ClaimedBy { ticket: i64, by: String },
    #[error("unknown topic {found:?}; the rule set has: {known}")]
    UnknownTopic { found: String, known: String },
    #[error("unknown language {found:?}; the rule set has: {known}")]
    UnknownLanguage { found: String, known: String },
    #[error("unknown queue {found:?}; the rule set has: {known}")]
    UnknownQueue { found: String, known: String },
    #[error("tickets [#{0}] and [#{1}] belong to different participants; only one participant's tickets merge")]
    MergeParticipants(i64, i64),
    #[error("cannot merge [#{0}] into itself or into a merged ticket")]
    MergeInvalid(i64),
    #[error("[#{0}] is sensitive: a canned answer needs explicit confirmation")]
    SensitiveNeedsConfirm(i64),
    #[error("give a topic and/or a language")]
    NothingToChange,
    #[error(transparent)]
    Reply(#[from] reply::ReplyError),
}

impl From<rusqlite::Error> for DeskError {
    fn from(e: rusqlite::Error) -> Self {
        DeskError::Store(e.into())
    }
}

pub type DeskResult<T> = Result<T, DeskError>;

fn current(conn: &Connection, id: TicketId) -> DeskResult<tickets::Ticket> {
    tickets::get(conn, id)?.ok_or(DeskError::NoTicket(id.0))
}

fn touch(conn: &Connection, id: TicketId, now: DateTime<Utc>) -> DeskResult<()> {
    conn.execute(
        "UPDATE tickets SET updated_at = ?2 WHERE id = ?1",
        params![id.0, ts(now)],
    )?;
    Ok(())
}

/// How a claim went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    Claimed,
    AlreadyYours,
    TakenOver { from: String },
}

/// Claim `id` for `actor`. Someone else's claim stands unless `take_over`.
pub fn claim(
    conn: &Connection,
    id: TicketId,
    actor: &str,
    take_over: bool,
    now: DateTime<Utc>,
) -> DeskResult<Claimed> {
    let t = current(conn, id)?;
    let outcome = match t.claimed_by {
        Some(ref by) if by == actor => return Ok(Claimed::AlreadyYours),
        Some(ref by) if !take_over => {
            return Err(DeskError::ClaimedBy {
                ticket: id.0,
                by: by.clone(),
            })
        }
        Some(by) => Claimed::TakenOver { from: by },
        None => Claimed::Claimed,
    };
    conn.execute(
        "UPDATE tickets SET claimed_by = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.0, actor, ts(now)],
    )?;
    let (kind, detail) = match &outcome {
        Claimed::TakenOver { from } => ("takeover", format!("taken over from {from} by {actor}")),
        _ => ("claim", format!("claimed by {actor}")),
    };
    events::add(conn, id, now, actor, kind, &detail)?;
    Ok(outcome)
}

/// Assign to a person or team (`None` clears).
pub fn assign(
    conn: &Connection,
    id: TicketId,
    to: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    current(conn, id)?;
    let to = to.map(str::trim).filter(|s| !s.is_empty());
    conn.execute(
        "UPDATE tickets SET assigned_to = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.0, to, ts(now)],
    )?;
    let detail = match to {
        Some(who) => format!("assigned to {who}"),
        None => "assignment cleared".into(),
    };
    events::add(conn, id, now, actor, "assign", &detail)?;
    Ok(())
}

/// The queues a ticket can be in: every queue the rules name.
pub fn queues(rules: &RuleSet) -> Vec<String> {
    let mut q: Vec<String> = rules.queues.keys().cloned().collect();
    for extra in [&rules.default_queue, &rules.sensitive_queue] {
        if !q.contains(extra) {
            q.push(extra.clone());
        }
    }
    q.extend(rules.routes.values().filter_map(|r| r.queue.clone()));
    q.sort();
    q.dedup();
    q
}

/// Check a queue name against the rule set.
pub fn check_queue(rules: &RuleSet, queue: &str) -> DeskResult<()> {
    let known = queues(rules);
    if known.iter().any(|q| q == queue) {
        Ok(())
    } else {
        Err(DeskError::UnknownQueue {
            found: queue.into(),
            known: known.join(", "),
        })
    }
}

/// Check a language code against the rule set.
pub fn check_language(rules: &RuleSet, lang: &str) -> DeskResult<()> {
    if rules.language_index(lang).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = rules.languages.iter().map(|l| l.code.as_str()).collect();
    Err(DeskError::UnknownLanguage {
        found: lang.into(),
        known: known.join(", "),
    })
}

fn check_topic(rules: &RuleSet, topic: &str) -> DeskResult<()> {
    if rules.topics.iter().any(|t| t.id == topic) || rules.routes.contains_key(topic) {
        return Ok(());
    }
    let mut known: Vec<&str> = rules.topics.iter().map(|t| t.id.as_str()).collect();
    known.extend(rules.routes.keys().map(String::as_str));
    known.sort_unstable();
    known.dedup();
    Err(DeskError::UnknownTopic {
        found: topic.into(),
        known: known.join(", "),
    })
}

pub fn move_queue(
    conn: &Connection,
    rules: &RuleSet,
    id: TicketId,
    queue: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    check_queue(rules, queue)?;
    let t = current(conn, id)?;
    conn.execute(
        "UPDATE tickets SET queue = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.0, queue, ts(now)],
    )?;
    let from = t.queue.as_deref().unwrap_or("-");
    events::add(
        conn,
        id,
        now,
        actor,
        "move",
        &format!("queue {from} -> {queue}"),
    )?;
    Ok(())
}

/// Correct topic and/or language. A new topic re-queues the ticket where
/// the rules route that topic; a sensitive topic lands in the restricted
/// queue whatever the route says. Returns the event's text.
pub fn reclassify(
    conn: &Connection,
    rules: &RuleSet,
    id: TicketId,
    topic: Option<&str>,
    language: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<String> {
    if topic.is_none() && language.is_none() {
        return Err(DeskError::NothingToChange);
    }
    if let Some(tp) = topic {
        check_topic(rules, tp)?;
    }
    if let Some(l) = language {
        check_language(rules, l)?;
    }
    let t = current(conn, id)?;
    let queue = match topic {
        Some(tp) if rules.is_sensitive_topic(&t.project, tp) => Some(rules.sensitive_queue.clone()),
        Some(tp) => Some(
            rules
                .route(&t.project, tp)
                .and_then(|r| r.queue.clone())
                .unwrap_or_else(|| rules.default_queue.clone()),
        ),
        None => t.queue.clone(),
    };
    // The correction (ticket topic/language, its event and the labelled
    // case the rules are later replayed against) is one store function,
    // shared with every other way of correcting a ticket.
    let correction = crate::store::corrections::reclassify(
        conn,
        &crate::store::corrections::Reclassification {
            ticket: id,
            topic,
            language,
            action: None,
            actor,
            at: now,
        },
    )?;
    let mut detail = correction.detail();
    if queue != t.queue {
        conn.execute(
            "UPDATE tickets SET queue = ?2 WHERE id = ?1",
            params![id.0, queue],
        )?;
        let moved = format!(
            "queue {} -> {}",
            t.queue.as_deref().unwrap_or("-"),
            queue.as_deref().unwrap_or("-")
        );
        events::add(conn, id, now, actor, "move", &moved)?;
        detail = format!("{detail}, {moved}");
    }
    Ok(detail)
}

pub fn note(
    conn: &Connection,
    id: TicketId,
    text: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    current(conn, id)?;
    events::add(conn, id, now, actor, "note", text)?;
    touch(conn, id, now)
}

/// Close or reopen.
pub fn set_state(
    conn: &Connection,
    id: TicketId,
    state: TicketState,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    current(conn, id)?;
    tickets::set_state(conn, id, state, now)?;
    let kind = if state == TicketState::Closed {
        "close"
    } else {
        "reopen"
    };
    events::add(conn, id, now, actor, kind, &format!("state {state}"))?;
    Ok(())
}

/// Merge `from` into `into`: its messages and replies move over (follow-ups
/// to either thread then land in `into`), `from` is closed and points at it.
pub fn merge(
    conn: &Connection,
    from: TicketId,
    into: TicketId,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    let a = current(conn, from)?;
    let b = current(conn, into)?;
    let merged: Option<Option<i64>> = conn
        .query_row(
            "SELECT merged_into FROM tickets WHERE id = ?1",
            [into.0],
            |r| r.get(0),
        )
        .optional()?;
    if from == into || merged.flatten().is_some() {
        return Err(DeskError::MergeInvalid(from.0));
    }
    let same = match (&a.participant, &b.participant) {
        (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
        _ => false,
    };
    if !same {
        return Err(DeskError::MergeParticipants(from.0, into.0));
    }
    // The move itself is the participant module's, shared with the CLI's
    // `tickets merge` and the automatic merge of concurrent tickets.
    crate::participant::link::merge(conn, from, into, actor, now)?;
    Ok(())
}

/// A reply request from a specialist.
#[derive(Debug, Clone)]
pub struct ReplyRequest {
    pub body: SpecialistBody,
    /// Confirms a canned (template) answer on a sensitive ticket.
    pub confirm_sensitive: bool,
    /// A key the form carried: the same key twice queues one reply
    /// (a double click, a resent form).
    pub once_key: Option<String>,
    /// `[tickets] tag`: the reply's subject carries `[tag #N]`.
    pub site_tag: Option<String>,
}

/// Queue a specialist reply through the outbox. Returns the outbox id, or
/// the id queued earlier under the same `once_key`.
pub fn reply(
    conn: &Connection,
    rules: &RuleSet,
    templates: &Templates,
    id: TicketId,
    req: &ReplyRequest,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<i64> {
    let t = current(conn, id)?;
    let lang = match &req.body {
        SpecialistBody::Template { language, .. } => language.as_deref(),
        SpecialistBody::Edited { language, .. } => Some(language.as_str()),
        SpecialistBody::Text(_) => None,
    };
    if let Some(l) = lang {
        check_language(rules, l)?;
    }
    let canned = !matches!(req.body, SpecialistBody::Text(_));
    let sensitive = t.queue.as_deref() == Some(rules.sensitive_queue.as_str())
        || t.topic
            .as_deref()
            .is_some_and(|tp| rules.is_sensitive_topic(&t.project, tp));
    if canned && sensitive && !req.confirm_sensitive {
        return Err(DeskError::SensitiveNeedsConfirm(id.0));
    }
    if let Some(key) = &req.once_key {
        let earlier: Option<String> = conn
            .query_row(
                "SELECT detail FROM ticket_events WHERE ticket_id = ?1 AND kind = 'reply_key' AND detail LIKE ?2",
                params![id.0, format!("{key} %")],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(d) = earlier {
            if let Some(n) = d.rsplit(' ').next().and_then(|n| n.parse().ok()) {
                return Ok(n);
            }
        }
    }
    let outbox = reply::queue_specialist_reply(
        conn,
        rules,
        templates,
        reply::SpecialistReply {
            ticket: id,
            body: &req.body,
            site_tag: req.site_tag.as_deref(),
        },
        actor,
        now,
    )?;
    if let Some(key) = &req.once_key {
        events::add(
            conn,
            id,
            now,
            actor,
            "reply_key",
            &format!("{key} {outbox}"),
        )?;
    }
    Ok(outbox)
}

/// A restricted ticket was looked at: who and when, in its events.
pub fn record_view(
    conn: &Connection,
    id: TicketId,
    actor: &str,
    now: DateTime<Utc>,
) -> DeskResult<()> {
    events::add(conn, id, now, actor, "view", &format!("viewed by {actor}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tickets::NewTicket;
    use crate::store::Store;

    fn at() -> DateTime<Utc> {
        crate::store::parse_ts("2026-11-23T09:00:00Z").unwrap()
    }

    fn ticket(store: &mut Store, participant: &str, queue: &str, topic: &str) -> TicketId {
        store
            .transaction(|tx| {
                tickets::insert(
                    tx,
                    &NewTicket {
                        project: "default".into(),
                        state: TicketState::Open,
                        queue: Some(queue.into()),
                        language: Some("en".into()),
                        topic: Some(topic.into()),
                        participant: Some(participant.into()),
                        subject: "Hello".into(),
                        at: at(),
                    },
                )
            })
            .unwrap()
    }

    /// A stored mail on `id` (classified `other`).
    fn mail_of(store: &Store, id: TicketId) {
        store
            .conn()
            .execute(
                "INSERT INTO messages (message_id, content_hash, ticket_id, source, received_at, subject, topic, action, reason, notes, parsed, size, raw)
                 VALUES ('m@x', 'h', ?1, 'test', '2026-01-01T00:00:00.000Z', 's', 'other', 'human', 'r', '[]', '{}', 1, x'41')",
                [id.0],
            )
            .unwrap();
    }

    fn kinds(store: &Store, id: TicketId) -> Vec<String> {
        events::for_ticket(store.conn(), id)
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn claim_stands_until_taken_over_explicitly() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let id = ticket(&mut s, "a@example.org", "general", "account");
        let c = |s: &mut Store, who: &str, force: bool| {
            s.transaction(|tx| claim(tx, id, who, force, at()))
        };
        assert_eq!(c(&mut s, "bo", false).unwrap(), Claimed::Claimed);
        assert!(
            matches!(c(&mut s, "ana", false), Err(DeskError::ClaimedBy { by, .. }) if by == "bo")
        );
        assert_eq!(c(&mut s, "bo", false).unwrap(), Claimed::AlreadyYours);
        assert_eq!(
            c(&mut s, "ana", true).unwrap(),
            Claimed::TakenOver { from: "bo".into() }
        );
        assert_eq!(kinds(&s, id), ["claim", "takeover"]);
    }

    #[test]
    fn reclassify_checks_the_rules_and_moves_sensitive_topics() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let rules = RuleSet::builtin();
        let id = ticket(&mut s, "a@example.org", "general", "other");
        // A ticket comes from a mail: the correction is kept against it.
        mail_of(&s, id);
        let r = |s: &mut Store, topic: Option<&str>, lang: Option<&str>| {
            s.transaction(|tx| reclassify(tx, &rules, id, topic, lang, "ana", at()))
        };
        assert!(matches!(
            r(&mut s, Some("gossip"), None),
            Err(DeskError::UnknownTopic { .. })
        ));
        assert!(matches!(
            r(&mut s, None, Some("xx")),
            Err(DeskError::UnknownLanguage { .. })
        ));
        assert!(matches!(
            r(&mut s, None, None),
            Err(DeskError::NothingToChange)
        ));
        r(&mut s, Some("privacy"), Some("de")).unwrap();
        let t = tickets::get(s.conn(), id).unwrap().unwrap();
        assert_eq!(t.queue.as_deref(), Some("sensitive"));
        assert_eq!(t.topic.as_deref(), Some("privacy"));
        assert_eq!(t.language.as_deref(), Some("de"));
        r(&mut s, Some("payment"), None).unwrap();
        let t = tickets::get(s.conn(), id).unwrap().unwrap();
        assert_eq!(t.queue.as_deref(), Some("general"));
        // Each correction is a labelled case for the rules' regression suite.
        let kept = crate::store::corrections::list(s.conn()).unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[1].new_topic.as_deref(), Some("payment"));
        assert!(matches!(
            s.transaction(|tx| move_queue(tx, &rules, id, "nowhere", "ana", at())),
            Err(DeskError::UnknownQueue { .. })
        ));
    }

    /// The counters of migration 7, and the same figures counted from the
    /// tickets themselves.
    fn counters_and_truth(s: &Store) -> (Vec<String>, Vec<String>) {
        let read = |sql: &str| -> Vec<String> {
            let mut st = s.conn().prepare(sql).unwrap();
            st.query_map([], |r| {
                Ok(format!(
                    "{}|{}|{}|{}|{}={}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                    r.get::<_, i64>(5)?
                ))
            })
            .unwrap()
            .map(Result::unwrap)
            .collect()
        };
        (
            read(
                "SELECT queue, state, topic, language, unassigned, n FROM desk_counts
                 WHERE n != 0 ORDER BY 1, 2, 3, 4, 5",
            ),
            read(
                "SELECT COALESCE(queue, ''), state, COALESCE(topic, ''), COALESCE(language, ''),
                    claimed_by IS NULL AND assigned_to IS NULL, COUNT(*)
                 FROM tickets WHERE merged_into IS NULL GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5",
            ),
        )
    }

    #[test]
    fn desk_counters_equal_a_count_after_every_kind_of_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let rules = RuleSet::builtin();
        let a = ticket(&mut s, "p@example.org", "general", "account");
        let b = ticket(&mut s, "p@example.org", "general", "payment");
        let c = ticket(&mut s, "q@example.org", "general", "other");
        let d = ticket(&mut s, "r@example.org", "sensitive", "privacy");
        let bare = s
            .transaction(|tx| {
                tickets::insert(
                    tx,
                    &NewTicket {
                        project: "default".into(),
                        state: TicketState::Recorded,
                        queue: None,
                        language: None,
                        topic: None,
                        participant: None,
                        subject: "no queue".into(),
                        at: at(),
                    },
                )
            })
            .unwrap();
        let mut steps = 0;
        let mut step = |s: &mut Store, what: &str, f: &dyn Fn(&Connection) -> DeskResult<()>| {
            s.transaction(|tx| f(tx)).unwrap();
            let (counters, truth) = counters_and_truth(s);
            assert_eq!(counters, truth, "after {what}");
            steps += 1;
        };
        step(&mut s, "insert", &|_| Ok(()));
        step(&mut s, "claim", &|tx| {
            claim(tx, a, "ana", false, at()).map(|_| ())
        });
        step(&mut s, "take over", &|tx| {
            claim(tx, a, "bo", true, at()).map(|_| ())
        });
        step(&mut s, "assign", &|tx| {
            assign(tx, b, Some("team-x"), "sam", at())
        });
        step(&mut s, "unassign", &|tx| assign(tx, b, None, "sam", at()));
        step(&mut s, "move", &|tx| {
            move_queue(tx, &rules, c, &rules.sensitive_queue, "sam", at())
        });
        step(&mut s, "move back", &|tx| {
            move_queue(tx, &rules, c, &rules.default_queue, "sam", at())
        });
        step(&mut s, "close", &|tx| {
            set_state(tx, d, TicketState::Closed, "sam", at())
        });
        step(&mut s, "reopen", &|tx| {
            set_state(tx, d, TicketState::Open, "sam", at())
        });
        step(&mut s, "ingest update", &|tx| {
            Ok(tickets::update(
                tx,
                c,
                &tickets::TicketUpdate {
                    state: TicketState::Answered,
                    queue: Some("general".into()),
                    language: Some("pt".into()),
                    topic: None,
                    at: at(),
                },
            )?)
        });
        step(&mut s, "update that changes nothing counted", &|tx| {
            touch(tx, c, at())
        });
        step(&mut s, "merge", &|tx| merge(tx, a, b, "sam", at()));
        step(&mut s, "queue and topic of a bare ticket", &|tx| {
            tx.execute(
                "UPDATE tickets SET queue = 'general', topic = 'account', state = 'open' WHERE id = ?1",
                [bare.0],
            )?;
            Ok(())
        });
        step(&mut s, "delete", &|tx| {
            tx.execute("DELETE FROM tickets WHERE id = ?1", [bare.0])?;
            Ok(())
        });
        // Reclassification needs a message to record the correction against.
        mail_of(&s, c);
        step(&mut s, "reclassify into the sensitive queue", &|tx| {
            reclassify(tx, &rules, c, Some("privacy"), Some("de"), "sam", at()).map(|_| ())
        });
        step(&mut s, "reclassify language only", &|tx| {
            reclassify(tx, &rules, c, None, Some("en"), "sam", at()).map(|_| ())
        });
        assert_eq!(steps, 16);
        // And the figures are what the steps made.
        let (counters, _) = counters_and_truth(&s);
        assert!(
            counters.contains(&"sensitive|answered|privacy|en|1=1".to_string()),
            "{counters:?}"
        );
    }

    #[test]
    fn list_pages_by_key_forward_and_back_in_every_sort() {
        use crate::store::desk::{list, Cursor, Filter, Keyset, Sort};
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let ids: Vec<TicketId> = (0..7)
            .map(|i| ticket(&mut s, &format!("p{i}@example.org"), "general", "other"))
            .collect();
        // Two share an update time: the id breaks the tie.
        for (i, id) in ids.iter().enumerate() {
            let at = format!("2026-11-23T09:0{}:00.000Z", i.min(5));
            s.conn()
                .execute(
                    "UPDATE tickets SET updated_at = ?2 WHERE id = ?1",
                    rusqlite::params![id.0, at],
                )
                .unwrap();
        }
        for sort in [Sort::Oldest, Sort::Newest, Sort::Id] {
            let mut f = Filter {
                sort,
                per_page: 3,
                ..Filter::default()
            };
            let all: Vec<i64> = {
                let mut g = f.clone();
                g.per_page = 100;
                list(s.conn(), "[]", &g)
                    .unwrap()
                    .tickets
                    .iter()
                    .map(|t| t.id.0)
                    .collect()
            };
            assert_eq!(all.len(), 7);
            let mut seen = Vec::new();
            let mut pages = Vec::new();
            loop {
                let p = list(s.conn(), "[]", &f).unwrap();
                assert_eq!(p.total, 7);
                seen.extend(p.tickets.iter().map(|t| t.id.0));
                pages.push(p.tickets.iter().map(|t| t.id.0).collect::<Vec<_>>());
                if !p.more_after {
                    break;
                }
                f.keyset = Some(Keyset::After(Cursor::of(p.tickets.last().unwrap())));
            }
            assert_eq!(seen, all, "{sort:?}");
            assert_eq!(pages.len(), 3);
            // Back from the last page: the middle page, the same rows.
            let last_first = pages[2][0];
            let first_row = list(
                s.conn(),
                "[]",
                &Filter {
                    per_page: 100,
                    sort,
                    ..Filter::default()
                },
            )
            .unwrap()
            .tickets
            .into_iter()
            .find(|t| t.id.0 == last_first)
            .unwrap();
            f.keyset = Some(Keyset::Before(Cursor::of(&first_row)));
            let back = list(s.conn(), "[]", &f).unwrap();
            let back_ids: Vec<i64> = back.tickets.iter().map(|t| t.id.0).collect();
            assert_eq!(back_ids, pages[1], "{sort:?}");
            assert!(back.more_before && back.more_after);
            let c = Cursor::of(&first_row);
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode("yesterday_3"), None);
    }

    #[test]
    fn merge_only_within_one_participant() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let a = ticket(&mut s, "p@example.org", "general", "account");
        let b = ticket(&mut s, "P@example.org", "general", "payment");
        let other = ticket(&mut s, "q@example.org", "general", "payment");
        assert!(matches!(
            s.transaction(|tx| merge(tx, a, other, "ana", at())),
            Err(DeskError::MergeParticipants(..))
        ));
        assert!(matches!(
            s.transaction(|tx| merge(tx, a, a, "ana", at())),
            Err(DeskError::MergeInvalid(_))
        ));
        s.transaction(|tx| merge(tx, a, b, "ana", at())).unwrap();
        let merged = crate::store::desk::ticket(s.conn(), "[]", a)
            .unwrap()
            .unwrap();
        assert_eq!(merged.merged_into, Some(b));
        assert_eq!(merged.state, TicketState::Closed);
        // A merged ticket is no merge target.
        assert!(matches!(
            s.transaction(|tx| merge(tx, other, a, "ana", at())),
            Err(DeskError::MergeInvalid(_) | DeskError::MergeParticipants(..))
        ));
    }

    #[test]
    fn reply_is_queued_once_per_key_and_canned_sensitive_needs_confirmation() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_in(dir.path()).unwrap();
        let rules = RuleSet::builtin();
        let templates = Templates::builtin();
        let id = ticket(&mut s, "p@example.org", "sensitive", "privacy");
        let mut req = ReplyRequest {
            body: SpecialistBody::Template {
                name: "instructions".into(),
                language: Some("en".into()),
            },
            confirm_sensitive: false,
            once_key: Some("k1".into()),
            site_tag: None,
        };
        let send = |s: &mut Store, req: &ReplyRequest| {
            s.transaction(|tx| reply(tx, &rules, &templates, id, req, "ana", at()))
        };
        assert!(matches!(
            send(&mut s, &req),
            Err(DeskError::SensitiveNeedsConfirm(_))
        ));
        req.confirm_sensitive = true;
        let first = send(&mut s, &req).unwrap();
        assert_eq!(send(&mut s, &req).unwrap(), first);
        let n: i64 = s
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM outbox WHERE ticket_id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
        req.once_key = Some("k2".into());
        req.body = SpecialistBody::Text("Another answer".into());
        assert_ne!(send(&mut s, &req).unwrap(), first);
        // Free text needs no confirmation, but the language must exist.
        let text = ReplyRequest {
            body: SpecialistBody::Edited {
                template: "instructions".into(),
                language: "xx".into(),
                text: "Hi".into(),
            },
            confirm_sensitive: true,
            once_key: None,
            site_tag: None,
        };
        assert!(matches!(
            send(&mut s, &text),
            Err(DeskError::UnknownLanguage { .. })
        ));
        // With a site tag the specialist's subject carries it, as automatic
        // replies do.
        let tagged = ReplyRequest {
            body: SpecialistBody::Text("Tagged answer".into()),
            confirm_sensitive: true,
            once_key: None,
            site_tag: Some("voices".into()),
        };
        let out = send(&mut s, &tagged).unwrap();
        let raw: Vec<u8> = s
            .conn()
            .query_row("SELECT raw FROM outbox WHERE id = ?1", [out], |r| r.get(0))
            .unwrap();
        let raw = String::from_utf8_lossy(&raw);
        let subject = raw
            .lines()
            .find(|l| l.starts_with("Subject:"))
            .unwrap_or_default();
        assert!(
            subject.contains(&format!("[voices #{}]", id.0)),
            "{subject}"
        );
    }
}
