//! RFC 3676 `format=flowed` text (Thunderbird, Apple Mail): soft line
//! breaks are undone so a paragraph is one line again, and quoted lines
//! keep their `>` depth. Without this, new text is cut every 72 characters.

/// Unflow `text`; `delsp` is the part's `delsp=yes`.
pub(super) fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    // The paragraph being joined and its quote depth.
    let mut para = String::new();
    let mut para_depth: Option<usize> = None;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let depth = line.bytes().take_while(|&b| b == b'>').count();
        let mut content = &line[depth..];
        // Space-stuffing: one leading space was added by the sender.
        if let Some(rest) = content.strip_prefix(' ') {
            content = rest;
        }
        if para_depth.is_some_and(|d| d != depth) {
            flush(&mut out, &mut para, para_depth);
        }
        para_depth = Some(depth);
        let flowed = content.ends_with(' ') && content != "-- ";
        if flowed {
            para.push_str(if delsp {
                &content[..content.len() - 1]
            } else {
                content
            });
        } else {
            para.push_str(content);
            flush(&mut out, &mut para, para_depth);
            para_depth = None;
        }
    }
    if para_depth.is_some() {
        flush(&mut out, &mut para, para_depth);
    }
    if out.ends_with('\n') && !text.ends_with('\n') {
        out.pop();
    }
    out
}

fn flush(out: &mut String, para: &mut String, depth: Option<usize>) {
    let depth = depth.unwrap_or(0);
    for _ in 0..depth {
        out.push('>');
    }
    if depth > 0 && !para.is_empty() {
        out.push(' ');
    }
    out.push_str(para);
    out.push('\n');
    para.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soft_breaks_are_joined() {
        let t = "Hallo, ich habe gestern zwölf Aufnahmen hochgeladen, aber \nim Portal sehe ich nichts.\n\n-- \nJonas";
        assert_eq!(
            unflow(t, false),
            "Hallo, ich habe gestern zwölf Aufnahmen hochgeladen, aber im Portal sehe ich nichts.\n\n-- \nJonas"
        );
    }

    #[test]
    fn quotes_keep_depth_and_delsp_deletes() {
        let t = "> Avez-vous re\u{e7}u \n> mes fichiers ?\n>> ancien \n>> texte\nOui.";
        assert_eq!(
            unflow(t, false),
            "> Avez-vous reçu mes fichiers ?\n>> ancien texte\nOui."
        );
        assert_eq!(unflow("abc \ndef", true), "abcdef");
        assert_eq!(unflow(" >not a quote", false), ">not a quote");
    }
}
