//! Reply templates: `templates/<lang>/<name>.txt`, checked when loaded so
//! that a typo in a placeholder is an error with `path:line`, not a broken
//! mail to a participant. Format and placeholders: templates/README.md.

use crate::rules::Project;
use crate::tracker::dispute::{Facts, Recording};
use include_dir::{include_dir, Dir};
use std::collections::BTreeMap;
use std::path::Path;

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// Topics the rules may answer automatically; `templates check` wants each
/// of them for every project language.
pub const AUTO_TOPICS: &[&str] = &["payment", "upload_confirmation", "instructions"];
/// Acknowledgements helpgate sends on its own (never required per language).
pub const ACKS: &[&str] = &["oversize", "sensitive_ack"];
/// Link names a template may use as `{link.NAME}`.
pub const LINKS: &[&str] = &[
    "payment_info",
    "upload_status",
    "upload_page",
    "instructions",
    "privacy",
    "help",
];
/// Templates the tracker answers with (issue 13): a rejection dispute's
/// answer, then upload counts.
pub const TRACKER_TEMPLATES: &[&str] = &["rejection_answer", "upload_status"];
/// `templates/<lang>/reasons.toml`: reason code = "localized text".
pub const REASONS_FILE: &str = "reasons.toml";
/// The last resort of the fallback chain.
pub const FINAL_FALLBACK: &str = "en";

/// A template file that cannot be used, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: {message}")]
pub struct TemplateError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

/// Why a template could not be rendered for a project.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("no template {name:?} for language {lang:?} or any fallback")]
    Missing { name: String, lang: String },
    #[error("template {path} needs link {link:?}, which project {project:?} does not configure")]
    MissingLink {
        path: String,
        link: String,
        project: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Var {
    Token,
    ParticipantName,
    ParticipantId,
    TaskId,
    ProjectName,
    Link(String),
    /// Inside `{#each recordings}`: the recording's ID, the localized text
    /// of its reason code (templates/<lang>/reasons.toml), date, status.
    RecordingId,
    RecordingReason,
    RecordingDate,
    RecordingStatus,
    Count(Count),
}

/// `{count.NAME}`: numbers from the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Count {
    Received,
    Accepted,
    Rejected,
    Pending,
}

/// `{#if NAME}`: true when the count is above zero or the value is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    Recordings,
    Count(Count),
    ParticipantId,
    TaskId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Text(String),
    Var(Var),
    /// `{#each recordings}` ... `{/each}`: the lines once per recording.
    Each(Vec<Seg>),
    /// `{#if NAME}` ... `{/if}`.
    If(Cond, Vec<Seg>),
}

/// One loaded template.
#[derive(Debug, Clone)]
pub struct Template {
    pub lang: String,
    pub name: String,
    /// Where it came from, for messages: `templates/de/payment.txt`.
    pub path: String,
    subject: Vec<Seg>,
    body: Vec<Seg>,
    /// `Fallback: <lang>` files: this language deliberately uses another.
    fallback: Option<String>,
}

/// What to fill the placeholders with.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    pub token: &'a str,
    pub participant_name: Option<&'a str>,
    pub participant_id: Option<&'a str>,
    pub task_id: Option<&'a str>,
    pub project: &'a Project,
    /// What the project's tracker says (recordings, counts), when it was asked.
    pub facts: Option<&'a Facts>,
}

/// A rendered template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The language of the file actually used (after fallbacks).
    pub lang: String,
    pub name: String,
    pub subject: String,
    pub body: String,
}

