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
//! Attribution lines must end with a "wrote" verb and show they are one (an
//! address, a time, or `>` lines right after), so a participant writing "as
//! I wrote on Monday:" keeps their text.

use super::markers::{
    ATTRIBUTION_OPENERS, FORWARD_LINES, FROM_LABELS, OTHER_LABELS, SEPARATOR_PHRASES, WROTE_AT_END,
    WROTE_IN_MIDDLE,
};

/// The result of splitting.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Split {
    pub(super) new_text: String,
    pub(super) quoted: Option<String>,
}

/// Split `full`. `hint` is a byte offset where a client marked the start of
/// quoted history (from HTML), if any.
pub(super) fn split(full: &str, hint: Option<usize>) -> Split {
    let lines: Vec<&str> = full.lines().collect();
    let mut hard_cut = hint.map(|h| full[..h.min(full.len())].lines().count());
    let mut quoted_line = vec![false; lines.len()];
    let mut i = 0;
    while i < lines.len() && hard_cut.is_none_or(|c| i < c) {
        let line = lines[i].trim();
        if is_quoted(line) {
            quoted_line[i] = true;
            i += 1;
            continue;
        }
        if is_separator(line) || is_forward_line(line) {
            hard_cut = Some(i);
            break;
        }
        if let Some(start) = header_block_start(&lines, i) {
            hard_cut = Some(start);
            break;
        }
        if let Some(start) = attribution_start(&lines, i) {
            if next_nonblank(&lines, i + 1).is_some_and(|l| is_quoted(l.trim())) {
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
    let cut = hard_cut.unwrap_or(lines.len()).min(lines.len());
    // The first hard cut may have been preceded by an underscore rule.
    let cut = match cut.checked_sub(1).map(|p| lines[p].trim()) {
        Some(p) if p.len() >= 10 && p.chars().all(|c| c == '_' || c == '-') => cut - 1,
        _ => cut,
    };
    let mut new_lines = Vec::new();
    let mut quoted = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if n >= cut || quoted_line[n] {
            quoted.push(*line);
        } else {
            new_lines.push(line.trim_end());
        }
    }
    let new_text = trim_blank_lines(&new_lines);
    let quoted = trim_blank_lines(&quoted);
    Split {
        new_text,
        quoted: (!quoted.is_empty()).then_some(quoted),
    }
}

fn is_quoted(line: &str) -> bool {
    line.starts_with('>')
        || line.starts_with('|') && line.len() > 1 && line[1..].starts_with([' ', '>'])
}

fn next_nonblank<'a>(lines: &[&'a str], from: usize) -> Option<&'a str> {
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

/// "-----Original Message-----", "------------------ 原始邮件 ------------------".
fn is_separator(line: &str) -> bool {
    if !(line.starts_with("--") || line.starts_with("—") || line.starts_with("__")) {
        return false;
    }
    let inner = line
        .trim_matches(|c: char| {
            c == '-' || c == '_' || c == '—' || c.is_whitespace() || c == '\u{a0}'
        })
        .trim_end_matches(':')
        .trim()
        .to_lowercase();
    let inner = inner.replace('\u{a0}', " ");
    !inner.is_empty() && SEPARATOR_PHRASES.contains(&inner.as_str())
}

fn is_forward_line(line: &str) -> bool {
    if line.len() > 80 {
        return false;
    }
    let l = line.trim_end_matches([':', '：']).trim().to_lowercase();
    FORWARD_LINES.contains(&l.as_str())
}

/// The label of a "Label: value" line, lower case, without markdown stars.
fn label(line: &str) -> Option<String> {
    let line = line.trim().trim_start_matches('*');
    let pos = line.find([':', '：'])?;
    let l = line[..pos].trim().trim_end_matches('*').trim();
    if l.is_empty() || l.chars().count() > 25 {
        return None;
    }
    Some(l.to_lowercase())
}

/// An Outlook-style header block starting at (or just around) line `i`.
fn header_block_start(lines: &[&str], i: usize) -> Option<usize> {
    let first = label(lines[i])?;
    let is_from = FROM_LABELS.contains(&first.as_str());
    if !is_from && !OTHER_LABELS.contains(&first.as_str()) {
        return None;
    }
    // Count header labels in a small window; a From label is required.
    let mut from_seen = is_from;
    let mut labels = 1;
    for l in lines.iter().skip(i + 1).take(6) {
        if let Some(lb) = label(l) {
            if FROM_LABELS.contains(&lb.as_str()) {
                from_seen = true;
                labels += 1;
            } else if OTHER_LABELS.contains(&lb.as_str()) {
                labels += 1;
            }
        }
    }
    (from_seen && labels >= 3 || is_from && labels >= 2 && from_value_looks_like_sender(lines[i]))
        .then_some(i)
}

