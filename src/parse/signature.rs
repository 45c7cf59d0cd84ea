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
    // A mobile line among the last three non-blank lines, followed only by
    // short lines.
    for &i in nonblank.iter().rev().take(3) {
        if is_mobile_line(lines[i])
            && lines[i + 1..=last]
                .iter()
                .all(|l| l.trim().chars().count() < 60)
        {
            cut = Some(i);
        }
    }
    // The signature delimiter, searched upwards from the end.
    let floor = last.saturating_sub(MAX_SIGNATURE_LINES);
    if let Some(d) = (floor..=last).rev().find(|&i| {
        let l = lines[i];
        l == "-- " || l.trim_end() == "--" || l == "-- \u{a0}"
    }) {
        cut = Some(cut.map_or(d, |c: usize| c.min(d)));
    }
    match cut {
        Some(c) if c > first => {
            let body = lines[..c].join("\n").trim_end().to_string();
            let sig = lines[c..].join("\n").trim().to_string();
            (body, (!sig.is_empty()).then_some(sig))
        }
        _ => (text.to_string(), None),
    }
}

fn is_mobile_line(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    if l.is_empty() || l.chars().count() > 80 {
        return false;
    }
    if MOBILE_PHRASES.iter().any(|p| l.starts_with(p)) {
        // "Sent from my desk, is much easier then my mobile phone." is prose.
        return !l.contains(", ")
            || DEVICE_WORDS.iter().any(|d| l.contains(d)) && !l.ends_with('.');
    }
    l.chars().count() <= 50
        && DEVICE_WORDS.iter().any(|d| l.contains(d))
        && SENT_WORDS.iter().any(|s| l.contains(s))
        && !l.ends_with('.')
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
        ] {
            let text = format!("Olá, recebi o pagamento.\n\n{sig}");
            let (body, s) = split(&text);
            assert_eq!(body, "Olá, recebi o pagamento.", "{sig}");
            assert_eq!(s.as_deref(), Some(sig));
        }
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
            "Thanks, Alex",
        ] {
            assert_eq!(split(text), (text.to_string(), None), "{text}");
        }
    }
}
