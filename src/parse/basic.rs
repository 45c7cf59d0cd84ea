//! First, minimal mapping from mail-parser to [`ParsedEmail`].

use super::{content_hash, Address, Body, ParseNote, ParsedEmail};
use mail_parser::{HeaderValue, MessageParser};

pub(super) fn parse(raw: &[u8]) -> ParsedEmail {
    let hash = content_hash(raw);
    let mut out = ParsedEmail {
        size: raw.len(),
        content_hash: hash.clone(),
        ..ParsedEmail::default()
    };
    let Some(msg) = MessageParser::default().parse(raw) else {
        out.notes.push(ParseNote::new("not_mail"));
        out.message_id = format!("{}@helpgate.invalid", &hash[..32]);
        out.message_id_synthesized = true;
        return out;
    };
    match msg.message_id() {
        Some(id) if !id.trim().is_empty() => out.message_id = id.trim().to_string(),
        _ => {
            out.notes.push(ParseNote::new("no_message_id"));
            out.message_id = format!("{}@helpgate.invalid", &hash[..32]);
            out.message_id_synthesized = true;
        }
    }
    out.in_reply_to = ids(msg.in_reply_to());
    out.references = ids(msg.references());
    out.from = msg.from().and_then(|a| a.first()).and_then(addr);
    out.reply_to = msg.reply_to().and_then(|a| a.first()).and_then(addr);
    out.subject = msg.subject().unwrap_or("").to_string();
    out.body = Body {
        full: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
        ..Body::default()
    };
    out.body.new_text = out.body.full.clone();
    out
}

fn ids(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

fn addr(a: &mail_parser::Addr<'_>) -> Option<Address> {
    Some(Address {
        name: a.name().map(str::to_string),
        email: a.address()?.to_string(),
    })
}
