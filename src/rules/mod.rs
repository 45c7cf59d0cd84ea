//! The compiled, immutable rule set that guard, classification and
//! decisions read. Rule files (TOML, documented in rules/README.md) are
//! compiled completely or not at all: [`RuleSet::load`] returns every error
//! as `path:line:column: reason`, so a daemon can refuse a broken set and
//! keep the last good one.

mod compile;
mod error;
mod file;
mod ids;
pub mod matcher;
pub mod normalize;

pub use error::RuleError;

use crate::decide::Action;
use crate::parse::ParsedEmail;
use matcher::Matcher;
use std::collections::BTreeMap;
use std::path::Path;

/// The shipped rules/ folder, compiled into the binary.
static BUILTIN: include_dir::Dir<'static> = include_dir::include_dir!("$CARGO_MANIFEST_DIR/rules");

/// One support project: where its mail arrives and how it answers.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Stable id, e.g. `voices`.
    pub id: String,
    /// Display name used in replies, e.g. `Voices of the World`.
    pub name: String,
    /// The From address of our replies, e.g. `support@voices.example`.
    pub support_address: String,
    /// Every address that belongs to this project (support address, aliases);
    /// mail to one of them belongs to the project, mail from one is ours.
    pub addresses: Vec<String>,
    /// Mailbox names (from the daemon config) whose mail belongs to this project.
    pub mailboxes: Vec<String>,
    /// ISO 639-1 codes the project answers in.
    pub languages: Vec<String>,
    pub default_language: String,
    /// Links for templates, e.g. `payment_info`, `upload_status`,
    /// `instructions`, `upload_page`.
    pub links: BTreeMap<String, String>,
    /// Routing overrides for this project, by topic.
    pub routes: BTreeMap<String, Route>,
    /// Participant and task ID patterns (`[project.ids]`).
    pub ids: crate::participant::ids::IdRules,
    /// The QA tracker (`[project.tracker]`), when the project has one.
    pub tracker: Option<crate::tracker::TrackerConfig>,
}

/// A language the rules know.
#[derive(Debug, Clone)]
pub struct Language {
    /// ISO 639-1 code.
    pub code: String,
    pub name: String,
    /// Lower-case charset names that suggest this language.
    pub charsets: Vec<String>,
}

/// Language detection tuning (rules/languages.toml `[detection]`).
#[derive(Debug, Clone)]
pub struct Detection {
    pub max_chars: usize,
    pub min_confidence: f64,
    pub min_evidence: f64,
    pub whatlang_weight: f64,
}

/// A topic and its weights.
#[derive(Debug, Clone)]
pub struct Topic {
    pub id: String,
    pub subject_weight: f64,
    pub body_weight: f64,
    /// Topic ids a sensitive topic does not take over from.
    pub yields_to: Vec<String>,
    /// Topics whose evidence cancels `yields_to`.
    pub yields_unless: Vec<String>,
}

/// What to do with a topic (rules/routing.toml `[topic.X]`).
#[derive(Debug, Clone)]
pub struct Route {
    /// Action for a first message.
    pub action: Action,
    pub template: Option<String>,
    pub queue: Option<String>,
    /// Escalate always, follow-ups included; never a canned answer.
    pub sensitive: bool,
}

/// Topic decision thresholds.
#[derive(Debug, Clone)]
pub struct Thresholds {
    pub min_score: f64,
    pub min_ratio: f64,
    pub auto_reply_min_score: f64,
}

/// Guard rules for machine mail (rules/machine.toml).
#[derive(Debug, Default)]
pub struct MachineRules {
    pub own_message_id_domains: Vec<String>,
    pub bounce_senders: Vec<String>,
    pub noreply_senders: Vec<String>,
    /// Domains (and their subdomains) that only send notifications.
    pub notifier_domains: Vec<String>,
    pub spam_prefixes: Vec<String>,
    pub matcher: Matcher,
}

/// Content spam rules (rules/spam.toml); empty when the file is absent.
#[derive(Debug, Default)]
pub struct SpamRules {
    pub threshold: f64,
    pub doubt: f64,
    pub html_only: f64,
    pub fake_reply: f64,
    pub reply_to_elsewhere: f64,
    pub lookalike_domain: f64,
    /// The receiving server recorded an SPF/DKIM/DMARC failure.
    pub auth_failed: f64,
    pub risky_attachment: f64,
    /// Lower case, without the dot.
    pub risky_extensions: Vec<String>,
    /// A program named as a document (`invoice.pdf.exe`).
    pub disguised_program: f64,
    /// A link in the new text to a site that is not a project's.
    pub link_elsewhere: f64,
    /// Words disguised with symbols or digits (`P@tches`, `v1agra`).
    pub disguised_words: f64,
    pub matcher: Matcher,
}

/// A compiled rule set. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct RuleSet {
    pub projects: Vec<Project>,
    /// Index into `projects` of the project for mail nothing else routes.
    pub default_project: usize,
    pub languages: Vec<Language>,
    pub detection: Detection,
    pub topics: Vec<Topic>,
    pub routes: BTreeMap<String, Route>,
    /// Queue name -> restricted.
    pub queues: BTreeMap<String, bool>,
    pub templates: Vec<String>,
    pub default_queue: String,
    pub sensitive_queue: String,
    pub thresholds: Thresholds,
    /// Topic patterns and language hints, scanned once per message.
    pub text: Matcher,
    pub machine: MachineRules,
    pub spam: SpamRules,
    /// The second opinion's model (rules/second_opinion.tsv), when shipped.
    pub second_opinion: Option<crate::classify::second_opinion::ModelFile>,
    /// The linear model (rules/linear_model.tsv), when shipped.
    pub linear:
        Option<crate::classify::second_opinion::ModelFile<crate::classify::linear::LinearModel>>,
    /// The files the set was compiled from, for summaries.
    pub files: Vec<String>,
}

