//! One text form for patterns and mail alike: lower case, diacritics
//! removed, whitespace collapsed. Because rule patterns go through the same
//! function, "não", "nao" and "NÃO" are one pattern, and Vietnamese without
//! tone marks or Turkish typed without ş/ğ/ı match the same keywords.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

/// Normalize `text`, reading at most `max_chars` characters.
pub fn normalize(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)) + 1);
    let mut space = true;
    for c in text.chars().take(max_chars) {
        if c.is_ascii() {
            if c.is_ascii_whitespace() {
                if !space {
                    out.push(' ');
                    space = true;
                }
            } else {
                out.push(c.to_ascii_lowercase());
                space = false;
            }
            continue;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        space = false;
        push_folded(c, &mut out);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn push_folded(c: char, out: &mut String) {
    match c {
        'ı' | 'İ' => out.push('i'),
        'đ' | 'Đ' => out.push('d'),
        'ß' => out.push_str("ss"),
        'ø' | 'Ø' => out.push('o'),
        'æ' | 'Æ' => out.push_str("ae"),
        'œ' | 'Œ' => out.push_str("oe"),
        'ł' | 'Ł' => out.push('l'),
        'ς' => out.push('σ'),
        '\u{2018}' | '\u{2019}' | '\u{00b4}' | '`' => out.push('\''),
        '\u{201c}' | '\u{201d}' | '\u{201e}' | '«' | '»' => out.push('"'),
        // Hangul and Han have canonical decompositions (Hangul into jamo)
        // that would break matching: keep them whole.
        '\u{ac00}'..='\u{d7a3}' | '\u{3400}'..='\u{9fff}' => out.push(c),
        // Full-width ASCII forms (common in Chinese mail).
        '\u{ff01}'..='\u{ff5e}' => {
            let ascii = char::from_u32(c as u32 - 0xfee0).unwrap_or(c);
            out.push(ascii.to_ascii_lowercase());
        }
        _ => {
            let mut pushed = false;
            decompose_canonical(c, |d| {
                if !is_combining_mark(d) {
                    for l in d.to_lowercase() {
                        out.push(l);
                    }
                    pushed = true;
                }
            });
            if !pushed && !is_combining_mark(c) {
                out.push(c);
            }
        }
    }
}

/// A character that continues a word for boundary checks.
pub fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Scripts without spaces between words: patterns in them match anywhere.
pub fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11ff}' | '\u{3130}'..='\u{318f}' | '\u{ac00}'..='\u{d7af}' // Hangul
        | '\u{3040}'..='\u{30ff}' // kana
        | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}' // Han
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_diacritics_and_space() {
        assert_eq!(
            normalize("  Não  RECEBI o\n\tpagamento ", 1000),
            "nao recebi o pagamento"
        );
        assert_eq!(
            normalize("Ödeme ALMADIM, şifre", 1000),
            "odeme almadim, sifre"
        );
        assert_eq!(
            normalize("Khi nào tôi được thanh toán?", 1000),
            "khi nao toi duoc thanh toan?"
        );
        assert_eq!(normalize("ΠΛΗΡΩΜΉ πότε", 1000), "πληρωμη ποτε");
        assert_eq!(normalize("Straße don’t", 1000), "strasse don't");
    }

    #[test]
    fn keeps_hangul_and_han_whole() {
        assert_eq!(
            normalize("결제가 안 됐어요 付款", 1000),
            "결제가 안 됐어요 付款"
        );
    }

    #[test]
    fn caps_input() {
        assert_eq!(normalize("abcdef", 3), "abc");
    }
}
