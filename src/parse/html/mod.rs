//! HTML -> readable plain text, keeping the quote structure.
//!
//! A small tolerant tokenizer rather than a DOM: mail HTML is often broken
//! and we only need text. Script/style/head content is dropped, entities are
//! decoded, block elements and `<br>` become line breaks, list items get a
//! bullet. Quoted history is kept visible to the quote splitter in two ways:
//! `<blockquote>` lines are prefixed with `> ` (the plain-text convention),
//! and the markers mail clients put before the quoted history (Gmail's
//! `gmail_quote`, Outlook's `divRplyFwdMsg`, Yahoo's `yahoo_quoted`, ...)
//! give `quote_start`, the offset in the text where history begins.

mod entities;

/// Text converted from HTML.
pub(super) struct HtmlText {
    pub(super) text: String,
    /// Byte offset in `text` where a client-marked quoted history begins.
    pub(super) quote_start: Option<usize>,
}

const SKIP: &[&str] = &[
    "script", "style", "head", "title", "xml", "template", "noscript",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "dl",
    "dt",
    "dd",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "address",
    "center",
    "form",
    "fieldset",
    "hr",
    "blockquote",
    "li",
    "body",
    "html",
    "tbody",
    "thead",
    "caption",
    "figure",
    "main",
    "nav",
    "aside",
];

struct Builder {
    out: String,
    line: String,
    depth: usize,
    /// The line being built starts inside this many blockquotes.
    line_depth: usize,
    pending_space: bool,
    quote_start: Option<usize>,
    blank_run: usize,
}

impl Builder {
    fn text(&mut self, s: &str, pre: bool) {
        for ch in s.chars() {
            if pre && ch == '\n' {
                self.newline(true);
                continue;
            }
            if !pre && (ch.is_whitespace() && ch != '\u{a0}' || ch == '\u{200b}') {
                if !self.line.is_empty() {
                    self.pending_space = true;
                }
                continue;
            }
            if self.line.is_empty() {
                self.line_depth = self.depth;
            } else if self.pending_space {
                self.line.push(' ');
            }
            self.pending_space = false;
            self.line.push(if ch == '\u{a0}' { ' ' } else { ch });
        }
    }

    /// End the current line. `hard` keeps empty lines (from `<br>`).
    fn newline(&mut self, hard: bool) {
        self.pending_space = false;
        let line = std::mem::take(&mut self.line);
        let line = line.trim_end();
        if line.is_empty() {
            if !hard || self.out.is_empty() || self.blank_run >= 1 {
                return;
            }
            self.blank_run += 1;
        } else {
            self.blank_run = 0;
        }
        let depth = if line.is_empty() {
            self.depth
        } else {
            self.line_depth
        };
        for _ in 0..depth {
            self.out.push('>');
        }
        if depth > 0 && !line.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(line);
        self.out.push('\n');
    }

    fn mark_quote(&mut self) {
        if self.quote_start.is_none() {
            self.newline(false);
            self.quote_start = Some(self.out.len());
        }
    }
}