impl Template {
    /// The links this template needs.
    pub fn links(&self) -> impl Iterator<Item = &str> {
        fn walk<'a>(segs: &'a [Seg], out: &mut Vec<&'a str>) {
            for s in segs {
                match s {
                    Seg::Var(Var::Link(l)) => out.push(l),
                    Seg::Each(inner) | Seg::If(_, inner) => walk(inner, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.subject, &mut out);
        walk(&self.body, &mut out);
        out.into_iter()
    }

    pub fn render(&self, vars: &Vars<'_>) -> Result<Rendered, RenderError> {
        self.render_with(vars, None)
    }

    /// Render with the reason texts of this template's language.
    fn render_with(
        &self,
        vars: &Vars<'_>,
        reasons: Option<&BTreeMap<String, String>>,
    ) -> Result<Rendered, RenderError> {
        if let Some(link) = self.links().find(|l| !vars.project.links.contains_key(*l)) {
            return Err(RenderError::MissingLink {
                path: self.path.clone(),
                link: link.to_string(),
                project: vars.project.id.clone(),
            });
        }
        Ok(Rendered {
            lang: self.lang.clone(),
            name: self.name.clone(),
            subject: fill(&self.subject, vars, reasons),
            body: fill(&self.body, vars, reasons),
        })
    }
}

fn fill(segs: &[Seg], v: &Vars<'_>, reasons: Option<&BTreeMap<String, String>>) -> String {
    let mut out = String::new();
    fill_into(&mut out, segs, v, reasons, None);
    out
}

fn count(facts: Option<&Facts>, c: Count) -> usize {
    facts.map_or(0, |f| match c {
        Count::Received => f.received,
        Count::Accepted => f.accepted,
        Count::Rejected => f.rejected,
        Count::Pending => f.pending,
    })
}

fn fill_into(
    out: &mut String,
    segs: &[Seg],
    v: &Vars<'_>,
    reasons: Option<&BTreeMap<String, String>>,
    item: Option<&Recording>,
) {
    for s in segs {
        let number;
        let value = match s {
            Seg::Text(t) => {
                out.push_str(t);
                continue;
            }
            Seg::Each(body) => {
                for r in v.facts.map_or(&[][..], |f| &f.recordings) {
                    fill_into(out, body, v, reasons, Some(r));
                }
                continue;
            }
            Seg::If(cond, body) => {
                let yes = match cond {
                    Cond::Recordings => v.facts.is_some_and(|f| !f.recordings.is_empty()),
                    Cond::Count(c) => count(v.facts, *c) > 0,
                    Cond::ParticipantId => v.participant_id.is_some_and(|s| !s.is_empty()),
                    Cond::TaskId => v.task_id.is_some_and(|s| !s.is_empty()),
                };
                if yes {
                    fill_into(out, body, v, reasons, item);
                }
                continue;
            }
            Seg::Var(Var::RecordingId) => item.map_or("", |r| r.id.as_str()),
            Seg::Var(Var::RecordingReason) => {
                item.and_then(|r| r.reason.as_deref()).map_or("", |code| {
                    reasons
                        .and_then(|m| m.get(code))
                        .map_or(code, String::as_str)
                })
            }
            Seg::Var(Var::RecordingDate) => item.and_then(|r| r.date.as_deref()).unwrap_or(""),
            Seg::Var(Var::RecordingStatus) => item.map_or("", |r| r.status.as_str()),
            Seg::Var(Var::Count(c)) => {
                number = count(v.facts, *c).to_string();
                number.as_str()
            }
            Seg::Var(Var::Token) => v.token,
            Seg::Var(Var::ParticipantName) => v.participant_name.unwrap_or(""),
            Seg::Var(Var::ParticipantId) => v.participant_id.unwrap_or(""),
            Seg::Var(Var::TaskId) => v.task_id.unwrap_or(""),
            Seg::Var(Var::ProjectName) => v.project.name.as_str(),
            Seg::Var(Var::Link(l)) => v.project.links.get(l).map_or("", String::as_str),
        };
        let value = value.trim();
        if value.is_empty() {
            // "Hello {participant_name}," -> "Hello," when the name is unknown.
            if out.ends_with(' ') {
                out.pop();
            }
        } else {
            out.push_str(value);
        }
    }
}

/// Every loaded template, by language and name.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    by_key: BTreeMap<(String, String), Template>,
    /// Language -> reason code -> text (templates/<lang>/reasons.toml).
    reasons: BTreeMap<String, BTreeMap<String, String>>,
}

impl Templates {
    /// The templates compiled into the binary (templates/ in the repository).
    pub fn builtin() -> Templates {
        let mut files = Vec::new();
        collect(&BUILTIN, &mut files);
        Self::from_files(files).expect("built-in templates are checked by the test suite")
    }

