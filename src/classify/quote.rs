//! A second, cheap cut of quoted history, so classification stays right
//! when the parser's new text still carries an English thread below a
//! participant's Portuguese line: `>` lines, "On ... wrote:" headers in the
//! 13 languages, Outlook "From:/Sent:" blocks, and the `-- ` signature mark.

use crate::rules::normalize::normalize;

/// Words that end an attribution line ("... wrote:") once normalized.
const WROTE: &[&str] = &[
    "wrote",
    "escreveu",
    "schrieb",
    "a ecrit",
    "ha scritto",
    "escribio",
    "schreef",
    "kirjoitti",
    "yazdi",
    "εγραψε",
    "viet",
    "작성",
    "写道",
    "skrev",
    "napisal",
    "geschreven",
    "пише",
    "пишет",
    "писал",
    "написав",
    "написал",
];

const FROM: [&str; 12] = [
    "from",
    "de",
    "von",
    "van",
    "da",
    "lahettaja",
    "kimden",
    "gonderen",
    "απο",
    "보낸 사람",
    "发件人",
    "寄件者",
];

const SENT: [&str; 16] = [
    "sent",
    "enviado",
    "gesendet",
    "verzonden",
    "envoye",
    "inviato",
    "lahetetty",
    "tarih",
    "gonderildi",
    "σταλθηκε",
    "보낸 날짜",
    "发送时间",
    "date",
    "datum",
    "fecha",
    "data",
];

const SEPARATORS: [&str; 13] = [
    "original message",
    "forwarded message",
    "mensagem original",
    "ursprungliche nachricht",
    "oorspronkelijk bericht",
    "message d'origine",
    "messaggio originale",
    "mensaje original",
    "orijinal mesaj",
    "alkuperainen viesti",
    "αρχικο μηνυμα",
    "原始邮件",
    "원본 메시지",
];

/// `text` up to the first quoted-history marker, without `>` lines.
/// Device words that make a short trailing line a "Sent from my iPhone"
/// signature in any language (the parser cuts most; this is the fallback
/// for text that reaches classification with it).
const DEVICE_WORDS: &[&str] = &[
    "iphone",
    "ipad",
    "android",
    "samsung",
    "galaxy",
    "outlook",
    "huawei",
    "xiaomi",
    "blackberry",
    "mobile",
    "smartphone",
    "手机",
    "手機",
    "휴대폰",
    "갤럭시",
    "κινητό",
    "puhelimesta",
    "mobilgerät",
];
/// ... together with one of these ("sent", in the 13 languages).
const SENT_WORDS: &[&str] = &[
    "sent",
    "get outlook",
    "enviado",
    "gesendet",
    "verzonden",
    "verstuurd",
    "envoy",
    "inviato",
    "lähetetty",
    "gönderildi",
    "στάλθηκε",
    "εστάλη",
    "gửi",
    "发自",
    "發自",
    "从我的",
    "來自",
    "보냄",
    "αποστολή",
    "надіслано",
    "отправлено",
];
/// A signature line is at most this long.
const SIGNATURE_LINE_CHARS: usize = 60;

/// Drop trailing "Sent from my iPhone" lines, so a mail that has nothing
/// else is subject-only.
pub fn drop_mobile_signature(text: &mut String) {
    loop {
        let trimmed = text.trim_end();
        let start = trimmed.rfind('\n').map_or(0, |i| i + 1);
        let line = &trimmed[start..];
        if line.is_empty() || line.chars().count() > SIGNATURE_LINE_CHARS {
            text.truncate(trimmed.len());
            return;
        }
        let lower = line.to_lowercase();
        if !(DEVICE_WORDS.iter().any(|w| lower.contains(w))
            && SENT_WORDS.iter().any(|w| lower.contains(w)))
        {
            text.truncate(trimmed.len());
            return;
        }
        text.truncate(start);
    }
}

pub fn strip(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len().min(8192));
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if t.starts_with('>') {
            continue;
        }
        if *line == "-- " || t == "--" {
            break;
        }
        if (t.starts_with("--") || t.starts_with("__")) && is_separator(t) {
            break;
        }
        if t.contains(':') || t.contains('：') {
            let n = normalize(t, 300);
            if (n.ends_with(':') && WROTE.iter().any(|w| n.contains(w))) || is_separator(t) {
                break;
            }
            if is_header(&n, &FROM)
                && lines[i + 1..]
                    .iter()
                    .take(3)
                    .any(|l| is_header(&normalize(l.trim(), 100), &SENT))
            {
                break;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn is_separator(t: &str) -> bool {
    let n = normalize(t, 200);
    n.starts_with('-') && SEPARATORS.iter().any(|s| n.contains(s))
        || n.starts_with("-----") && n.ends_with("-----")
}

fn is_header(n: &str, names: &[&str]) -> bool {
    names.iter().any(|h| {
        n.strip_prefix(h)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_attribution_lines_in_many_languages() {
        for attribution in [
            "On Mon, 3 Jun 2024 at 10:00, Support <support@x.example> wrote:",
            "Em seg., 3 de jun. de 2024 às 10:00, Support <support@x.example> escreveu:",
            "Am 03.06.2024 um 10:00 schrieb Support:",
            "Le lun. 3 juin 2024 à 10:00, Support a écrit :",
            "2024年6月3日 10:00 Support <support@x.example> 写道：",
            "Στις Δευ 3 Ιουν 2024, η Support έγραψε:",
            "пн, 2 бер. 2026 р. о 11:05 Support <support@x.example> пише:",
            "03.03.2026 14:23, Support пишет:",
        ] {
            let text = format!("minha resposta\n\n{attribution}\n> old text\nold");
            assert_eq!(strip(&text), "minha resposta\n\n", "{attribution}");
        }
    }

    #[test]
    fn cuts_outlook_blocks_and_keeps_ordinary_colons() {
        let text = "Hallo: kurze Frage\nVon: Support\nGesendet: Montag\nAn: ich\n\nold";
        assert_eq!(strip(text), "Hallo: kurze Frage\n");
        let text = "Note: from: here\nsecond line";
        assert_eq!(strip(text), "Note: from: here\nsecond line\n");
    }

    #[test]
    fn drops_trailing_phone_signatures_only() {
        let mut t = "Sent from my iPhone\n".to_string();
        drop_mobile_signature(&mut t);
        assert_eq!(t, "");
        let mut t = "Wann kommt das Geld?\n\nVon meinem iPhone gesendet".to_string();
        drop_mobile_signature(&mut t);
        assert_eq!(t.trim(), "Wann kommt das Geld?");
        let mut t = "Коли будуть гроші?\nНадіслано з iPhone".to_string();
        drop_mobile_signature(&mut t);
        assert_eq!(t.trim(), "Коли будуть гроші?");
        let mut t = "My iPhone app does not upload".to_string();
        drop_mobile_signature(&mut t);
        assert_eq!(t, "My iPhone app does not upload");
    }

    #[test]
    fn drops_quoted_lines_and_signature() {
        let text = "> quoted\nnew\n-- \nName";
        assert_eq!(strip(text), "new\n");
    }
}