/// Convert `html` to text. Never fails.
pub(super) fn to_text(html: &str) -> HtmlText {
    let mut b = Builder {
        out: String::with_capacity(html.len() / 2),
        line: String::new(),
        depth: 0,
        line_depth: 0,
        pending_space: false,
        quote_start: None,
        blank_run: 0,
    };
    let mut skip: Option<String> = None;
    let mut pre = 0usize;
    let mut lists: Vec<Option<u32>> = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if skip.is_none() {
                b.text(&entities::decode(rest), pre > 0);
            }
            break;
        };
        if lt > 0 && skip.is_none() {
            b.text(&entities::decode(&rest[..lt]), pre > 0);
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.find("-->").map_or("", |i| &r[i + 3..]);
            continue;
        }
        let Some(tag) = Tag::parse(rest) else {
            // A lone '<' in text.
            if skip.is_none() {
                b.text("<", pre > 0);
            }
            rest = &rest[1..];
            continue;
        };
        rest = &rest[tag.len..];
        if let Some(s) = &skip {
            if tag.closing && tag.name == *s {
                skip = None;
            }
            continue;
        }
        let name = tag.name.as_str();
        if !tag.closing && SKIP.contains(&name) && !tag.self_closing {
            skip = Some(tag.name.clone());
            continue;
        }
        if !tag.closing && is_quote_marker(&tag) {
            b.mark_quote();
        }
        match (name, tag.closing) {
            ("br", _) => b.newline(true),
            ("blockquote", false) => {
                b.newline(false);
                b.depth += 1;
            }
            ("blockquote", true) => {
                b.newline(false);
                b.depth = b.depth.saturating_sub(1);
            }
            ("pre", false) => {
                b.newline(false);
                pre += 1;
            }
            ("pre", true) => {
                b.newline(false);
                pre = pre.saturating_sub(1);
            }
            ("ul", false) => {
                b.newline(false);
                lists.push(None);
            }
            ("ol", false) => {
                b.newline(false);
                lists.push(Some(0));
            }
            ("ul" | "ol", true) => {
                b.newline(false);
                lists.pop();
            }
            ("li", false) => {
                b.newline(false);
                let bullet = match lists.last_mut() {
                    Some(Some(n)) => {
                        *n += 1;
                        format!("{n}. ")
                    }
                    _ => "- ".to_string(),
                };
                b.line_depth = b.depth;
                b.line.push_str(&bullet);
                b.pending_space = false;
            }
            ("p", _) => {
                b.newline(false);
            }
            ("td" | "th", true) => b.pending_space = !b.line.is_empty(),
            ("hr", false) => {
                b.newline(false);
            }
            ("img", false) => {
                if let Some(alt) = tag.attr("alt").filter(|a| !a.trim().is_empty()) {
                    b.text(&entities::decode(alt), false);
                }
            }
            (n, _) if BLOCK.contains(&n) => b.newline(false),
            _ => {}
        }
    }
    b.newline(false);
    let text = b.out.trim_end().to_string();
    let quote_start = b.quote_start.filter(|&q| q < text.len());
    HtmlText { text, quote_start }
}

/// Elements mail clients put at the start of quoted history.
fn is_quote_marker(tag: &Tag) -> bool {
    let class = tag.attr("class").unwrap_or("").to_ascii_lowercase();
    let id = tag.attr("id").unwrap_or("").to_ascii_lowercase();
    let classes = [
        "gmail_quote",
        "gmail_quote_container",
        "yahoo_quoted",
        "moz-cite-prefix",
        "moz-forward-container",
        "protonmail_quote",
        "zmail_extra",
        "ms-outlook-mobile-reference-message",
        "apple-mail-quoted",
        "replyheader",
    ];
    let ids = [
        "divrplyfwdmsg",
        "appendonsend",
        "stopspelling",
        "olk_src_body_section",
        "zwchr",
        "mail-editor-reference-message-container",
        "isforwardcontent",
        "ismailcontentquote",
        "reply-quote",
    ];
    if ids.contains(&id.as_str()) || id.starts_with("yiv") && id.ends_with("yahoo_quoted") {
        return true;
    }
    if class.split_whitespace().any(|c| classes.contains(&c)) {
        // Gmail also classes its blockquote "gmail_quote"; that one is
        // handled as a blockquote, the div around it is the marker.
        return tag.name != "blockquote";
    }
    // Outlook desktop: the header block sits in a div with a top border.
    if tag.name == "div" {
        let style = tag.attr("style").unwrap_or("").to_ascii_lowercase();
        if style.contains("border-top:solid #e1e1e1") || style.contains("border-top:solid #b5c4df")
        {
            return true;
        }
    }
    false
}

/// One parsed tag.
struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: Vec<(String, String)>,
    len: usize,
}