    /// Load `<dir>/<lang>/<name>.txt`.
    pub fn load_dir(dir: &Path) -> Result<Templates, Vec<TemplateError>> {
        let io_err = |path: &Path, e: std::io::Error| {
            vec![TemplateError {
                path: path.display().to_string(),
                line: 0,
                message: format!("cannot read: {e}"),
            }]
        };
        let mut files = Vec::new();
        let langs = std::fs::read_dir(dir).map_err(|e| io_err(dir, e))?;
        for lang in langs {
            let lang = lang.map_err(|e| io_err(dir, e))?.path();
            if !lang.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(&lang).map_err(|e| io_err(&lang, e))? {
                let p = f.map_err(|e| io_err(&lang, e))?.path();
                if p.extension().is_some_and(|e| e == "txt")
                    || p.file_name().is_some_and(|n| n == REASONS_FILE)
                {
                    let text = std::fs::read_to_string(&p).map_err(|e| io_err(&p, e))?;
                    let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
                    files.push((rel, text));
                }
            }
        }
        let mut t = Self::from_files(files)?;
        for tpl in t.by_key.values_mut() {
            tpl.path = dir.join(&tpl.path).display().to_string();
        }
        Ok(t)
    }

    /// Parse `(relative path "<lang>/<name>.txt", text)` pairs; every error
    /// is reported, not just the first.
    pub fn from_files(files: Vec<(String, String)>) -> Result<Templates, Vec<TemplateError>> {
        let mut errors = Vec::new();
        let mut by_key = BTreeMap::new();
        let mut reasons = BTreeMap::new();
        for (path, text) in files {
            if path.ends_with(REASONS_FILE) {
                match parse_reasons(&path, &text) {
                    Ok((lang, map)) => {
                        reasons.insert(lang, map);
                    }
                    Err(e) => errors.push(e),
                }
                continue;
            }
            match parse_file(&path, &text) {
                Ok(t) => {
                    by_key.insert((t.lang.clone(), t.name.clone()), t);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(Templates { by_key, reasons })
        } else {
            Err(errors)
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Languages with their own file for `name` (not a `Fallback:` one).
    pub fn languages_of(&self, name: &str) -> std::collections::BTreeSet<String> {
        self.by_key
            .iter()
            .filter(|((_, n), t)| n == name && t.fallback.is_none())
            .map(|((l, _), _)| l.clone())
            .collect()
    }

    fn get(&self, lang: &str, name: &str) -> Option<&Template> {
        self.by_key.get(&(lang.to_string(), name.to_string()))
    }

    /// The exact file for `lang`, following `Fallback:` files.
    fn exact(&self, lang: &str, name: &str) -> Option<&Template> {
        let mut lang = lang.to_string();
        for _ in 0..4 {
            let t = self.get(&lang, name)?;
            match &t.fallback {
                Some(next) => lang = next.clone(),
                None => return Some(t),
            }
        }
        None
    }

    /// The template for `name` in `lang`: regional variant -> language ->
    /// project default -> en.
    pub fn resolve(&self, name: &str, lang: Option<&str>, project: &Project) -> Option<&Template> {
        let mut chain: Vec<String> = Vec::new();
        if let Some(l) = lang.map(str::trim).filter(|l| !l.is_empty()) {
            chain.push(l.to_string());
            if let Some((base, _)) = l.split_once(['-', '_']) {
                chain.push(base.to_lowercase());
            }
            chain.push(l.to_lowercase());
        }
        if !project.default_language.is_empty() {
            chain.push(project.default_language.clone());
        }
        chain.push(FINAL_FALLBACK.to_string());
        chain.iter().find_map(|l| self.exact(l, name))
    }

    /// Render `name` for a participant writing in `lang`.
    pub fn render(
        &self,
        name: &str,
        lang: Option<&str>,
        vars: &Vars<'_>,
    ) -> Result<Rendered, RenderError> {
        self.resolve(name, lang, vars.project)
            .ok_or_else(|| RenderError::Missing {
                name: name.to_string(),
                lang: lang.unwrap_or("-").to_string(),
            })
            .and_then(|t| t.render_with(vars, self.reasons.get(&t.lang)))
    }

    /// The text of reason `code` in the language `name` would be written
    /// in for `lang`: `None` when that language has no text for it, so a
    /// dispute with such a code goes to a person instead.
    pub fn reason_text(
        &self,
        name: &str,
        lang: Option<&str>,
        project: &Project,
        code: &str,
    ) -> Option<&str> {
        let t = self.resolve(name, lang, project)?;
        self.reasons.get(&t.lang)?.get(code).map(String::as_str)
    }

    /// Gaps for `templates check`: every auto-reply topic in every project
    /// language has its own file (or an explicit `Fallback:`), and every
    /// link the chosen templates use is configured for the project.
    pub fn check(&self, projects: &[Project]) -> Vec<String> {
        let mut gaps = Vec::new();
        for p in projects {
            let mut langs = p.languages.clone();
            if !p.default_language.is_empty() && !langs.contains(&p.default_language) {
                langs.push(p.default_language.clone());
            }
            for topic in AUTO_TOPICS {
                for lang in &langs {
                    match self.exact(lang, topic) {
                        None => gaps.push(format!(
                            "project {}: no template {topic} for language {lang} (add templates/{lang}/{topic}.txt or a \"Fallback: <lang>\" file)",
                            p.id
                        )),
                        Some(t) => {
                            for link in t.links() {
                                if !p.links.contains_key(link) {
                                    gaps.push(format!(
                                        "project {}: {} needs link {link:?}, not configured for the project",
                                        p.id, t.path
                                    ));
                                }
                            }
                        }
                    }
                }
            }
            for ack in ACKS {
                if let Some(t) = self.resolve(ack, None, p) {
                    for link in t.links() {
                        if !p.links.contains_key(link) {
                            gaps.push(format!(
                                "project {}: {} needs link {link:?}, not configured for the project",
                                p.id, t.path
                            ));
                        }
                    }
                }
            }
        }
        gaps.extend(self.check_tracker_templates(projects));
        gaps.sort();
        gaps.dedup();
        gaps
    }

    /// Projects with a tracker answer rejections and upload questions from
    /// it: each of their languages needs those templates, and every
    /// language with reason texts needs a text for every code `en` has.
    fn check_tracker_templates(&self, projects: &[Project]) -> Vec<String> {
        let mut gaps = Vec::new();
        for p in projects.iter().filter(|p| p.tracker.is_some()) {
            for name in TRACKER_TEMPLATES {
                for lang in &p.languages {
                    if self.exact(lang, name).is_none() {
                        gaps.push(format!(
                            "project {}: no template {name} for language {lang} (its tracker answers in it; add templates/{lang}/{name}.txt or a \"Fallback: <lang>\" file)",
                            p.id
                        ));
                    }
                }
            }
        }
        let all: Vec<&String> = self
            .reasons
            .get(FINAL_FALLBACK)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        for ((lang, name), t) in &self.by_key {
            if name != TRACKER_TEMPLATES[0] || t.fallback.is_some() {
                continue;
            }
            match self.reasons.get(lang) {
                None => gaps.push(format!(
                    "templates/{lang}/{REASONS_FILE}: missing ({} lists reasons)",
                    t.path
                )),
                Some(m) => {
                    for code in all.iter().filter(|c| !m.contains_key(c.as_str())) {
                        gaps.push(format!(
                            "templates/{lang}/{REASONS_FILE}: no text for reason code {code:?} (templates/en/{REASONS_FILE} has it)"
                        ));
                    }
                }
            }
        }
        gaps
    }
}

fn collect(dir: &Dir<'static>, out: &mut Vec<(String, String)>) {
    for f in dir.files() {
        let path = f.path().display().to_string();
        if path.ends_with(".txt") || path.ends_with(REASONS_FILE) {
            if let Some(text) = f.contents_utf8() {
                out.push((path, text.to_string()));
            }
        }
    }
    for d in dir.dirs() {
        collect(d, out);
    }
}

fn parse_file(path: &str, text: &str) -> Result<Template, Vec<TemplateError>> {
    let err = |line: usize, message: String| TemplateError {
        path: format!("templates/{path}"),
        line,
        message,
    };
    let p = Path::new(path);
    let (lang, name) = match (
        p.parent()
            .and_then(|d| d.file_name())
            .and_then(|s| s.to_str()),
        p.file_stem().and_then(|s| s.to_str()),
    ) {
        (Some(l), Some(n)) if valid_lang(l) => (l.to_string(), n.to_string()),
        _ => {
            return Err(vec![err(
                0,
                "expected templates/<lang>/<name>.txt with <lang> like \"de\" or \"pt-BR\"".into(),
            )])
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if let Some(target) = first.strip_prefix("Fallback:") {
        let target = target.trim();
        if !valid_lang(target) {
            return Err(vec![err(
                1,
                format!("fallback {target:?} is not a language code"),
            )]);
        }
        return Ok(Template {
            lang,
            name,
            path: format!("templates/{path}"),
            subject: Vec::new(),
            body: Vec::new(),
            fallback: Some(target.to_string()),
        });
    }
    let Some(subject) = first.strip_prefix("Subject:") else {
        return Err(vec![err(
            1,
            "the first line must be \"Subject: ...\" (or \"Fallback: <lang>\")".into(),
        )]);
    };
    if lines.next().is_some_and(|l| !l.trim().is_empty()) {
        return Err(vec![err(
            2,
            "expected an empty line after the subject".into(),
        )]);
    }
    let mut errors = Vec::new();
    let subject = parse_segments(subject.trim(), 1, false, &mut |l, m| errors.push(err(l, m)));
    let body_text: Vec<&str> = lines.collect();
    let mut body = Vec::new();
    // Open blocks: what they are, the segments outside them, their line.
    let mut open: Vec<(Block, Vec<Seg>, usize)> = Vec::new();
    for (i, line) in body_text.iter().enumerate() {
        let lineno = i + 3;
        match directive(line.trim()) {
            Some(Ok(Directive::Open(block))) => {
                open.push((block, std::mem::take(&mut body), lineno));
                continue;
            }
            Some(Ok(Directive::Close(kind))) => {
                match open.pop() {
                    Some((block, outer, _)) if block.kind() == kind => {
                        let inner = std::mem::replace(&mut body, outer);
                        body.push(block.into_seg(inner));
                    }
                    Some((block, outer, at)) => {
                        errors.push(err(
                            lineno,
                            format!("{{/{kind}}} closes {{#{}}} of line {at}", block.kind()),
                        ));
                        open.push((block, outer, at));
                    }
                    None => errors.push(err(lineno, format!("{{/{kind}}} without an open block"))),
                }
                continue;
            }
            Some(Err(message)) => {
                errors.push(err(lineno, message));
                continue;
            }
            None => {}
        }
        let in_each = open.iter().any(|(b, ..)| matches!(b, Block::Each));
        let mut segs = parse_segments(line, lineno, in_each, &mut |l, m| errors.push(err(l, m)));
        body.append(&mut segs);
        body.push(Seg::Text("\n".into()));
    }
    for (block, _, at) in &open {
        errors.push(err(*at, format!("{{#{}}} is never closed", block.kind())));
    }
    // Trailing empty lines are not part of the mail.
    while matches!(body.last(), Some(Seg::Text(t)) if t.trim().is_empty()) {
        body.pop();
    }
    body.push(Seg::Text("\n".into()));
    if body_text.iter().all(|l| l.trim().is_empty()) {
        errors.push(err(3, "the body is empty".into()));
    }
    if errors.is_empty() {
        Ok(Template {
            lang,
            name,
            path: format!("templates/{path}"),
            subject,
            body,
            fallback: None,
        })
    } else {
        Err(errors)
    }
}

fn valid_lang(l: &str) -> bool {
    let mut parts = l.split('-');
    let base = parts.next().unwrap_or("");
    (2..=3).contains(&base.len())
        && base.chars().all(|c| c.is_ascii_lowercase())
        && parts.all(|r| (2..=4).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// A block line: `{#each recordings}`, `{#if NAME}`, `{/each}`, `{/if}`.
enum Directive {
    Open(Block),
    Close(&'static str),
}

enum Block {
    Each,
    If(Cond),
}

impl Block {
    fn kind(&self) -> &'static str {
        match self {
            Block::Each => "each",
            Block::If(_) => "if",
        }
    }

    fn into_seg(self, inner: Vec<Seg>) -> Seg {
        match self {
            Block::Each => Seg::Each(inner),
            Block::If(c) => Seg::If(c, inner),
        }
    }
}

const CONDITIONS: &str =
    "recordings, received, accepted, rejected, pending, participant_id, task_id";

fn directive(line: &str) -> Option<Result<Directive, String>> {
    let inner = line.strip_prefix('{')?.strip_suffix('}')?;
    if let Some(rest) = inner.strip_prefix('#') {
        let (kind, arg) = rest.split_once(' ').unwrap_or((rest, ""));
        return Some(match (kind, arg.trim()) {
            ("each", "recordings") => Ok(Directive::Open(Block::Each)),
            ("each", other) => Err(format!("{{#each {other}}}: the only list is recordings")),
            ("if", name) => match name {
                "recordings" => Ok(Cond::Recordings),
                "participant_id" => Ok(Cond::ParticipantId),
                "task_id" => Ok(Cond::TaskId),
                _ => counter(name).map(Cond::Count).ok_or_else(|| {
                    format!("{{#if {name}}}: unknown condition (known: {CONDITIONS})")
                }),
            }
            .map(|c| Directive::Open(Block::If(c))),
            _ => Err(format!("unknown block {{#{kind}}} (known: each, if)")),
        });
    }
    match inner.strip_prefix('/')? {
        "each" => Some(Ok(Directive::Close("each"))),
        "if" => Some(Ok(Directive::Close("if"))),
        other => Some(Err(format!("unknown block end {{/{other}}}"))),
    }
}

fn counter(name: &str) -> Option<Count> {
    Some(match name {
        "received" => Count::Received,
        "accepted" => Count::Accepted,
        "rejected" => Count::Rejected,
        "pending" => Count::Pending,
        _ => return None,
    })
}

/// `templates/<lang>/reasons.toml`: a flat table of reason code = text.
fn parse_reasons(
    path: &str,
    text: &str,
) -> Result<(String, BTreeMap<String, String>), TemplateError> {
    let err = |line: usize, message: String| TemplateError {
        path: format!("templates/{path}"),
        line,
        message,
    };
    let lang = Path::new(path)
        .parent()
        .and_then(|d| d.file_name())
        .and_then(|s| s.to_str())
        .filter(|l| valid_lang(l))
        .ok_or_else(|| err(0, format!("expected templates/<lang>/{REASONS_FILE}")))?;
    let map: BTreeMap<String, String> = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        });
        err(
            line,
            format!("expected code = \"text\" lines: {}", e.message().trim()),
        )
    })?;
    if let Some((code, _)) = map.iter().find(|(_, t)| t.trim().is_empty()) {
        return Err(err(0, format!("reason code {code:?} has an empty text")));
    }
    Ok((lang.to_string(), map))
}

fn parse_segments(
    line: &str,
    lineno: usize,
    in_each: bool,
    err: &mut dyn FnMut(usize, String),
) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut text = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let c = rest.as_bytes()[i];
        let after = &rest[i + 1..];
        if after.as_bytes().first() == Some(&c) {
            text.push(c as char);
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            err(
                lineno,
                "unmatched \"}\" (write \"}}\" for a literal brace)".into(),
            );
            rest = after;
            continue;
        }
        let Some(end) = after.find('}') else {
            err(
                lineno,
                "unclosed \"{\" (write \"{{\" for a literal brace)".into(),
            );
            rest = "";
            break;
        };
        let name = &after[..end];
        let var = match name {
            "token" => Some(Var::Token),
            "participant_name" => Some(Var::ParticipantName),
            "participant_id" => Some(Var::ParticipantId),
            "task_id" => Some(Var::TaskId),
            "project_name" => Some(Var::ProjectName),
            "recording.id" if in_each => Some(Var::RecordingId),
            "recording.reason" if in_each => Some(Var::RecordingReason),
            "recording.date" if in_each => Some(Var::RecordingDate),
            "recording.status" if in_each => Some(Var::RecordingStatus),
            _ if name.starts_with("count.") => counter(&name[6..]).map(Var::Count),
            _ => name
                .strip_prefix("link.")
                .filter(|l| LINKS.contains(l))
                .map(|l| Var::Link(l.to_string())),
        };
        match var {
            Some(v) => {
                if !text.is_empty() {
                    segs.push(Seg::Text(std::mem::take(&mut text)));
                }
                segs.push(Seg::Var(v));
            }
            None => err(
                lineno,
                format!(
                    "unknown placeholder {{{name}}} (known: token, participant_name, participant_id, task_id, project_name, count.received|accepted|rejected|pending, link.{}; recording.id|reason|date|status inside {{#each recordings}})",
                    LINKS.join("|link.")
                ),
            ),
        }
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        segs.push(Seg::Text(text));
    }
    segs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(links: &[&str]) -> Project {
        Project {
            id: "voices".into(),
            name: "Voices".into(),
            support_address: "support@voices.example".into(),
            addresses: vec!["support@voices.example".into()],
            languages: vec!["en".into(), "de".into()],
            default_language: "de".into(),
            links: links
                .iter()
                .map(|l| (l.to_string(), format!("https://voices.example/{l}")))
                .collect(),
            ..Project::default()
        }
    }

    fn vars<'a>(p: &'a Project, name: Option<&'a str>) -> Vars<'a> {
        Vars {
            token: "[#7]",
            participant_name: name,
            participant_id: None,
            task_id: None,
            project: p,
            facts: None,
        }
    }

    #[test]
    fn builtin_templates_and_acknowledgements_cover_every_language() {
        let t = Templates::builtin();
        for lang in [
            "en", "pt", "de", "nl", "fr", "it", "es", "ko", "vi", "zh", "tr", "el", "fi",
        ] {
            for topic in AUTO_TOPICS.iter().chain(ACKS) {
                let tpl = t
                    .get(lang, topic)
                    .unwrap_or_else(|| panic!("{lang}/{topic}"));
                assert!(tpl.fallback.is_none());
            }
        }
    }

    #[test]
    fn unknown_placeholder_is_an_error_with_path_and_line() {
        let e = Templates::from_files(vec![(
            "de/payment.txt".into(),
            "Subject: Hallo\n\nZeile eins\nDein {tokne} ist da\n".into(),
        )])
        .unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].to_string()
                .starts_with("templates/de/payment.txt:4: unknown placeholder {tokne}"),
            "{}",
            e[0]
        );
        let e = Templates::from_files(vec![(
            "en/x.txt".into(),
            "Subject: {link.nowhere}\n\nbody\n".into(),
        )])
        .unwrap_err();
        assert_eq!(e[0].line, 1);
    }

