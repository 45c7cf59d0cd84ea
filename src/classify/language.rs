//! Language: script shortcuts first (Hangul -> ko, Han without kana -> zh,
//! Greek -> el), then keyword evidence (language hints and topic patterns,
//! which know Vietnamese without tone marks and greeklish) plus whatlang
//! restricted to the rule set's languages. Below the confidence gate the
//! fallbacks decide: Content-Language, then (in `refine`) the ticket's
//! language, the charset, a weak guess, the project default.

use super::{Classification, LanguageSource};
use crate::parse::ParsedEmail;
use crate::rules::RuleSet;
use whatlang::Lang;

/// The whatlang language for an ISO 639-1 code.
pub fn whatlang_code(code: &str) -> Option<Lang> {
    Some(match code {
        "en" => Lang::Eng,
        "pt" => Lang::Por,
        "de" => Lang::Deu,
        "nl" => Lang::Nld,
        "fr" => Lang::Fra,
        "it" => Lang::Ita,
        "es" => Lang::Spa,
        "ko" => Lang::Kor,
        "vi" => Lang::Vie,
        "zh" => Lang::Cmn,
        "tr" => Lang::Tur,
        "el" => Lang::Ell,
        "fi" => Lang::Fin,
        "sv" => Lang::Swe,
        "da" => Lang::Dan,
        "pl" => Lang::Pol,
        "ru" => Lang::Rus,
        "ja" => Lang::Jpn,
        _ => return None,
    })
}

#[derive(Default)]
struct Scripts {
    letters: usize,
    hangul: usize,
    han: usize,
    kana: usize,
    greek: usize,
}

fn count_scripts(text: &str, max: usize) -> Scripts {
    let mut s = Scripts::default();
    for c in text.chars().take(max) {
        // Cheap answers first: `is_alphabetic` searches Unicode tables for
        // every non-ASCII character.
        if c.is_ascii() {
            s.letters += usize::from(c.is_ascii_alphabetic());
            continue;
        }
        match c {
            '\u{ac00}'..='\u{d7a3}' => {
                s.letters += 1;
                s.hangul += 1;
                continue;
            }
            '\u{4e00}'..='\u{9fff}' => {
                s.letters += 1;
                s.han += 1;
                continue;
            }
            _ => {}
        }
        if !c.is_alphabetic() {
            continue;
        }
        s.letters += 1;
        match c {
            '\u{ac00}'..='\u{d7af}' | '\u{1100}'..='\u{11ff}' | '\u{3130}'..='\u{318f}' => {
                s.hangul += 1
            }
            '\u{3040}'..='\u{30ff}' => s.kana += 1,
            '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' => s.han += 1,
            '\u{0370}'..='\u{03ff}' | '\u{1f00}'..='\u{1fff}' => s.greek += 1,
            _ => {}
        }
    }
    s
}

