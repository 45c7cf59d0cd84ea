//! Rule files -> [`RuleSet`]. Collects every error (never stops at the
//! first) so an admin sees the whole list at once; any error refuses the set.

use super::error::RuleError;
use super::file::{
    LangPatterns, LanguagesFile, MachineFile, ProjectsFile, RouteDef, RoutingFile, SpamFile,
    TopicsFile,
};
use super::matcher::{Matcher, Origin, Pattern, PatternKind, Target, Unbuilt};
use super::normalize::normalize;
use super::{
    Detection, Language, MachineRules, Project, Route, RuleSet, SpamRules, Thresholds, Topic,
};
use crate::decide::Action;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;

const REQUIRED: [&str; 4] = [
    "languages.toml",
    "routing.toml",
    "projects.toml",
    "machine.toml",
];
/// Rule files that may be absent.
const OPTIONAL: [&str; 3] = ["spam.toml", MODEL_FILE, LINEAR_MODEL_FILE];
/// The second opinion's model (`helpgate rules train`), optional.
pub(crate) const MODEL_FILE: &str = "second_opinion.tsv";
/// The linear model (`helpgate rules train --linear-out`), optional.
pub(crate) const LINEAR_MODEL_FILE: &str = "linear_model.tsv";

/// The rule files under `dir`: the four required files and topics/*.toml.
pub(crate) fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut read = |path: &Path, errors: &mut Vec<RuleError>| match std::fs::read_to_string(path) {
        Ok(text) => out.push((path.display().to_string(), text)),
        Err(e) => errors.push(RuleError {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            reason: format!("cannot read rule file: {e}"),
        }),
    };
    for name in REQUIRED {
        read(&dir.join(name), &mut errors);
    }
    for name in OPTIONAL {
        if dir.join(name).exists() {
            read(&dir.join(name), &mut errors);
        }
    }
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut extra: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            extra.sort();
            for p in extra {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if p.extension().is_some_and(|e| e == "toml")
                    && !REQUIRED.contains(&name)
                    && !OPTIONAL.contains(&name)
                {
                    errors.push(RuleError {
                        path: p.clone(),
                        line: 0,
                        column: 0,
                        reason: "unknown rule file: expected languages.toml, routing.toml, projects.toml, machine.toml, spam.toml or topics/*.toml".into(),
                    });
                }
            }
        }
        Err(e) => errors.push(RuleError {
            path: dir.to_path_buf(),
            line: 0,
            column: 0,
            reason: format!("cannot read rules directory: {e}"),
        }),
    }
    let topics = dir.join("topics");
    match std::fs::read_dir(&topics) {
        Ok(entries) => {
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect();
            files.sort();
            for f in files {
                read(&f, &mut errors);
            }
        }
        Err(e) => errors.push(RuleError {
            path: topics,
            line: 0,
            column: 0,
            reason: format!("cannot read topics directory: {e}"),
        }),
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Compile `(path, text)` sources into a rule set.
pub(crate) fn compile(sources: &[(String, String)]) -> Result<RuleSet, Vec<RuleError>> {
    let mut c = Compiler::default();
    let find = |name: &str| {
        sources
            .iter()
            .find(|(p, _)| Path::new(p).file_name().is_some_and(|n| n == name) && !is_topic(p))
    };
    let mut missing = Vec::new();
    for name in REQUIRED {
        if find(name).is_none() {
            missing.push(RuleError {
                path: name.into(),
                line: 0,
                column: 0,
                reason: "missing required rule file".into(),
            });
        }
    }
    if !missing.is_empty() {
        return Err(missing);
    }
    let (lp, lt) = find("languages.toml").expect("checked above");
    let (rp, rt) = find("routing.toml").expect("checked above");
    let (pp, pt) = find("projects.toml").expect("checked above");
    let (mp, mt) = find("machine.toml").expect("checked above");
    let langs: Option<LanguagesFile> = c.parse(lp, lt);
    let routing: Option<RoutingFile> = c.parse(rp, rt);
    let projects: Option<ProjectsFile> = c.parse(pp, pt);
    let machine: Option<MachineFile> = c.parse(mp, mt);
    let spam: Option<(&String, &String, SpamFile)> =
        find("spam.toml").and_then(|(p, t)| c.parse(p, t).map(|f| (p, t, f)));
    let topic_files: Vec<(&String, &String, Option<TopicsFile>)> = sources
        .iter()
        .filter(|(p, _)| is_topic(p))
        .map(|(p, t)| (p, t, c.parse(p, t)))
        .collect();
    // A topic file that did not parse hides its topics: do not report
    // references to them as unknown on top of the parse error.
    c.topics_complete = topic_files.iter().all(|(_, _, f)| f.is_some());

    let detection = langs.as_ref().map(|l| &l.detection);
    if let Some(l) = &langs {
        c.languages(lp, lt, l);
    }
    for (p, t, f) in &topic_files {
        if let Some(f) = f {
            c.topics(p, t, f);
        }
    }
    let mut set_routes = BTreeMap::new();
    let mut queues = BTreeMap::new();
    let mut templates = Vec::new();
    let mut thresholds = Thresholds {
        min_score: 2.0,
        min_ratio: 1.3,
        auto_reply_min_score: 2.0,
    };
    let (mut default_queue, mut sensitive_queue) = (String::new(), String::new());
    if let Some(r) = &routing {
        queues = r
            .queues
            .iter()
            .map(|(k, q)| (k.clone(), q.restricted))
            .collect();
        templates = r.templates.iter().map(|t| t.get_ref().clone()).collect();
        c.templates = templates.clone();
        c.queues = queues.keys().cloned().collect();
        for q in [&r.default_queue, &r.sensitive_queue] {
            c.check_queue(rp, rt, q);
        }
        default_queue = r.default_queue.get_ref().clone();
        sensitive_queue = r.sensitive_queue.get_ref().clone();
        thresholds = Thresholds {
            min_score: r.thresholds.min_score,
            min_ratio: r.thresholds.min_ratio,
            auto_reply_min_score: r
                .thresholds
                .auto_reply_min_score
                .unwrap_or(r.thresholds.min_score),
        };
        set_routes = c.routes(rp, rt, &r.topic);
        for t in &c.topics {
            if !r.topic.contains_key(&t.id) {
                let (file, line) = &c.topic_origin[&t.id];
                c.errors.push(RuleError {
                    path: file.into(),
                    line: *line,
                    column: 1,
                    reason: format!("topic `{}` has no route in routing.toml", t.id),
                });
            }
        }
    }
    let (project_list, default_project) = match &projects {
        Some(p) => c.projects(pp, pt, p),
        None => (Vec::new(), 0),
    };
    let machine_rules = match &machine {
        Some(m) => c.machine(mp, mt, m),
        None => MachineRules::default(),
    };
    let (mut spam_rules, spam_patterns) = match &spam {
        Some((p, t, f)) => c.spam(p, t, f),
        None => (SpamRules::default(), None),
    };
    // Topic and spam cues read the same text: one automaton finds both.
    let text =
        Matcher::prepare(std::mem::take(&mut c.patterns)).and_then(|topics| match spam_patterns {
            Some(spam) => {
                let (text, spam) = topics.build_pair(spam)?;
                spam_rules.matcher = spam;
                Ok(text)
            }
            None => topics.build(),
        });
    let text = match text {
        Ok(m) => m,
        Err(e) => {
            c.errors.extend(e.located());
            c.errors.push(RuleError {
                path: "topics".into(),
                line: 0,
                column: 0,
                reason: format!("cannot build the combined pattern set: {e}"),
            });
            Matcher::default()
        }
    };
    let second_opinion = find(MODEL_FILE)
        .map(|(p, t)| crate::classify::second_opinion::ModelFile::new(p.clone(), t.clone()));
    let linear = find(LINEAR_MODEL_FILE).map(|(p, t)| {
        crate::classify::second_opinion::ModelFile::with_parser(
            p.clone(),
            t.clone(),
            crate::classify::linear::LinearModel::parse,
        )
    });
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    let detection = detection.expect("no errors, so languages.toml parsed");
    Ok(RuleSet {
        projects: project_list,
        default_project,
        languages: c.languages,
        detection: Detection {
            max_chars: detection.max_chars,
            min_confidence: detection.min_confidence,
            min_evidence: detection.min_evidence,
            whatlang_weight: detection.whatlang_weight,
        },
        topics: c.topics,
        routes: set_routes,
        queues,
        templates,
        default_queue,
        sensitive_queue,
        thresholds,
        text,
        machine: machine_rules,
        spam: spam_rules,
        second_opinion,
        linear,
        files: sources.iter().map(|(p, _)| p.clone()).collect(),
    })
}

fn is_topic(path: &str) -> bool {
    Path::new(path)
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == "topics")
}

