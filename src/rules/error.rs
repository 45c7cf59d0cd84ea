//! A rule error names the file, line and column, like a compiler.

use std::path::PathBuf;

/// One problem in a rule file, shown as `path:line:column: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{column}: {reason}", path.display())]
pub struct RuleError {
    pub path: PathBuf,
    /// 1-based; 0 when the problem concerns the file as a whole.
    pub line: usize,
    pub column: usize,
    pub reason: String,
}

impl RuleError {
    /// An error at byte offset `at` of `text`.
    pub(crate) fn at(path: &str, text: &str, at: usize, reason: impl Into<String>) -> RuleError {
        let (line, column) = line_col(text, at);
        RuleError {
            path: PathBuf::from(path),
            line,
            column,
            reason: reason.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte offset `at`.
pub(crate) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}
