//! `helpgate users add|passwd|disable|enable|list`: the console's accounts.
//! Passwords come from a prompt (no echo), stdin or a file, never argv,
//! where every user of the machine could read them in the process list.

use super::{load_config, open_store, Cli};
use anyhow::{bail, Context};
use clap::Subcommand;
use helpgate::access::{self, Role};
use helpgate::clock::Clock;
use helpgate::store::users;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub(crate) enum UsersCmd {
    /// Add an account; the password is asked for (or read from stdin / --password-file).
    Add {
        name: String,
        /// specialist, lead or admin.
        #[arg(long, default_value = "specialist")]
        role: String,
        /// Restricted queues this user may see, comma-separated (e.g. sensitive).
        #[arg(long, value_delimiter = ',')]
        queues: Vec<String>,
        /// Read the password from this file (first line).
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Set a new password; the user's sessions end.
    Passwd {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Disable an account; its sessions end at once.
    Disable { name: String },
    /// Enable a disabled account.
    Enable { name: String },
    /// Accounts, roles and restricted queues.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn read_password(file: Option<&PathBuf>) -> anyhow::Result<String> {
    let line = match file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .to_string(),
        None if std::io::stdin().is_terminal() => {
            let a = rpassword::prompt_password("Password: ")?;
            let b = rpassword::prompt_password("Again: ")?;
            if a != b {
                bail!("the two passwords differ");
            }
            a
        }
        None => {
            let mut l = String::new();
            std::io::stdin().lock().read_line(&mut l)?;
            l.trim_end_matches(['\r', '\n']).to_string()
        }
    };
    if line.chars().count() < 8 {
        bail!("the password needs at least 8 characters");
    }
    Ok(line)
}

pub(crate) fn run(cli: &Cli, cmd: &UsersCmd) -> anyhow::Result<ExitCode> {
    let config = load_config(cli)?;
    let mut store = open_store(&config)?;
    match cmd {
        UsersCmd::Add {
            name,
            role,
            queues,
            password_file,
        } => {
            let role = Role::parse(role).with_context(|| {
                format!("--role: expected specialist, lead or admin, found {role:?}")
            })?;
            if name.trim().is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
                bail!("user name {name:?}: no spaces or control characters");
            }
            let rules = super::outbox::load_rules(&config)?;
            let known = helpgate::desk::queues(&rules);
            if let Some(q) = queues.iter().find(|q| !known.contains(q)) {
                bail!(
                    "--queues: unknown queue {q:?}; the rule set has: {}",
                    known.join(", ")
                );
            }
            if users::get(store.conn(), name)?.is_some() {
                bail!(
                    "user {name} exists already (helpgate users passwd {name} sets a new password)"
                );
            }
            let hash = access::hash_password(&read_password(password_file.as_ref())?)?;
            let now = Clock::system().now();
            store.transaction(|tx| users::add(tx, name, &hash, role, queues, now))?;
            println!("user {name} added ({})", role.as_str());
        }
        UsersCmd::Passwd {
            name,
            password_file,
        } => {
            if users::get(store.conn(), name)?.is_none() {
                bail!("no user {name}");
            }
            let hash = access::hash_password(&read_password(password_file.as_ref())?)?;
            store.transaction(|tx| users::set_password(tx, name, &hash))?;
            println!("password of {name} changed; their sessions ended");
        }
        UsersCmd::Disable { name } | UsersCmd::Enable { name } => {
            let off = matches!(cmd, UsersCmd::Disable { .. });
            if users::get(store.conn(), name)?.is_none() {
                bail!("no user {name}");
            }
            store.transaction(|tx| users::set_disabled(tx, name, off))?;
            println!("user {name} {}", if off { "disabled" } else { "enabled" });
        }
        UsersCmd::List { json } => {
            for u in users::list(store.conn())? {
                if *json {
                    println!("{}", serde_json::to_string(&u)?);
                } else {
                    println!(
                        "{:<20} {:<10} {:<9} {}",
                        u.name,
                        u.role.as_str(),
                        if u.disabled { "disabled" } else { "active" },
                        u.queues.join(",")
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
