//! The compiled, immutable rule set that classification and decisions read.
//! (Placeholder until the rules issue lands: no topics, no languages.)

/// A compiled rule set. Cheap to share behind an `Arc`.
#[derive(Debug, Default)]
pub struct RuleSet {}

impl RuleSet {
    /// The rules shipped in the repository's rules/ folder, compiled in.
    pub fn builtin() -> RuleSet {
        RuleSet {}
    }
}
