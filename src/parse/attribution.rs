//! "On ... wrote:" and its kin: is a line (with up to two lines above it,
//! when a client wrapped it) the attribution a mail client writes above
//! quoted history? In the 13 languages and a few neighbours.
//!
//! An attribution must end with a "wrote" verb or an address, and show it
//! is one (an address, a time or full date after an opener, or `>` lines
//! right after), so a participant writing "as I wrote on Monday:" keeps
//! their text. Everything here is a few passes over one short line.

use super::markers::{ATTRIBUTION_OPENERS, WROTE_AFTER_NAME, WROTE_AT_END, WROTE_BEFORE_NAME};
use super::quote::{is_quoted, next_nonblank};

/// When line `j` ends an attribution, the line where it starts.
pub(super) fn attribution_start(lines: &[&str], j: usize) -> Option<usize> {
    let raw = lines[j].trim_end();
    let colon = raw.ends_with([':', '：']);
    // Without a colon only "... <a@b> wrote" qualifies: cheap checks first,
    // this runs for every line.
    if !colon && !(raw.contains('@') && (raw.ends_with("--") || raw.ends_with(char::is_alphabetic)))
    {
        return None;
    }
    let line = strip_dashes(lines[j]);
    if !colon {
        // "On ... John <j@x> wrote" without colon (also Zoho's
        // "---- On ... wrote ----"): only with an address, checked below.
        if !line.contains('@') || !ends_with_verb(&line) {
            return None;
        }
    }
    // Walk up over wrapped lines of the same attribution.
    let mut start = j;
    while start > 0 && j - start < 2 && !opens_attribution(&strip_dashes(lines[start])) {
        let prev = lines[start - 1].trim();
        if prev.is_empty()
            || prev.chars().count() > 200
            || is_quoted(prev)
            || prev.ends_with(['.', '!', '?', ':', '。', '！', '？'])
            || !(prev.contains(|c: char| c.is_ascii_digit())
                || prev.contains('@')
                || prev.ends_with('<')
                || opens_attribution(prev))
        {
            break;
        }
        start -= 1;
    }
    let joined = lines[start..=j]
        .iter()
        .map(|l| strip_dashes(l))
        .collect::<Vec<_>>()
        .join(" ");
    if joined.chars().count() > 400 {
        return None;
    }
    let lower = joined.to_lowercase();
    let body = lower.trim_end_matches([':', '：']).trim_end();
    let opener = opens_attribution(&lower);
    let has_at = lower.contains('@');
    let quoted_follows = next_nonblank(lines, j + 1).is_some_and(|l| is_quoted(l.trim()));
    let verb_end = WROTE_AT_END.iter().any(|v| body.ends_with(v));
    let verb_mid = middle_verb(body, has_at) && (opener || has_at || quoted_follows);
    // "26.06.2014, 14:41, "Ana" <a@b.c>:" (ru, ja and others): no verb, but
    // an address closing the line, with a time or quoted lines after it.
    let address_only = colon && body.ends_with('>') && has_at && (has_time(body) || quoted_follows);
    // "2016-03-03 14:23 GMT+01:00 Ana:" (old Gmail): a line that opens with a
    // full date and a time, names someone and ends with a colon.
    let date_led = colon
        && start == j
        && starts_with_date(body)
        && has_time(body)
        && (has_at || quoted_follows);
    if !(verb_end || verb_mid || address_only || date_led) || !(colon || opener && has_at) {
        return None;
    }
    // "Am 03.03.2016 schrieb Ana:" has neither address nor time, but a
    // full date after its opener; "Am Montag schrieb ich ...:" has none.
    let strong = has_at
        || quoted_follows
        || (has_time(&lower) || has_full_date(&lower)) && (opener || start < j);
    strong.then_some(start)
}

/// A verb in the middle with a name on the right side of it: "schrieb Ana
/// <a@b>" yes, "schrieb ich an support@example.com" (a participant) no.
fn middle_verb(body: &str, has_at: bool) -> bool {
    let name_like = |s: &str| {
        let s = s.trim();
        let words = s.split_whitespace().count();
        // "Ana <a@b>", "Ana (a@b)", "Ana Silva", or a bare "a@b" (Apple).
        s.ends_with(['>', ')']) || words == 1 || !s.contains('@') && words <= 4
    };
    WROTE_BEFORE_NAME.iter().any(|v| {
        body.find(v)
            .is_some_and(|i| name_like(&body[i + v.len()..]))
    }) || WROTE_AFTER_NAME.iter().any(|v| {
        body.find(v)
            .is_some_and(|i| name_like(&body[..i]) && (has_at || !body[..i].contains(',')))
    })
}

fn ends_with_verb(s: &str) -> bool {
    let l = s.to_lowercase();
    let l = l.trim_end_matches([':', '：']).trim_end();
    WROTE_AT_END.iter().any(|v| l.ends_with(v))
}

/// A line without surrounding dashes ("---- On ... wrote ----").
fn strip_dashes(line: &str) -> String {
    let t = line.trim();
    if t.starts_with("--") {
        t.trim_matches(|c: char| c == '-' || c.is_whitespace())
            .to_string()
    } else {
        t.to_string()
    }
}

fn opens_attribution(s: &str) -> bool {
    let l = s.trim_start();
    ATTRIBUTION_OPENERS.iter().any(|o| starts_with_fold(l, o))
}

/// "2016-03-03", "03.03.2016", "3/3/16" as the first word.
fn starts_with_date(s: &str) -> bool {
    let word = s.split_whitespace().next().unwrap_or("");
    let word = word.trim_end_matches(',');
    let digits = word.bytes().filter(u8::is_ascii_digit).count();
    let seps = word
        .bytes()
        .filter(|b| matches!(b, b'-' | b'.' | b'/'))
        .count();
    digits >= 4 && seps == 2 && digits + seps == word.len() && word.as_bytes()[0].is_ascii_digit()
}

/// A date with a year: "03.03.2016", "3/3/16", "2016-03-03", "3. März 2016".
fn has_full_date(s: &str) -> bool {
    s.split(|c: char| c.is_whitespace() || c == ',').any(|w| {
        starts_with_date(w)
            || w.len() == 4 && w.starts_with("20") && w.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A clock time like 10:00, 4:19 or 17.50.
fn has_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(4).any(|w| {
        w[0].is_ascii_digit()
            && matches!(w[1], b':' | b'.')
            && w[2].is_ascii_digit()
            && w[3].is_ascii_digit()
    })
}

/// Case-insensitive `starts_with` with a lower-case `lower`.
fn starts_with_fold(s: &str, lower: &str) -> bool {
    let mut it = s.chars().flat_map(char::to_lowercase);
    lower.chars().all(|c| it.next() == Some(c))
}