#[derive(Default)]
struct Compiler {
    errors: Vec<RuleError>,
    languages: Vec<Language>,
    topics: Vec<Topic>,
    /// topic id -> (file, line) of its definition.
    topic_origin: BTreeMap<String, (String, usize)>,
    patterns: Vec<Pattern>,
    /// (text, kind, target) -> index in `patterns`, to merge duplicates.
    merged: std::collections::HashMap<(String, PatternKind, String), usize>,
    templates: Vec<String>,
    queues: Vec<String>,
    topics_complete: bool,
    lines: super::error::LineIndex,
}

impl Compiler {
    fn parse<T: DeserializeOwned>(&mut self, path: &str, text: &str) -> Option<T> {
        match toml::from_str::<T>(text) {
            Ok(v) => Some(v),
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                let reason = e.message().trim().to_string();
                self.errors.push(RuleError::at(path, text, at, reason));
                None
            }
        }
    }

    fn err<T>(&mut self, path: &str, text: &str, s: &Spanned<T>, reason: impl Into<String>) {
        self.errors
            .push(RuleError::at(path, text, s.span().start, reason));
    }

    fn lang(&self, code: &str) -> Option<usize> {
        self.languages.iter().position(|l| l.code == code)
    }

    /// `None` for `any` (every language), the language's index, or the
    /// error reported at `at` (and `None` outside: skip the entry).
    fn lang_or_report<T>(
        &mut self,
        path: &str,
        text: &str,
        code: &str,
        at: &Spanned<T>,
    ) -> Option<Option<usize>> {
        if code == "any" {
            return Some(None);
        }
        if let Some(l) = self.lang(code) {
            return Some(Some(l));
        }
        let known = self.known_languages();
        self.err(
            path,
            text,
            at,
            format!("unknown language `{code}` (languages.toml has: {known})"),
        );
        None
    }

    fn known_languages(&self) -> String {
        let codes: Vec<&str> = self.languages.iter().map(|l| l.code.as_str()).collect();
        codes.join(" ")
    }

    fn languages(&mut self, path: &str, text: &str, f: &LanguagesFile) {
        let file: Arc<str> = path.into();
        for (code, def) in &f.language {
            if crate::classify::whatlang_code(code).is_none() {
                self.err(
                    path,
                    text,
                    def,
                    format!("unknown language `{code}`: use an ISO 639-1 code the detector knows"),
                );
                continue;
            }
            let idx = self.languages.len();
            self.languages.push(Language {
                code: code.clone(),
                name: def.get_ref().name.clone(),
                charsets: def
                    .get_ref()
                    .charsets
                    .iter()
                    .map(|c| c.to_ascii_lowercase())
                    .collect(),
            });
            let d = def.get_ref();
            for (list, weight) in [(&d.hints, 1.0), (&d.strong_hints, 2.0)] {
                for h in list {
                    self.literal(
                        path,
                        text,
                        &file,
                        h,
                        PatternKind::Hint,
                        Target::Language,
                        Some(idx),
                        weight,
                    );
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn literal(
        &mut self,
        path: &str,
        text: &str,
        file: &Arc<str>,
        s: &Spanned<String>,
        kind: PatternKind,
        target: Target,
        lang: Option<usize>,
        weight: f64,
    ) {
        let norm = if kind == PatternKind::Regex {
            s.get_ref().clone()
        } else {
            normalize(s.get_ref(), usize::MAX)
        };
        if norm.trim_matches('*').trim().is_empty() {
            self.err(path, text, s, "empty pattern");
            return;
        }
        if kind == PatternKind::Regex {
            // Parsed, not compiled: the combined set compiles it once later,
            // and compiling each regex alone cost a quarter of rule loading.
            if let Err(e) =
                regex_syntax::Parser::new().parse(&super::matcher::ascii_boundaries(&norm))
            {
                let msg = e.to_string().replace('\n', " ");
                self.err(path, text, s, format!("invalid regex: {msg}"));
                return;
            }
        }
        let line = self.lines.line(text, s.span().start);
        let key = (norm.clone(), kind, format!("{target:?}"));
        if let Some(&i) = self.merged.get(&key) {
            if let Some(l) = lang {
                if !self.patterns[i].langs.contains(&l) {
                    self.patterns[i].langs.push(l);
                }
            }
            return;
        }
        self.merged.insert(key, self.patterns.len());
        self.patterns.push(Pattern {
            text: norm,
            kind,
            target,
            langs: lang.into_iter().collect(),
            weight,
            origin: Origin {
                file: file.clone(),
                line,
            },
        });
    }

    fn topics(&mut self, path: &str, text: &str, f: &TopicsFile) {
        let file: Arc<str> = path.into();
        for (id, def) in &f.topic {
            if let Some((first, line)) = self.topic_origin.get(id) {
                let first = format!("{first}:{line}");
                self.err(
                    path,
                    text,
                    def,
                    format!("duplicate topic id `{id}` (first defined at {first})"),
                );
                continue;
            }
            let line = self.lines.line(text, def.span().start);
            self.topic_origin
                .insert(id.clone(), (path.to_string(), line));
            let t = def.get_ref();
            let idx = self.topics.len();
            self.topics.push(Topic {
                id: id.clone(),
                subject_weight: t.subject_weight,
                body_weight: t.body_weight,
                yields_to: t.yields_to.clone(),
                yields_unless: t.yields_unless.clone(),
            });
            for (code, pats) in &t.lang {
                let Some(lang) = self.lang_or_report(path, text, code, pats) else {
                    continue;
                };
                let LangPatterns {
                    keywords,
                    phrases,
                    regex,
                    negative,
                    negative_regex,
                } = pats.get_ref();
                let w = &t.weights;
                for (list, kind, weight) in [
                    (keywords, PatternKind::Keyword, w.keyword),
                    (phrases, PatternKind::Phrase, w.phrase),
                    (regex, PatternKind::Regex, w.regex),
                    (negative, PatternKind::Negative, -w.negative),
                    (negative_regex, PatternKind::Regex, -w.negative),
                ] {
                    for p in list {
                        self.literal(path, text, &file, p, kind, Target::Topic(idx), lang, weight);
                    }
                }
            }
        }
    }

    fn check_queue(&mut self, path: &str, text: &str, q: &Spanned<String>) -> bool {
        if self.queues.iter().any(|k| k == q.get_ref()) {
            return true;
        }
        let known = self.queues.join(", ");
        self.err(
            path,
            text,
            q,
            format!(
                "unknown queue `{}` (routing.toml [queues] has: {known})",
                q.get_ref()
            ),
        );
        false
    }

    fn routes(
        &mut self,
        path: &str,
        text: &str,
        defs: &BTreeMap<String, Spanned<RouteDef>>,
    ) -> BTreeMap<String, Route> {
        let mut out = BTreeMap::new();
        for (topic, def) in defs {
            if !self.topic_origin.contains_key(topic) {
                if !self.topics_complete {
                    continue;
                }
                self.err(
                    path,
                    text,
                    def,
                    format!("unknown topic `{topic}` (not defined in any topics/*.toml)"),
                );
                continue;
            }
            let d = def.get_ref();
            let Some(action) = Action::parse(d.action.get_ref()) else {
                self.err(
                    path,
                    text,
                    &d.action,
                    format!(
                        "unknown action `{}`: expected auto_reply, human, escalate or ignore",
                        d.action.get_ref()
                    ),
                );
                continue;
            };
            let mut ok = true;
            if let Some(t) = &d.template {
                if !self.templates.iter().any(|k| k == t.get_ref()) {
                    let known = self.templates.join(", ");
                    self.err(
                        path,
                        text,
                        t,
                        format!(
                            "unknown template `{}` (routing.toml templates: {known})",
                            t.get_ref()
                        ),
                    );
                    ok = false;
                }
            } else if action == Action::AutoReply {
                self.err(path, text, &d.action, "action auto_reply needs a template");
                ok = false;
            }
            if let Some(q) = &d.queue {
                ok &= self.check_queue(path, text, q);
            }
            if d.sensitive && action == Action::AutoReply {
                self.err(
                    path,
                    text,
                    &d.action,
                    "a sensitive topic cannot auto_reply: use escalate",
                );
                ok = false;
            }
            if ok {
                out.insert(
                    topic.clone(),
                    Route {
                        action,
                        template: d.template.as_ref().map(|t| t.get_ref().clone()),
                        queue: d.queue.as_ref().map(|q| q.get_ref().clone()),
                        sensitive: d.sensitive,
                    },
                );
            }
        }
        out
    }

    fn projects(&mut self, path: &str, text: &str, f: &ProjectsFile) -> (Vec<Project>, usize) {
        let mut out: Vec<Project> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for def in &f.project {
            let d = def.get_ref();
            let id = d.id.get_ref().clone();
            if let Some(first) = seen.get(&id) {
                let (line, _) = super::error::line_col(text, *first);
                self.err(
                    path,
                    text,
                    &d.id,
                    format!("duplicate project id `{id}` (first defined at line {line})"),
                );
                continue;
            }
            seen.insert(id.clone(), d.id.span().start);
            let languages: Vec<String> = match &d.languages {
                Some(list) => {
                    for l in list {
                        if self.lang(l.get_ref()).is_none() {
                            let known = self.known_languages();
                            self.err(
                                path,
                                text,
                                l,
                                format!(
                                    "unknown language `{}` (languages.toml has: {known})",
                                    l.get_ref()
                                ),
                            );
                        }
                    }
                    list.iter().map(|l| l.get_ref().clone()).collect()
                }
                None => self.languages.iter().map(|l| l.code.clone()).collect(),
            };
            if !languages.contains(d.default_language.get_ref()) {
                self.err(
                    path,
                    text,
                    &d.default_language,
                    format!(
                        "default_language `{}` is not one of the project's languages",
                        d.default_language.get_ref()
                    ),
                );
            }
            let mut addresses: Vec<String> =
                d.addresses.iter().map(|a| a.to_ascii_lowercase()).collect();
            let support = d.support_address.to_ascii_lowercase();
            if !addresses.contains(&support) {
                addresses.insert(0, support);
            }
            let routes = self.routes(path, text, &d.topic);
            let (ids, tracker) = super::ids::compile(path, text, d, &mut self.errors);
            out.push(Project {
                id,
                name: d.name.clone(),
                support_address: d.support_address.clone(),
                addresses,
                mailboxes: d.mailboxes.clone(),
                languages,
                default_language: d.default_language.get_ref().clone(),
                links: d.links.clone(),
                routes,
                ids,
                tracker,
            });
        }
        let default = match out.iter().position(|p| &p.id == f.default.get_ref()) {
            Some(i) => i,
            None => {
                self.err(
                    path,
                    text,
                    &f.default,
                    format!("unknown project `{}` as default", f.default.get_ref()),
                );
                0
            }
        };
        (out, default)
    }

    fn machine(&mut self, path: &str, text: &str, f: &MachineFile) -> MachineRules {
        let file: Arc<str> = path.into();
        let saved = std::mem::take(&mut self.patterns);
        let saved_merged = std::mem::take(&mut self.merged);
        let groups = [
            (&f.autoreply.subject, Target::AutoreplySubject),
            (&f.autoreply.body, Target::AutoreplyBody),
            (&f.absence.subject, Target::AbsenceSubject),
            (&f.absence.body, Target::AbsenceBody),
            (&f.bounce.subject, Target::BounceSubject),
            (&f.bounce.body, Target::BounceBody),
        ];
        for (map, target) in groups {
            for (code, list) in map {
                let lang = if code == "any" {
                    None
                } else if let Some(l) = self.lang(code) {
                    Some(l)
                } else {
                    let known = self.known_languages();
                    if let Some(first) = list.first() {
                        self.err(
                            path,
                            text,
                            first,
                            format!("unknown language `{code}` (languages.toml has: {known})"),
                        );
                    }
                    continue;
                };
                for p in list {
                    self.literal(
                        path,
                        text,
                        &file,
                        p,
                        PatternKind::Machine,
                        target,
                        lang,
                        1.0,
                    );
                }
            }
        }
        let patterns = std::mem::replace(&mut self.patterns, saved);
        self.merged = saved_merged;
        let matcher = match Matcher::build(patterns) {
            Ok(m) => m,
            Err(e) => {
                self.errors.extend(e.located());
                self.errors.push(RuleError::at(
                    path,
                    text,
                    0,
                    format!("cannot build machine patterns: {e}"),
                ));
                Matcher::default()
            }
        };
        MachineRules {
            own_message_id_domains: f
                .own_message_id_domains
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            bounce_senders: f
                .bounce_senders
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            noreply_senders: f
                .noreply_senders
                .iter()
                .map(|d| d.to_ascii_lowercase())
                .collect(),
            notifier_domains: f
                .notifier_domains
                .iter()
                .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            spam_prefixes: f
                .spam
                .subject_prefixes
                .iter()
                .map(|d| d.to_lowercase())
                .collect(),
            matcher,
        }
    }

    /// The spam rules and their patterns, checked: the caller builds them
    /// into one automaton with the topic patterns.
    fn spam(&mut self, path: &str, text: &str, f: &SpamFile) -> (SpamRules, Option<Unbuilt>) {
        let file: Arc<str> = path.into();
        let saved = std::mem::take(&mut self.patterns);
        let saved_merged = std::mem::take(&mut self.merged);
        for (code, cues) in &f.lang {
            let Some(lang) = self.lang_or_report(path, text, code, cues) else {
                continue;
            };
            let c = cues.get_ref();
            for (list, kind, weight) in [
                (&c.cues, PatternKind::Machine, 1.0),
                (&c.strong, PatternKind::Machine, 2.0),
                (&c.regex, PatternKind::Regex, 2.0),
                (&c.negative, PatternKind::Negative, -3.0),
            ] {
                for p in list {
                    self.literal(path, text, &file, p, kind, Target::Spam, lang, weight);
                }
            }
        }
        let patterns = std::mem::replace(&mut self.patterns, saved);
        self.merged = saved_merged;
        let unbuilt = Matcher::prepare(patterns)
            .map_err(|e| {
                self.errors.extend(e.located());
                self.errors.push(RuleError::at(
                    path,
                    text,
                    0,
                    format!("cannot build spam patterns: {e}"),
                ));
            })
            .ok();
        if f.threshold <= 0.0 || f.doubt <= 0.0 || f.doubt > f.threshold {
            self.errors.push(RuleError::at(
                path,
                text,
                0,
                format!(
                    "need 0 < doubt <= threshold, found doubt {} and threshold {}",
                    f.doubt, f.threshold
                ),
            ));
        }
        let s = &f.signals;
        let rules = SpamRules {
            threshold: f.threshold,
            doubt: f.doubt,
            html_only: s.html_only,
            fake_reply: s.fake_reply,
            reply_to_elsewhere: s.reply_to_elsewhere,
            lookalike_domain: s.lookalike_domain,
            auth_failed: s.auth_failed,
            risky_attachment: s.risky_attachment,
            risky_extensions: s
                .risky_extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            disguised_program: s.disguised_program,
            link_elsewhere: s.link_elsewhere,
            disguised_words: s.disguised_words,
            matcher: Matcher::default(),
        };
        (rules, unbuilt)
    }
}
