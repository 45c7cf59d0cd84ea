//! Replies: which template, to whom, whether at all (the loop guard), and
//! the composed mail written to the outbox in the caller's transaction.
//!
//! - [`templates`]: `templates/<lang>/<name>.txt`, checked at load.
//! - [`compose`]: lettre composition, threading headers, golden tests.
//! - [`limits`]: the loop guard and rate limits (may hold a reply back).
//! - [`bounce`]: bounces and automatic answers to our own replies.
//!
//! [`Planner`] is what the pipeline calls when the decision is `auto_reply`;
//! [`queue_specialist_reply`] is what `tickets reply` calls.

pub mod bounce;
pub mod compose;
pub mod echo;
pub mod limits;
pub mod templates;

use crate::config::replies::ReplyLimits;
use crate::guard::Verdict;
use crate::parse::ParsedEmail;
use crate::rules::{Project, RuleSet};
use crate::store::{limits as rate_state, messages, outbox, tickets, StoreError, StoreResult};
use crate::ticket::TicketId;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use std::sync::Arc;
use templates::{Templates, Vars};

/// Templates and limits for automatic replies. Cheap to share.
#[derive(Debug, Clone)]
pub struct Planner {
    pub templates: Arc<Templates>,
    /// The projects' QA trackers (issue 13).
    pub trackers: Arc<crate::tracker::Registry>,
    pub limits: ReplyLimits,
    /// Acknowledge mail that goes to the sensitive queue.
    pub sensitive_ack: bool,
    /// Whose Authentication-Results count (`[trust]`): automatic replies
    /// go only to senders they verify.
    pub trust: crate::config::trust::Trust,
    /// `[tickets] tag`: the site tag in `[tag #N]` tokens.
    pub site_tag: Option<String>,
    /// `[notices]`: the other mail a routing decision causes, to the
    /// queue's team (issue 11).
    pub queue_notices: crate::queue_notice::QueueNotices,
}

impl Default for Planner {
    fn default() -> Self {
        Planner {
            templates: Arc::new(Templates::builtin()),
            trackers: Arc::default(),
            limits: ReplyLimits::default(),
            sensitive_ack: false,
            trust: crate::config::trust::Trust::default(),
            site_tag: None,
            queue_notices: crate::queue_notice::QueueNotices::default(),
        }
    }
}

/// What the planner did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// An outbox row was written.
    Queued { outbox: i64, language: String },
    /// No reply: the message goes to a human with this reason.
    HeldBack { reason: String },
}

/// One automatic reply to plan.
#[derive(Debug, Clone, Copy)]
pub struct AutoReply<'a> {
    pub ticket: TicketId,
    pub project: &'a Project,
    pub email: &'a ParsedEmail,
    pub verdict: &'a Verdict,
    /// The participant's language, when known.
    pub language: Option<&'a str>,
    /// Template name: the topic, or `oversize` / `sensitive_ack`.
    pub template: &'a str,
    pub rules: &'a RuleSet,
    pub now: DateTime<Utc>,
    /// What the tracker says, for templates that list or count (issue 13).
    pub facts: Option<&'a crate::tracker::dispute::Facts>,
    /// The participant ID the mail names (issue 13).
    pub participant_id: Option<&'a str>,
}

impl Planner {
    /// The planner the config describes: its templates directory (or the
    /// built-in templates), limits and acknowledgement setting.
    pub fn from_config(
        config: &crate::config::Config,
    ) -> Result<Planner, Vec<templates::TemplateError>> {
        let templates = match &config.templates_dir {
            None => Templates::builtin(),
            Some(dir) => Templates::load_dir(dir)?,
        };
        Ok(Planner {
            templates: Arc::new(templates),
            trackers: Arc::default(),
            limits: config.reply_limits.clone(),
            sensitive_ack: config.outbox.sensitive_ack,
            trust: config.trust.clone(),
            site_tag: config.site_tag.clone(),
            queue_notices: config.notices.clone(),
        })
    }