    #[test]
    fn renders_with_links_and_drops_a_missing_name() {
        let t = Templates::builtin();
        let p = project(LINKS);
        let r = t.render("payment", Some("en"), &vars(&p, None)).unwrap();
        assert!(r.body.starts_with("Hello,\n"), "{}", r.body);
        assert!(r.body.contains("https://voices.example/payment_info"));
        assert!(r.body.contains("[#7]"));
        let r = t
            .render("payment", Some("en"), &vars(&p, Some("Ana")))
            .unwrap();
        assert!(r.body.starts_with("Hello Ana,\n"));
    }

    #[test]
    fn missing_link_refuses_to_render() {
        let t = Templates::builtin();
        let p = project(&[]);
        let e = t
            .render("payment", Some("en"), &vars(&p, None))
            .unwrap_err();
        assert!(matches!(e, RenderError::MissingLink { ref link, .. } if link == "payment_info"));
    }

    #[test]
    fn fallback_chain_regional_language_project_default_en() {
        let file = |path: &str, body: &str| (path.to_string(), format!("Subject: s\n\n{body}\n"));
        let t = Templates::from_files(vec![
            file("pt-BR/payment.txt", "br"),
            file("pt/payment.txt", "pt"),
            file("de/payment.txt", "de"),
            file("en/payment.txt", "en"),
            file("en/instructions.txt", "en-i"),
            ("fi/payment.txt".into(), "Fallback: de\n".into()),
        ])
        .unwrap();
        let p = project(&[]);
        let lang = |l: Option<&str>, n: &str| t.resolve(n, l, &p).map(|t| t.lang.clone());
        assert_eq!(lang(Some("pt-BR"), "payment").as_deref(), Some("pt-BR"));
        assert_eq!(lang(Some("pt-PT"), "payment").as_deref(), Some("pt"));
        assert_eq!(lang(Some("ko"), "payment").as_deref(), Some("de"));
        assert_eq!(lang(None, "payment").as_deref(), Some("de"));
        assert_eq!(lang(Some("fi"), "payment").as_deref(), Some("de"));
        assert_eq!(lang(Some("ko"), "instructions").as_deref(), Some("en"));
        assert_eq!(lang(Some("ko"), "nothing"), None);
    }

