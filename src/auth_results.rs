//! Authentication-Results (RFC 8601) as a receiving server writes them:
//! `authserv-id [version]; method[/version] = result [reason=..] [ptype.property=value]...`.
//!
//! Written here because no maintained crate parses them: `mail-auth` (the
//! Stalwart crate the review pointed at) only writes these headers
//! (src/common/auth_results.rs builds them; nothing reads one back). The
//! grammar is small; what matters is that comments (nested, escaped),
//! quoted strings and spaces around `=` (`spf = fail`, `dmarc=(comment) fail`)
//! do not change a result. Pure and total: unknown shapes are skipped.

/// One parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthResults {
    /// Lower case. The server that wrote the header: only our own is believed.
    pub authserv_id: String,
    pub results: Vec<MethodResult>,
}

/// `method=result` with its properties, all names lower case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodResult {
    /// `spf`, `dkim`, `dmarc`, ... (without a `/version`).
    pub method: String,
    /// `pass`, `fail`, `none`, `softfail`, ...
    pub result: String,
    /// `(ptype.property, value)`, e.g. `("header.d", "example.org")`.
    pub props: Vec<(String, String)>,
}

impl MethodResult {
    pub fn prop(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A word, or a quoted string's content.
    Word(String),
    Eq,
    Semi,
}

/// Comments dropped, quoted strings unquoted, `;` and `=` apart.
fn tokens(s: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut chars = s.chars();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                let mut depth = 1u32;
                while depth > 0 {
                    match chars.next() {
                        None => break,
                        Some('\\') => {
                            chars.next();
                        }
                        Some('(') => depth += 1,
                        Some(')') => depth -= 1,
                        Some(_) => {}
                    }
                }
            }
            '"' => {
                flush(&mut word, &mut out);
                let mut q = String::new();
                loop {
                    match chars.next() {
                        None | Some('"') => break,
                        Some('\\') => q.extend(chars.next()),
                        Some(c) => q.push(c),
                    }
                }
                out.push(Token::Word(q));
            }
            ';' => {
                flush(&mut word, &mut out);
                out.push(Token::Semi);
            }
            '=' => {
                flush(&mut word, &mut out);
                out.push(Token::Eq);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parse one header value. `None` when it names no authserv-id.
pub fn parse(value: &str) -> Option<AuthResults> {
    let toks = tokens(value);
    let mut segments = toks.split(|t| *t == Token::Semi);
    let authserv_id = match segments.next()?.first()? {
        Token::Word(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let results = segments.filter_map(resinfo).collect();
    Some(AuthResults {
        authserv_id,
        results,
    })
}

/// `method = result [k = v]...`; `None` for `none` or anything else.
fn resinfo(seg: &[Token]) -> Option<MethodResult> {
    let [Token::Word(method), Token::Eq, Token::Word(result), rest @ ..] = seg else {
        return None;
    };
    let method = method.split('/').next().unwrap_or("").to_ascii_lowercase();
    let mut props = Vec::new();
    let mut i = 0;
    while i < rest.len() {
        match (&rest[i], rest.get(i + 1), rest.get(i + 2)) {
            (Token::Word(k), Some(Token::Eq), Some(Token::Word(v))) => {
                props.push((k.to_ascii_lowercase(), v.clone()));
                i += 3;
            }
            _ => i += 1,
        }
    }
    Some(MethodResult {
        method,
        result: result.to_ascii_lowercase(),
        props,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results(v: &str) -> Vec<(String, String)> {
        parse(v)
            .unwrap()
            .results
            .into_iter()
            .map(|r| (r.method, r.result))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn issue_10_spaces_and_comments_do_not_hide_a_result() {
        assert_eq!(
            results("mx.example; spf = fail smtp.mailfrom=x.org"),
            pairs(&[("spf", "fail")])
        );
        assert_eq!(
            results("mx.example; dmarc=(p=reject; sp=none) fail header.from=x.org"),
            pairs(&[("dmarc", "fail")])
        );
        assert_eq!(
            results("mx.example (our \\) server); dkim/1 = (nested (comment)) pass header.d=x.org"),
            pairs(&[("dkim", "pass")])
        );
        assert_eq!(results("mx.example 1; none"), pairs(&[]));
    }

    #[test]
    fn authserv_id_and_properties() {
        let ar = parse(
            "MX1.Helpgate.Example;\r\n\tdkim=pass (2048-bit key) header.d=gmail.com header.i=@gmail.com header.b=\"3ls5\";\r\n\tspf=pass (sender SPF authorized) smtp.mailfrom=gmail.com;\r\n\tdmarc=pass (p=none dis=none) header.from=gmail.com",
        )
        .unwrap();
        assert_eq!(ar.authserv_id, "mx1.helpgate.example");
        assert_eq!(ar.results.len(), 3);
        assert_eq!(ar.results[0].prop("header.d"), Some("gmail.com"));
        assert_eq!(ar.results[0].prop("header.b"), Some("3ls5"));
        assert_eq!(ar.results[1].prop("smtp.mailfrom"), Some("gmail.com"));
        assert_eq!(ar.results[2].prop("header.from"), Some("gmail.com"));
    }

    #[test]
    fn garbage_is_not_a_result() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("; spf=pass"), None);
        assert_eq!(results("mx; spf; =pass; dkim pass; dmarc="), pairs(&[]));
        // An unterminated comment or quote ends the header, it does not panic.
        assert_eq!(results("mx; spf=pass (open"), pairs(&[("spf", "pass")]));
        assert_eq!(
            results("mx; dkim=pass header.d=\"x"),
            pairs(&[("dkim", "pass")])
        );
    }
}
