//! Firebreak's durable state: the `firebreak:*` tags it writes on AWS resources (records written
//! before each change, idempotency markers, the blast-radius counter, what a release reads back),
//! the names of the policies it writes, and a typed codec for every record value. Every key and
//! every value format lives here, written and parsed by the same code; `tests/tags_golden.rs` pins
//! them (instances quarantined by an earlier Firebreak must be released by a later one).

use crate::ports::{LoginProfileFacts, Registration};

// ---- instance ----

/// The finding that quarantined an instance (also on its snapshots and on revoked principals).
pub const FINDING: &str = "firebreak:finding-id";
/// When containment completed (the last group change returned).
pub const CONTAINED_AT: &str = "firebreak:contained-at";
/// The status: see [`status`].
pub const STATUS: &str = "firebreak:status";
/// When Firebreak decided to quarantine the instance, written with the original groups, before the
/// first group change: what the blast-radius cap counts.
/// Earlier format: read (`records.rs`), no longer written.
pub const QUARANTINE_STARTED: &str = "firebreak:quarantine-started-at";
/// Prefix: `firebreak:original-groups:<eni>` = the ENI's groups before quarantine ([`OriginalGroups`]).
/// Earlier format: read (`records.rs`), no longer written.
pub const ORIGINAL_GROUPS: &str = "firebreak:original-groups:";
/// Present (`true`) when Firebreak, not the owner, turned termination protection on.
/// Earlier format: read (`records.rs`), no longer written.
pub const SET_TERMINATION_PROTECTION: &str = "firebreak:set-termination-protection";
/// What an OS shutdown did before Firebreak made it `stop` (`terminate`), for release.
/// Earlier format: read (`records.rs`), no longer written.
pub const SHUTDOWN_BEHAVIOUR: &str = "firebreak:shutdown-behaviour";
/// The devices whose volumes were deleted on termination before Firebreak kept them, space-separated.
/// Earlier format: read (`records.rs`), no longer written.
pub const KEPT_VOLUMES: &str = "firebreak:kept-volumes";
/// `<group> standby` or `<group> detached` ([`AutoScalingRecord`]).
pub const AUTO_SCALING: &str = "firebreak:auto-scaling";
/// Prefix: `firebreak:target:<n>` = `<target group ARN> [<port>|-] [<ip>]`, one per registration
/// taken away (the address for an `ip` target group).
/// Earlier format: read (`records.rs`), no longer written.
pub const TARGET: &str = "firebreak:target:";
/// Prefix: `firebreak:eip:<allocation id>` = `<ENI> <private IP>` the address was on ([`EipRecord`]).
/// Earlier format: read (`records.rs`), no longer written.
pub const EIP: &str = "firebreak:eip:";
/// The instance profile Firebreak removed (its ARN).
pub const REMOVED_PROFILE: &str = "firebreak:removed-instance-profile";
/// The finding that made Firebreak remove the instance profile.
pub const REMOVED_PROFILE_FINDING: &str = "firebreak:removed-instance-profile-finding";
/// When the last release happened.
pub const RELEASED_AT: &str = "firebreak:released-at";
/// Prefix: `firebreak:network-acl:<acl id>` = the deny entries Firebreak adds to that network ACL
/// for the instance ([`NetworkAclRecord`]).
/// Earlier format: read (`records.rs`), no longer written.
pub const NETWORK_ACL: &str = "firebreak:network-acl:";
/// The isolation record: when the quarantine started and each interface's original groups
/// (`records::Isolation`; continued in `firebreak:isolation:2`, … when long).
pub const ISOLATION: &str = "firebreak:isolation";
/// The network ACL entries Firebreak adds for the instance (`records::AclDenies`; continued in
/// `:2`, …).
pub const ACL_DENIES: &str = "firebreak:acl-denies";
/// What evidence protection changed (`records::Evidence`; continued in `:2`, …).
pub const EVIDENCE: &str = "firebreak:evidence";
/// The target groups and Elastic IPs taken away (`records::Service`; continued in `:2`, …).
pub const OUT_OF_SERVICE: &str = "firebreak:out-of-service";
/// Who decided an `ask` and how: `approved <time> by <who>` or `rejected <time> by <who>`.
pub const DECISION: &str = "firebreak:decision";
/// Since when the instance waits for a human (`awaiting-approval`, `needs-human`): the reminder's
/// clock.
pub const AWAITING_SINCE: &str = "firebreak:awaiting-since";
/// When the one reminder was sent.
pub const REMINDED_AT: &str = "firebreak:reminded-at";
/// The default exemption tag (`FIREBREAK_EXEMPT_TAG`): `true` means never touched.
pub const DEFAULT_EXEMPT: &str = "firebreak:exempt";

// ---- snapshots ----

/// On an evidence snapshot: the instance it was taken of.
pub const SNAPSHOT_INSTANCE: &str = "firebreak:instance-id";
/// On an evidence snapshot: when it was taken.
pub const SNAPSHOT_TAKEN_AT: &str = "firebreak:taken-at";

// ---- snapshots and AMIs ----