    #[test]
    fn check_reports_gaps_and_accepts_explicit_fallbacks() {
        let file = |path: &str, body: &str| (path.to_string(), body.to_string());
        let mut files: Vec<_> = AUTO_TOPICS
            .iter()
            .map(|t| file(&format!("en/{t}.txt"), "Subject: s\n\nbody\n"))
            .collect();
        files.push(file("de/payment.txt", "Fallback: en\n"));
        let t = Templates::from_files(files).unwrap();
        let gaps = t.check(&[project(&[])]);
        assert_eq!(gaps.len(), 2, "{gaps:?}");
        assert!(gaps.iter().all(|g| g.contains("language de")));
        let full = Templates::builtin();
        assert!(full.check(&[project(LINKS)]).is_empty());
        assert!(!full.check(&[project(&["help"])]).is_empty());
    }

    #[test]
    fn literal_braces_and_unclosed_braces() {
        let t = Templates::from_files(vec![("en/x.txt".into(), "Subject: a {{b}}\n\nc\n".into())])
            .unwrap();
        let p = project(&[]);
        assert_eq!(
            t.render("x", None, &vars(&p, None)).unwrap().subject,
            "a {b}"
        );
        assert!(
            Templates::from_files(vec![("en/x.txt".into(), "Subject: {token\n\nc\n".into())])
                .is_err()
        );
    }

