//! Every `firebreak:*` key and key prefix, by the resource that carries it.

// ---- instance ----

/// The finding that quarantined an instance (also on its snapshots and on revoked principals).
pub const FINDING: &str = "firebreak:finding-id";
/// When containment completed (the last group change returned).
pub const CONTAINED_AT: &str = "firebreak:contained-at";
/// The status: see [`status`](super::status).
pub const STATUS: &str = "firebreak:status";
/// When Firebreak decided to quarantine the instance, written with the original groups, before the
/// first group change: what the blast-radius cap counts.
/// Earlier format: read (`records/`), no longer written.
pub const QUARANTINE_STARTED: &str = "firebreak:quarantine-started-at";
/// Prefix: `firebreak:original-groups:<eni>` = the ENI's groups before quarantine
/// ([`OriginalGroups`](super::OriginalGroups)).
/// Earlier format: read (`records/`), no longer written.
pub const ORIGINAL_GROUPS: &str = "firebreak:original-groups:";
/// Present (`true`) when Firebreak, not the owner, turned termination protection on.
/// Earlier format: read (`records/`), no longer written.
pub const SET_TERMINATION_PROTECTION: &str = "firebreak:set-termination-protection";
/// What an OS shutdown did before Firebreak made it `stop` (`terminate`), for release.
/// Earlier format: read (`records/`), no longer written.
pub const SHUTDOWN_BEHAVIOUR: &str = "firebreak:shutdown-behaviour";
/// The devices whose volumes were deleted on termination before Firebreak kept them, space-separated.
/// Earlier format: read (`records/`), no longer written.
pub const KEPT_VOLUMES: &str = "firebreak:kept-volumes";
/// `<group> standby` or `<group> detached` ([`AutoScalingRecord`](super::AutoScalingRecord)).
pub const AUTO_SCALING: &str = "firebreak:auto-scaling";
/// Prefix: `firebreak:target:<n>` = `<target group ARN> [<port>|-] [<ip>]`, one per registration
/// taken away (the address for an `ip` target group).
/// Earlier format: read (`records/`), no longer written.
pub const TARGET: &str = "firebreak:target:";
/// Prefix: `firebreak:eip:<allocation id>` = `<ENI> <private IP>` the address was on
/// ([`EipRecord`](super::EipRecord)).
/// Earlier format: read (`records/`), no longer written.
pub const EIP: &str = "firebreak:eip:";
/// The instance profile Firebreak removed (its ARN).
pub const REMOVED_PROFILE: &str = "firebreak:removed-instance-profile";
/// The finding that made Firebreak remove the instance profile.
pub const REMOVED_PROFILE_FINDING: &str = "firebreak:removed-instance-profile-finding";
/// The memory capture of the instance for a finding (`capture-memory`): the object key in the
/// evidence bucket and the Run Command id, `<key> <command id>` (`pending` until the command was
/// sent) ([`MemoryRecord`](super::MemoryRecord)); written before the command is sent.
pub const MEMORY: &str = "firebreak:memory";
/// When the last release happened.
pub const RELEASED_AT: &str = "firebreak:released-at";
/// Prefix: `firebreak:network-acl:<acl id>` = the deny entries Firebreak adds to that network ACL
/// for the instance ([`NetworkAclRecord`](super::NetworkAclRecord)).
/// Earlier format: read (`records/`), no longer written.
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

/// Marks Firebreak's quarantine groups: [`GroupRole`](super::GroupRole).
pub const GROUP_ROLE: &str = "firebreak:quarantine-role";

// ---- IAM users and roles ----

/// The cutoff: sessions issued before it are denied.
pub const REVOKED_BEFORE: &str = "firebreak:sessions-revoked-before";
/// Prefix: `firebreak:deactivated-key:<key id>` = the finding that made Firebreak deactivate it.
pub const DEACTIVATED_KEY: &str = "firebreak:deactivated-key:";
/// The console password Firebreak removed ([`LoginProfileRecord`](super::LoginProfileRecord)).
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
    MEMORY,
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