impl RuleSet {
    /// The rules shipped in the repository's rules/ folder, compiled in.
    pub fn builtin() -> RuleSet {
        let mut sources = Vec::new();
        collect_builtin(&BUILTIN, &mut sources);
        compile::compile(&sources).expect("the shipped rules compile (tested)")
    }

    /// Compile the rule files in `dir`: all of them, or none with every error.
    /// Every regex is compiled once here to refuse one over the size limit
    /// with its file and line (they run compiled on first use).
    pub fn load(dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
        let sources = compile::read_dir(dir)?;
        let set = compile::compile(&sources)?;
        let mut errors = set.regex_errors();
        errors.extend(set.model_errors());
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Compile every regex of the set (each otherwise compiles on first
    /// use) and report those that do not, with file and line.
    pub(crate) fn regex_errors(&self) -> Vec<RuleError> {
        [&self.text, &self.machine.matcher, &self.spam.matcher]
            .into_iter()
            .filter_map(|m| m.compile_all().err())
            .flat_map(|e| e.located().collect::<Vec<_>>())
            .collect()
    }

    /// Parse the second opinion's model (otherwise parsed on first use)
    /// and report what is wrong with it, with file and line.
    pub(crate) fn model_errors(&self) -> Vec<RuleError> {
        let error =
            |path: &str, e: &crate::classify::second_opinion::ModelError, what: &str| RuleError {
                path: path.into(),
                line: e.line,
                column: 0,
                reason: format!("{what}: {}", e.reason),
            };
        let mut out = Vec::new();
        if let Some(f) = &self.second_opinion {
            if let Err(e) = f.model() {
                out.push(error(&f.path, e, "second opinion model"));
            }
        }
        if let Some(f) = &self.linear {
            if let Err(e) = f.model() {
                out.push(error(&f.path, e, "linear model"));
            }
        }
        out
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }

    /// The project a message belongs to: by recipient address (To, Cc,
    /// Delivered-To, X-Original-To), then by mailbox name, else the default.
    pub fn project_for(&self, email: &ParsedEmail, mailbox: Option<&str>) -> &Project {
        let mut recipients: Vec<String> = email
            .to
            .iter()
            .chain(email.cc.iter())
            .map(|a| a.email.to_ascii_lowercase())
            .collect();
        for h in ["delivered-to", "x-original-to", "envelope-to"] {
            for v in email.headers_named(h) {
                recipients.push(v.trim().trim_matches(['<', '>']).to_ascii_lowercase());
            }
        }
        let by_address = self.projects.iter().find(|p| {
            p.addresses
                .iter()
                .any(|a| recipients.iter().any(|r| r.eq_ignore_ascii_case(a)))
        });
        let by_mailbox = || {
            let m = mailbox?;
            self.projects
                .iter()
                .find(|p| p.mailboxes.iter().any(|b| b == m))
        };
        by_address
            .or_else(by_mailbox)
            .unwrap_or(&self.projects[self.default_project])
    }

    /// The route for `topic`, with the project's override when it has one.
    pub fn route(&self, project: &str, topic: &str) -> Option<&Route> {
        self.project(project)
            .and_then(|p| p.routes.get(topic))
            .or_else(|| self.routes.get(topic))
    }

    pub fn is_sensitive_topic(&self, project: &str, topic: &str) -> bool {
        self.route(project, topic).is_some_and(|r| r.sensitive)
    }

    pub fn is_restricted_queue(&self, queue: &str) -> bool {
        self.queues.get(queue).copied().unwrap_or(false)
    }

    pub fn language_index(&self, code: &str) -> Option<usize> {
        self.languages.iter().position(|l| l.code == code)
    }

    /// Every address of every project, lower case: mail from one is ours.
    pub fn is_own_address(&self, email: &str) -> bool {
        self.projects.iter().any(|p| {
            p.addresses.iter().any(|a| a.eq_ignore_ascii_case(email))
                || p.support_address.eq_ignore_ascii_case(email)
        })
    }

    /// One line: what the set contains.
    pub fn summary(&self) -> String {
        let participant = self.topics.len();
        format!(
            "{} files: {} projects, {} languages, {} topics x {} languages, {} topic/language patterns, {} machine-mail patterns, {} spam patterns",
            self.files.len(),
            self.projects.len(),
            self.languages.len(),
            participant,
            self.languages.len(),
            self.text.len(),
            self.machine.matcher.len(),
            self.spam.matcher.len()
        )
    }
}

fn collect_builtin(dir: &include_dir::Dir<'static>, out: &mut Vec<(String, String)>) {
    for f in dir.files() {
        let model = f
            .path()
            .file_name()
            .is_some_and(|n| n == compile::MODEL_FILE || n == compile::LINEAR_MODEL_FILE);
        if model || f.path().extension().is_some_and(|e| e == "toml") {
            let text = f.contents_utf8().expect("shipped rule files are UTF-8");
            out.push((format!("rules/{}", f.path().display()), text.to_string()));
        }
    }
    for d in dir.dirs() {
        collect_builtin(d, out);
    }
}

#[cfg(test)]
mod tests;