    #[test]
    fn lists_and_conditions_render_with_localized_reasons() {
        use crate::tracker::dispute::{Facts, Recording};
        use crate::tracker::Status;
        let t = Templates::from_files(vec![
            (
                "pt/r.txt".into(),
                "Subject: s\n\nOlá {participant_name},\n{#if participant_id}\nID {participant_id}\n{/if}\n{#each recordings}\n- {recording.id} ({recording.date}): {recording.reason}\n{/each}\n{#if pending}\n{count.pending} em revisão\n{/if}\nFim\n".into(),
            ),
            ("pt/reasons.toml".into(), "noise = \"ruído\"\n".into()),
        ])
        .unwrap();
        let p = project(&[]);
        let rec = |id: &str, reason: &str| Recording {
            id: id.into(),
            status: Status::Rejected,
            reason: Some(reason.into()),
            date: Some("2026-11-20".into()),
        };
        let facts = Facts {
            recordings: vec![rec("REC-1", "noise"), rec("REC-2", "unmapped")],
            ..Facts::default()
        };
        let mut v = vars(&p, Some("Ana"));
        v.participant_id = Some("P-1");
        v.facts = Some(&facts);
        let body = t.render("r", Some("pt"), &v).unwrap().body;
        assert_eq!(
            body,
            "Olá Ana,\nID P-1\n- REC-1 (2026-11-20): ruído\n- REC-2 (2026-11-20): unmapped\nFim\n"
        );
        assert_eq!(t.reason_text("r", Some("pt"), &p, "noise"), Some("ruído"));
        assert_eq!(t.reason_text("r", Some("pt"), &p, "unmapped"), None);
    }

