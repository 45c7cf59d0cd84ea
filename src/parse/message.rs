//! Assemble a [`ParsedEmail`] from mail-parser's structure and our own
//! decoders. mail-parser finds the MIME tree, addresses, ids and the date;
//! header values, body text and charsets are decoded here (see the sibling
//! modules for why).

use super::{
    charset, content_hash, dsn, flowed, headers, html, mime, prepare, quote, signature, Address,
    Body, ParseNote, ParsedEmail,
};
use chrono::{DateTime, Utc};
use mail_parser::{HeaderName, HeaderValue, Message, MessageParser, MimeHeaders};
use std::sync::LazyLock;

/// Body text beyond this many decoded bytes is not read: no human writes
/// it, and it bounds memory for huge mails.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// mail-parser's own choices, except that Received headers are skipped:
/// helpgate reads their raw text (arrival time) and never their parsed form,
/// which cost more than all the other headers of a mail together.
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    use HeaderName as H;
    let mut p = MessageParser::new().default_header_raw();
    for h in [
        H::Subject,
        H::Comments,
        H::ContentDescription,
        H::ContentLocation,
        H::ContentTransferEncoding,
    ] {
        p = p.header_text(h);
    }
    for h in [
        H::From,
        H::To,
        H::Cc,
        H::Bcc,
        H::ReplyTo,
        H::Sender,
        H::ResentTo,
        H::ResentFrom,
        H::ResentBcc,
        H::ResentCc,
        H::ResentSender,
        H::ListArchive,
        H::ListHelp,
        H::ListId,
        H::ListOwner,
        H::ListPost,
        H::ListSubscribe,
        H::ListUnsubscribe,
    ] {
        p = p.header_address(h);
    }
    for h in [
        H::MessageId,
        H::References,
        H::InReplyTo,
        H::ReturnPath,
        H::ContentId,
        H::ResentMessageId,
    ] {
        p = p.header_id(h);
    }
    p.header_date(H::Date)
        .header_date(H::ResentDate)
        .header_comma_separated(H::Keywords)
        .header_comma_separated(H::ContentLanguage)
        .header_content_type(H::ContentType)
        .header_content_type(H::ContentDisposition)
        .header_raw(H::MimeVersion)
        .ignore_header(H::Received)
});

/// See [`super::attachment`].
pub(super) fn attachment(raw: &[u8], sha256: &str) -> Option<Vec<u8>> {
    let msg = PARSER.parse(raw)?;
    super::mime::attachment_bytes(&msg, sha256)
}

pub(super) fn parse(raw: &[u8]) -> ParsedEmail {
    let hash = content_hash(raw);
    let mut out = ParsedEmail {
        size: raw.len(),
        content_hash: hash,
        content_type: "text/plain".into(),
        ..ParsedEmail::default()
    };
    let text = prepare::normalize(raw);
    let masked = prepare::mask_inline_boundaries(&text);
    let parsed = if text.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        PARSER.parse(masked.as_deref().unwrap_or(&text))
    };
    match parsed {
        Some(mut msg) if !msg.parts.is_empty() => {
            // Same length as the masked copy: every offset holds, and our
            // decoders read the text as sent.
            msg.raw_message = std::borrow::Cow::Borrowed(&text);
            fill(&mut out, &msg)
        }
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
    // The block ends with the empty line; do not count it.
    let bad = headers::count_unparsable(raw[..header_end].trim_ascii_end());
    if bad > 0 && !root.headers.is_empty() {
        out.notes.push(ParseNote::with(
            "unparsable_header",
            format!("{bad} header line(s) not understood"),
        ));
    }
    out.notes.append(&mut dec.notes);

    out.message_id = msg.message_id().map(clean_id).unwrap_or_default();
    out.in_reply_to = ids(&out.headers, "in-reply-to", msg.in_reply_to());
    out.references = ids(&out.headers, "references", msg.references());
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
    // Folding leaves tabs and runs of blanks; a subject reads as one line.
    out.subject = out
        .header("subject")
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    out.date = msg
        .date()
        .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0))
        .filter(|d| d.timestamp() > 0);
    if out.date.is_none() {
        out.notes.push(ParseNote::new("no_date"));
    }

    let (full, hint) = body_text(out, msg, &layout);
    out.body = split_body(full, hint, &out.subject);
    out.attachments = layout.attachments;
    let from = out.from.as_ref().map(|a| a.email.as_str());
    let null_sender = out
        .header("return-path")
        .is_some_and(|r| r.trim().trim_matches(['<', '>']).trim().is_empty())
        || out
            .header("from")
            .is_some_and(|f| f.trim().trim_matches(['<', '>']).trim().is_empty());
    let env = dsn::Envelope {
        null_sender,
        from,
        subject: &out.subject,
        headers: &out.headers,
    };
    out.delivery_report = dsn::detect(msg, &env, &out.body.full);
}