/// On an EBS snapshot or AMI: who could use it before Firebreak unshared it (`records::Sharing`;
/// continued in `:2`, … when long).
pub const SHARED_WITH: &str = "firebreak:shared-with";

// ---- security groups ----

/// Marks Firebreak's quarantine groups: [`GroupRole`].
pub const GROUP_ROLE: &str = "firebreak:quarantine-role";

// ---- IAM users and roles ----

/// The cutoff: sessions issued before it are denied.
pub const REVOKED_BEFORE: &str = "firebreak:sessions-revoked-before";
/// Prefix: `firebreak:deactivated-key:<key id>` = the finding that made Firebreak deactivate it.
pub const DEACTIVATED_KEY: &str = "firebreak:deactivated-key:";
/// The console password Firebreak removed ([`LoginProfileRecord`]).
pub const LOGIN_PROFILE: &str = "firebreak:removed-login-profile";

/// On a Lambda function: its reserved concurrency before Firebreak set it to 0 (`none`, or the
/// number).
pub const CONCURRENCY: &str = "firebreak:concurrency";
/// On a Lambda function: the UUIDs of the event source mappings Firebreak disabled (packed,
/// continued in `:2`, `:3`… past 256 characters).
pub const EVENT_SOURCES: &str = "firebreak:event-sources";
/// On a Lambda function in a VPC: its security groups before Firebreak isolated it (`<sg>+<sg>`).
pub const VPC_GROUPS: &str = "firebreak:vpc-groups";
/// On a Lambda function: the provisioned concurrency Firebreak removed so its reserved concurrency
/// could be 0, `<alias or version>=<executions>` each (packed, continued in `:2`, `:3`…).
pub const PROVISIONED: &str = "firebreak:provisioned-concurrency";

/// On an S3 bucket: its Block Public Access configuration before Firebreak turned it all on
/// (`none`, or `acls=<bool> ignore=<bool> policy=<bool> restrict=<bool>`).
pub const PUBLIC_ACCESS_BLOCK: &str = "firebreak:public-access-block";
/// On an S3 bucket: when Firebreak added its malware statement to the bucket policy, and whether
/// the bucket had a policy before (`<time> policy=new|existing`).
pub const MALWARE_DENY: &str = "firebreak:malware-deny";

/// Every key and key prefix, for the golden test and the check of `docs/state.md`.
pub const ALL_KEYS: &[&str] = &[
    FINDING,
    CONTAINED_AT,
    STATUS,
    QUARANTINE_STARTED,
    ORIGINAL_GROUPS,
    SET_TERMINATION_PROTECTION,
    SHUTDOWN_BEHAVIOUR,
    KEPT_VOLUMES,
    AUTO_SCALING,
    TARGET,
    EIP,
    NETWORK_ACL,
    ISOLATION,
    ACL_DENIES,
    EVIDENCE,
    OUT_OF_SERVICE,
    DECISION,
    AWAITING_SINCE,
    REMINDED_AT,
    REMOVED_PROFILE,
    REMOVED_PROFILE_FINDING,
    RELEASED_AT,
    DEFAULT_EXEMPT,
    SNAPSHOT_INSTANCE,
    SNAPSHOT_TAKEN_AT,
    SHARED_WITH,
    GROUP_ROLE,
    REVOKED_BEFORE,
    DEACTIVATED_KEY,
    LOGIN_PROFILE,
    CONCURRENCY,
    EVENT_SOURCES,
    VPC_GROUPS,
    PROVISIONED,
    PUBLIC_ACCESS_BLOCK,
    MALWARE_DENY,
];

/// The `Sid` of the bucket-policy statement that denies reading objects GuardDuty found malware in.
pub const MALWARE_STATEMENT: &str = "FirebreakDenyThreatsFound";
/// The `Sid` prefix of the statement that denies reading one object a finding named (followed by
/// a hash of its key).
pub const MALWARE_OBJECT_STATEMENT: &str = "FirebreakDenyObject";
/// The object tag GuardDuty Malware Protection for S3 writes, and its value for malware.
pub const MALWARE_SCAN_TAG: &str = "GuardDutyMalwareScanStatus";
/// See [`MALWARE_SCAN_TAG`].
pub const THREATS_FOUND: &str = "THREATS_FOUND";

// ---- policies ----

/// The inline role policy the IAM console's "Revoke active sessions" writes; Firebreak writes the same.
pub const ROLE_REVOKE_POLICY: &str = "AWSRevokeOlderSessions";
/// The inline user policy denying the user's sessions issued before the cutoff.
pub const USER_REVOKE_POLICY: &str = "FirebreakRevokeOlderSessions";

/// The inline role policy of earlier versions denying the sessions of the role issued to one
/// instance (still read: its instance is taken over by the minute's policy, and it is pruned).
pub fn instance_revoke_policy(instance_id: &str) -> String {
    format!("{INSTANCE_REVOKE_POLICY_PREFIX}{instance_id}")
}

/// See [`instance_revoke_policy`].
const INSTANCE_REVOKE_POLICY_PREFIX: &str = "FirebreakRevokeSessionsOf-";