    #[test]
    fn block_mistakes_are_errors_with_lines() {
        let bad = |body: &str| {
            Templates::from_files(vec![("en/x.txt".into(), format!("Subject: s\n\n{body}\n"))])
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        };
        assert!(bad("a\n{#each recordings}\nb").contains("x.txt:4: {#each} is never closed"));
        assert!(bad("{recording.id}").contains("x.txt:3: unknown placeholder {recording.id}"));
        assert!(bad("{#if weather}\n{/if}").contains("unknown condition"));
        assert!(bad("{#each tasks}\n{/each}").contains("the only list is recordings"));
        assert!(bad("{#if pending}\n{/each}").contains("{/each} closes {#if} of line 3"));
        assert!(bad("{/if}").contains("without an open block"));
    }

    #[test]
    fn shipped_tracker_templates_cover_every_language_and_reason() {
        use crate::tracker::config::{Columns, Source, Statuses, TrackerConfig};
        use crate::tracker::dispute::{Facts, Recording};
        use crate::tracker::Status;
        let t = Templates::builtin();
        let mut p = project(LINKS);
        p.languages = [
            "en", "pt", "de", "nl", "fr", "it", "es", "ko", "vi", "zh", "tr", "el", "fi",
        ]
        .map(String::from)
        .to_vec();
        p.tracker = Some(TrackerConfig {
            source: Source::File("t.csv".into()),
            sheet: None,
            columns: Columns {
                participant: "p".into(),
                task: "t".into(),
                status: "s".into(),
                reason: None,
                date: None,
                email: None,
            },
            statuses: Statuses::default(),
        });
        assert_eq!(t.check(std::slice::from_ref(&p)), Vec::<String>::new());
        let facts = Facts {
            recordings: vec![Recording {
                id: "REC-1".into(),
                status: Status::Rejected,
                reason: Some("too_short".into()),
                date: None,
            }],
            received: 3,
            pending: 1,
            ..Facts::default()
        };
        let mut v = vars(&p, None);
        v.facts = Some(&facts);
        for lang in &p.languages {
            for name in TRACKER_TEMPLATES {
                let r = t.render(name, Some(lang), &v).unwrap();
                assert_eq!(&r.lang, lang);
                assert!(
                    !r.body.contains('{') && !r.body.contains("too_short"),
                    "{lang}/{name}: {}",
                    r.body
                );
            }
        }
    }
}
