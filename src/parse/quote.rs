//! Split a reply into what the sender wrote now and the history they quoted.
//!
//! Two kinds of quoting, treated differently on purpose:
//! - `>`-prefixed lines (and the "On ... wrote:" attribution above them) are
//!   quoted wherever they are, so the unprefixed lines of an inline reply
//!   stay new text;
//! - an Outlook-style header block ("From: ... Sent: ..."), an
//!   "-----Original Message-----" separator, a forward marker, an attribution
//!   *not* followed by `>` lines, or a client's HTML quote marker is a hard
//!   cut: everything below it is history, since nothing marks it line by line.
//!
//! A forward marker ("---------- Forwarded message ---------") cuts too,
//! but what is below it is kept as `forwarded`, not as quoted history: it
//! is another conversation passed on. When nothing was written above a cut
//! the text shows, the mail *is* the embedded or forwarded message, and its
//! own text (below its header lines) is the new text, never an empty one.
//! Which lines are attributions: `attribution`.

use super::attribution::attribution_start;
use super::markers::{
    FORWARD_LINES, FORWARD_PHRASES, FORWARD_SUBJECT_PREFIXES, FROM_LABELS, OTHER_LABELS,
    SEPARATOR_PHRASES,
};

/// The result of splitting.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Split {
    pub(super) new_text: String,
    pub(super) quoted: Option<String>,
    /// A forwarded message, from its marker line down, kept whole.
    pub(super) forwarded: Option<String>,
}

/// What a hard cut found.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cut {
    /// History of this conversation: quoted.
    Quote,
    /// Another message passed on ("---------- Forwarded message ---------").
    Forward,
}

/// Split `full`. `hint` is a byte offset where a client marked the start of
/// quoted history (from HTML), if any. `subject` tells a forward ("Fwd:",
/// "WG:", "TR:" ...) whose client marks the forwarded message like quoted
/// history (Outlook: a header block or "-----Original Message-----").
pub(super) fn split(full: &str, hint: Option<usize>, subject: &str) -> Split {
    let hint_line = hint.map(|h| {
        let mut h = h.min(full.len());
        while !full.is_char_boundary(h) {
            h -= 1;
        }
        full[..h].lines().count()
    });
    let first_cut = if is_forward_subject(subject) {
        Cut::Forward
    } else {
        Cut::Quote
    };
    split_lines(&full.lines().collect::<Vec<_>>(), hint_line, 0, first_cut)
}

/// "Fwd: ...", "WG: ...", "TR : ..." and the forward prefixes of the 13
/// languages' clients; "Re: Fwd: ..." is a reply, not a forward.
pub(crate) fn is_forward_subject(subject: &str) -> bool {
    let s = subject.trim_start();
    let Some(end) = s.find([':', '：']).filter(|&e| e <= 12) else {
        return false;
    };
    let prefix: String = s[..end].trim().to_lowercase();
    FORWARD_SUBJECT_PREFIXES.contains(&prefix.as_str())
}

/// How many embedded messages deep [`split_lines`] looks for text; each
/// level scans only the lines below the previous one, so the cost stays
/// linear in practice.
const MAX_EMBEDDED_DEPTH: usize = 2;