    /// Loop guard, rate limits, template, composition, outbox row: all in
    /// the caller's transaction. A reply that must not go out is
    /// [`Planned::HeldBack`] with the reason, never an error.
    pub fn plan(&self, conn: &Connection, r: &AutoReply<'_>) -> StoreResult<Planned> {
        let held = |reason: String| Ok(Planned::HeldBack { reason });
        let to = match limits::recipient(r.email, r.verdict, r.rules) {
            Ok(to) => to,
            Err(why) => return held(format!("no automatic reply: {why}")),
        };
        let key = limits::content_key(r.email);
        let arrived = limits::arrival(r.email, r.now);
        if let Some(why) = limits::check_rates(conn, &self.limits, arrived, &to, r.ticket, &key)? {
            return held(format!("automatic reply held back: {why}"));
        }
        let token = r.ticket.token_tagged(self.site_tag.as_deref());
        // The sender chose the name: greet only with one that reads as a name.
        let to_name = [&r.email.reply_to, &r.email.from]
            .into_iter()
            .flatten()
            .find(|a| a.email.eq_ignore_ascii_case(&to))
            .and_then(|a| a.name.as_deref())
            .and_then(echo::safe_name);
        let to_name = to_name.as_deref();
        // A subject with a link is not repeated: the template's subject stands.
        let subject = echo::safe_subject(&r.email.subject).unwrap_or_default();
        let task_id = r
            .facts
            .and_then(|f| f.recordings.first())
            .map(|x| x.id.as_str());
        let vars = Vars {
            token: &token,
            participant_name: to_name.map(first_name),
            participant_id: r.participant_id,
            task_id,
            project: r.project,
            facts: r.facts,
        };
        let rendered = match self.templates.render(r.template, r.language, &vars) {
            Ok(x) => x,
            Err(e) => return held(format!("no automatic reply: {e}")),
        };
        let reply = compose::Reply {
            ticket: r.ticket,
            site_tag: self.site_tag.as_deref(),
            from_address: &r.project.support_address,
            from_name: &r.project.name,
            to_address: &to,
            to_name,
            original_subject: &subject,
            fallback_subject: &rendered.subject,
            in_reply_to: Some(&r.email.message_id),
            references: &r.email.references,
            body: &rendered.body,
            language: &rendered.lang,
            automatic: true,
            date: r.now,
        };
        let composed = match compose::compose(&reply) {
            Ok(c) => c,
            Err(e) => {
                return held(format!(
                    "no automatic reply: {}",
                    crate::pipeline::error_chain(&e)
                ))
            }
        };
        let id = outbox::insert(
            conn,
            &outbox::NewOutgoing {
                ticket: Some(r.ticket),
                cause: None,
                message_id: composed.message_id,
                kind: "auto",
                template: Some(format!("{}/{}", rendered.lang, rendered.name)),
                sender: r.project.support_address.clone(),
                recipient: composed.recipient,
                raw: composed.raw,
                at: r.now,
            },
        )?;
        rate_state::record_auto_reply(conn, arrived, &to, Some(r.ticket))?;
        Ok(Planned::Queued {
            outbox: id,
            language: rendered.lang,
        })
    }
}

/// A stored decision the pipeline hands over (see [`Planner::on_decision`]).
#[derive(Debug, Clone, Copy)]
pub struct Decided<'a> {
    pub ticket: TicketId,
    /// The ticket's project id.
    pub project: &'a str,
    pub email: &'a ParsedEmail,
    pub verdict: &'a Verdict,
    pub class: &'a crate::classify::Classification,
    pub decision: &'a crate::decide::Decision,
    pub oversize: bool,
    pub rules: &'a RuleSet,
    pub now: DateTime<Utc>,
    /// IDs and tracker facts (issue 13).
    pub found: Option<&'a crate::participant::hook::Found>,
}

/// What the reply step did for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// The outbox row written, if any.
    pub outbox: Option<i64>,
    /// An `auto_reply` decision that was held back: the ticket now waits
    /// for a human, for this reason.
    pub held_back: Option<String>,
}

