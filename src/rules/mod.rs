//! The compiled, immutable rule set that classification and decisions read.
//! (Placeholder until the rules issue lands: no topics, no languages.)

use std::collections::BTreeMap;

/// One support project: where its mail arrives and how it answers.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Stable id, e.g. `voices`.
    pub id: String,
    /// Display name used in replies, e.g. `Voices of the World`.
    pub name: String,
    /// The From address of our replies, e.g. `support@voices.example`.
    pub support_address: String,
    /// Every address that belongs to this project (support address, aliases);
    /// mail to one of them belongs to the project, mail from one is ours.
    pub addresses: Vec<String>,
    /// Mailbox names (from the daemon config) whose mail belongs to this project.
    pub mailboxes: Vec<String>,
    /// ISO 639-1 codes the project answers in.
    pub languages: Vec<String>,
    pub default_language: String,
    /// Links for templates, e.g. `payment_info`, `upload_status`,
    /// `instructions`, `upload_page`.
    pub links: BTreeMap<String, String>,
}

/// A compiled rule set. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub projects: Vec<Project>,
}

impl RuleSet {
    /// The rules shipped in the repository's rules/ folder, compiled in.
    pub fn builtin() -> RuleSet {
        RuleSet {
            projects: vec![Project {
                id: "default".into(),
                name: "Support".into(),
                support_address: "support@helpgate.example".into(),
                addresses: vec!["support@helpgate.example".into()],
                mailboxes: Vec::new(),
                languages: vec!["en".into()],
                default_language: "en".into(),
                links: BTreeMap::new(),
            }],
        }
    }

    pub fn project(&self, id: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.id == id)
    }
}