/// `block_cut` is what a header block or an "Original Message" line cuts
/// off: history, or in a forward the forwarded message.
fn split_lines(lines: &[&str], hint_line: Option<usize>, depth: usize, block_cut: Cut) -> Split {
    let mut hard_cut = hint_line;
    let mut kind = Cut::Quote;
    let mut quoted_line = vec![false; lines.len()];
    let first_text = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let mut i = 0;
    while i < lines.len() && hard_cut.is_none_or(|c| i < c) {
        let line = lines[i].trim();
        if is_quoted(line) {
            quoted_line[i] = true;
            i += 1;
            continue;
        }
        if let Some(k) = separator_kind(line) {
            hard_cut = Some(i);
            kind = if k == Cut::Quote { block_cut } else { k };
            break;
        }
        if is_forward_line(line) {
            hard_cut = Some(i);
            kind = Cut::Forward;
            break;
        }
        if is_mobile_paragraph(lines, i, first_text) {
            // "Sent from my iPhone" as a paragraph of its own between the
            // reply and history that has no header (crisp email_15): the
            // phone wrote its line at the end of what was typed.
            hard_cut = Some(i + 1);
            break;
        }
        if let Some(start) = header_block_start(lines, i) {
            hard_cut = Some(start);
            kind = block_cut;
            break;
        }
        if let Some(start) = attribution_start(lines, i) {
            if next_nonblank(lines, i + 1).is_some_and(|l| is_quoted(l.trim())) {
                for q in quoted_line.iter_mut().take(i + 1).skip(start) {
                    *q = true;
                }
            } else {
                hard_cut = Some(start);
                break;
            }
        }
        i += 1;
    }
    let mut cut = hard_cut.unwrap_or(lines.len()).min(lines.len());
    // A rule line ("_____", "====") just above the cut belongs to it.
    if cut < lines.len() {
        let mut p = cut;
        while p > 0 && lines[p - 1].trim().is_empty() {
            p -= 1;
        }
        if p > 0 && is_rule(lines[p - 1].trim()) {
            cut = p - 1;
        }
    }
    mark_wrapped_quote_lines(lines, &mut quoted_line, cut);
    let mut new_lines = Vec::new();
    let mut quoted = Vec::new();
    for (n, line) in lines.iter().enumerate().take(cut) {
        if quoted_line[n] {
            quoted.push(*line);
        } else {
            new_lines.push(line.trim_end());
        }
    }
    let new_text = trim_blank_lines(&new_lines);
    let below = &lines[cut..];
    let mut from_text_cut = hard_cut.is_some() && hard_cut != hint_line;
    // A client's quote block with nothing above it that starts with a
    // forward marker (Gmail puts forwards in its quote block) is a forward.
    let forward_first = || {
        next_nonblank(below, 0).is_some_and(|l| {
            let l = l.trim();
            is_forward_line(l) || separator_kind(l) == Some(Cut::Forward)
        })
    };
    if new_text.is_empty() && !from_text_cut && hard_cut.is_some() && forward_first() {
        kind = Cut::Forward;
        from_text_cut = true;
    }
    // Nothing written above a cut the text itself shows: the mail *is* an
    // embedded or forwarded message (pasted, or passed on without a word),
    // and what it says is the text to read, never an empty one.
    let embedded = (new_text.is_empty() && from_text_cut && depth < MAX_EMBEDDED_DEPTH)
        .then(|| {
            let skip = header_lines_end(below);
            let inner = split_lines(&below[skip..], None, depth + 1, Cut::Quote);
            (skip, inner)
        })
        .filter(|(_, inner)| !inner.new_text.is_empty());
    let mut forwarded = None;
    let new_text = match embedded {
        Some((skip, inner)) => {
            let head = trim_blank_lines(&below[..skip]);
            match kind {
                Cut::Forward => forwarded = Some(trim_blank_lines(below)),
                Cut::Quote => {
                    quoted.push(&head);
                    if let Some(q) = &inner.quoted {
                        quoted.push(q);
                    }
                    return finish(inner.new_text, &quoted, inner.forwarded);
                }
            }
            inner.new_text
        }
        None => {
            match kind {
                Cut::Forward if !below.is_empty() => forwarded = Some(trim_blank_lines(below)),
                _ => quoted.extend_from_slice(below),
            }
            new_text
        }
    };
    finish(new_text, &quoted, forwarded)
}

fn finish(new_text: String, quoted: &[&str], forwarded: Option<String>) -> Split {
    let quoted = trim_blank_lines(quoted);
    Split {
        new_text,
        quoted: (!quoted.is_empty()).then_some(quoted),
        forwarded: forwarded.filter(|f| !f.is_empty()),
    }
}