impl Planner {
    /// The pipeline's single entry point, inside its transaction, after the
    /// ticket row exists and before the message row is written: notes
    /// bounces of our replies, then plans the automatic reply (or the
    /// oversize / sensitive acknowledgement) the decision calls for.
    pub fn on_decision(&self, conn: &Connection, d: &Decided<'_>) -> StoreResult<ReplyOutcome> {
        use crate::decide::Action;
        let mut out = ReplyOutcome::default();
        if bounce::record(conn, d.email, d.ticket, d.now, self.limits.suppress_for)? {
            if d.decision.action == Action::AutoReply {
                out.held_back = Some("no automatic reply: answer to one of our own replies".into());
            }
            return Ok(out);
        }
        let template = match d.decision.action {
            Action::AutoReply => d
                .decision
                .template
                .clone()
                .or_else(|| d.class.topic.clone()),
            _ if d.oversize => Some("oversize".to_string()),
            Action::Human | Action::Escalate
                if self.sensitive_ack && d.decision.queue.as_deref() == Some("sensitive") =>
            {
                Some("sensitive_ack".to_string())
            }
            _ => None,
        };
        let Some(template) = template else {
            if d.decision.action == Action::AutoReply {
                out.held_back = Some("no automatic reply: the decision names no template".into());
            }
            return Ok(out);
        };
        let fallback;
        let project = match d.rules.project(d.project) {
            Some(p) => p,
            None => {
                fallback = d.rules.projects.first().cloned().unwrap_or_default();
                &fallback
            }
        };
        let planned = self.plan(
            conn,
            &AutoReply {
                ticket: d.ticket,
                project,
                email: d.email,
                verdict: d.verdict,
                language: d.class.language.as_deref(),
                template: &template,
                rules: d.rules,
                now: d.now,
                facts: d.found.and_then(|f| f.facts.as_ref()),
                participant_id: d.found.and_then(|f| f.ids.participant()),
            },
        )?;
        match planned {
            Planned::Queued { outbox, .. } => {
                out.outbox = Some(outbox);
                if d.decision.action == Action::AutoReply {
                    tickets::set_state(
                        conn,
                        d.ticket,
                        crate::ticket::TicketState::Answered,
                        d.now,
                    )?;
                }
            }
            Planned::HeldBack { reason } => {
                if d.decision.action == Action::AutoReply {
                    // The reason may name the address: debug only.
                    tracing::debug!(ticket = d.ticket.0, reason = %reason, "automatic reply held back");
                    outbox::to_human(conn, d.ticket, d.now)?;
                    out.held_back = Some(reason);
                }
            }
        }
        Ok(out)
    }
}

/// "Ana Souza" -> "Ana"; keeps names that are one word or not Latin-spaced.
/// The automatic reply `template` would produce for `email`, as `rules test`
/// shows it: same templates, fallbacks and placeholders as a real reply, with
/// `token` standing in for the ticket that does not exist in a dry run. The
/// subject is the one the reply would carry (`Re: <original> <token>`).
pub fn preview(
    templates: &Templates,
    email: &ParsedEmail,
    project: &Project,
    template: &str,
    language: Option<&str>,
    token: &str,
) -> Result<templates::Rendered, templates::RenderError> {
    let name = [&email.reply_to, &email.from]
        .into_iter()
        .flatten()
        .find_map(|a| a.name.as_deref())
        .and_then(echo::safe_name);
    let vars = Vars {
        token,
        participant_name: name.as_deref().map(first_name),
        participant_id: None,
        task_id: None,
        project,
        facts: None,
    };
    let mut rendered = templates.render(template, language, &vars)?;
    // The subject as sent: the participant's own, tagged with the token.
    let subject = echo::safe_subject(&email.subject).unwrap_or_default();
    rendered.subject = compose::reply_subject(&subject, token, &rendered.subject);
    Ok(rendered)
}

fn first_name(name: &str) -> &str {
    let n = name.trim().trim_matches('"');
    if n.contains(',') || n.contains('@') {
        return "";
    }
    n.split_whitespace().next().unwrap_or("")
}

/// What a specialist sends.
#[derive(Debug, Clone)]
pub enum SpecialistBody {
    Text(String),
    Template {
        name: String,
        language: Option<String>,
    },
    /// A template's text as the specialist edited it after the preview.
    Edited {
        template: String,
        language: String,
        text: String,
    },
}

fn project_of<'r>(rules: &'r RuleSet, id: &str, fallback: &'r mut Option<Project>) -> &'r Project {
    match rules.project(id) {
        Some(p) => p,
        None => fallback.insert(rules.projects.first().cloned().unwrap_or_default()),
    }
}

fn render_template(
    conn: &Connection,
    templates: &Templates,
    project: &Project,
    t: &tickets::Ticket,
    name: &str,
    language: Option<&str>,
) -> Result<templates::Rendered, ReplyError> {
    let token = t.id.token();
    let pid = crate::participant::link::participant_id(conn, t.id)?;
    let vars = Vars {
        token: &token,
        participant_name: None,
        participant_id: pid.as_deref(),
        task_id: None,
        project,
        facts: None,
    };
    Ok(templates.render(name, language.or(t.language.as_deref()), &vars)?)
}

