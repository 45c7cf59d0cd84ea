//! Assemble a [`ParsedEmail`] from mail-parser's structure and our own
//! decoders. mail-parser finds the MIME tree, addresses, ids and the date;
//! header values, body text and charsets are decoded here (see the sibling
//! modules for why).

use super::{
    charset, content_hash, dsn, headers, html, mime, quote, signature, Address, Body, ParseNote,
    ParsedEmail,
};
use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders};

/// Body text beyond this many decoded bytes is not read: no human writes
/// it, and it bounds memory for huge mails.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub(super) fn parse(raw: &[u8]) -> ParsedEmail {
    let hash = content_hash(raw);
    let mut out = ParsedEmail {
        size: raw.len(),
        content_hash: hash,
        content_type: "text/plain".into(),
        ..ParsedEmail::default()
    };
    let parsed = if raw.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        MessageParser::default().parse(raw)
    };
    match parsed {
        Some(msg) if !msg.parts.is_empty() => fill(&mut out, &msg),
        _ => {
            out.notes.push(ParseNote::with(
                "not_mail",
                if raw.is_empty() {
                    "empty input"
                } else {
                    "no headers found"
                },
            ));
            let d = charset::decode_unlabelled(&raw[..raw.len().min(MAX_BODY_BYTES)]);
            out.body.full = d.text.replace("\r\n", "\n").trim().to_string();
            out.body.new_text = out.body.full.clone();
        }
    }
    if out.message_id.is_empty() {
        out.notes.push(ParseNote::new("no_message_id"));
        out.message_id = format!("{}@helpgate.invalid", &out.content_hash[..32]);
        out.message_id_synthesized = true;
    }
    out
}

fn fill(out: &mut ParsedEmail, msg: &Message<'_>) {
    let root = &msg.parts[0];
    if root.headers.is_empty() {
        out.notes
            .push(ParseNote::with("not_mail", "no headers found"));
    }
    out.content_type = mime::mime_type(root, "text/plain");
    let layout = mime::walk(msg);
    out.notes.extend(layout.notes.iter().cloned());

    // The body's declared charset, also the best hint for raw 8-bit headers.
    let body_part = layout
        .text
        .first()
        .or(layout.html.first())
        .map(|&i| &msg.parts[i]);
    out.charset = body_part
        .and_then(|p| p.content_type())
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.trim().trim_matches('"').to_ascii_lowercase());

    let raw = msg.raw_message();
    let header_end = (root.offset_body as usize).min(raw.len());
    let mut dec = headers::HeaderDecoder::new(&raw[..header_end], out.charset.as_deref());
    out.headers = headers::collect(&root.headers, raw, &mut dec);
    out.notes.append(&mut dec.notes);

    out.message_id = msg.message_id().map(clean_id).unwrap_or_default();
    out.in_reply_to = ids(msg.in_reply_to(), out.header("in-reply-to"));
    out.references = ids(msg.references(), out.header("references"));
    out.from = msg.from().and_then(|a| addresses(a).into_iter().next());
    if let (Some(f), Some(decoded)) = (&mut out.from, out.headers.iter().find(|(n, _)| n == "from"))
    {
        repair_name(f, &decoded.1);
    }
    if out.from.is_none() {
        out.notes.push(ParseNote::new("no_from"));
    }
    out.reply_to = msg.reply_to().and_then(|a| addresses(a).into_iter().next());
    out.to = msg.to().map(addresses).unwrap_or_default();
    out.cc = msg.cc().map(addresses).unwrap_or_default();
    out.subject = out.header("subject").unwrap_or("").to_string();
    out.date = msg
        .date()
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0))
        .filter(|d| d.timestamp() > 0);
    if out.date.is_none() {
        out.notes.push(ParseNote::new("no_date"));
    }

    let (full, hint) = body_text(out, msg, &layout);
    out.body = split_body(full, hint);
    out.attachments = layout.attachments;
    let from = out.from.as_ref().map(|a| a.email.as_str());
    let null_sender = out
        .header("return-path")
        .is_some_and(|r| r.trim().trim_matches(['<', '>']).trim().is_empty())
        || out
            .header("from")
            .is_some_and(|f| f.trim().trim_matches(['<', '>']).trim().is_empty());
    out.delivery_report = dsn::detect(msg, null_sender, from, &out.subject, &out.body.full);
}