/// The end of an embedded message's head: its marker line, then header
/// lines ("From: ...", "Date: ...") and wrapped attribution lines, up to
/// the first line of its text.
fn header_lines_end(lines: &[&str]) -> usize {
    let is_header = |l: &str| {
        label(l).is_some_and(|lb| is_label_in(&lb, FROM_LABELS) || is_label_in(&lb, OTHER_LABELS))
    };
    let mut i = 1.min(lines.len());
    let first = lines.first().map_or("", |l| l.trim());
    // An attribution wrapped over two or three lines ends with its colon.
    if !first.starts_with(['-', '_', '—']) && !is_header(first) {
        if let Some(end) = lines
            .iter()
            .take(3)
            .position(|l| l.trim_end().ends_with([':', '：']))
        {
            i = end + 1;
        }
    }
    let mut in_headers = false;
    while i < lines.len() && i < 24 {
        let raw = lines[i];
        let l = raw.trim();
        let continuation = in_headers && raw.starts_with([' ', '\t']) && !l.is_empty();
        if is_header(l) || continuation {
            in_headers = true;
        } else if l.is_empty() || is_rule(l) {
            in_headers = false;
        } else {
            break;
        }
        i += 1;
    }
    i
}

fn is_rule(line: &str) -> bool {
    line.len() >= 4 && line.chars().all(|c| matches!(c, '_' | '-' | '=' | '—'))
}

/// Clients re-wrap long quoted lines and the continuation loses its `>`:
/// an unquoted line that starts in lower case, right after a long quoted
/// line and right before another quoted line (or the end) is part of it.
/// Inline answers start a sentence, so they keep their place.
fn mark_wrapped_quote_lines(lines: &[&str], quoted: &mut [bool], cut: usize) {
    for i in 1..cut {
        if quoted[i] || !quoted[i - 1] {
            continue;
        }
        let prev = lines[i - 1].trim();
        let line = lines[i].trim();
        let next_quoted = i + 1 >= cut || quoted[i + 1];
        if next_quoted
            && prev.chars().count() >= 60
            && line.chars().next().is_some_and(char::is_lowercase)
        {
            quoted[i] = true;
        }
    }
}

pub(super) fn is_quoted(line: &str) -> bool {
    // ">:" is the end of an attribution wrapped after its address.
    line.starts_with('>') && line != ">:"
        || line.starts_with('|') && line.len() > 1 && line[1..].starts_with([' ', '>'])
}

pub(super) fn next_nonblank<'a>(lines: &[&'a str], from: usize) -> Option<&'a str> {
    lines
        .iter()
        .skip(from)
        .find(|l| !l.trim().is_empty())
        .copied()
}

