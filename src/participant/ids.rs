//! Participant and task/recording IDs as a project writes them, found in a
//! mail's subject, new text and attachment names.
//!
//! Text is NFKC-normalized first, so full-width digits and letters (common
//! in Chinese, Japanese and Korean mail: `ＰＡＲ－１２３４５`) match the same
//! ASCII pattern, and every ID is kept in upper case: `par-12345` and
//! `PAR-12345` are one participant, in the store and in the tracker.

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// What to do with concurrent tickets of one participant on one topic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MergePolicy {
    /// Nothing.
    Off,
    /// An event on the new ticket names the others; a specialist merges.
    #[default]
    Suggest,
    /// The new mail joins the open ticket, when it comes from the same
    /// address as that ticket (an ID in the text alone never decides which
    /// ticket a sender joins).
    Auto,
}

impl MergePolicy {
    pub fn parse(s: &str) -> Option<MergePolicy> {
        match s {
            "off" => Some(MergePolicy::Off),
            "suggest" => Some(MergePolicy::Suggest),
            "auto" => Some(MergePolicy::Auto),
            _ => None,
        }
    }
}

/// A project's compiled ID patterns (rules/projects.toml `[project.ids]`).
#[derive(Debug, Clone, Default)]
pub struct IdRules {
    pub participant: Option<Regex>,
    pub task: Option<Regex>,
    pub merge: MergePolicy,
}

/// The IDs one mail names, in order of first appearance, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundIds {
    pub participants: Vec<String>,
    pub tasks: Vec<String>,
}

impl FoundIds {
    /// The participant, when the mail names exactly one.
    pub fn participant(&self) -> Option<&str> {
        match self.participants.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.participants.is_empty() && self.tasks.is_empty()
    }
}

/// At most this many bytes of each text are searched: IDs sit near the
/// top, and a pasted log of megabytes must not cost more than a mail.
const MAX_SCAN: usize = 64 * 1024;

impl IdRules {
    pub fn is_empty(&self) -> bool {
        self.participant.is_none() && self.task.is_none()
    }

    /// Every ID in `texts` (subject, new text, attachment names).
    pub fn extract<'a>(&self, texts: impl IntoIterator<Item = &'a str>) -> FoundIds {
        let mut found = FoundIds::default();
        if self.is_empty() {
            return found;
        }
        for text in texts {
            let text = prefix(text, MAX_SCAN);
            // Most mail is already in NFKC (plain ASCII, precomposed
            // accents): normalizing it anyway cost most of the time.
            let text: std::borrow::Cow<'_, str> =
                match unicode_normalization::is_nfkc_quick(text.chars()) {
                    unicode_normalization::IsNormalized::Yes => text.into(),
                    _ => text.nfkc().collect::<String>().into(),
                };
            if let Some(re) = &self.participant {
                collect(re, &text, &mut found.participants);
            }
            if let Some(re) = &self.task {
                collect(re, &text, &mut found.tasks);
            }
        }
        // A participant ID that also matches the task pattern is not a task.
        found.tasks.retain(|t| !found.participants.contains(t));
        found
    }
}

/// The first capture group when the pattern has one, else the whole match.
fn collect(re: &Regex, text: &str, out: &mut Vec<String>) {
    for caps in re.captures_iter(text) {
        let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
            continue;
        };
        let id = m.as_str().trim().to_uppercase();
        if !id.is_empty() && !out.contains(&id) && out.len() < 50 {
            out.push(id);
        }
    }
}

fn prefix(s: &str, max: usize) -> &str {
    &s[..s.floor_char_boundary(max)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> IdRules {
        IdRules {
            // ASCII word boundaries: in Unicode every CJK character is a
            // word character, so `\b` finds no edge in "是P-776655，".
            participant: Some(Regex::new(r"(?i)(?-u:\b)(P-?\d{5,8})(?-u:\b)").unwrap()),
            task: Some(Regex::new(r"(?i)(?-u:\b)(REC-\d{4,10})(?-u:\b)").unwrap()),
            merge: MergePolicy::Suggest,
        }
    }

    #[test]
    fn ids_in_several_languages_and_places() {
        let r = rules();
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            // Portuguese, ID in the subject, tasks in the text.
            (
                &[
                    "Gravação recusada - P-104233",
                    "Olá, as gravações REC-5521 e REC-5522 foram recusadas.",
                ],
                &["P-104233"],
                &["REC-5521", "REC-5522"],
            ),
            // German, lower case, the same task twice.
            (
                &["Ablehnung", "Meine Teilnehmer-ID ist p-2211009, Aufnahme rec-0042 (rec-0042)."],
                &["P-2211009"],
                &["REC-0042"],
            ),
            // Chinese with full-width characters and no spaces.
            (
                &["录音被拒", "我的编号是ＰＲ－１２３４５？不，是Ｐ－７７６６５５，录音ＲＥＣ－９９０１被拒绝了。"],
                &["P-776655"],
                &["REC-9901"],
            ),
            // Korean, ID only in an attachment name.
            (
                &["녹음 거절", "첨부 파일을 확인해 주세요.", "P-55512_REC-7788.wav"],
                &[],
                &[],
            ),
            // Greek, two participant IDs: ambiguous.
            (
                &["Απόρριψη", "Ο κωδικός μου είναι P-100001 ή ίσως P-100002."],
                &["P-100001", "P-100002"],
                &[],
            ),
        ];
        for (texts, participants, tasks) in cases {
            let found = r.extract(texts.iter().copied());
            assert_eq!(found.participants, *participants, "{texts:?}");
            assert_eq!(found.tasks, *tasks, "{texts:?}");
        }
    }

    #[test]
    fn attachment_names_with_separators_match_when_the_pattern_allows() {
        let r = IdRules {
            participant: Some(Regex::new(r"(?i)(?:^|[^A-Z0-9])(P-\d{5})(?:[^0-9]|$)").unwrap()),
            task: Some(Regex::new(r"(?i)(REC-\d{4})").unwrap()),
            merge: MergePolicy::Off,
        };
        let found = r.extract(["P-55512_REC-7788.wav"]);
        assert_eq!(found.participant(), Some("P-55512"));
        assert_eq!(found.tasks, ["REC-7788"]);
    }

    #[test]
    fn one_participant_or_none() {
        let r = rules();
        assert_eq!(
            r.extract(["P-12345 and P-12345"]).participant(),
            Some("P-12345")
        );
        assert_eq!(r.extract(["P-12345 and P-54321"]).participant(), None);
        assert!(IdRules::default().extract(["P-12345"]).is_empty());
    }

    #[test]
    fn huge_text_is_scanned_only_at_its_start() {
        let r = rules();
        let text = format!("{}P-12345", "x ".repeat(MAX_SCAN));
        assert!(r.extract([text.as_str()]).is_empty());
    }
}
