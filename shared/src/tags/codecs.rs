//! A typed codec for each record value kept in a tag of its own (the current `auto-scaling` and
//! `removed-login-profile`, and the one-tag-per-item records of earlier versions that
//! `records/` still reads).

use crate::ports::{LoginProfileFacts, Registration};
use crate::tags::keys::{DEACTIVATED_KEY, EIP, NETWORK_ACL, ORIGINAL_GROUPS, TARGET};

/// [`ORIGINAL_GROUPS`]: an ENI's groups before quarantine, space-separated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalGroups(pub Vec<String>);

impl OriginalGroups {
    /// The key for `eni`.
    pub fn key(eni: &str) -> String {
        format!("{ORIGINAL_GROUPS}{eni}")
    }
    /// The tag value.
    pub fn encode(&self) -> String {
        self.0.join(" ")
    }
    /// From a tag value.
    pub fn decode(value: &str) -> OriginalGroups {
        OriginalGroups(value.split_whitespace().map(String::from).collect())
    }
}

/// [`AUTO_SCALING`](super::AUTO_SCALING): the group the instance was taken out of, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoScalingRecord {
    /// The group's name.
    pub group: String,
    /// Detached (else put in Standby).
    pub detached: bool,
}

impl AutoScalingRecord {
    /// The tag value.
    pub fn encode(&self) -> String {
        let how = if self.detached { "detached" } else { "standby" };
        format!("{} {how}", self.group)
    }
    /// From a tag value. A bare group name reads as `standby`; any other way than `standby` reads
    /// as detached (the first releases also told only `standby` apart).
    pub fn decode(value: &str) -> AutoScalingRecord {
        let (group, how) = value.rsplit_once(' ').unwrap_or((value, "standby"));
        AutoScalingRecord {
            group: group.to_string(),
            detached: how != "standby",
        }
    }
}

/// [`TARGET`]: a target registration taken away.
pub struct TargetRecord;

impl TargetRecord {
    /// The key of the `n`th record.
    pub fn key(n: usize) -> String {
        format!("{TARGET}{n}")
    }
    /// The tag value.
    pub fn encode(r: &Registration) -> String {
        match (r.port, &r.ip) {
            (Some(p), None) => format!("{} {p}", r.target_group_arn),
            (None, None) => r.target_group_arn.clone(),
            (Some(p), Some(ip)) => format!("{} {p} {ip}", r.target_group_arn),
            (None, Some(ip)) => format!("{} - {ip}", r.target_group_arn),
        }
    }
    /// From a tag value (the first releases wrote no address).
    pub fn decode(value: &str) -> Registration {
        let mut parts = value.split_whitespace();
        Registration {
            target_group_arn: parts.next().unwrap_or_default().to_string(),
            port: parts.next().and_then(|p| p.parse().ok()),
            ip: parts.next().map(String::from),
        }
    }
}

/// [`EIP`]: where an Elastic IP was associated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EipRecord {
    /// The ENI (may be empty).
    pub network_interface_id: String,
    /// The private IP (may be empty).
    pub private_ip: String,
}

impl EipRecord {
    /// The key for an allocation.
    pub fn key(allocation_id: &str) -> String {
        format!("{EIP}{allocation_id}")
    }
    /// The allocation id of a key, when it is an Elastic IP record.
    pub fn allocation(key: &str) -> Option<&str> {
        key.strip_prefix(EIP)
    }
    /// The tag value.
    pub fn encode(&self) -> String {
        format!("{} {}", self.network_interface_id, self.private_ip)
    }
    /// From a tag value.
    pub fn decode(value: &str) -> EipRecord {
        let mut parts = value.split_whitespace();
        EipRecord {
            network_interface_id: parts.next().unwrap_or_default().to_string(),
            private_ip: parts.next().unwrap_or_default().to_string(),
        }
    }
}

/// [`DEACTIVATED_KEY`]: the key for an access key id.
pub fn deactivated_key(access_key_id: &str) -> String {
    format!("{DEACTIVATED_KEY}{access_key_id}")
}

/// [`LOGIN_PROFILE`](super::LOGIN_PROFILE): the console password removed (never the password
/// itself).
pub struct LoginProfileRecord;

impl LoginProfileRecord {
    /// The tag value.
    pub fn encode(p: &LoginProfileFacts) -> String {
        format!(
            "created={} reset-required={}",
            p.created, p.password_reset_required
        )
    }
    /// From a tag value, `None` when it is not one.
    pub fn decode(value: &str) -> Option<LoginProfileFacts> {
        let rest = value.strip_prefix("created=")?;
        let (created, reset) = rest.rsplit_once(" reset-required=")?;
        Some(LoginProfileFacts {
            created: created.to_string(),
            password_reset_required: reset.parse().ok()?,
        })
    }
}

/// [`MEMORY`](super::MEMORY): one finding's memory capture, `<object key> <command id>`, the
/// command `pending` while it is being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryRecord {
    /// The object key in the evidence bucket.
    pub key: String,
    /// The Run Command id; `None` while pending (recorded before it was sent).
    pub command_id: Option<String>,
}

impl MemoryRecord {
    /// The word of a command not yet sent.
    const PENDING: &'static str = "pending";
    /// The tag value.
    pub fn encode(&self) -> String {
        let command = self.command_id.as_deref().unwrap_or(Self::PENDING);
        format!("{} {command}", self.key)
    }
    /// From a tag value, `None` when it is not one.
    pub fn decode(value: &str) -> Option<MemoryRecord> {
        let (key, command) = value.split_once(' ')?;
        if key.is_empty() || command.is_empty() || command.contains(' ') {
            return None;
        }
        Some(MemoryRecord {
            key: key.to_string(),
            command_id: (command != Self::PENDING).then(|| command.to_string()),
        })
    }
}

/// One deny entry Firebreak adds to a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AclEntryRecord {
    /// The rule number.
    pub rule_number: i32,
    /// Outbound (else inbound).
    pub egress: bool,
    /// The instance's address, `/32` or `/128`.
    pub cidr: String,
}

/// [`NETWORK_ACL`]: the deny entries of one network ACL, `i<rule>=<cidr>` (inbound) and
/// `o<rule>=<cidr>` (outbound), space-separated; written before the entries are added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkAclRecord(pub Vec<AclEntryRecord>);

impl NetworkAclRecord {
    /// The key for a network ACL.
    pub fn key(network_acl_id: &str) -> String {
        format!("{NETWORK_ACL}{network_acl_id}")
    }
    /// The ACL of a key, when it is a network ACL record.
    pub fn acl(key: &str) -> Option<&str> {
        key.strip_prefix(NETWORK_ACL)
    }
    /// The tag value.
    pub fn encode(&self) -> String {
        let token = |e: &AclEntryRecord| {
            let dir = if e.egress { 'o' } else { 'i' };
            format!("{dir}{}={}", e.rule_number, e.cidr)
        };
        self.0.iter().map(token).collect::<Vec<_>>().join(" ")
    }
    /// From a tag value (a malformed token is skipped).
    pub fn decode(value: &str) -> NetworkAclRecord {
        let entry = |token: &str| {
            let (head, cidr) = token.split_once('=')?;
            let egress = match head.chars().next()? {
                'i' => false,
                'o' => true,
                _ => return None,
            };
            Some(AclEntryRecord {
                rule_number: head[1..].parse().ok()?,
                egress,
                cidr: cidr.to_string(),
            })
        };
        NetworkAclRecord(value.split_whitespace().filter_map(entry).collect())
    }
}