pub(super) fn detect(
    rules: &RuleSet,
    email: &ParsedEmail,
    subject: &str,
    new_text: &str,
    subj_hits: &[u32],
    body_hits: &[u32],
    out: &mut Classification,
) {
    let det = &rules.detection;
    let n = rules.languages.len();
    let mut evidence = vec![0.0f64; n];
    for &id in subj_hits.iter().chain(body_hits) {
        let p = &rules.text.patterns[id as usize];
        // Negative topic patterns still show the language; words shared by
        // several languages count for each in part.
        let share = p.weight.abs().min(2.0) / p.langs.len().max(1) as f64;
        for &l in &p.langs {
            evidence[l] += share;
        }
    }

    // Script shortcuts: a quarter of the letters is enough (Latin product
    // names and URLs are common in Korean and Chinese mail).
    let scripts = {
        let s = count_scripts(subject, 400);
        let b = count_scripts(new_text, det.max_chars);
        Scripts {
            letters: s.letters + b.letters,
            hangul: s.hangul + b.hangul,
            han: s.han + b.han,
            kana: s.kana + b.kana,
            greek: s.greek + b.greek,
        }
    };
    let quarter = scripts.letters.div_ceil(4).max(1);
    let by_script = if scripts.hangul >= quarter {
        Some("ko")
    } else if scripts.han >= quarter && scripts.kana == 0 {
        Some("zh")
    } else if scripts.greek >= quarter {
        Some("el")
    } else {
        None
    };
    if let Some(code) = by_script.filter(|c| rules.language_index(c).is_some()) {
        set(
            out,
            code,
            1.0,
            runner_up(rules, &evidence, code),
            LanguageSource::Script,
        );
        return;
    }

    // Keyword evidence alone decides when it is clear; whatlang only runs
    // when it is not (it is the costly part).
    let (best, second) = top_two(&evidence);
    let clear = |b: f64, s: f64| b >= 2.0 * det.min_evidence && b >= 2.0 * s;
    if let Some(b) = best {
        let s = second.map_or(0.0, |i| evidence[i]);
        if clear(evidence[b], s) {
            let conf = confidence(evidence[b], s);
            set_idx(out, rules, b, conf, second, LanguageSource::Detector);
            return;
        }
    }
    let mut text = String::with_capacity(det.max_chars + subject.len() + 1);
    text.push_str(subject);
    text.push('\n');
    text.extend(new_text.chars().take(det.max_chars));
    let allow: Vec<Lang> = rules
        .languages
        .iter()
        .filter(|l| !matches!(l.code.as_str(), "ko" | "zh" | "el"))
        .filter_map(|l| whatlang_code(&l.code))
        .collect();
    if !allow.is_empty() {
        if let Some(info) = whatlang::Detector::with_allowlist(allow).detect(&text) {
            let idx = rules
                .languages
                .iter()
                .position(|l| whatlang_code(&l.code) == Some(info.lang()));
            if let Some(i) = idx {
                let conf = info.confidence();
                let w = if conf >= det.min_confidence {
                    det.whatlang_weight * conf
                } else {
                    det.whatlang_weight * conf * 0.5
                };
                evidence[i] += w;
            }
        }
    }
    let (best, second) = top_two(&evidence);
    if let Some(b) = best {
        let s = second.map_or(0.0, |i| evidence[i]);
        if evidence[b] >= det.min_evidence && evidence[b] >= 1.25 * s {
            let conf = confidence(evidence[b], s);
            set_idx(out, rules, b, conf, second, LanguageSource::Detector);
            return;
        }
    }
    // Below the gate: fallbacks.
    if let Some(code) = content_language(email).filter(|c| rules.language_index(c).is_some()) {
        let runner = best.map(|b| rules.languages[b].code.clone());
        set(out, &code, 0.5, runner, LanguageSource::ContentLanguage);
        return;
    }
    if let Some(cs) = &email.charset {
        let cs = cs.to_ascii_lowercase();
        if let Some(l) = rules.languages.iter().find(|l| l.charsets.contains(&cs)) {
            let runner = best.map(|b| rules.languages[b].code.clone());
            set(out, &l.code.clone(), 0.3, runner, LanguageSource::Charset);
            return;
        }
    }
    if let Some(b) = best {
        let s = second.map_or(0.0, |i| evidence[i]);
        let conf = confidence(evidence[b], s) * 0.5;
        set_idx(out, rules, b, conf, second, LanguageSource::WeakGuess);
        return;
    }
    let default = &rules.projects[rules.default_project].default_language;
    set(
        out,
        &default.clone(),
        0.0,
        None,
        LanguageSource::ProjectDefault,
    );
}

fn content_language(email: &ParsedEmail) -> Option<String> {
    let v = email.header("content-language")?;
    let first = v.split([',', ';']).next()?.trim();
    let primary = first.split(['-', '_']).next()?.to_ascii_lowercase();
    (primary.len() == 2).then_some(primary)
}

fn top_two(evidence: &[f64]) -> (Option<usize>, Option<usize>) {
    let mut best: Option<usize> = None;
    let mut second: Option<usize> = None;
    for (i, &e) in evidence.iter().enumerate() {
        if e <= 0.0 {
            continue;
        }
        if best.is_none_or(|b| e > evidence[b]) {
            second = best;
            best = Some(i);
        } else if second.is_none_or(|s| e > evidence[s]) {
            second = Some(i);
        }
    }
    (best, second)
}

fn confidence(best: f64, second: f64) -> f64 {
    let c = (best - second) / best.max(1e-9) * (best / (best + 2.0));
    (c.clamp(0.0, 1.0) * 100.0).round() / 100.0
}

fn runner_up(rules: &RuleSet, evidence: &[f64], winner: &str) -> Option<String> {
    let w = rules.language_index(winner);
    let mut best: Option<usize> = None;
    for (i, &e) in evidence.iter().enumerate() {
        if Some(i) != w && e > 0.0 && best.is_none_or(|b| e > evidence[b]) {
            best = Some(i);
        }
    }
    best.map(|i| rules.languages[i].code.clone())
}

fn set_idx(
    out: &mut Classification,
    rules: &RuleSet,
    idx: usize,
    conf: f64,
    second: Option<usize>,
    source: LanguageSource,
) {
    let runner = second.map(|s| rules.languages[s].code.clone());
    set(
        out,
        &rules.languages[idx].code.clone(),
        conf,
        runner,
        source,
    );
}

fn set(
    out: &mut Classification,
    code: &str,
    conf: f64,
    runner: Option<String>,
    source: LanguageSource,
) {
    out.language = Some(code.to_string());
    out.language_confidence = conf;
    out.language_runner_up = runner;
    out.language_source = Some(source);
}
