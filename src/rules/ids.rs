//! `[project.ids]` and `[project.tracker]` of rules/projects.toml: their
//! serde shape and their checks, each error at `file:line:column`.

use super::error::RuleError;
use super::file::ProjectDef;
use crate::participant::ids::{IdRules, MergePolicy};
use crate::tracker::config::{Columns, Source, Statuses, TrackerConfig};
use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IdsDef {
    /// Regex for a participant ID; the first capture group, if any, is the ID.
    #[serde(default)]
    participant: Option<Spanned<String>>,
    /// Regex for a task or recording ID.
    #[serde(default)]
    task: Option<Spanned<String>>,
    /// off | suggest | auto: concurrent tickets of one participant on one topic.
    #[serde(default)]
    merge: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrackerDef {
    #[serde(default)]
    file: Option<Spanned<String>>,
    #[serde(default)]
    command: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    sheet: Option<String>,
    columns: ColumnsDef,
    #[serde(default)]
    statuses: Option<StatusesDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnsDef {
    participant: String,
    task: String,
    status: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusesDef {
    #[serde(default)]
    rejected: Option<Vec<String>>,
    #[serde(default)]
    accepted: Option<Vec<String>>,
    #[serde(default)]
    pending: Option<Vec<String>>,
}

/// Compile one project's IDs and tracker; problems go to `errors`.
pub(crate) fn compile(
    path: &str,
    text: &str,
    d: &ProjectDef,
    errors: &mut Vec<RuleError>,
) -> (IdRules, Option<TrackerConfig>) {
    let mut err = |at: usize, reason: String| errors.push(RuleError::at(path, text, at, reason));
    let mut ids = IdRules::default();
    if let Some(def) = &d.ids {
        ids.participant = def.participant.as_ref().and_then(|p| regex(p, &mut err));
        ids.task = def.task.as_ref().and_then(|p| regex(p, &mut err));
        if let Some(m) = &def.merge {
            match MergePolicy::parse(m.get_ref()) {
                Some(policy) => ids.merge = policy,
                None => err(
                    m.span().start,
                    format!(
                        "merge: expected off, suggest or auto, found {:?}",
                        m.get_ref()
                    ),
                ),
            }
        }
    }
    let tracker = d.tracker.as_ref().and_then(|t| {
        let source = match (&t.file, &t.command) {
            (Some(f), None) if !f.get_ref().trim().is_empty() => Source::File(f.get_ref().into()),
            (None, Some(c)) if !c.get_ref().is_empty() => Source::Command(c.get_ref().clone()),
            (Some(f), Some(_)) => {
                err(
                    f.span().start,
                    "tracker: give file or command, not both".into(),
                );
                return None;
            }
            (Some(f), None) => {
                err(f.span().start, "tracker: file is empty".into());
                return None;
            }
            (None, Some(c)) => {
                err(c.span().start, "tracker: command is empty".into());
                return None;
            }
            (None, None) => {
                err(
                    d.id.span().start,
                    "tracker: needs file = \"...csv|xlsx\" or command = [\"program\", ...]".into(),
                );
                return None;
            }
        };
        if ids.participant.is_none() {
            err(
                d.id.span().start,
                "tracker: needs [project.ids] participant (rows are looked up by participant ID)"
                    .into(),
            );
        }
        let defaults = Statuses::default();
        let statuses = match &t.statuses {
            None => defaults,
            Some(s) => Statuses {
                rejected: s.rejected.clone().unwrap_or(defaults.rejected),
                accepted: s.accepted.clone().unwrap_or(defaults.accepted),
                pending: s.pending.clone().unwrap_or(defaults.pending),
            },
        };
        let c = &t.columns;
        Some(TrackerConfig {
            source,
            sheet: t.sheet.clone(),
            columns: Columns {
                participant: c.participant.clone(),
                task: c.task.clone(),
                status: c.status.clone(),
                reason: c.reason.clone(),
                date: c.date.clone(),
                email: c.email.clone(),
            },
            statuses,
        })
    });
    (ids, tracker)
}

/// An ID pattern: valid, bounded, and never matching empty text (which
/// would make every mail name an ID).
fn regex(p: &Spanned<String>, err: &mut impl FnMut(usize, String)) -> Option<regex::Regex> {
    match regex::RegexBuilder::new(p.get_ref())
        .size_limit(1 << 20)
        .build()
    {
        Ok(re) if re.is_match("") => {
            err(
                p.span().start,
                format!("pattern {:?} matches empty text", p.get_ref()),
            );
            None
        }
        Ok(re) => Some(re),
        Err(e) => {
            let msg = e.to_string();
            let last = msg.lines().last().unwrap_or("invalid regex").trim();
            err(p.span().start, format!("invalid regex: {last}"));
            None
        }
    }
}
