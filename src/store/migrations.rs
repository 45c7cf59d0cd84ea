//! Ordered schema migrations keyed by `PRAGMA user_version`: migration N
//! brings the schema from version N-1 to N. Append only; never edit a
//! migration that has shipped.

use super::{StoreError, StoreResult};
use rusqlite::Connection;

/// Migration 7 (see its entry in [`MIGRATIONS`]).
const DESK_COUNTS: &str = r#"
    CREATE TABLE IF NOT EXISTS desk_counts (
        queue      TEXT NOT NULL,
        state      TEXT NOT NULL,
        topic      TEXT NOT NULL,
        language   TEXT NOT NULL,
        unassigned INTEGER NOT NULL,
        n          INTEGER NOT NULL,
        PRIMARY KEY (queue, state, topic, language, unassigned)
    ) WITHOUT ROWID;
    DELETE FROM desk_counts;
    INSERT INTO desk_counts
        SELECT COALESCE(queue, ''), state, COALESCE(topic, ''), COALESCE(language, ''),
               claimed_by IS NULL AND assigned_to IS NULL, COUNT(*)
        FROM tickets WHERE merged_into IS NULL GROUP BY 1, 2, 3, 4, 5;

    CREATE TRIGGER IF NOT EXISTS desk_counts_insert AFTER INSERT ON tickets
    WHEN NEW.merged_into IS NULL BEGIN
        INSERT INTO desk_counts VALUES (COALESCE(NEW.queue, ''), NEW.state,
            COALESCE(NEW.topic, ''), COALESCE(NEW.language, ''),
            NEW.claimed_by IS NULL AND NEW.assigned_to IS NULL, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;

    CREATE TRIGGER IF NOT EXISTS desk_counts_delete AFTER DELETE ON tickets
    WHEN OLD.merged_into IS NULL BEGIN
        UPDATE desk_counts SET n = n - 1
        WHERE queue = COALESCE(OLD.queue, '') AND state = OLD.state
          AND topic = COALESCE(OLD.topic, '') AND language = COALESCE(OLD.language, '')
          AND unassigned = (OLD.claimed_by IS NULL AND OLD.assigned_to IS NULL);
    END;

    CREATE TRIGGER IF NOT EXISTS desk_counts_update
    AFTER UPDATE OF queue, state, topic, language, claimed_by, assigned_to, merged_into ON tickets
    WHEN OLD.queue IS NOT NEW.queue OR OLD.state IS NOT NEW.state
      OR OLD.topic IS NOT NEW.topic OR OLD.language IS NOT NEW.language
      OR (OLD.claimed_by IS NULL AND OLD.assigned_to IS NULL)
         IS NOT (NEW.claimed_by IS NULL AND NEW.assigned_to IS NULL)
      OR (OLD.merged_into IS NULL) IS NOT (NEW.merged_into IS NULL)
    BEGIN
        UPDATE desk_counts SET n = n - 1
        WHERE OLD.merged_into IS NULL
          AND queue = COALESCE(OLD.queue, '') AND state = OLD.state
          AND topic = COALESCE(OLD.topic, '') AND language = COALESCE(OLD.language, '')
          AND unassigned = (OLD.claimed_by IS NULL AND OLD.assigned_to IS NULL);
        INSERT INTO desk_counts
            SELECT COALESCE(NEW.queue, ''), NEW.state, COALESCE(NEW.topic, ''),
                   COALESCE(NEW.language, ''),
                   NEW.claimed_by IS NULL AND NEW.assigned_to IS NULL, 1
            WHERE NEW.merged_into IS NULL
        ON CONFLICT DO UPDATE SET n = n + 1;
    END;

    CREATE INDEX IF NOT EXISTS tickets_first_response_running ON tickets(first_response_due)
        WHERE first_response_at IS NULL;
    CREATE INDEX IF NOT EXISTS tickets_resolution_running ON tickets(resolution_due)
        WHERE resolved_at IS NULL AND paused_at IS NULL;
    CREATE INDEX IF NOT EXISTS tickets_resolution_paused_late ON tickets(id)
        WHERE resolved_at IS NULL AND paused_at > resolution_due;
    -- A list filtered by state, topic and language, oldest first: without it
    -- a combination with few or no tickets read every open ticket
    -- (90,000: 28 ms CPU, 74 ms cold).
    CREATE INDEX IF NOT EXISTS tickets_desk_topic_language ON tickets(state, topic, language, updated_at);
    -- Statistics for the new index: the planner without them sorted all
    -- answered tickets through it instead of reading tickets_state_updated.
    ANALYZE tickets;
"#;

const MIGRATIONS: &[&str] = &[
    // 1: tickets, messages, outbox, events, mailbox cursors, quarantine.
    r#"
    CREATE TABLE tickets (
        id          INTEGER PRIMARY KEY,
        project     TEXT NOT NULL,
        state       TEXT NOT NULL,
        queue       TEXT,
        language    TEXT,
        topic       TEXT,
        participant TEXT,
        subject     TEXT NOT NULL,
        claimed_by  TEXT,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
    );
    CREATE INDEX tickets_state ON tickets(state, queue);

    CREATE TABLE messages (
        id             INTEGER PRIMARY KEY,
        message_id     TEXT NOT NULL,
        content_hash   TEXT NOT NULL,
        ticket_id      INTEGER REFERENCES tickets(id),
        source         TEXT NOT NULL,
        received_at    TEXT NOT NULL,
        from_addr      TEXT,
        subject        TEXT NOT NULL,
        language       TEXT,
        topic          TEXT,
        action         TEXT NOT NULL,
        reason         TEXT NOT NULL,
        notes          TEXT NOT NULL,
        parsed         TEXT NOT NULL,
        classification TEXT,
        size           INTEGER NOT NULL,
        raw            BLOB NOT NULL,
        UNIQUE (message_id, content_hash)
    );
    CREATE INDEX messages_ticket ON messages(ticket_id);

    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        ticket_id       INTEGER REFERENCES tickets(id),
        cause_message   INTEGER REFERENCES messages(id),
        message_id      TEXT NOT NULL UNIQUE,
        kind            TEXT NOT NULL,
        template        TEXT,
        recipient       TEXT NOT NULL,
        raw             BLOB NOT NULL,
        state           TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        sent_at         TEXT
    );
    CREATE INDEX outbox_pending ON outbox(state, next_attempt_at);
    CREATE INDEX outbox_ticket ON outbox(ticket_id);

    CREATE TABLE ticket_events (
        id        INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        at        TEXT NOT NULL,
        actor     TEXT NOT NULL,
        kind      TEXT NOT NULL,
        detail    TEXT NOT NULL
    );
    CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id);

    CREATE TABLE mailbox_state (
        mailbox       TEXT PRIMARY KEY,
        uidvalidity   INTEGER,
        last_uid      INTEGER NOT NULL DEFAULT 0,
        last_fetch_at TEXT,
        last_error    TEXT,
        last_error_at TEXT
    );

    CREATE TABLE quarantine (
        id          INTEGER PRIMARY KEY,
        source      TEXT NOT NULL,
        reason      TEXT NOT NULL,
        raw         BLOB NOT NULL,
        created_at  TEXT NOT NULL,
        replayed_at TEXT
    );
    "#,
    // 2: replies: loop-guard and rate-limit state, suppression list, breaker.
    r#"
    CREATE TABLE auto_replies (
        id         INTEGER PRIMARY KEY,
        at         TEXT NOT NULL,
        recipient  TEXT NOT NULL,
        domain     TEXT NOT NULL,
        ticket_id  INTEGER
    );
    CREATE INDEX auto_replies_at ON auto_replies(at);
    CREATE INDEX auto_replies_recipient ON auto_replies(recipient, at);
    CREATE INDEX auto_replies_domain ON auto_replies(domain, at);
    CREATE INDEX auto_replies_ticket ON auto_replies(ticket_id, at);

    CREATE TABLE content_bursts (
        key  TEXT NOT NULL,
        at   TEXT NOT NULL
    );
    CREATE INDEX content_bursts_key ON content_bursts(key, at);

    CREATE TABLE suppression (
        address    TEXT PRIMARY KEY,
        reason     TEXT NOT NULL,
        until      TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    ALTER TABLE outbox ADD COLUMN sender TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN queued_at TEXT;

    CREATE TABLE breaker (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        tripped_at TEXT NOT NULL,
        until      TEXT NOT NULL,
        reason     TEXT NOT NULL
    );
    "#,
    // 3 (daemon): since when unprocessed mail waits in a mailbox (status lag).
    r#"
    ALTER TABLE mailbox_state ADD COLUMN pending_since TEXT;
    "#,
    // 4: the per-message prune of content_bursts (`DELETE ... WHERE at <= ?`)
    // scanned the whole table: O(n^2) on a backlog (68 % of ingest time at
    // 10,000 mails). Index `at` alone.
    r#"
    CREATE INDEX content_bursts_at ON content_bursts(at);
    "#,
    // Highest UID whose flag/move/delete is known done (or needs none).
    // Existing mailboxes start fully acknowledged: what was before is not
    // known to be missing, and first_start = "new" skipped mail must never
    // be touched.
    r#"
    ALTER TABLE mailbox_state ADD COLUMN acked_uid INTEGER NOT NULL DEFAULT 0;
    UPDATE mailbox_state SET acked_uid = last_uid;
    "#,
    // 6: the schema the desk work agreed on before it split up (issues 10-14):
    // the mail's own Date, participant and bounce facts on messages; claims,
    // assignment, merges, SLA clocks on tickets; accounts and sessions for the
    // web console; specialists' corrections as labelled cases; alerts; a
    // record of erasures without personal data; full-text search.
    r#"
    ALTER TABLE messages ADD COLUMN date_header    TEXT;
    ALTER TABLE messages ADD COLUMN participant_id TEXT;
    ALTER TABLE messages ADD COLUMN bounce_addr    TEXT;
    ALTER TABLE messages ADD COLUMN bounce_status  TEXT;
    ALTER TABLE messages ADD COLUMN bounce_ticket  INTEGER;
    CREATE INDEX messages_participant ON messages(participant_id);

    ALTER TABLE tickets ADD COLUMN assigned_to        TEXT;
    ALTER TABLE tickets ADD COLUMN participant_id     TEXT;
    ALTER TABLE tickets ADD COLUMN merged_into        INTEGER REFERENCES tickets(id);
    ALTER TABLE tickets ADD COLUMN first_response_due TEXT;
    ALTER TABLE tickets ADD COLUMN first_response_at  TEXT;
    ALTER TABLE tickets ADD COLUMN resolution_due     TEXT;
    ALTER TABLE tickets ADD COLUMN resolved_at        TEXT;
    ALTER TABLE tickets ADD COLUMN paused_at          TEXT;
    ALTER TABLE tickets ADD COLUMN paused_secs        INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tickets ADD COLUMN reopen_count       INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX tickets_participant ON tickets(participant);
    CREATE INDEX tickets_participant_id ON tickets(participant_id);
    CREATE INDEX tickets_updated ON tickets(updated_at);

    CREATE TABLE users (
        name          TEXT PRIMARY KEY,
        password_hash TEXT NOT NULL,
        role          TEXT NOT NULL CHECK (role IN ('specialist', 'lead', 'admin')),
        queues        TEXT NOT NULL DEFAULT '[]',
        disabled      INTEGER NOT NULL DEFAULT 0,
        created_at    TEXT NOT NULL
    );
    CREATE TABLE sessions (
        id_hash    TEXT PRIMARY KEY,
        user_name  TEXT NOT NULL REFERENCES users(name),
        csrf       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_seen  TEXT NOT NULL
    );
    CREATE TABLE login_attempts (
        key TEXT NOT NULL,
        at  TEXT NOT NULL
    );
    CREATE INDEX login_attempts_key ON login_attempts(key, at);

    CREATE TABLE corrections (
        id         INTEGER PRIMARY KEY,
        message_id INTEGER NOT NULL REFERENCES messages(id),
        ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
        old_topic    TEXT,
        new_topic    TEXT,
        old_language TEXT,
        new_language TEXT,
        old_action   TEXT,
        new_action   TEXT,
        actor      TEXT NOT NULL,
        at         TEXT NOT NULL
    );

    CREATE TABLE alerts (
        key            TEXT PRIMARY KEY,
        kind           TEXT NOT NULL,
        detail         TEXT NOT NULL,
        since          TEXT NOT NULL,
        last_mailed_at TEXT,
        cleared_at     TEXT
    );

    CREATE TABLE erasures (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        actor    TEXT NOT NULL,
        counts   TEXT NOT NULL
    );

    CREATE VIRTUAL TABLE messages_fts USING fts5(subject, new_text, content='', contentless_delete=1);
    "#,
    // 7: no-op. Stores made before this session's round passed it empty,
    // so the desk counters it was meant for are migration 13.
    "-- reserved 7",
    // 8 (issue 11, web console): the search index holds every message stored
    // before ingest began to fill it; tickets listed by queue and state sort
    // by their update time without a sorter; the queue overview reads
    // covering indexes instead of the table (300k tickets: p50 298 -> 176 ms,
    // list p50 50 -> 12.5 ms; benches/web.rs).
    r#"
    INSERT INTO messages_fts (rowid, subject, new_text)
        SELECT id, subject, json_extract(parsed, '$.new_text') FROM messages
        WHERE json_valid(parsed);
    CREATE INDEX tickets_queue_updated ON tickets(queue, state, updated_at);
    CREATE INDEX tickets_desk_overview ON tickets(queue, state, claimed_by, assigned_to, merged_into, updated_at);
    CREATE INDEX tickets_desk_topic ON tickets(state, queue, topic, merged_into);
    CREATE INDEX tickets_desk_language ON tickets(state, queue, language, merged_into);
    CREATE INDEX tickets_state_updated ON tickets(state, updated_at);
    "#,
    // 9 (issue 12): how far the SLA clocks are brought up to date; which
    // breaches were escalated (once per clock and due time); which report
    // periods were mailed; an index that covers the report's scan of
    // messages (a table scan reads every raw mail's pages).
    r#"
    CREATE TABLE sla_sync (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        synced_until TEXT NOT NULL,
        policies     TEXT NOT NULL
    );
    CREATE TABLE sla_escalations (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        clock     TEXT NOT NULL,
        due       TEXT NOT NULL,
        at        TEXT NOT NULL,
        from_queue TEXT,
        PRIMARY KEY (ticket_id, clock, due)
    );
    CREATE TABLE report_mailings (
        period  TEXT PRIMARY KEY,
        sent_at TEXT NOT NULL
    );
    CREATE INDEX messages_report ON messages(received_at, ticket_id, topic, language, action);
    CREATE INDEX tickets_created ON tickets(created_at);
    "#,
    // 10 (issue 13): the task/recording IDs a message names (JSON array,
    // upper case), beside migration 6's participant_id; read by `tickets
    // show`, by tracker look-ups and by `export`.
    r#"
    ALTER TABLE messages ADD COLUMN task_ids TEXT;
    "#,
    // 11: reserved for issue 14 (classification); replace this no-op when it needs schema.
    "-- reserved 11",
    // 12 (issue 12, report speed): the backlog reads open tickets' age and
    // project from an index of open tickets only (it looked up each open
    // ticket's row: 0.4 s of a report over 400,000 tickets).
    r#"
    CREATE INDEX tickets_open_created ON tickets(state, created_at, project) WHERE state = 'open';
    "#,
    // 13 (issue 11, web console, second round): counts of unmerged tickets
    // per queue, state, topic, language and assignment, kept exact by
    // triggers on every path that changes a ticket (ingest, desk actions,
    // merges, reclassification, erasure), so the queue overview and a list's
    // total read a few hundred counter rows instead of aggregating 300,000
    // tickets (benches/web.rs). '' stands for "none": a primary key treats
    // NULLs as distinct; a key whose count falls to 0 keeps its row (there
    // are at most a few thousand keys). Partial indexes hold only running clocks, so the
    // overview's breached / near-breach counts read those, not the table.
    // Idempotent (a recount).
    DESK_COUNTS,
    // 14 (issue 14, ingest throughput): a new ticket is counted by
    // `tickets::insert` itself. The insert trigger made every ticket insert a
    // multi-statement write, and SQLite then keeps a statement journal: a copy
    // of each 16 KB page the insert touches in the table and its 15 indexes.
    // That was a third of the store thread's time on realistic mail (perf:
    // 31 us per ticket with the trigger, about 9 with the upsert instead). Updates and deletes
    // keep their triggers: they are rare and made from many places.
    "DROP TRIGGER IF EXISTS desk_counts_insert;",
    // 15 (issue 14, ingest throughput): a participant's open tickets on a
    // topic, oldest first, for the merge suggestion after every message
    // naming a participant ID. Through `tickets_participant_id` that read
    // every ticket the ID ever had: 17 % of all perf samples (a third of
    // the store thread's) on 10,000 synthetic mails, where one ID named
    // 1,232 tickets.
    r#"
    CREATE INDEX tickets_concurrent ON tickets(participant_id, topic, project, id)
        WHERE state IN ('open', 'answered') AND merged_into IS NULL;
    "#,
];

