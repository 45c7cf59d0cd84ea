//! The serde schema of the rule files, exactly as admins write them. Every
//! table denies unknown keys, and every pattern keeps its span so that
//! errors and matches can name `file:line`.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

type Patterns = Vec<Spanned<String>>;

/// rules/languages.toml
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanguagesFile {
    #[serde(default)]
    pub(crate) detection: Detection,
    #[serde(default)]
    pub(crate) language: BTreeMap<String, Spanned<LanguageDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Detection {
    /// Characters of subject + new text given to the detector.
    pub(crate) max_chars: usize,
    /// Below this whatlang confidence the statistical guess counts little.
    pub(crate) min_confidence: f64,
    /// Total evidence needed before the detector's answer is trusted.
    pub(crate) min_evidence: f64,
    /// Weight of whatlang's guess relative to one hint word.
    pub(crate) whatlang_weight: f64,
}

impl Default for Detection {
    fn default() -> Self {
        Detection {
            max_chars: 1000,
            min_confidence: 0.3,
            min_evidence: 1.5,
            whatlang_weight: 3.0,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LanguageDef {
    pub(crate) name: String,
    /// Charsets that point to this language when nothing else decides.
    #[serde(default)]
    pub(crate) charsets: Vec<String>,
    /// Common words of the language (weight 1 each as language evidence).
    #[serde(default)]
    pub(crate) hints: Patterns,
    /// Very telling words or spellings (weight 2), e.g. greeklish.
    #[serde(default)]
    pub(crate) strong_hints: Patterns,
}

/// rules/routing.toml
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutingFile {
    pub(crate) thresholds: Thresholds,
    pub(crate) queues: BTreeMap<String, QueueDef>,
    /// Template names that exist (templates/<lang>/<name>.txt).
    pub(crate) templates: Vec<Spanned<String>>,
    /// Queue for follow-ups and anything a human decides.
    pub(crate) default_queue: Spanned<String>,
    /// Queue for escalations when the topic names none.
    pub(crate) sensitive_queue: Spanned<String>,
    pub(crate) topic: BTreeMap<String, Spanned<RouteDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Thresholds {
    pub(crate) min_score: f64,
    /// An auto_reply needs at least this score (default: min_score);
    /// below it a person decides.
    #[serde(default)]
    pub(crate) auto_reply_min_score: Option<f64>,
    /// The best topic must beat the runner-up by this factor.
    pub(crate) min_ratio: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct QueueDef {
    #[serde(default)]
    pub(crate) restricted: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteDef {
    /// Action on a first message: auto_reply, human, escalate, ignore.
    pub(crate) action: Spanned<String>,
    #[serde(default)]
    pub(crate) template: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) queue: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) sensitive: bool,
}

/// rules/projects.toml
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectsFile {
    pub(crate) default: Spanned<String>,
    pub(crate) project: Vec<Spanned<ProjectDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProjectDef {
    pub(crate) id: Spanned<String>,
    pub(crate) name: String,
    pub(crate) support_address: String,
    #[serde(default)]
    pub(crate) addresses: Vec<String>,
    #[serde(default)]
    pub(crate) mailboxes: Vec<String>,
    /// Defaults to every language in languages.toml.
    #[serde(default)]
    pub(crate) languages: Option<Vec<Spanned<String>>>,
    pub(crate) default_language: Spanned<String>,
    #[serde(default)]
    pub(crate) links: BTreeMap<String, String>,
    /// Per-project routing overrides, same shape as routing.toml's topics.
    #[serde(default)]
    pub(crate) topic: BTreeMap<String, Spanned<RouteDef>>,
    /// How participant and task IDs look (issue 13).
    #[serde(default)]
    pub(crate) ids: Option<super::ids::IdsDef>,
    /// The project's QA tracker (issue 13).
    #[serde(default)]
    pub(crate) tracker: Option<super::ids::TrackerDef>,
}

/// rules/machine.toml
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MachineFile {
    /// Message-ID suffixes (after the `@`) we generate: such a message
    /// arriving is our own mail coming back.
    #[serde(default)]
    pub(crate) own_message_id_domains: Vec<String>,
    /// Sender local parts of mail systems (bounces).
    pub(crate) bounce_senders: Vec<String>,
    /// Sender local parts of automated senders (never a person).
    #[serde(default)]
    pub(crate) noreply_senders: Vec<String>,
    /// Sender domains that only send notifications (payment providers,
    /// social networks): no participant writes from them.
    #[serde(default)]
    pub(crate) notifier_domains: Vec<String>,
    pub(crate) autoreply: PhraseGroups,
    /// An absence said without a word about the mail ("I am on vacation
    /// until ..."): out-of-office notices say it, and so do participants
    /// about themselves, so it only withholds an automatic answer.
    #[serde(default)]
    pub(crate) absence: PhraseGroups,
    pub(crate) bounce: PhraseGroups,
    #[serde(default)]
    pub(crate) spam: SpamDef,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PhraseGroups {
    /// language -> phrases that mark the subject.
    #[serde(default)]
    pub(crate) subject: BTreeMap<String, Patterns>,
    /// language -> phrases that mark the body (its first lines).
    #[serde(default)]
    pub(crate) body: BTreeMap<String, Patterns>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpamDef {
    /// Subject prefixes that upstream filters add, compared lower case.
    #[serde(default)]
    pub(crate) subject_prefixes: Vec<String>,
}

/// rules/topics/*.toml: one or more topics per file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopicsFile {
    pub(crate) topic: BTreeMap<String, Spanned<TopicDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TopicDef {
    #[serde(default = "one_and_a_half")]
    pub(crate) subject_weight: f64,
    #[serde(default = "one")]
    pub(crate) body_weight: f64,
    #[serde(default)]
    pub(crate) weights: Weights,
    /// Topics this (sensitive) topic does not take over from: it must beat
    /// them on its own score (an "appeal" of rejected recordings is a
    /// rejection dispute, not an account appeal).
    #[serde(default)]
    pub(crate) yields_to: Vec<String>,
    /// ... except when one of these topics has evidence too (an appeal
    /// that also speaks of the account is about a blocked account).
    #[serde(default)]
    pub(crate) yields_unless: Vec<String>,
    /// language -> patterns.
    #[serde(default)]
    pub(crate) lang: BTreeMap<String, Spanned<LangPatterns>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Weights {
    pub(crate) keyword: f64,
    pub(crate) phrase: f64,
    pub(crate) regex: f64,
    pub(crate) negative: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            keyword: 1.0,
            phrase: 2.0,
            regex: 2.0,
            negative: 3.0,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LangPatterns {
    #[serde(default)]
    pub(crate) keywords: Patterns,
    #[serde(default)]
    pub(crate) phrases: Patterns,
    #[serde(default)]
    pub(crate) regex: Patterns,
    #[serde(default)]
    pub(crate) negative: Patterns,
    /// Regexes that count against the topic, like `negative`: the context
    /// that makes a topic's words mean something else ("delete ... and
    /// upload again" is a task question, not a deletion request).
    #[serde(default)]
    pub(crate) negative_regex: Patterns,
}

fn one() -> f64 {
    1.0
}

fn one_and_a_half() -> f64 {
    1.5
}

/// rules/spam.toml (optional): content spam and scams that no upstream
/// filter marked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpamFile {
    /// Score at which a mail is spam (recorded, never answered or queued).
    pub(crate) threshold: f64,
    /// Score from which a mail gets no automatic answer (a person looks).
    pub(crate) doubt: f64,
    pub(crate) signals: SpamSignals,
    /// language (or `any`) -> cue lists.
    #[serde(default)]
    pub(crate) lang: BTreeMap<String, Spanned<SpamCues>>,
}

/// Weights of what the mail's structure says.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpamSignals {
    pub(crate) html_only: f64,
    pub(crate) fake_reply: f64,
    pub(crate) reply_to_elsewhere: f64,
    pub(crate) lookalike_domain: f64,
    /// Older spam.toml files lack it: no weight then.
    #[serde(default)]
    pub(crate) auth_failed: f64,
    pub(crate) risky_attachment: f64,
    pub(crate) risky_extensions: Vec<String>,
    /// Older spam.toml files lack it: no weight then.
    #[serde(default)]
    pub(crate) disguised_program: f64,
    /// Older spam.toml files lack it: no weight then.
    #[serde(default)]
    pub(crate) link_elsewhere: f64,
    /// Older spam.toml files lack it: no weight then.
    #[serde(default)]
    pub(crate) disguised_words: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SpamCues {
    /// Weight 1 each.
    #[serde(default)]
    pub(crate) cues: Patterns,
    /// Weight 2 each: wording no participant uses to us.
    #[serde(default)]
    pub(crate) strong: Patterns,
    /// Weight 2 each, like `strong`: for wording that varies within a
    /// phrase ("your account ... will be closed").
    #[serde(default)]
    pub(crate) regex: Patterns,
    /// Subtract 3: a participant asking about a scam they received.
    #[serde(default)]
    pub(crate) negative: Patterns,
}
