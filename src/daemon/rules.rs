//! Loading what SIGHUP reloads: the rule set and the reply templates. All
//! or nothing: any error refuses the whole set, each error reported as
//! `path:line:column: reason`, and the caller keeps the last good one.

use crate::config::Config;
use crate::reply::Planner;
use crate::rules::RuleSet;
use std::sync::Arc;

/// The rules from `rules_dir` (the built-in rules when unset), with each
/// configured mailbox routed to its `project`, or every error.
pub fn load(config: &Config) -> Result<RuleSet, Vec<String>> {
    let mut rules = match &config.rules_dir {
        None => RuleSet::builtin(),
        Some(dir) => RuleSet::load(dir)
            .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>())?,
    };
    assign_mailboxes(config, &mut rules)?;
    // The second opinion's model is parsed on first use (a one-mail `ingest
    // -` may not need it). Here that first use would fall inside the first
    // message's in-flight marker: in the crash test, kills during that
    // parse at two start-ups in a row quarantined an innocent mail.
    let errors = rules.model_errors();
    if !errors.is_empty() {
        return Err(errors.iter().map(ToString::to_string).collect());
    }
    Ok(rules)
}

/// `[[mailboxes]] project` wins over the rules' own mailbox lists (mail to
/// a project address still goes to that project first). A project the
/// rules do not define is an error naming the key.
fn assign_mailboxes(config: &Config, rules: &mut RuleSet) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for (i, mb) in config.mailboxes.iter().enumerate() {
        if rules.project(&mb.project).is_none() {
            let known: Vec<&str> = rules.projects.iter().map(|p| p.id.as_str()).collect();
            errors.push(format!(
                "mailboxes[{i}].project: expected a project the rules define ({}), found {:?}",
                known.join(", "),
                mb.project
            ));
            continue;
        }
        for p in &mut rules.projects {
            p.mailboxes.retain(|m| m != &mb.name);
            if p.id == mb.project {
                p.mailboxes.push(mb.name.clone());
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Rules and templates together: what the daemon runs with.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub rules: Arc<RuleSet>,
    pub replies: Arc<Planner>,
}

/// A reload keeps the loaded trackers (issue 13): a tracker that is broken
/// now stays at its last good rows instead of starting empty.
pub fn keep_trackers(old: &Loaded, new: &mut Loaded) {
    let mut planner = (*new.replies).clone();
    planner.trackers = old.replies.trackers.clone();
    new.replies = Arc::new(planner);
}

/// (Re)load every project's tracker on a blocking thread (a large one
/// takes a second or two); errors are logged by the registry, and mail
/// goes on with the last good rows meanwhile.
pub fn load_trackers(loaded: &Loaded) {
    if loaded.rules.projects.iter().all(|p| p.tracker.is_none()) {
        return;
    }
    let registry = loaded.replies.trackers.clone();
    let rules = loaded.rules.clone();
    tokio::task::spawn_blocking(move || registry.reload_all(&rules));
}

/// Rules and templates, or the errors of both.
pub fn load_all(config: &Config) -> Result<Loaded, Vec<String>> {
    let rules = load(config);
    let replies = Planner::from_config(config).map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<String>>()
    });
    match (rules, replies) {
        (Ok(rules), Ok(replies)) => Ok(Loaded {
            rules: Arc::new(rules),
            replies: Arc::new(replies),
        }),
        (r, p) => Err(r
            .err()
            .into_iter()
            .flatten()
            .chain(p.err().into_iter().flatten())
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config(project: &str) -> Config {
        std::env::set_var("HG_RULES_TEST_PW", "pw");
        let text = format!(
            "[[mailboxes]]\nname = \"inbox-a\"\nproject = \"{project}\"\n\
             imap = {{ host = \"127.0.0.1\", tls = \"none\" }}\n\
             auth = {{ user = \"u\", password = \"env:HG_RULES_TEST_PW\" }}\n"
        );
        Config::from_str(&text, Path::new("t.toml"), Path::new("/")).unwrap()
    }

    #[test]
    fn mailbox_is_routed_to_its_configured_project() {
        let rules = load(&config("default")).unwrap();
        let p = rules
            .projects
            .iter()
            .find(|p| p.mailboxes.iter().any(|m| m == "inbox-a"))
            .unwrap();
        assert_eq!(p.id, "default");
    }

    #[test]
    fn unknown_project_names_the_key() {
        let errs = load(&config("nope")).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0]
                .starts_with("mailboxes[0].project: expected a project the rules define (default"),
            "{errs:?}"
        );
    }
}