/// The body as text, and where HTML marked the quoted history.
fn body_text(
    out: &mut ParsedEmail,
    msg: &Message<'_>,
    layout: &mime::Layout,
) -> (String, Option<usize>) {
    let html_only = layout.text.is_empty() && !layout.html.is_empty();
    let ids = if html_only {
        &layout.html
    } else {
        &layout.text
    };
    let mut pieces = Vec::with_capacity(ids.len());
    let mut budget = MAX_BODY_BYTES;
    for &id in ids {
        let part = &msg.parts[id];
        let mut bytes = mime::decode_transfer(msg, part, &mut out.notes);
        if bytes.len() > budget {
            bytes.truncate(budget);
            out.notes.push(ParseNote::with(
                "body_truncated",
                format!("body text over {MAX_BODY_BYTES} bytes not read"),
            ));
        }
        budget -= bytes.len();
        let label = part
            .content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(str::to_string);
        let d = charset::decode(&bytes, label.as_deref());
        drop(bytes);
        if let Some(why) = d.fallback {
            if !out.has_note("charset_fallback") {
                out.notes.push(ParseNote::with("charset_fallback", why));
            }
        }
        let text = if d.text.contains('\r') {
            d.text.replace("\r\n", "\n").replace('\r', "\n")
        } else {
            d.text
        };
        pieces.push(text);
        if budget == 0 {
            break;
        }
    }
    if html_only {
        out.html_only = true;
        out.notes.push(ParseNote::new("html_only"));
        let mut text = String::new();
        let mut hint = None;
        for p in pieces {
            let h = html::to_text(&p);
            if hint.is_none() {
                hint = h.quote_start.map(|q| q + text.len());
            }
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(&h.text);
        }
        (text, hint)
    } else {
        let joined = if pieces.len() == 1 {
            pieces.pop().unwrap_or_default()
        } else {
            pieces
                .iter()
                .map(|p| p.trim_end())
                .filter(|p| !p.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        (joined, None)
    }
}

fn split_body(full: String, hint: Option<usize>) -> Body {
    let q = quote::split(&full, hint);
    let (new_text, signature) = signature::split(&q.new_text);
    Body {
        full,
        new_text,
        quoted: q.quoted,
        signature,
    }
}

fn clean_id(s: &str) -> String {
    let s = s
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    s.split_whitespace().next().unwrap_or("").to_string()
}

/// Message ids from mail-parser, or dug out of the decoded header when
/// mail-parser found none in junk ("Your message of ... <id@x>").
fn ids(v: &HeaderValue<'_>, decoded: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = match v {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    };
    out.retain(|id| !id.is_empty() && id.len() <= 998);
    if out.is_empty() {
        if let Some(d) = decoded {
            out = d
                .split(['<', '>'])
                .skip(1)
                .step_by(2)
                .map(clean_id)
                .filter(|id| id.contains('@'))
                .collect();
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|id| seen.insert(id.clone()));
    out
}

fn addresses(a: &mail_parser::Address<'_>) -> Vec<Address> {
    a.iter().filter_map(address).collect()
}

fn address(a: &mail_parser::Addr<'_>) -> Option<Address> {
    let email = a.address()?.trim();
    if email.is_empty() {
        return None;
    }
    let email = match email.rsplit_once('@') {
        Some((local, domain)) => format!("{local}@{}", domain.to_ascii_lowercase()),
        None => email.to_string(),
    };
    let name = a
        .name()
        .map(|n| charset::nfc(n.trim().trim_matches('"').trim().to_string()))
        .filter(|n| !n.is_empty() && *n != email);
    Some(Address { name, email })
}

/// mail-parser decodes each encoded word on its own and reads 8-bit names as
/// UTF-8; when that went wrong, take the name from our decoded header.
fn repair_name(addr: &mut Address, decoded_header: &str) {
    let broken = addr
        .name
        .as_deref()
        .is_some_and(|n| n.contains('\u{FFFD}') || n.contains("=?"));
    if !broken {
        return;
    }
    if let Some((name, _)) = decoded_header.split_once('<') {
        let name = name.trim().trim_matches('"').trim();
        if !name.is_empty() {
            addr.name = Some(name.to_string());
        }
    }
}
