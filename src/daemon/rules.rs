//! Loading the rule set for the daemon, at start and on SIGHUP. All or
//! nothing: any error refuses the whole set, reported as `path:line: reason`.

use crate::config::Config;
use crate::rules::RuleSet;
use std::path::Path;

/// The rules from `rules_dir` (built-in when unset), or every error found.
pub fn load(config: &Config) -> Result<RuleSet, Vec<String>> {
    let mut errors = Vec::new();
    for dir in [&config.rules_dir, &config.templates_dir]
        .into_iter()
        .flatten()
    {
        check_dir(dir, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // TODO(merge rules): compile for real with `RuleSet::load(dir)` (and the
    // templates) once the rules branch has landed; its errors already carry
    // path:line. Until then only the files' TOML syntax is checked here.
    Ok(RuleSet::builtin())
}

/// Every `*.toml` file in `dir` must parse.
fn check_dir(dir: &Path, errors: &mut Vec<String>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("{}: cannot read the directory: {e}", dir.display()));
            return;
        }
    };
    let mut paths: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        if let Err(e) = toml::from_str::<toml::Table>(&text) {
            let (line, _) = e
                .span()
                .map_or((0, 0), |s| crate::config::line_col(&text, s.start));
            errors.push(format!("{}:{line}: {}", path.display(), e.message().trim()));
        }
    }
}
