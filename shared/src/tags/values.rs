//! The values of single tags: flags, who decided, the quarantine groups' role, evidence snapshots'
//! names, and EC2's limit on a value.

/// Who decided, kept to characters every service accepts in a tag value, at most 128 of them.
pub fn tag_safe(who: &str) -> String {
    let kept: String = who
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(*c))
        .take(128)
        .collect();
    match kept.trim() {
        "" => "unnamed".to_string(),
        k => k.to_string(),
    }
}

/// The value of a `true` flag tag
/// ([`SET_TERMINATION_PROTECTION`](super::SET_TERMINATION_PROTECTION), the exemption tag).
pub const TRUE: &str = "true";

/// `(key, value)` as owned strings.
pub fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_string(), value.into())
}

/// The role of a quarantine group, the value of [`GROUP_ROLE`](super::GROUP_ROLE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupRole {
    /// No inbound, no outbound.
    Isolation,
    /// All traffic in and out: turns tracked connections into untracked ones.
    Untracking,
}

impl GroupRole {
    /// The tag value.
    pub fn tag_value(self) -> &'static str {
        match self {
            GroupRole::Isolation => "isolation",
            GroupRole::Untracking => "untracking",
        }
    }

    /// The group's name in a VPC.
    pub fn group_name(self, vpc_id: &str) -> String {
        format!("firebreak-{}-{vpc_id}", self.tag_value())
    }
}

/// The description of the isolation group's egress rules that let a memory capture's SSM Agent
/// reach the VPC's endpoints (HTTPS only): the only egress the reconciliation of the isolation
/// group keeps.
pub const CAPTURE_EGRESS: &str = "firebreak memory capture: HTTPS to a VPC endpoint";

/// The `Name` of an evidence snapshot of `instance_id`.
pub fn snapshot_name(instance_id: &str) -> String {
    format!("firebreak-evidence-{instance_id}")
}

/// The most characters an EC2 tag value may have.
pub const VALUE_LIMIT: usize = 256;
