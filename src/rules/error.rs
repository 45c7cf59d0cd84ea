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

/// Line numbers of many offsets in one text, without rescanning it from the
/// start for each (rule files have thousands of patterns).
#[derive(Default)]
pub(crate) struct LineIndex {
    /// Address and length of the text indexed, to notice a different one.
    text: (usize, usize),
    newlines: Vec<usize>,
}

impl LineIndex {
    /// 1-based line of byte offset `at` in `text`.
    pub(crate) fn line(&mut self, text: &str, at: usize) -> usize {
        let key = (text.as_ptr() as usize, text.len());
        if self.text != key {
            self.text = key;
            self.newlines = newline_offsets(text);
        }
        self.newlines.partition_point(|&nl| nl < at) + 1
    }
}

fn newline_offsets(text: &str) -> Vec<usize> {
    text.bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'\n').then_some(i))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_agrees_with_line_col() {
        let text = "a = 1\n\nb = \"é\"\nc = 3";
        let mut index = LineIndex::default();
        for at in 0..=text.len() {
            if text.is_char_boundary(at) {
                assert_eq!(index.line(text, at), line_col(text, at).0, "offset {at}");
            }
        }
        assert_eq!(index.line("x\ny", 2), 2, "a new text is indexed anew");
    }
}
