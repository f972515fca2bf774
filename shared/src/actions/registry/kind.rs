//! The kinds of action, and the shape of what the registry declares of each.

use serde::Serialize;

/// Every kind of step Firebreak takes and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Every ENI: untracking group, then isolation group (the original groups recorded).
    IsolateInstance,
    /// The instance's addresses denied in the network ACLs of its VPC (recorded first).
    DenyNetworkAcl,
    /// Out of its Auto Scaling group, target groups and Elastic IPs (each recorded first).
    TakeOutOfService,
    /// Termination protection, shutdown behaviour `stop`, volumes kept on termination.
    ProtectEvidence,
    /// One snapshot per attached volume, tagged with the finding id.
    SnapshotVolumes,
    /// The instance tagged with the finding, the status and the time of containment.
    TagInstance,
    /// Waiting for a human's approval (the instance tagged `awaiting-approval`).
    AwaitApproval,
    /// Exactly the leaked long-term key set `Inactive`.
    DeactivateAccessKey,
    /// The user's sessions issued before the response denied.
    RevokeUserSessions,
    /// The user's console password deleted (recorded first).
    RemoveLoginProfile,
    /// The role's sessions issued before the response denied.
    RevokeRoleSessions,
    /// The role's sessions issued to one instance before the response denied (its credentials
    /// were used elsewhere); the role's other users are not touched.
    RevokeInstanceSessions,
    /// The instance profile removed from the instance whose credentials leaked (recorded first).
    DetachInstanceProfile,
    /// A quarantine undone from its records (the undo of every instance action).
    ReleaseInstance,
    /// The user or role tagged with what was done (part of every credential response).
    TagPrincipal,
    /// An EBS snapshot's or AMI's public and cross-account permissions removed (recorded first).
    Unshare,
    /// The permissions `unshare` recorded given back (its undo).
    RestoreSharing,
    /// A Lambda function's reserved concurrency set to 0 (the previous setting recorded first).
    StopFunction,
    /// A function's enabled event source mappings disabled (recorded first).
    DisableEventSources,
    /// A function in a VPC moved to the isolation group (its groups recorded first).
    IsolateFunction,
    /// The execution role's sessions issued to one function before the response denied.
    RevokeFunctionSessions,
    /// A function's containment undone from its records.
    ReleaseFunction,
    /// An S3 bucket's Block Public Access all on (the previous settings recorded first).
    BlockPublicAccess,
    /// The bucket-policy statement denying reads of objects GuardDuty found malware in.
    DenyMalwareReads,
    /// A bucket's containment undone from its records.
    ReleaseBucket,
    /// An ECS task stopped (no undo: a stopped task is not started again).
    StopTask,
    /// The team told (SNS).
    Notify,
    /// The Security Hub finding's note and workflow status (custom actions).
    UpdateFinding,
}

/// What the registry says of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The kind.
    pub kind: ActionKind,
    /// The kebab-case name used in plans, logs, tags and notes.
    pub name: &'static str,
    /// True when its failure is a containment failure (it cuts an attacker off).
    pub contains: bool,
    /// The IAM actions it calls.
    pub permissions: &'static [&'static str],
    /// The tag keys (or key prefixes, ending in `:`) it writes on the resource.
    pub tags: &'static [&'static str],
    /// The IAM actions its undo calls (empty: nothing to undo, e.g. snapshots are kept).
    pub undo_permissions: &'static [&'static str],
}