/// The text a specialist's template reply on `ticket` would carry, for the
/// preview they edit before sending (same rendering as the reply itself).
pub fn preview_specialist_template(
    conn: &Connection,
    rules: &RuleSet,
    templates: &Templates,
    ticket: TicketId,
    name: &str,
    language: Option<&str>,
) -> Result<templates::Rendered, ReplyError> {
    let t = tickets::get(conn, ticket)?.ok_or(ReplyError::NoTicket(ticket.0))?;
    let mut fallback = None;
    let project = project_of(rules, &t.project, &mut fallback);
    render_template(conn, templates, project, &t, name, language)
}

#[derive(Debug, thiserror::Error)]
pub enum ReplyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no ticket with id {0}")]
    NoTicket(i64),
    #[error("ticket {0} has no participant address to answer")]
    NoParticipant(i64),
    #[error(transparent)]
    Render(#[from] templates::RenderError),
    #[error(transparent)]
    Compose(#[from] compose::ComposeError),
}

/// What a specialist answers on which ticket.
#[derive(Debug, Clone, Copy)]
pub struct SpecialistReply<'a> {
    pub ticket: TicketId,
    pub body: &'a SpecialistBody,
    /// `[tickets] tag`: `[tag #N]` in the subject, as automatic replies have.
    pub site_tag: Option<&'a str>,
}

/// Queue a specialist's reply on a ticket: same threading and outbox as
/// automatic replies, without the automatic-reply headers and limits.
/// Returns the outbox row id.
pub fn queue_specialist_reply(
    conn: &Connection,
    rules: &RuleSet,
    templates: &Templates,
    reply: SpecialistReply<'_>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<i64, ReplyError> {
    let SpecialistReply {
        ticket,
        body,
        site_tag,
    } = reply;
    let t = tickets::get(conn, ticket)?.ok_or(ReplyError::NoTicket(ticket.0))?;
    let to = t
        .participant
        .clone()
        .ok_or(ReplyError::NoParticipant(ticket.0))?;
    let mut fallback = None;
    let project = project_of(rules, &t.project, &mut fallback);
    let thread = messages::for_ticket(conn, ticket)?;
    let ids: Vec<String> = thread
        .iter()
        .map(|m| m.summary.message_id.clone())
        .collect();
    let last = ids.last().cloned();
    let (text, subject, lang, template) = match body {
        SpecialistBody::Text(s) => (
            s.clone(),
            t.subject.clone(),
            t.language
                .clone()
                .unwrap_or_else(|| project.default_language.clone()),
            None,
        ),
        SpecialistBody::Template { name, language } => {
            let r = render_template(conn, templates, project, &t, name, language.as_deref())?;
            let tpl = format!("{}/{}", r.lang, r.name);
            (r.body, r.subject, r.lang, Some(tpl))
        }
        SpecialistBody::Edited {
            template,
            language,
            text,
        } => (
            text.clone(),
            t.subject.clone(),
            language.clone(),
            Some(format!("{language}/{template}")),
        ),
    };
    let lang = if lang.is_empty() {
        "en".to_string()
    } else {
        lang
    };
    let composed = compose::compose(&compose::Reply {
        ticket,
        site_tag,
        from_address: &project.support_address,
        from_name: &project.name,
        to_address: &to,
        to_name: None,
        original_subject: &t.subject,
        fallback_subject: &subject,
        in_reply_to: last.as_deref(),
        references: &ids,
        body: &text,
        language: &lang,
        automatic: false,
        date: now,
    })?;
    let id = outbox::insert(
        conn,
        &outbox::NewOutgoing {
            ticket: Some(ticket),
            cause: None,
            message_id: composed.message_id,
            kind: "human",
            template,
            sender: project.support_address.clone(),
            recipient: composed.recipient,
            raw: composed.raw,
            at: now,
        },
    )?;
    crate::store::events::add(
        conn,
        ticket,
        now,
        actor,
        "reply",
        &format!("reply queued (outbox {id})"),
    )?;
    tickets::set_state(conn, ticket, crate::ticket::TicketState::Answered, now)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::first_name;

    #[test]
    fn first_names() {
        assert_eq!(first_name("Ana Souza"), "Ana");
        assert_eq!(first_name("\"Smith, John\""), "");
        assert_eq!(first_name("김민준"), "김민준");
    }
}