impl Tag {
    /// Parse a tag at the start of `s` (which starts with '<').
    fn parse(s: &str) -> Option<Tag> {
        let bytes = s.as_bytes();
        let mut i = 1;
        let closing = bytes.get(1) == Some(&b'/');
        if closing {
            i += 1;
        }
        let first = *bytes.get(i)?;
        if !(first.is_ascii_alphabetic() || first == b'!' || first == b'?') {
            return None;
        }
        let name_start = i;
        while i < bytes.len()
            && !bytes[i].is_ascii_whitespace()
            && bytes[i] != b'>'
            && bytes[i] != b'/'
        {
            i += 1;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        let mut self_closing = false;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            match bytes.get(i) {
                None => {
                    return Some(Tag {
                        name,
                        closing,
                        self_closing,
                        attrs,
                        len: s.len(),
                    })
                }
                Some(b'>') => {
                    i += 1;
                    break;
                }
                Some(b'/') => {
                    self_closing = true;
                    i += 1;
                    continue;
                }
                _ => {}
            }
            let an_start = i;
            while i < bytes.len()
                && !bytes[i].is_ascii_whitespace()
                && !matches!(bytes[i], b'=' | b'>' | b'/')
            {
                i += 1;
            }
            let an = s[an_start..i].to_ascii_lowercase();
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = String::new();
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    i += 1;
                }
                match bytes.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        let end = s[i + 1..].find(q as char).map_or(s.len(), |e| i + 1 + e);
                        value = s[i + 1..end].to_string();
                        i = (end + 1).min(s.len());
                    }
                    _ => {
                        let vs = i;
                        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>'
                        {
                            i += 1;
                        }
                        value = s[vs..i].to_string();
                    }
                }
            }
            if an.is_empty() {
                i += 1;
            } else {
                attrs.push((an, value));
            }
        }
        Some(Tag {
            name,
            closing,
            self_closing,
            attrs,
            len: i,
        })
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_scripts_entities_blocks() {
        let t = to_text(
            "<html><head><title>x</title><style>p{color:red}</style></head><body>\
             <p>Ol&aacute;, n&atilde;o recebi&nbsp;o pagamento &amp; &#233;&#x20AC;.</p>\
             <script>alert(1)</script><div>Linha 2<br>Linha 3</div></body></html>",
        );
        assert_eq!(
            t.text,
            "Olá, não recebi o pagamento & é€.\nLinha 2\nLinha 3"
        );
        assert!(t.quote_start.is_none());
    }

    #[test]
    fn lists_are_readable() {
        let t =
            to_text("<p>Steps:</p><ol><li>Open app</li><li>Record</li></ol><ul><li>a</li></ul>");
        assert_eq!(t.text, "Steps:\n1. Open app\n2. Record\n- a");
    }

    #[test]
    fn blockquote_lines_get_prefix() {
        let t = to_text("Yes<blockquote type=\"cite\">Did it arrive?<br>Thanks</blockquote>");
        assert_eq!(t.text, "Yes\n> Did it arrive?\n> Thanks");
    }

    #[test]
    fn gmail_and_outlook_markers() {
        let t = to_text(
            "<div dir=\"ltr\">Obrigado!</div><br><div class=\"gmail_quote\"><div class=\"gmail_attr\">Em seg., 3 de jun. de 2024 &agrave;s 10:00, Ana &lt;a@b.pt&gt; escreveu:<br></div><blockquote class=\"gmail_quote\">Ol&aacute;</blockquote></div>",
        );
        let q = t.quote_start.expect("gmail_quote marks history");
        assert_eq!(t.text[..q].trim(), "Obrigado!");
        assert!(t.text[q..].starts_with("Em seg."));
        let t = to_text("<p>Danke</p><div id=\"divRplyFwdMsg\"><b>Von:</b> X</div><p>alt</p>");
        assert_eq!(
            t.text[..t.quote_start.expect("outlook marker")].trim(),
            "Danke"
        );
    }

    #[test]
    fn broken_html_does_not_panic() {
        for s in [
            "<",
            "<<>>",
            "<a href='x",
            "</",
            "<!-- x",
            "a < b > c",
            "<p attr=\"é\"x>ü",
        ] {
            let _ = to_text(s);
        }
        assert_eq!(to_text("a < b").text, "a < b");
    }
}
