//! `helpgate rules train`: count labelled mail into the second opinion's
//! model file (rules/second_opinion.tsv). A labelled set is a folder with
//! `labels.csv` (`file,language,topic,...`) and `emails/FILE`: the
//! independent sets in tests/fixtures, ../shared/labelled-mail, and what
//! `helpgate corrections export` writes from the desk's corrections.

use anyhow::{bail, Context};
use helpgate::classify::{self, linear::LinearTrainer, second_opinion::Trainer};
use helpgate::parse;
use helpgate::rules::RuleSet;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Machine mail the guard recognises by its headers: the model would only
/// learn a bounce's wording. Spam stays a class: it is told by its words.
const SKIPPED: [&str; 3] = ["bounce", "autoreply", "list"];

pub(crate) fn run(
    rules: &RuleSet,
    sets: &[PathBuf],
    dev_part_of: &[PathBuf],
    out: &Path,
    linear_out: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let mut trainer = Trainer::default();
    let mut linear = LinearTrainer::default();
    let mut per_set = Vec::new();
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    let all = sets.iter().map(|d| (d, false));
    for (dir, dev_only) in all.chain(dev_part_of.iter().map(|d| (d, true))) {
        let labels = dir.join("labels.csv");
        let text = std::fs::read_to_string(&labels)
            .with_context(|| format!("cannot read {}", labels.display()))?;
        let rows = read_csv(&text).with_context(|| format!("{}", labels.display()))?;
        let parent: BTreeMap<&str, &str> = rows
            .iter()
            .filter_map(|r| Some((r.get("file")?.as_str(), r.get("thread_of")?.as_str())))
            .collect();
        let mut used = 0usize;
        for row in &rows {
            let (Some(file), Some(topic)) = (row.get("file"), row.get("topic")) else {
                bail!("{}: expected the columns file and topic", labels.display());
            };
            if dev_only && !in_dev_part(&parent, file) {
                continue;
            }
            if SKIPPED.contains(&topic.as_str()) {
                continue;
            }
            if topic != "spam" && !rules.topics.iter().any(|t| &t.id == topic) {
                *unknown.entry(topic.clone()).or_default() += 1;
                continue;
            }
            let path = dir.join("emails").join(file);
            let raw =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let email = parse::parse(&raw);
            let (subject, new_text) = classify::own_words(&email);
            trainer.add(topic, subject, &new_text);
            // The linear model is asked about first messages only: a
            // follow-up's subject is its conversation's.
            if parent
                .get(file.as_str())
                .is_none_or(|p| p.is_empty() || *p == "-")
            {
                linear.add(topic, subject, &new_text);
            }
            used += 1;
        }
        let part = if dev_only { " dev part" } else { "" };
        per_set.push(format!("{}{part} ({used})", set_name(dir)));
    }
    if trainer.mails() == 0 {
        bail!("no labelled participant or spam mail in the sets given");
    }
    let header = format!(
        "helpgate second opinion: naive Bayes over character 3-5-grams of subject and new text.\n\
         Written by `helpgate rules train`; do not edit by hand.\n\
         Trained on {} mails: {}",
        trainer.mails(),
        per_set.join(", ")
    );
    let model = trainer.write(&header);
    // Refuse to write what the daemon would refuse to load.
    helpgate::classify::second_opinion::Model::parse(&model)
        .map_err(|e| anyhow::anyhow!("the trained model does not parse: {e}"))?;
    std::fs::write(out, &model).with_context(|| format!("cannot write {}", out.display()))?;
    if let Some(path) = linear_out {
        let header = format!(
            "helpgate linear model: logistic regression over TF-IDF character 2-5-grams in words.\n\
             Written by `helpgate rules train --linear-out`; do not edit by hand.\n\
             Trained on the {} first messages of: {}",
            linear.mails(),
            per_set.join(", ")
        );
        let text = linear.write(&header);
        helpgate::classify::linear::LinearModel::parse(&text)
            .map_err(|e| anyhow::anyhow!("the trained linear model does not parse: {e}"))?;
        std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "{}: {} first messages, {} bytes",
            path.display(),
            linear.mails(),
            text.len()
        );
    }
    for (topic, n) in &unknown {
        eprintln!("skipped {n} mails labelled {topic}: not a topic of the rules");
    }
    println!(
        "{}: {} mails ({}), {} bytes",
        out.display(),
        trainer.mails(),
        per_set.join(", "),
        model.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The split of tests/integration/labelled_eval.rs: a conversation (by its
/// root file's name) is in the dev part when its FNV-1a hash mod 10 < 7.
fn in_dev_part(parent: &BTreeMap<&str, &str>, file: &str) -> bool {
    let mut root = file;
    for _ in 0..50 {
        match parent.get(root) {
            Some(p) if !p.is_empty() && *p != "-" => root = p,
            _ => break,
        }
    }
    helpgate::classify::second_opinion::stable_hash(root) % 10 < 7
}

fn set_name(dir: &Path) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    name.unwrap_or_else(|| dir.display().to_string())
}

/// RFC 4180 CSV with a header row: one map per record.
fn read_csv(text: &str) -> anyhow::Result<Vec<BTreeMap<String, String>>> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let mut field = String::new();
    let mut record = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        bail!("a quoted field is not closed");
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut it = records.into_iter();
    let header = it.next().context("empty file")?;
    Ok(it
        .filter(|r| r.iter().any(|f| !f.is_empty()))
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_commas_and_crlf() {
        let rows =
            read_csv("file,topic,notes\r\n001.eml,payment,\"a, \"\"b\"\"\"\r\n\n002.eml,spam,x")
                .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["notes"], "a, \"b\"");
        assert_eq!(rows[1]["topic"], "spam");
        assert!(read_csv("file\n\"open").is_err());
    }
}