/// The body as text, and where HTML marked the quoted history.
fn body_text(
    out: &mut ParsedEmail,
    msg: &Message<'_>,
    layout: &mime::Layout,
) -> (String, Option<usize>) {
    if !layout.text.is_empty() {
        let pieces = decode_parts(out, msg, &layout.text);
        let joined = if pieces.len() == 1 {
            pieces.into_iter().next().unwrap_or_default()
        } else {
            pieces
                .iter()
                .map(|p| p.trim_end())
                .filter(|p| !p.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n\n")
        };
        // An empty text/plain beside real HTML (Apple Mail does this) does
        // not count as the text version.
        if !joined.trim().is_empty() || layout.html.is_empty() && layout.tnef_text.is_none() {
            return (joined, None);
        }
    }
    if layout.html.is_empty() {
        // Outlook's rich text travels only inside winmail.dat.
        let tnef = layout.tnef_text.as_deref().unwrap_or("");
        return (tnef.replace("\r\n", "\n").trim().to_string(), None);
    }
    out.html_only = true;
    out.notes.push(ParseNote::new("html_only"));
    let mut text = String::new();
    let mut hint = None;
    for p in decode_parts(out, msg, &layout.html) {
        let h = html::to_text(&p);
        let sep = if text.is_empty() { 0 } else { 2 };
        if hint.is_none() {
            hint = h.quote_start.map(|q| q + text.len() + sep);
        }
        if sep > 0 {
            text.push_str("\n\n");
        }
        text.push_str(&h.text);
    }
    (text, hint)
}

/// Transfer- and charset-decode body parts, within the body budget.
fn decode_parts(out: &mut ParsedEmail, msg: &Message<'_>, ids: &[usize]) -> Vec<String> {
    let mut pieces = Vec::with_capacity(ids.len());
    let mut budget = MAX_BODY_BYTES;
    for &id in ids {
        let part = &msg.parts[id];
        let mut bytes = mime::decode_transfer_limited(msg, part, &mut out.notes, budget + 1);
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
            .map(str::to_string)
            .or_else(|| {
                matches!(part.body, mail_parser::PartType::Html(_))
                    .then(|| html::meta_charset(&bytes))
                    .flatten()
            });
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
        let ct = part.content_type();
        let attr_is = |name: &str, value: &str| {
            ct.and_then(|c| c.attribute(name))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
        };
        let text =
            if matches!(part.body, mail_parser::PartType::Text(_)) && attr_is("format", "flowed") {
                flowed::unflow(&text, attr_is("delsp", "yes"))
            } else {
                text
            };
        pieces.push(text);
        if budget == 0 {
            break;
        }
    }
    pieces
}

fn split_body(full: String, hint: Option<usize>, subject: &str) -> Body {
    let q = quote::split(&full, hint, subject);
    let (new_text, signature) = signature::split(&q.new_text);
    Body {
        full,
        new_text,
        quoted: q.quoted,
        signature,
        forwarded: q.forwarded,
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

/// Message ids of every header called `name` (several References headers
/// are merged), taken from the `<...>` tokens so that junk around them
/// ("Your message of Mon, ... <id@x>") is ignored; mail-parser's reading is
/// the fallback for bare ids without brackets. Duplicates are dropped.
fn ids(headers: &[(String, String)], name: &str, parsed: &HeaderValue<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, value) in headers.iter().filter(|(n, _)| n == name) {
        let mut rest = value.as_str();
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>') else {
                break;
            };
            let id: String = rest[open + 1..open + close]
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            if !id.is_empty() && id.len() <= 998 {
                out.push(id);
            }
            rest = &rest[open + close + 1..];
        }
    }
    if out.is_empty() {
        out = match parsed {
            HeaderValue::Text(t) => vec![clean_id(t)],
            HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
            _ => Vec::new(),
        };
        out.retain(|id| !id.is_empty() && id.len() <= 998 && !id.contains(['(', ')', ',']));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &[u8]) -> Vec<u8> {
        let mut m = headers.replace('\n', "\r\n").into_bytes();
        m.extend_from_slice(b"\r\n");
        m.extend_from_slice(body);
        m
    }

    fn legacy(enc: &'static encoding_rs::Encoding, s: &str) -> Vec<u8> {
        enc.encode(s).0.into_owned()
    }

    #[test]
    fn legacy_charset_bodies_decode() {
        for (label, enc, text) in [
            (
                "euc-kr",
                encoding_rs::EUC_KR,
                "결제가 아직 안 들어왔습니다.",
            ),
            (
                "ks_c_5601-1987",
                encoding_rs::EUC_KR,
                "녹음이 거절된 이유를 알려주세요.",
            ),
            ("gb2312", encoding_rs::GBK, "我的付款还没有到账。"),
            (
                "GB18030",
                encoding_rs::GB18030,
                "我的录音被拒绝了，为什么？𠀀",
            ),
            ("big5", encoding_rs::BIG5, "我的付款還沒有到帳。"),
            ("shift_jis", encoding_rs::SHIFT_JIS, "支払いがまだです。"),
            (
                "iso-2022-jp",
                encoding_rs::ISO_2022_JP,
                "支払いがまだです。",
            ),
            (
                "iso-8859-7",
                encoding_rs::ISO_8859_7,
                "Δεν έχω πληρωθεί ακόμα.",
            ),
            (
                "windows-1254",
                encoding_rs::WINDOWS_1254,
                "Ödemem henüz gelmedi, şikayet.",
            ),
            (
                "iso-8859-15",
                encoding_rs::ISO_8859_15,
                "Je n'ai pas reçu le paiement de 50 €.",
            ),
        ] {
            let raw = mail(
                &format!(
                    "From: a@b.c\nMessage-ID: <1@b.c>\nContent-Type: text/plain; charset={label}\n"
                ),
                &legacy(enc, text),
            );
            let e = parse(&raw);
            assert_eq!(e.body.new_text, text, "{label}");
            assert_eq!(
                e.charset.as_deref(),
                Some(label.to_ascii_lowercase().as_str())
            );
            assert!(!e.has_note("charset_fallback"), "{label}: {:?}", e.notes);
        }
    }

    #[test]
    fn windows_1258_body_is_nfc() {
        // "Tôi chưa nhận được tiền" with tone marks as combining characters.
        let body = b"T\xf4i ch\xfda nh\xe2\xf2n \xf0\xfd\xf5\xf2c ti\xea\xccn";
        let raw = mail(
            "From: a@b.vn\nContent-Type: text/plain; charset=windows-1258\n",
            body,
        );
        let e = parse(&raw);
        assert_eq!(e.body.new_text, "Tôi chưa nhận được tiền");
        assert!(e
            .body
            .new_text
            .chars()
            .all(|c| !('\u{300}'..='\u{36f}').contains(&c)));
    }

    #[test]
    fn headers_subject_from_and_split_words() {
        let raw = mail(
            "From: =?UTF-8?B?6rmA?= =?UTF-8?B?7LKg7IiY?= <Chul@Example.KR>\nTo: a@x.com, \"B\" <b@x.com>\nCc: c@x.com\n\
             Reply-To: r@x.com\nSubject: =?UTF-8?B?6rKw7KCcIOusuA==?= =?UTF-8?B?7J2Y?=\nMessage-ID: <abc@x>\n\
             In-Reply-To: <p1@x>\nReferences: <p0@x> <p1@x>\nDate: Mon, 3 Jun 2024 10:00:00 +0900\nAuto-Submitted: no\n",
            b"hi",
        );
        let e = parse(&raw);
        assert_eq!(e.subject, "결제 문의");
        let from = e.from.as_ref().expect("from");
        assert_eq!(from.email, "Chul@example.kr");
        assert_eq!(from.name.as_deref(), Some("김철수"));
        assert_eq!(e.to.len(), 2);
        assert_eq!(e.cc[0].email, "c@x.com");
        assert_eq!(
            e.reply_to.as_ref().map(|a| a.email.as_str()),
            Some("r@x.com")
        );
        assert_eq!(e.message_id, "abc@x");
        assert_eq!(e.in_reply_to, ["p1@x"]);
        assert_eq!(e.references, ["p0@x", "p1@x"]);
        assert_eq!(
            e.date.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-06-03T01:00:00+00:00")
        );
        assert_eq!(e.header("Auto-Submitted"), Some("no"));
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    }

    #[test]
    fn message_ids_from_junk_and_repeated_headers() {
        let raw = mail(
            "From: a@b.c\nIn-Reply-To: Your message of Mon, 3 Jun 2024 10:00 <orig@x.com>\nReferences: <a@x>\n\
             References: <b@x>, <a@x>\n <c\n @x>\nMessage-ID: <  spaced@x > trailing\n",
            b"hi",
        );
        let e = parse(&raw);
        assert_eq!(e.in_reply_to, ["orig@x.com"]);
        assert_eq!(e.references, ["a@x", "b@x", "c@x"]);
        assert_eq!(e.message_id, "spaced@x");
        let e = parse(&mail(
            "From: a@b.c\nIn-Reply-To:\nReferences: bare@id\n",
            b"x",
        ));
        assert!(e.in_reply_to.is_empty());
        assert_eq!(e.references, ["bare@id"]);
    }

    #[test]
    fn raw_utf8_headers() {
        let raw = mail(
            "From: Zoë Ünal <zoe@x.tr>\nSubject: Ödeme hakkında – soru\nMessage-ID: <z@x>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n",
            "Merhaba".as_bytes(),
        );
        let e = parse(&raw);
        assert_eq!(e.subject, "Ödeme hakkında – soru");
        assert_eq!(e.from.and_then(|f| f.name).as_deref(), Some("Zoë Ünal"));
        assert!(e.notes.is_empty(), "{:?}", e.notes);
    }

    #[test]
    fn missing_everything_is_noted_and_synthesized() {
        let e = parse(b"X-Foo: bar\r\n\r\njust text");
        assert!(e.message_id_synthesized);
        assert!(e.message_id.ends_with("@helpgate.invalid"));
        assert_eq!(e.subject, "");
        for kind in ["no_message_id", "no_from", "no_date"] {
            assert!(e.has_note(kind), "{kind}");
        }
        assert_eq!(e.body.new_text, "just text");
        for junk in [
            &b""[..],
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            b"\n\n\n",
            b"::::",
            b"\xff\xfe\xfd",
        ] {
            let e = parse(junk);
            assert!(!e.message_id.is_empty());
            assert!(e.has_note("not_mail") || e.has_note("no_from"), "{junk:?}");
        }
    }

    #[test]
    fn alternative_prefers_plain_and_html_only_is_converted() {
        let raw = mail(
            "From: a@b.c\nContent-Type: multipart/alternative; boundary=x\n",
            b"--x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p>\r\n--x--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(e.body.new_text, "Plain version");
        assert!(!e.html_only);
        assert!(e.attachments.is_empty());
        assert_eq!(e.content_type, "multipart/alternative");

        let raw = mail(
            "From: a@b.c\nContent-Type: text/html; charset=iso-8859-1\n",
            b"<html><body><p>Ol\xe1 &amp; bom dia</p><div class=\"gmail_quote\">Em seg., 3 de jun. de 2024, Ana &lt;a@b.pt&gt; escreveu:<blockquote>antigo</blockquote></div></body></html>",
        );
        let e = parse(&raw);
        assert!(e.html_only && e.has_note("html_only"));
        assert_eq!(e.body.new_text, "Olá & bom dia");
        assert!(e
            .body
            .quoted
            .as_deref()
            .is_some_and(|q| q.contains("antigo")));
    }

    #[test]
    fn html_meta_charset_is_used_when_mime_has_none() {
        let mut body = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\"></head><body>".to_vec();
        body.extend(legacy(
            encoding_rs::WINDOWS_1251,
            "Здравствуйте, оплата не пришла.",
        ));
        body.extend_from_slice(b"</body></html>");
        let e = parse(&mail("From: a@b.ru\nContent-Type: text/html\n", &body));
        assert_eq!(e.body.new_text, "Здравствуйте, оплата не пришла.");
        assert!(!e.has_note("charset_fallback"));
    }

    #[test]
    fn format_flowed_is_unflowed() {
        let raw = mail(
            "From: a@b.de\nContent-Type: text/plain; charset=utf-8; format=flowed\n",
            "Ich habe gestern zwölf Aufnahmen hochgeladen, aber \r\nim Portal sehe ich nichts.\r\n\r\nAm 03.06.24 um 10:00 schrieb Support:\r\n> Bitte laden Sie die \r\n> Dateien erneut hoch.\r\n".as_bytes(),
        );
        let e = parse(&raw);
        assert_eq!(
            e.body.new_text,
            "Ich habe gestern zwölf Aufnahmen hochgeladen, aber im Portal sehe ich nichts."
        );
        assert_eq!(
            e.body.quoted.as_deref(),
            Some(
                "Am 03.06.24 um 10:00 schrieb Support:\n> Bitte laden Sie die Dateien erneut hoch."
            )
        );
    }

    #[test]
    fn empty_plain_part_beside_html_uses_html() {
        let raw = mail(
            "From: a@b.c\nContent-Type: multipart/mixed; boundary=x\n",
            b"--x\r\nContent-Type: text/plain\r\n\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>The html part.</p>\r\n--x--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(e.body.new_text, "The html part.");
        assert!(e.html_only);
    }

    #[test]
    fn attachments_and_forwarded_messages_are_not_body() {
        let raw = mail(
            "From: a@b.c\nContent-Type: multipart/mixed; boundary=m\n",
            b"--m\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
              --m\r\nContent-Type: application/pdf; name*=UTF-8''%E5%90%88%E5%90%8C.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8=\r\n\
              --m\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\neJ8+IgAA\r\n\
              --m\r\nContent-Type: text/plain; name=\"=?UTF-8?B?cmVsYXTDs3Jpby50eHQ=?=\"\r\nContent-Disposition: attachment\r\n\r\nlog line\r\n\
              --m\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@y.z\r\nSubject: Old one\r\n\r\nForwarded text must not be body\r\n--m--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(e.body.full, "See attached.");
        let names: Vec<_> = e
            .attachments
            .iter()
            .map(|a| a.name.clone().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            ["合同.pdf", "winmail.dat", "relatório.txt", "Old one.eml"]
        );
        assert_eq!(e.attachments[0].size, 5);
        assert_eq!(e.attachments[0].sha256, content_hash(b"Hello"));
        assert_eq!(e.attachments[1].content_type, "application/ms-tnef");
        assert_eq!(e.attachments[2].size, 8);
        // Each listed attachment is found again in the raw mail by its hash.
        for a in &e.attachments {
            let bytes = super::super::attachment(&raw, &a.sha256).unwrap();
            assert_eq!(bytes.len() as u64, a.size, "{:?}", a.name);
        }
        assert_eq!(
            super::super::attachment(&raw, &e.attachments[0].sha256).unwrap(),
            b"Hello"
        );
        assert!(super::super::attachment(&raw, "00").is_none());
    }

    #[test]
    fn digest_entries_are_not_body() {
        let raw = mail(
            "From: list@x.org\nSubject: Digest 12\nContent-Type: multipart/mixed; boundary=o\n",
            b"--o\r\nContent-Type: text/plain\r\n\r\nToday's topics: 2\r\n\
              --o\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n\
              --d\r\n\r\nFrom: a@x.org\r\nSubject: one\r\n\r\nfirst post\r\n\
              --d\r\n\r\nFrom: b@x.org\r\nSubject: two\r\n\r\nsecond post\r\n--d--\r\n--o--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(e.body.full, "Today's topics: 2");
        let types: Vec<_> = e
            .attachments
            .iter()
            .map(|a| a.content_type.as_str())
            .collect();
        assert_eq!(types, ["message/rfc822", "message/rfc822"]);
    }

    #[test]
    fn rfc2231_continuations() {
        let raw = mail(
            "From: a@b.c\nContent-Type: multipart/mixed; boundary=m\n",
            b"--m\r\nContent-Type: text/plain\r\n\r\nx\r\n--m\r\nContent-Type: application/octet-stream\r\n\
              Content-Disposition: attachment;\r\n filename*0*=iso-8859-1''Fran%E7ais_;\r\n filename*1*=R%E9sum%E9.doc\r\n\r\nabc\r\n--m--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(
            e.attachments[0].name.as_deref(),
            Some("Français_Résumé.doc")
        );
    }

    #[test]
    fn transfer_encoding_problems_are_noted() {
        let raw = mail(
            "From: a@b.c\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
            b"T2zDoSwgbsOjbyByZWNlYmkgbyBwYWdhbWVudG",
        );
        let e = parse(&raw);
        assert!(e.has_note("truncated_base64"), "{:?}", e.notes);
        assert!(e.body.full.starts_with("Olá, não recebi o pagamen"));
        let raw = mail("From: a@b.c\nContent-Transfer-Encoding: 7-bit\n", b"hello");
        let e = parse(&raw);
        assert!(e.has_note("bad_transfer_encoding"));
        assert_eq!(e.body.full, "hello");
    }

    #[test]
    fn unlabelled_legacy_body_falls_back_with_note() {
        let raw = mail(
            "From: a@b.c\n",
            &legacy(
                encoding_rs::GBK,
                "您好，我的录音为什么被拒绝了？请帮我查一下，谢谢。",
            ),
        );
        let e = parse(&raw);
        assert_eq!(
            e.body.full,
            "您好，我的录音为什么被拒绝了？请帮我查一下，谢谢。"
        );
        assert!(e.has_note("charset_fallback"));
    }

    #[test]
    fn standard_dsn() {
        let raw = mail(
            "From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail Returned to Sender\n\
             Content-Type: multipart/report; report-type=delivery-status; boundary=r\n",
            b"--r\r\nContent-Type: text/plain\r\n\r\nI'm sorry.\r\n\
              --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n\
              Final-Recipient: rfc822; ana@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\
              Diagnostic-Code: smtp; 550 5.1.1 <ana@example.org>: Recipient address rejected\r\n\r\n\
              --r\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@helpgate.test\r\nMessage-ID: <reply-17@helpgate.test>\r\nSubject: Re: [#17]\r\n\r\nOur reply\r\n--r--\r\n",
        );
        let e = parse(&raw);
        let r = e.delivery_report.expect("dsn");
        assert_eq!(r.action.as_deref(), Some("failed"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(r.final_recipient.as_deref(), Some("ana@example.org"));
        assert_eq!(
            r.original_message_id.as_deref(),
            Some("reply-17@helpgate.test")
        );
        assert!(r.diagnostic.is_some_and(|d| d.starts_with("550 5.1.1")));
        assert_eq!(e.body.full, "I'm sorry.");
    }

    #[test]
    fn non_standard_bounces() {
        let qmail = mail(
            "From: MAILER-DAEMON@mail.example.com\nSubject: failure notice\n",
            b"Hi. This is the qmail-send program at mail.example.com.\r\nI'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
              This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n<joao@example.pt>:\r\n\
              Sorry, no mailbox here by that name. (#5.1.1)\r\n\r\n--- Below this line is a copy of the message.\r\n\r\n\
              Message-ID: <reply-9@helpgate.test>\r\nSubject: Re: pagamento\r\n",
        );
        let r = parse(&qmail).delivery_report.expect("qmail bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("joao@example.pt"));
        assert_eq!(r.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            r.original_message_id.as_deref(),
            Some("reply-9@helpgate.test")
        );
        let exchange_de = mail(
            "From: postmaster@firma.de\nSubject: Unzustellbar: Ihre Anfrage\n",
            "Die Nachricht konnte nicht an folgende Empfänger zugestellt werden:\r\n\r\nkarl@firma.de\r\n#550 5.1.10 RESOLVER.ADR.RecipientNotFound ##".as_bytes(),
        );
        let r = parse(&exchange_de)
            .delivery_report
            .expect("exchange bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("karl@firma.de"));
        let exim = mail(
            "From: Mail Delivery System <Mailer-Daemon@foo.com>\nSubject: Mail delivery failed\n",
            b"This message was created automatically by mail delivery software.\r\n\r\nA message sent by\r\n\r\n  <support@helpgate.test>\r\n\r\n\
              could not be delivered to one or more of its recipients. The following\r\naddress(es) failed:\r\n\r\n  john.b@b.c\r\n    all hosts have been failing\r\n",
        );
        let r = parse(&exim).delivery_report.expect("exim bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("john.b@b.c"));
        let human = mail(
            "From: ana@example.org\nSubject: my upload failed\n",
            b"Hi, my message could not be delivered to your colleague, and the upload failed. Help?",
        );
        assert!(parse(&human).delivery_report.is_none());
        // Someone passing a bounce on: the subject and the text below are
        // the bounce's, the sender and the words on top are a person's.
        let forward = mail(
            "From: jan@acme.example\nSubject: Fwd: Delivery Status Notification (Failure)\n",
            b"Hi, my mail to you bounced, see below. Please delete my data.\n\n---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem <mailer-daemon@acme.example>\nSubject: Delivery Status Notification (Failure)\n\nDelivery to the following recipient failed permanently:\n\n  support@helpgate.example\n",
        );
        assert!(parse(&forward).delivery_report.is_none());
    }

    #[test]
    fn issue_10_bom_and_bare_cr_mail_have_headers() {
        let crlf = mail(
            "From: Ana <ana@x.pt>\nSubject: pagamento\nMessage-ID: <m@x.pt>\nDate: Mon, 3 Jun 2024 10:00:00 +0000\n\
             Content-Type: multipart/mixed; boundary=b\n",
            b"--b\r\nContent-Type: text/plain\r\n\r\nOla,\r\nnao recebi.\r\n--b--\r\n",
        );
        let want = parse(&crlf);
        assert_eq!(want.body.full, "Ola,\nnao recebi.");
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&crlf);
        let cr: Vec<u8> = crlf.iter().copied().filter(|&b| b != b'\n').collect();
        for raw in [bom, cr] {
            let e = parse(&raw);
            assert_eq!(e.from, want.from);
            assert_eq!(e.subject, "pagamento");
            assert_eq!(e.message_id, "m@x.pt");
            assert_eq!(e.body.full, want.body.full);
            assert_eq!(e.content_hash, content_hash(&raw));
            assert!(e.notes.is_empty(), "{:?}", e.notes);
        }
    }

    #[test]
    fn issue_10_boundary_inside_a_line_does_not_cut_the_text() {
        let raw = mail(
            "From: a@b.c\nMessage-ID: <1@b.c>\nContent-Type: multipart/mixed; boundary=\"simple boundary\"\n",
            b"preamble\r\n--simple boundary\r\nContent-Type: text/plain\r\n\r\n\
              This should be a text including the --simple boundary string.\r\n  --simple boundary after a blank\r\n\
              last line\r\n--simple boundary\r\nContent-Type: application/pdf; name=a.pdf\r\n\r\n%PDF\r\n--simple boundary--\r\n",
        );
        let e = parse(&raw);
        assert_eq!(
            e.body.full,
            "This should be a text including the --simple boundary string.\n  --simple boundary after a blank\nlast line"
        );
        assert_eq!(e.attachments.len(), 1);
        assert_eq!(e.attachments[0].name.as_deref(), Some("a.pdf"));
    }

    #[test]
    fn issue_10_bounce_names_the_recipient_not_the_sender_or_a_list() {
        // A qmail bounce whose recipient list is empty: the first address
        // after it was our own (Return-Path of the copy), then a list's.
        let qmail = mail(
            "From: MAILER-DAEMON@mx.example.org\nTo: support@helpgate.test\nSubject: failure notice\n",
            b"Hi. This is the qmail-send program at mx.example.org.\r\n\
              I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
              This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
              --- Below this line is a copy of the message.\r\n\r\n\
              Return-Path: <support@helpgate.test>\r\nList-Post: <mailto:volunteers@lists.example.org>\r\n\
              Received: from helpgate.test by mx.example.org for <ana@example.org>; Mon, 3 Jun 2024\r\n\
              To: ana@example.org\r\nMessage-ID: <reply-4@helpgate.test>\r\n",
        );
        let r = parse(&qmail).delivery_report.expect("qmail bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("ana@example.org"));
        // AOL names only the local part; Exim names the failed address in
        // a header.
        let aol = mail(
            "From: Mail Delivery Subsystem <MAILER-DAEMON@aol.com>\nTo: <support@helpgate.test>\nSubject: Mail Delivery Problem\n",
            b"Sorry support@helpgate.test. Your mail to the following recipients could not be delivered because they are not accepting mail with attachments or embedded images:\r\n\tana123\r\n",
        );
        let r = parse(&aol).delivery_report.expect("aol bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("ana123@aol.com"));
        let exim = mail(
            "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\nTo: support@helpgate.test\n\
             X-Failed-Recipients: joao@example.pt\nSubject: Mail delivery failed: returning message to sender\n",
            b"This message was created automatically by mail delivery software.\r\n\r\n\
              A message that you sent could not be delivered to one or more of its recipients.\r\n\r\n\
              ------ This is a copy of the message, including all the headers. ------\r\n\
              From: support@helpgate.test\r\nTo: list@lists.example.org\r\n",
        );
        let r = parse(&exim).delivery_report.expect("exim bounce");
        assert_eq!(r.final_recipient.as_deref(), Some("joao@example.pt"));
    }

    /// Random mails built from the tokens the decoders care about: parse
    /// never panics (multi-byte characters next to every delimiter).
    #[test]
    fn random_token_soup_never_panics() {
        const TOKENS: &[&str] = &[
            "=?",
            "?=",
            "utf-8",
            "gb2312",
            "?B?",
            "?Q?",
            "?b?",
            "<",
            ">",
            "&",
            "&#",
            "x",
            ";",
            "\r\n",
            "\n",
            " ",
            ":",
            "> ",
            "--",
            "-- \n",
            "€",
            "é",
            "한",
            "\u{301}",
            "From: ",
            "On ",
            "wrote:",
            "Content-Type: text/html\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n",
            "--b\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "=",
            "=C3",
            "a",
            "Z9",
            "<blockquote>",
            "<p ",
            "class=\"gmail_quote\"",
            "<!--",
            "\"",
            "'",
            "\t",
            "filename*0*=",
            "''%E2",
            "charset=",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut m = String::new();
            let len = 1 + (seed % 120) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                m.push_str(TOKENS[(seed % TOKENS.len() as u64) as usize]);
            }
            let e = parse(m.as_bytes());
            assert!(!e.message_id.is_empty());
            let e = parse(format!("Subject: {m}\r\nFrom: {m}\r\n\r\n{m}").as_bytes());
            assert!(lines_in_order(&e.body.new_text, &e.body.full), "{m:?}");
        }
    }

    fn lines_in_order(part: &str, whole: &str) -> bool {
        let mut it = whole.lines().map(str::trim_end);
        part.lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty())
            .all(|l| it.any(|w| w == l))
    }
}