/// The instance an earlier version's [`instance_revoke_policy`] names.
pub fn instance_of_revoke_policy(policy_name: &str) -> Option<&str> {
    policy_name.strip_prefix(INSTANCE_REVOKE_POLICY_PREFIX)
}

/// The prefix of the inline role policies denying the sessions of the role issued to the instances
/// each lists before its cutoff, a whole minute: one policy per cutoff.
pub const INSTANCE_SESSIONS_POLICY_PREFIX: &str = "FirebreakRevokeInstanceSessions-";

/// The instance-sessions policy of the cutoff `cutoff` (`2026-11-30T03:01:00Z` →
/// `FirebreakRevokeInstanceSessions-20261130T030100Z`).
pub fn instance_sessions_policy(cutoff: &str) -> String {
    let compact: String = cutoff.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{INSTANCE_SESSIONS_POLICY_PREFIX}{compact}")
}

/// The inline role policy denying the sessions of the role issued to one Lambda function, by its
/// unqualified ARN: `FirebreakRevokeSessionsOfFunction-<name>-<12 hex digits of the ARN's
/// SHA-256>`. IAM is global and a role may serve same-named functions in several regions and
/// accounts: the ARN (partition, region, account, name) makes the name unique, within IAM's 128
/// characters (a function name has at most 64).
pub fn function_revoke_policy(function_arn: &str) -> String {
    use sha2::{Digest, Sha256};
    let name = function_arn.rsplit(':').next().unwrap_or(function_arn);
    let digest = Sha256::digest(function_arn.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", legacy_function_revoke_policy(name))
}

/// The name earlier versions gave that policy, by the function's name alone (a release still
/// removes it, once its document shows it is this function's).
pub fn legacy_function_revoke_policy(function_name: &str) -> String {
    format!("FirebreakRevokeSessionsOfFunction-{function_name}")
}

/// The values of [`STATUS`].
pub mod status {
    /// Every interface isolated.
    pub const QUARANTINED: &str = "quarantined";
    /// Isolation attempted and not complete.
    pub const CONTAINMENT_FAILED: &str = "containment-failed";
    /// The blast-radius cap held isolation back.
    pub const NEEDS_HUMAN: &str = "needs-human";
    /// The playbook said `ask`: evidence preserved, containment waits for a human's approval.
    pub const AWAITING_APPROVAL: &str = "awaiting-approval";
    /// A user's credentials revoked.
    pub const CREDENTIALS_REVOKED: &str = "credentials-revoked";
    /// A role's sessions revoked.
    pub const SESSIONS_REVOKED: &str = "sessions-revoked";
    /// A revocation attempted and not complete.
    pub const REVOCATION_FAILED: &str = "revocation-failed";
    /// A Lambda function stopped: no new executions of any version or alias, no event sources, no
    /// network (a function in a VPC; outside one it has none to isolate).
    pub const STOPPED: &str = "stopped";

    /// Appended to an instance's status once the team was told of it (`quarantined told`): a
    /// redelivery that changes nothing is silent only then, so a message lost to a failed publish
    /// is sent by the retry.
    pub const TOLD: &str = "told";

    /// The status word of a status value (without [`TOLD`]).
    pub fn word(value: &str) -> &str {
        value.split_whitespace().next().unwrap_or_default()
    }

    /// Whether a status value says the team was told.
    pub fn is_told(value: &str) -> bool {
        value.split_whitespace().nth(1) == Some(TOLD)
    }

    /// `status`, told.
    pub fn told(status: &str) -> String {
        format!("{} {TOLD}", word(status))
    }
}

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

/// The `awaiting-since` value: `<time>`, or `<time> reminded` once its one reminder was sent.
pub mod awaiting {
    /// The word that marks the reminder sent.
    pub const REMINDED: &str = "reminded";

    /// The start of the wait.
    pub fn started(value: &str) -> &str {
        value.split_whitespace().next().unwrap_or_default()
    }

    /// Whether the reminder was sent.
    pub fn reminded(value: &str) -> bool {
        value.split_whitespace().any(|t| t == REMINDED)
    }

    /// `value` with the reminder marked.
    pub fn with_reminder(value: &str) -> String {
        format!("{} {REMINDED}", started(value))
    }
}

/// An instance's status word (`quarantined`, …), without the mark that the team was told.
pub fn status_of(facts: &crate::ports::InstanceFacts) -> Option<&str> {
    facts.tag(STATUS).map(status::word)
}

/// The value of a `true` flag tag ([`SET_TERMINATION_PROTECTION`], the exemption tag).
pub const TRUE: &str = "true";

/// `(key, value)` as owned strings.
pub fn pair(key: &str, value: impl Into<String>) -> (String, String) {
    (key.to_string(), value.into())
}

/// The role of a quarantine group, the value of [`GROUP_ROLE`].
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

/// The `Name` of an evidence snapshot of `instance_id`.
pub fn snapshot_name(instance_id: &str) -> String {
    format!("firebreak-evidence-{instance_id}")
}

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

/// [`AUTO_SCALING`]: the group the instance was taken out of, and how.
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

/// [`LOGIN_PROFILE`]: the console password removed (never the password itself).
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

/// The most characters an EC2 tag value may have.
pub const VALUE_LIMIT: usize = 256;