/// "From: Ana <a@b.c>" (a name with an address), not "From: our database".
fn from_value_looks_like_sender(line: &str) -> bool {
    line.contains('@') || line.contains("mailto:")
}

/// When line `j` ends an attribution, the line where it starts.
fn attribution_start(lines: &[&str], j: usize) -> Option<usize> {
    let line = lines[j].trim();
    let body = line.strip_suffix([':', '：'])?.trim_end();
    // "26.06.2014, 14:41, "Ana" <a@b.c>:" (ru, ja and others): no verb, but
    // an address closing the line right above quoted lines.
    if body.ends_with('>')
        && body.contains('@')
        && body.chars().count() < 200
        && next_nonblank(lines, j + 1).is_some_and(|l| is_quoted(l.trim()))
    {
        return Some(j);
    }
    let lower = body.to_lowercase();
    let verb_end = WROTE_AT_END.iter().any(|v| lower.ends_with(v));
    let verb_mid = !verb_end && WROTE_IN_MIDDLE.iter().any(|v| lower.contains(v));
    if !verb_end && !verb_mid {
        return None;
    }
    // Walk up over wrapped lines of the same attribution.
    let mut start = j;
    while start > 0 && j - start < 2 {
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
    let joined = lines[start..=j].join(" ");
    if joined.chars().count() > 400 {
        return None;
    }
    let lower = joined.to_lowercase();
    let opener = opens_attribution(&lower);
    if verb_mid && !opener && !lower.contains('@') {
        return None;
    }
    let quoted_follows = next_nonblank(lines, j + 1).is_some_and(|l| is_quoted(l.trim()));
    let strong = lower.contains('@') || quoted_follows || has_time(&lower) && (opener || start < j);
    strong.then_some(start)
}

fn opens_attribution(s: &str) -> bool {
    let l = s.trim_start().to_lowercase();
    ATTRIBUTION_OPENERS.iter().any(|o| l.starts_with(o))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn new_text(s: &str) -> String {
        split(s, None).new_text
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
            let s = split(&mail, None);
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
            "---------- Forwarded message ---------",
            "Begin forwarded message:",
        ] {
            let mail = format!("Novo texto\n\n{sep}\nSome old text\nmore");
            let s = split(&mail, None);
            assert_eq!(s.new_text, "Novo texto", "{sep}");
            assert!(s.quoted.expect("quoted").starts_with(sep));
        }
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
        ] {
            let mail = format!("Minha resposta\n\n{block}\n\nTexto antigo");
            let s = split(&mail, None);
            assert_eq!(s.new_text, "Minha resposta", "{block}");
            assert!(s.quoted.expect("quoted").contains("Texto antigo"));
        }
    }

    #[test]
    fn false_positives_keep_text() {
        for mail in [
            "I wrote to you on Monday:\nthe payment is still missing.",
            "As my colleague wrote:\nplease check the upload.",
            "On the surface, this looks like a quote header but it's not.\n\nOn the other hand, fine.",
            "I need emails from: john@example.com and from: jane@example.com\nThe data comes From: our database.",
            "Regarding the subject: payment\nDate: yesterday\nStill nothing.",
            "Price: 5 > 3 is true\n-- not a separator --",
        ] {
            assert_eq!(new_text(mail), mail, "{mail}");
        }
    }

    #[test]
    fn inline_replies_keep_unquoted_lines() {
        let mail = "On Dec 15, 2024, at 2:00 PM, Jane <jane@example.com> wrote:\n> Option A?\n\nA is great.\n\n> Option B?\n\nB has drawbacks.";
        let s = split(mail, None);
        assert_eq!(s.new_text, "A is great.\n\nB has drawbacks.");
        assert!(s.quoted.expect("quoted").contains("> Option B?"));
    }

    #[test]
    fn html_hint_cuts() {
        let text = "Danke\nVon: X\nalt";
        let s = split(text, Some(6));
        assert_eq!(s.new_text, "Danke");
        assert_eq!(s.quoted.as_deref(), Some("Von: X\nalt"));
    }
}
