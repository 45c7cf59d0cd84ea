//! Realistic mail for the benches (issue 14: synthetic texts flattered
//! ingest): every file under the folders of `HELPGATE_BENCH_SOURCE`
//! (`DIR[:DIR...]`, e.g. ../shared/labelled-mail/emails and
//! ../shared/corpus), read in place.

/// Every file under the folders of HELPGATE_BENCH_SOURCE (sorted, so runs
/// draw the same mails), skipping files over 1 MB and the corpus's
/// expected-output files.
pub(crate) fn sources() -> Vec<Vec<u8>> {
    let Some(dirs) = std::env::var_os("HELPGATE_BENCH_SOURCE") else {
        return Vec::new();
    };
    let mut paths = Vec::new();
    let mut todo: Vec<std::path::PathBuf> = std::env::split_paths(&dirs).collect();
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                todo.extend(rd.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if !matches!(
            p.extension().and_then(|e| e.to_str()),
            Some("json" | "md" | "txt" | "tsv" | "csv" | "py" | "rb" | "js")
        ) {
            paths.push(p);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|b| b.len() <= 1 << 20 && starts_with_header(b))
        .collect()
}

/// `Name: value` on the first line: a mail, not one of the corpus's
/// expected-text or fixture files.
fn starts_with_header(b: &[u8]) -> bool {
    let line = b.split(|&c| c == b'\n').next().unwrap_or_default();
    line.iter().position(|&c| c == b':').is_some_and(|colon| {
        colon > 0
            && line[..colon]
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || c == b'-')
    })
}