/// Join lines, dropping blank lines at both ends and runs of blank lines
/// left where quoted lines were taken out.
fn trim_blank_lines(lines: &[&str]) -> String {
    let start = lines.iter().position(|l| !l.trim().is_empty());
    let end = lines.iter().rposition(|l| !l.trim().is_empty());
    let (Some(s), Some(e)) = (start, end) else {
        return String::new();
    };
    let mut out = String::new();
    let mut blank = false;
    for l in &lines[s..=e] {
        if l.trim().is_empty() {
            blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(l);
    }
    out
}

/// "-----Original Message-----", "------------------ 原始邮件 ------------------"
/// (quoted history) or "---------- Forwarded message ---------" (a forward).
fn separator_kind(line: &str) -> Option<Cut> {
    if !(line.starts_with("--") || line.starts_with("—") || line.starts_with("__")) {
        return None;
    }
    let inner = line
        .trim_matches(|c: char| {
            c == '-' || c == '_' || c == '—' || c.is_whitespace() || c == '\u{a0}'
        })
        .trim_end_matches(':')
        .trim()
        .to_lowercase();
    let inner = fold_dotted_i(inner.replace('\u{a0}', " "));
    if SEPARATOR_PHRASES.contains(&inner.as_str()) {
        Some(Cut::Quote)
    } else if FORWARD_PHRASES.contains(&inner.as_str()) {
        Some(Cut::Forward)
    } else {
        None
    }
}

fn is_forward_line(line: &str) -> bool {
    if line.len() > 80 {
        return false;
    }
    // Apple-style forward lines end with a colon; checking that first keeps
    // this cheap for ordinary lines.
    let Some(l) = line.strip_suffix([':', '：']) else {
        return false;
    };
    let l = fold_dotted_i(l.trim().to_lowercase());
    FORWARD_LINES.contains(&l.as_str())
}

fn is_label_in(label: &str, list: &[&str]) -> bool {
    list.contains(&label)
}

/// The label of a "Label: value" line, lower case, without markdown stars.
fn label(line: &str) -> Option<String> {
    let line = line.trim().trim_start_matches('*');
    let pos = line.find([':', '：'])?;
    if pos > 60 {
        return None;
    }
    let l = line[..pos].trim().trim_end_matches('*').trim();
    if l.is_empty() || l.chars().count() > 25 {
        return None;
    }
    Some(fold_dotted_i(l.to_lowercase()))
}

/// Turkish capital İ lower-cases to "i\u{307}"; our tables spell it "i".
fn fold_dotted_i(s: String) -> String {
    if s.contains('\u{307}') {
        s.replace("i\u{307}", "i")
    } else {
        s
    }
}

/// An Outlook-style header block starting at (or just around) line `i`.
fn header_block_start(lines: &[&str], i: usize) -> Option<usize> {
    let first = label(lines[i])?;
    let is_from = is_label_in(&first, FROM_LABELS);
    if !is_from && !is_label_in(&first, OTHER_LABELS) {
        return None;
    }
    // Count header labels in a small window; a From label is required.
    let mut from_seen = is_from;
    let mut labels = 1;
    for l in lines.iter().skip(i + 1).take(6) {
        if let Some(lb) = label(l) {
            if is_label_in(&lb, FROM_LABELS) {
                from_seen = true;
                labels += 1;
            } else if is_label_in(&lb, OTHER_LABELS) {
                labels += 1;
            }
        }
    }
    // Real blocks carry From, Sent/Date, To and Subject; three of them and
    // a From keep "From: ana@x.com\nTo: support" in a participant's text.
    (from_seen && labels >= 3).then_some(i)
}

/// A mobile signature line with blank lines around it and text above.
/// `first_text` is the first non-blank line of `lines`.
fn is_mobile_paragraph(lines: &[&str], i: usize, first_text: usize) -> bool {
    first_text + 2 <= i
        && lines[i - 1].trim().is_empty()
        && lines.get(i + 1).is_some_and(|l| l.trim().is_empty())
        && lines[i].len() <= 60
        && super::signature::is_mobile_line(lines[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_text(s: &str) -> String {
        split(s, None, "").new_text
    }

    #[test]
    fn gmail_attributions_in_many_languages() {
        for attr in [
            "On Mon, 3 Jun 2024 at 10:00, Ana <a@b.com> wrote:",
            "Em seg., 3 de jun. de 2024 às 10:00, Ana <a@b.com> escreveu:",
            "Am Mo., 3. Juni 2024 um 10:00 Uhr schrieb Ana <a@b.com>:",
            "Op ma 3 jun 2024 om 10:00 schreef Ana <a@b.com>:",
            "Le lun. 3 juin 2024 à 10:00, Ana <a@b.com> a écrit :",
            "Il giorno lun 3 giu 2024 alle ore 10:00 Ana <a@b.com> ha scritto:",
            "El lun, 3 jun 2024 a las 10:00, Ana (<a@b.com>) escribió:",
            "2024년 6월 3일 (월) 오전 10:00, Ana <a@b.com>님이 작성:",
            "Vào Th 2, 3 thg 6, 2024 vào lúc 10:00 Ana <a@b.com> đã viết:",
            "Ana <a@b.com> 于2024年6月3日周一 10:00写道：",
            "Ana <a@b.com>, 3 Haz 2024 Pzt, 10:00 tarihinde şunu yazdı:",
            "Στις Δευ 3 Ιουν 2024 στις 10:00, ο/η Ana <a@b.com> έγραψε:",
            "ma 3. kesäk. 2024 klo 10.00 Ana (a@b.com) kirjoitti:",
        ] {
            let mail = format!("Minha resposta.\n\n{attr}\n\n> Pergunta antiga\n> linha 2\n");
            let s = split(&mail, None, "");
            assert_eq!(s.new_text, "Minha resposta.", "attribution {attr:?}");
            assert!(
                s.quoted.as_deref().is_some_and(|q| q.contains(attr)),
                "{attr}"
            );
            // Also without '>' lines (a hard cut).
            let mail = format!("Minha resposta.\n\n{attr}\nPergunta antiga\n");
            assert_eq!(new_text(&mail), "Minha resposta.", "hard cut {attr:?}");
        }
    }

    #[test]
    fn wrapped_attributions() {
        let mail =
            "Thanks!\nOn Mon, 3 Jun 2024 at 10:00, Ana Silva <\nana@example.com> wrote:\n\n> hi\n";
        assert_eq!(new_text(mail), "Thanks!");
        let mail = "Kiitos!\n\npe 20. lokakuuta 2017 klo 17.50 John Coe\n<j@test.com> kirjoitti:\n\nVanha viesti";
        assert_eq!(new_text(mail), "Kiitos!");
        let mail = "Hello\nOn Mon, 3 Jun 2024 at 10:00, Ana <a@b.c>\nwrote:\n> hi";
        assert_eq!(new_text(mail), "Hello");
    }

    #[test]
    fn attributions_without_verb_or_colon() {
        for attr in [
            "30.09.2017, 18.30, \"John - Doe\" <j@x.com>:",
            "ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:",
            "On Wed, 14 Nov 2018 08:14:43 -0200 John Doe <john@doe.com> wrote",
            "---- On Wed, 24 Feb 2021 14:02:50 +0530 john@gmail.com wrote ----",
            "Op 12 december 2016 19:05 schreef Company Questions <\nquestions@company.com>:",
            "tir. 18. apr. 2017 kl. 13:09 skrev Test user <test@example.com\n>:",
        ] {
            let mail = format!("Nieuw.\n\n{attr}\n\nOud bericht");
            assert_eq!(new_text(&mail), "Nieuw.", "{attr}");
        }
        let mail = "Yes.\nSent from TypeApp<http://www.typeapp.com/r?b=2621>\nOn Jun 17, 2017, at 14:15, Va <v@x.com> wrote:\n> q";
        assert_eq!(
            new_text(mail),
            "Yes.\nSent from TypeApp<http://www.typeapp.com/r?b=2621>"
        );
    }

    #[test]
    fn apple_yahoo_thunderbird_variants() {
        for attr in [
            "Ana <a@b.com> kirjoitti 3.6.2024 kello 10.00:",
            "Op 3 jun. 2024 om 10:00 heeft Ana <a@b.com> het volgende geschreven:",
            "Am Montag, 3. Juni 2024 um 10:00:00 MESZ hat Ana <a@b.com> Folgendes geschrieben:",
            "3 Haz 2024 tarihinde 10:00 saatinde, Ana <a@b.com> şunları yazdı:",
            "2024. 6. 3. 오전 10:00, Ana <a@b.com> 작성:",
            "在 2024年6月3日，10:00，Ana <a@b.com> 写道：",
            "Vào 10:00, ngày 3 thg 6, 2024, Ana <a@b.com> đã viết:",
        ] {
            let mail = format!("Nova.\n\n{attr}\n\nVelha");
            assert_eq!(new_text(&mail), "Nova.", "{attr}");
        }
        for attr in [
            "Am 19.11.2026 um 20:14 schrieb leon.hartmann@icloud.com:",
            "Ana kirjoitti 3.6.2024 klo 10.00:",
            "2024-06-03 오전 10:00에 Ana 이(가) 쓴 글:",
            "Op 03-06-2024 om 10:00 schreef Ana:",
        ] {
            let mail = format!("Nova.\n\n{attr}\n> Velha");
            assert_eq!(new_text(&mail), "Nova.", "{attr}");
        }
    }

    #[test]
    fn apple_and_thunderbird() {
        assert_eq!(
            new_text("Yes.\n\nOn 3 Jun 2024, at 10:00, Ana wrote:\n\n> Did it work?\n"),
            "Yes."
        );
        assert_eq!(
            new_text("On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi \nHello"),
            "Hello"
        );
    }

    #[test]
    fn outlook_separators_in_many_languages() {
        for sep in [
            "-----Original Message-----",
            "----- Original Message -----",
            "-----Ursprüngliche Nachricht-----",
            "-------- Message d'origine --------",
            "-----Messaggio originale-----",
            "-----Mensagem original-----",
            "-----Mensaje original-----",
            "-----Oorspronkelijk bericht-----",
            "-----Alkuperäinen viesti-----",
            "-----Orijinal ileti-----",
            "-----Αρχικό μήνυμα-----",
            "------------------ 原始邮件 ------------------",
            "-----원본 메시지-----",
            "----- 원본 메일 -----",
            "-----Thư gốc-----",
            "-----Özgün İleti-----",
            "-----ORIGINAL MESSAGE-----",
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
        ] {
            let mail = format!("Novo texto\n\n{sep}\nSome old text\nmore");
            let s = split(&mail, None, "");
            assert_eq!(s.new_text, "Novo texto", "{sep}");
            let forward = sep.to_lowercase().contains("forward");
            let kept = if forward { s.forwarded } else { s.quoted };
            assert!(kept.expect("kept").starts_with(sep), "{sep}");
        }
    }

    #[test]
    fn forwards_are_kept_apart_from_history() {
        let mail = "FYI, is this mail from you?\n\n---------- Forwarded message ---------\nFrom: X <x@y.z>\nDate: Mon\nSubject: bank\nTo: me\n\nConfirm your bank details.";
        let s = split(mail, None, "");
        assert_eq!(s.new_text, "FYI, is this mail from you?");
        assert_eq!(s.quoted, None);
        assert!(s.forwarded.expect("forwarded").ends_with("bank details."));
        // Nothing written above: the forwarded message is what to read.
        let only = &mail[mail.find("----").expect("marker")..];
        let s = split(only, None, "");
        assert_eq!(s.new_text, "Confirm your bank details.");
        assert!(s.forwarded.is_some_and(|f| f.starts_with("----")));
    }

    #[test]
    fn outlook_forwards_are_known_by_their_subject() {
        let mail = "Please check this.\n\n________________________________\nFrom: Bank <b@x.y>\nSent: Monday\nTo: Ana\nSubject: payment\n\nNothing arrived.";
        for subject in [
            "FW: payment",
            "Fwd: payment",
            "WG: Zahlung",
            "TR : paiement",
            "RV: pago",
        ] {
            let s = split(mail, None, subject);
            assert_eq!(s.new_text, "Please check this.", "{subject}");
            assert!(s.quoted.is_none(), "{subject}");
            assert!(
                s.forwarded.is_some_and(|f| f.ends_with("Nothing arrived.")),
                "{subject}"
            );
        }
        let s = split(mail, None, "RE: FW: payment");
        assert!(s.forwarded.is_none() && s.quoted.is_some());
    }

    #[test]
    fn embedded_message_with_nothing_above_is_the_text() {
        for head in [
            "-------- Original Message --------\nSubject: rec\nDate: 2026-03-03\nFrom: Ana <a@b.c>\nTo: s@x.y\n",
            "From: Ana <a@b.c>\nSent: Monday\nTo: s@x.y\nSubject: rec\n",
            "Am 03.03.2026 um 14:23 schrieb Ana\n<a@b.c>:\n",
        ] {
            let s = split(&format!("{head}\nWhy were my recordings rejected?"), None, "");
            assert_eq!(s.new_text, "Why were my recordings rejected?", "{head}");
            assert!(s.quoted.is_some_and(|q| q.contains("Ana")), "{head}");
        }
        // An HTML client's own quote marker at the top stays quoted,
        // unless what it marks is a forward.
        assert_eq!(split("Von: X\nalt", Some(0), "").new_text, "");
        let fwd = split(
            "---------- Forwarded message ---------\nFrom: X <x@y.z>\nSubject: s\n\nHello",
            Some(0),
            "",
        );
        assert_eq!(fwd.new_text, "Hello");
        assert!(fwd.forwarded.is_some() && fwd.quoted.is_none());
    }

    #[test]
    fn ukrainian_russian_and_dated_attributions() {
        for attr in [
            "пн, 2 бер. 2026 р. о 11:05 Ana <a@b.c> пише:",
            "Ana пише:\n> Старе",
            "03.03.2026 14:23, Ana пишет:\n> Старе",
            "Ana писал(а):\n> Старе",
            "Ana <a@b.c> schrieb am Do., 5. März 2026, 09:12:",
            "2016-03-03 14:23 GMT+01:00 Ana <a@b.c>:",
            "Ana <a@b.c> ezt írta (időpont: 2016. márc. 3., Cs, 14:23):",
            "2016-03-03 14:23 GMT+01:00 Ana:\n> Старе",
        ] {
            let tail = if attr.contains('\n') {
                ""
            } else {
                "\nСтаре"
            };
            let mail = format!("Нове.\n\n{attr}{tail}\n");
            assert_eq!(new_text(&mail), "Нове.", "{attr}");
        }
        let prose = "2026-03-03 14:23 was the last time it worked:\nsince then nothing.";
        assert_eq!(new_text(prose), prose);
        // A full date stands in for the time and the address.
        assert_eq!(
            new_text("Danke.\n\nAm 03.03.2016 schrieb Ana:\nHallo"),
            "Danke."
        );
        assert_eq!(
            new_text("Danke.\n\nLe 3 mars 2016, Ana a écrit :\nSalut"),
            "Danke."
        );
        let prose = "Am Montag schrieb ich an den Support:\nmeine Aufnahmen fehlen.";
        assert_eq!(new_text(prose), prose);
    }

    #[test]
    fn mobile_paragraph_ends_the_reply() {
        let mail = "Sure, done.\n\nSent from my Wiko RIDGE FAB 4G\n\nCould you upload the files again and tell us when you have finished it?";
        assert_eq!(
            new_text(mail),
            "Sure, done.\n\nSent from my Wiko RIDGE FAB 4G"
        );
    }

    #[test]
    fn header_blocks_in_many_languages() {
        for block in [
            "From: Ana <a@b.com>\nSent: Monday, June 3, 2024 10:00 AM\nTo: Support\nSubject: Payment",
            "Von: Ana <a@b.com>\nGesendet: Montag, 3. Juni 2024 10:00\nAn: Support\nBetreff: Zahlung",
            "De : Ana <a@b.com>\nEnvoyé : lundi 3 juin 2024 10:00\nÀ : Support\nObjet : Paiement",
            "Da: Ana <a@b.com>\nInviato: lunedì 3 giugno 2024 10:00\nA: Support\nOggetto: Pagamento",
            "De: Ana <a@b.com>\nEnviado: segunda-feira, 3 de junho de 2024 10:00\nPara: Suporte\nAssunto: Pagamento",
            "De: Ana <a@b.com>\nEnviado el: lunes, 3 de junio de 2024 10:00\nPara: Soporte\nAsunto: Pago",
            "Van: Ana <a@b.com>\nVerzonden: maandag 3 juni 2024 10:00\nAan: Support\nOnderwerp: Betaling",
            "Lähettäjä: Ana <a@b.com>\nLähetetty: maanantai 3. kesäkuuta 2024 10.00\nVastaanottaja: Tuki\nAihe: Maksu",
            "Kimden: Ana <a@b.com>\nGönderildi: 3 Haziran 2024 Pazartesi 10:00\nKime: Destek\nKonu: Ödeme",
            "Από: Ana <a@b.com>\nΣτάλθηκε: Δευτέρα, 3 Ιουνίου 2024 10:00 πμ\nΠρος: Υποστήριξη\nΘέμα: Πληρωμή",
            "发件人: Ana <a@b.com>\n发送时间: 2024年6月3日 10:00\n收件人: 支持\n主题: 付款",
            "发件人：Ana <a@b.com>\n发送时间：2024年6月3日 10:00\n收件人：支持\n主题：付款",
            "보낸 사람: Ana <a@b.com>\n보낸 날짜: 2024년 6월 3일 월요일 오전 10:00\n받는 사람: 지원\n제목: 결제",
            "Từ: Ana <a@b.com>\nĐã gửi: Thứ Hai, ngày 3 tháng 6 năm 2024 10:00\nĐến: Hỗ trợ\nChủ đề: Thanh toán",
            "________________________________\nFrom: Ana <a@b.com>\nSent: Monday\nTo: x",
            "*From:* Ana <a@b.com>\n*Sent:* Monday\n*To:* x\n*Subject:* y",
            "보낸사람: \"Ana\" <a@daum.net>\n받는사람: <support@x.com>\n날짜: 2024년 6월 3일 월요일, 10시 00분 00초 +0900\n제목: 결제",
            "KİMDEN: Ana <a@b.com>\nGÖNDERİLDİ: 3 Haziran 2024\nKİME: Destek\nKONU: Ödeme",
        ] {
            let mail = format!("Minha resposta\n\n{block}\n\nTexto antigo");
            let s = split(&mail, None, "");
            assert_eq!(s.new_text, "Minha resposta", "{block}");
            assert!(s.quoted.expect("quoted").contains("Texto antigo"));
        }
    }

    #[test]
    fn false_positives_keep_text() {
        for mail in [
            "I wrote to you on Monday:\nthe payment is still missing.",
            "As my colleague wrote:\nplease check the upload.",
            "On 3 June at 10:00 I wrote to support@example.com:\nmy recordings were rejected.",
            "Am Montag um 10:00 schrieb ich an support@example.com:\nmeine Aufnahmen fehlen.",
            "On the surface, this looks like a quote header but it's not.\n\nOn the other hand, fine.",
            "I need emails from: john@example.com and from: jane@example.com\nThe data comes From: our database.",
            "Regarding the subject: payment\nDate: yesterday\nStill nothing.",
            "Price: 5 > 3 is true\n-- not a separator --",
            "From: ana@example.com\nTo: support@example.com\nI sent my recordings yesterday.",
        ] {
            assert_eq!(new_text(mail), mail, "{mail}");
        }
    }

    #[test]
    fn inline_replies_keep_unquoted_lines() {
        let mail = "On Dec 15, 2024, at 2:00 PM, Jane <jane@example.com> wrote:\n> Option A?\n\nA is great.\n\n> Option B?\n\nB has drawbacks.";
        let s = split(mail, None, "");
        assert_eq!(s.new_text, "A is great.\n\nB has drawbacks.");
        assert!(s.quoted.expect("quoted").contains("> Option B?"));
    }

    #[test]
    fn rewrapped_quote_lines_stay_quoted() {
        let mail = "Grazie!\n\nIl giovedì 8 dicembre 2016, Ana <a@b.it>\nha scritto:\n> Lorem ipsum dolor sit amet, consectetur adipiscing elit. Nullam pharetra d\nignissim odio?\n>\n> Fine\n";
        assert_eq!(new_text(mail), "Grazie!");
        let inline = "> What is the status of my payment for the May recordings, please?\nIt arrived yesterday.\n> And the upload?\nWorks.";
        assert_eq!(new_text(inline), "It arrived yesterday.\nWorks.");
    }

    #[test]
    fn html_hint_cuts() {
        let text = "Danke\nVon: X\nalt";
        let s = split(text, Some(6), "");
        assert_eq!(s.new_text, "Danke");
        assert_eq!(s.quoted.as_deref(), Some("Von: X\nalt"));
    }
}
