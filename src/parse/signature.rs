//! Split the signature off the new text: the `-- ` delimiter (RFC 3676) and
//! "Sent from my iPhone"-style lines in the 13 languages.
//!
//! Only the tail of the text is searched and a mobile line must be short and
//! near the end, so "this was sent from my iPhone app to all users" in the
//! middle of a message stays text. Valedictions ("Thanks, Alex") are kept:
//! they are part of what the person wrote.

use super::markers::{DEVICE_WORDS, MOBILE_PHRASES, SENT_WORDS};

/// At most this many lines below a `-- ` delimiter count as signature.
const MAX_SIGNATURE_LINES: usize = 15;

/// Returns (text without signature, signature).
pub(super) fn split(text: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let nonblank: Vec<usize> = (0..lines.len())
        .filter(|&i| !lines[i].trim().is_empty())
        .collect();
    let Some(&last) = nonblank.last() else {
        return (text.to_string(), None);
    };
    let first = nonblank[0];
    let mut cut = None;
    // A mail that is nothing but "Sent from my iPhone" (the question was in
    // the subject) has no new text; a `--` block must follow some text.
    let mut mobile_only = false;
    // A mobile line among the last three non-blank lines, followed only by
    // short lines.
    for &i in nonblank.iter().rev().take(3) {
        if is_mobile_line(lines[i])
            && lines[i + 1..=last]
                .iter()
                .all(|l| l.trim().chars().count() < 60)
        {
            cut = Some(i);
            mobile_only = i == first;
        }
    }
    // The signature delimiter, searched upwards from the end.
    let floor = last.saturating_sub(MAX_SIGNATURE_LINES);
    // The delimiter test first: it is cheap, and rarely true.
    if let Some(d) = (floor..=last).rev().find(|&i| {
        let l = lines[i];
        let t = l.trim_end();
        (t == "--"
            || l == "-- \u{a0}"
            // "__" above a mailing list's footer.
            || (2..=40).contains(&t.len()) && t.bytes().all(|b| b == b'_')
            // "—" and "—————" (Apple, Outlook); ASCII "----" is markdown.
            || !t.is_empty() && t.chars().count() <= 20 && t.chars().all(|c| c == '—' || c == '–'))
            && looks_like_signature(&lines[i + 1..=last])
    }) {
        if cut.is_none_or(|c| d < c) {
            cut = Some(d);
            mobile_only = false;
        }
    }
    match cut {
        Some(c) if c > first || mobile_only => {
            let body = lines[..c].join("\n").trim_end().to_string();
            let sig = lines[c..].join("\n").trim().to_string();
            (body, (!sig.is_empty()).then_some(sig))
        }
        _ => (text.to_string(), None),
    }
}

/// What follows a `--` line is a signature only if it reads like one: a
/// few short lines, no questions. "Hi,\n--\nMy payment is missing?" is a
/// participant using dashes, not a signature.
fn looks_like_signature(after: &[&str]) -> bool {
    let lines: Vec<&str> = after
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    lines.len() <= 12
        && lines
            .iter()
            .all(|l| l.chars().count() <= 100 && !l.ends_with(['?', '？']))
}

/// "Sent from my iPhone" and its kin in the 13 languages.
pub(super) fn is_mobile_line(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() || t.chars().count() > 80 {
        return false;
    }
    let l = t.to_lowercase();
    // "Sent from TypeApp<http://...>", "Sent from Mailspring": an app name,
    // not a sentence.
    if let Some(rest) = l.strip_prefix("sent from ") {
        let app = rest.split('<').next().unwrap_or("");
        if app.split_whitespace().count() <= 2 && !l.ends_with('.') && !app.contains(',') {
            return true;
        }
    }
    if MOBILE_PHRASES.iter().any(|p| l.starts_with(p)) {
        // "Sent from my desk, is much easier then my mobile phone." is prose.
        return !l.contains(", ")
            || DEVICE_WORDS.iter().any(|d| l.contains(d)) && !l.ends_with('.');
    }
    let n = l.chars().count();
    n <= 50
        && DEVICE_WORDS.iter().any(|d| l.contains(d))
        && SENT_WORDS.iter().any(|s| l.contains(s))
        && (!l.ends_with('.') || n <= 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_lines_in_many_languages() {
        for sig in [
            "Sent from my iPhone",
            "Enviado do meu iPhone",
            "Von meinem iPhone gesendet",
            "Verzonden vanaf mijn iPhone",
            "Envoyé de mon iPhone",
            "Inviato da iPhone",
            "Enviado desde mi iPhone",
            "iPhone에서 보냄",
            "Được gửi từ iPhone của tôi",
            "发自我的iPhone",
            "iPhone'umdan gönderildi",
            "Στάλθηκε από το iPhone μου",
            "Lähetetty iPhonesta",
            "Get Outlook for Android",
            "Sent from Samsung Galaxy smartphone.",
            "Sent from my Galaxy",
            "Samsung Galaxy akıllı telefonumdan gönderildi",
            "Gesendet von meinem Android",
            "Samsung Galaxy 스마트폰에서 보냈습니다.",
            "Hanki Outlook for iOS",
            "Obtenha o Outlook para iOS",
        ] {
            let text = format!("Olá, recebi o pagamento.\n\n{sig}");
            let (body, s) = split(&text);
            assert_eq!(body, "Olá, recebi o pagamento.", "{sig}");
            assert_eq!(s.as_deref(), Some(sig));
        }
    }

    #[test]
    fn a_mail_of_only_a_mobile_line_has_no_new_text() {
        assert_eq!(
            split("Sent from my iPhone"),
            (String::new(), Some("Sent from my iPhone".to_string()))
        );
    }

    #[test]
    fn dash_delimiter() {
        let (b, s) = split("Hello\n\n-- \nAna Silva\nLisboa");
        assert_eq!(b, "Hello");
        assert_eq!(s.as_deref(), Some("-- \nAna Silva\nLisboa"));
    }

    #[test]
    fn prose_is_not_a_signature() {
        for text in [
            "Here is another email\n\nSent from my desk, is much easier then my mobile phone.",
            "The notification was sent from my iPhone app to all users.\n\nAll messages are sent from the main server.",
            "-- \nonly a signature",
            "Hi,\n--\nMy payment for May is still missing, can you check?\nThanks",
            "Thanks, Alex",
            "-- \nAna",
        ] {
            assert_eq!(split(text), (text.to_string(), None), "{text}");
        }
    }
}