/// Bring the schema up to date, one migration per transaction. Each
/// transaction is exclusive and reads the version inside it: two processes
/// starting on a fresh state dir (two `ingest -` from an MTA) used to both
/// read version 0 and the second failed with "table tickets already exists"
/// (issue 10); now the second waits and finds the work done.
pub(super) fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let known = MIGRATIONS.len() as i64;
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(StoreError::TooNew { found, known });
        }
        let Some(sql) = MIGRATIONS.get(found as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_fresh_database_to_latest_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }

    #[test]
    fn desk_counts_sql_runs_again_as_a_recount() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO tickets (project, state, queue, subject, created_at, updated_at)
             VALUES ('p', 'open', 'general', 's', 't', 't'), ('p', 'open', 'general', 's', 't', 't');
             DELETE FROM desk_counts;",
        )
        .unwrap();
        // A store that skipped slot 7: the same SQL again counts what is there.
        for _ in 0..2 {
            conn.execute_batch(DESK_COUNTS).unwrap();
            let n: i64 = conn
                .query_row(
                    "SELECT SUM(n) FROM desk_counts WHERE queue = 'general'",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(n, 2);
        }
        // The recount brings its insert trigger back; migration 14 comes after
        // it on every store and leaves the counting to `tickets::insert`.
        conn.execute_batch(MIGRATIONS[13]).unwrap();
        crate::store::tickets::insert(
            &conn,
            &crate::store::tickets::NewTicket {
                project: "p".into(),
                state: crate::ticket::TicketState::Open,
                queue: Some("general".into()),
                language: None,
                topic: None,
                participant: None,
                subject: "s".into(),
                at: chrono::Utc::now(),
            },
        )
        .unwrap();
        let n: i64 = conn
            .query_row("SELECT SUM(n) FROM desk_counts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 3, "counted once, not by a trigger as well");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        assert!(matches!(migrate(&mut conn), Err(StoreError::TooNew { .. })));
    }
}
