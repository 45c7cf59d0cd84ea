//! What of a sender's own words an outgoing mail may repeat. A support
//! address is public, so a display name or subject is attacker-chosen text
//! sent under the project's name: an automatic reply greets only with
//! something that reads as a name, echoes a bounded subject without links,
//! and every header value leaves here without line breaks (a newline in a
//! display name made lettre panic: issue 10).

/// Characters of a display name that still reads as a name.
pub const MAX_NAME_CHARS: usize = 64;
/// Characters of the participant's subject an automatic reply repeats.
pub const MAX_SUBJECT_CHARS: usize = 150;
/// A Message-ID longer than this is not repeated in In-Reply-To or
/// References: RFC 5322 lines stay within 998 characters.
pub const MAX_ID_CHARS: usize = 250;

/// One line: control characters (CR, LF, tab, ...) become spaces, runs of
/// whitespace one space, trimmed.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control() || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `s` holds something a mail client would show as a link, or that
/// names a host: `scheme://`, `www.`, an `@`, a path, or a dotted name
/// (`payout-verify.attacker.test`).
pub fn has_link(s: &str) -> bool {
    let lower = s.to_lowercase();
    if lower.contains("://") || lower.contains("www.") || s.contains(['@', '/', '\\']) {
        return true;
    }
    // A dot between two letters or digits: a host name, not "J. Smith".
    let chars: Vec<char> = s.chars().collect();
    chars
        .windows(3)
        .any(|w| w[1] == '.' && w[0].is_alphanumeric() && w[2].is_alphanumeric())
}

/// A sender's display name as an automatic reply may use it (greeting, To
/// header), or `None` for the neutral greeting: too long for a name, a link
/// or host, or markup.
pub fn safe_name(name: &str) -> Option<String> {
    let n = one_line(name.trim().trim_matches('"'));
    let ok = !n.is_empty()
        && n.chars().count() <= MAX_NAME_CHARS
        && !has_link(&n)
        && !n.contains([
            '<', '>', ':', '=', '?', '&', '%', '#', '[', ']', '{', '}', '|',
        ]);
    ok.then_some(n)
}

/// The participant's subject as an automatic reply repeats it: one line,
/// at most [`MAX_SUBJECT_CHARS`]; `None` when it carries a link (the
/// template's own subject is used then).
pub fn safe_subject(subject: &str) -> Option<String> {
    let s = one_line(subject);
    if has_link(&s) {
        return None;
    }
    Some(truncate(&s, MAX_SUBJECT_CHARS))
}

/// At most `max` characters, cut at a character boundary, "..." marking a cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(3)).collect();
    out.push_str("...");
    out
}

/// A Message-ID (no angle brackets) fit to repeat in a header: bounded,
/// no whitespace, control characters or brackets.
pub fn safe_id(id: &str) -> Option<&str> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_CHARS
        && !id
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"'));
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_10_names_that_are_not_names_fall_back() {
        assert_eq!(safe_name("Ana Souza").as_deref(), Some("Ana Souza"));
        assert_eq!(
            safe_name("\"J. R. Tolkien\"").as_deref(),
            Some("J. R. Tolkien")
        );
        assert_eq!(safe_name("김민준").as_deref(), Some("김민준"));
        assert_eq!(safe_name("Ana\nSmith").as_deref(), Some("Ana Smith"));
        for bad in [
            "https://payout-verify.attacker.test/login",
            "payout-verify.attacker.test",
            "www.example.com",
            "ana@example.org",
            &"x".repeat(65),
            "<b>Ana</b>",
            "",
            " \r\n ",
        ] {
            assert_eq!(safe_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn issue_10_subjects_are_bounded_and_linkless() {
        assert_eq!(
            safe_subject("Payment\r\n  late").as_deref(),
            Some("Payment late")
        );
        assert_eq!(safe_subject("Verify at https://x.test/login"), None);
        let long = safe_subject(&"word ".repeat(1000)).unwrap();
        assert_eq!(long.chars().count(), MAX_SUBJECT_CHARS);
        assert!(long.ends_with("..."));
    }

    #[test]
    fn ids_with_spaces_or_of_hostile_length_are_not_repeated() {
        assert_eq!(safe_id("abc@x.example"), Some("abc@x.example"));
        assert_eq!(safe_id("a b@x"), None);
        assert_eq!(safe_id("a\n@x"), None);
        assert_eq!(safe_id(&"a".repeat(300)), None);
    }
}
