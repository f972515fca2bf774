//! The kinds of action, and what every floor needs of a kind without its declaration: its name,
//! the order of the kinds, whether its failure is a containment failure, whether it changes
//! something again on every delivery, and which kinds a release undoes. Every action name is
//! spelled here and nowhere else but the tag codecs (`tests/architecture.rs`); what a kind calls,
//! writes and undoes is declared beside its process, in its action's module
//! (`actions::registry::REGISTRY` lists those declarations).

use serde::Serialize;

use ActionKind::*;

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
    /// The instance's memory captured by Systems Manager Run Command (AVML, Linux only) into the
    /// evidence bucket, once per finding, after isolation (opt-in per playbook rule).
    CaptureMemory,
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
    /// An RDS DB snapshot (a cluster snapshot for Aurora), tagged with the finding (no undo:
    /// evidence is kept).
    SnapshotDatabase,
    /// An RDS DB instance (an Aurora cluster) moved to its VPC's isolation group (its groups
    /// recorded first).
    IsolateDatabase,
    /// A database's isolation undone from its record.
    ReleaseDatabase,
    /// The team told (SNS).
    Notify,
    /// The Security Hub finding's note and workflow status (custom actions).
    UpdateFinding,
}

/// Every kind, in declaration order (the order of [`ActionKind`]'s variants and of the registry).
const ALL: [ActionKind; 32] = [
    IsolateInstance,
    DenyNetworkAcl,
    TakeOutOfService,
    ProtectEvidence,
    SnapshotVolumes,
    CaptureMemory,
    TagInstance,
    AwaitApproval,
    DeactivateAccessKey,
    RevokeUserSessions,
    RemoveLoginProfile,
    RevokeRoleSessions,
    RevokeInstanceSessions,
    DetachInstanceProfile,
    ReleaseInstance,
    TagPrincipal,
    Unshare,
    RestoreSharing,
    StopFunction,
    DisableEventSources,
    IsolateFunction,
    RevokeFunctionSessions,
    ReleaseFunction,
    BlockPublicAccess,
    DenyMalwareReads,
    ReleaseBucket,
    StopTask,
    SnapshotDatabase,
    IsolateDatabase,
    ReleaseDatabase,
    Notify,
    UpdateFinding,
];

impl ActionKind {
    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = ActionKind> {
        ALL.into_iter()
    }

    /// The kebab-case name used in plans, logs, tags and notes (serde's name of the variant).
    pub const fn name(self) -> &'static str {
        match self {
            IsolateInstance => "isolate-instance",
            DenyNetworkAcl => "deny-network-acl",
            TakeOutOfService => "take-out-of-service",
            ProtectEvidence => "protect-evidence",
            SnapshotVolumes => "snapshot-volumes",
            CaptureMemory => "capture-memory",
            TagInstance => "tag-instance",
            AwaitApproval => "await-approval",
            DeactivateAccessKey => "deactivate-access-key",
            RevokeUserSessions => "revoke-user-sessions",
            RemoveLoginProfile => "remove-login-profile",
            RevokeRoleSessions => "revoke-role-sessions",
            RevokeInstanceSessions => "revoke-instance-sessions",
            DetachInstanceProfile => "detach-instance-profile",
            ReleaseInstance => "release-instance",
            TagPrincipal => "tag-principal",
            Unshare => "unshare",
            RestoreSharing => "restore-sharing",
            StopFunction => "stop-function",
            DisableEventSources => "disable-event-sources",
            IsolateFunction => "isolate-function",
            RevokeFunctionSessions => "revoke-function-sessions",
            ReleaseFunction => "release-function",
            BlockPublicAccess => "block-public-access",
            DenyMalwareReads => "deny-malware-reads",
            ReleaseBucket => "release-bucket",
            StopTask => "stop-task",
            SnapshotDatabase => "snapshot-database",
            IsolateDatabase => "isolate-database",
            ReleaseDatabase => "release-database",
            Notify => "notify",
            UpdateFinding => "update-finding",
        }
    }

    /// True when its failure is a containment failure (it cuts an attacker off).
    pub const fn is_containment(self) -> bool {
        match self {
            IsolateInstance
            | DetachInstanceProfile
            | DeactivateAccessKey
            | RevokeUserSessions
            | RemoveLoginProfile
            | RevokeRoleSessions
            | RevokeInstanceSessions
            | Unshare
            | StopFunction
            | DisableEventSources
            | IsolateFunction
            | RevokeFunctionSessions
            | BlockPublicAccess
            | DenyMalwareReads
            | StopTask
            | IsolateDatabase => true,
            // `deny-network-acl`: security-group isolation is the containment; the ACL cuts what
            // it cannot. Its failure is reported (and retried), not a containment failure.
            DenyNetworkAcl | TakeOutOfService | ProtectEvidence | SnapshotVolumes
            | CaptureMemory | TagInstance | AwaitApproval | ReleaseInstance | TagPrincipal
            | RestoreSharing | ReleaseFunction | ReleaseBucket | SnapshotDatabase
            | ReleaseDatabase | Notify | UpdateFinding => false,
        }
    }

    /// The steps that change something again on every delivery (a session revocation's later
    /// cutoff, and with it the principal's record of it).
    pub fn rewrites_each_time(self) -> bool {
        matches!(
            self,
            RevokeUserSessions
                | RevokeRoleSessions
                | RevokeInstanceSessions
                | RevokeFunctionSessions
                | TagPrincipal
        )
    }

    /// The kinds whose undo a release runs: every instance action that declares one.
    pub fn undone_by_release() -> impl Iterator<Item = ActionKind> {
        [
            IsolateInstance,
            DenyNetworkAcl,
            TakeOutOfService,
            ProtectEvidence,
            TagInstance,
            AwaitApproval,
            DetachInstanceProfile,
            StopFunction,
            DisableEventSources,
            IsolateFunction,
            RevokeFunctionSessions,
            BlockPublicAccess,
            DenyMalwareReads,
            IsolateDatabase,
        ]
        .into_iter()
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kinds_are_in_declaration_order_and_named_as_serde_names_them() {
        for (i, kind) in ActionKind::all().enumerate() {
            assert_eq!(kind as usize, i);
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_name.as_str(), Some(kind.name()));
        }
    }
}
