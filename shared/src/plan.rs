//! A plan: what the playbook decided ([`Plan`]), as a list of serialisable [`Action`]s. Plain
//! data: dry-run prints it, tests compare it, notes list it.

use serde::Serialize;

use crate::actions::registry::ActionKind;
use crate::incident::ArtifactKind;
use crate::outcome::{Outcome, Status};

/// One action Firebreak will take, with the resource it acts on. Its kind's declaration (name,
/// permissions, tags) is in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Move every ENI to the untracking group, then to the isolation group (records the old groups first).
    IsolateInstance {
        /// The instance.
        instance_id: String,
    },
    /// Deny the instance's addresses, both ways, in every network ACL of its VPC (ahead of the
    /// allow entries; recorded on the instance first): what a security group change cannot cut.
    DenyNetworkAcl {
        /// The instance.
        instance_id: String,
    },
    /// Take the instance out of what routes traffic to it or would replace it: its Auto Scaling
    /// group (standby, else detached with the capacity replaced), load balancer target groups, and
    /// Elastic IPs; each recorded on the instance first, for release.
    TakeOutOfService {
        /// The instance.
        instance_id: String,
    },
    /// Termination protection on, shutdown behaviour `stop`, volumes kept on termination.
    ProtectEvidence {
        /// The instance.
        instance_id: String,
    },
    /// One snapshot per attached volume, tagged with the finding id (at most one per volume and finding).
    SnapshotVolumes {
        /// The instance.
        instance_id: String,
    },
    /// Tag the instance with the finding id and the time of containment.
    TagInstance {
        /// The instance.
        instance_id: String,
    },
    /// Wait for a human: the instance tagged `awaiting-approval` (with the evidence protected by the
    /// plan's other actions) and the team told how to approve or reject.
    AwaitApproval {
        /// The instance.
        instance_id: String,
    },
    /// Set exactly this long-term key of the user `Inactive` (not deleted: its id stays useful in CloudTrail).
    DeactivateAccessKey {
        /// The key's user.
        user_name: String,
        /// `AKIA…`.
        access_key_id: String,
    },
    /// Inline user policy denying everything to the user's sessions issued before the response.
    RevokeUserSessions {
        /// The user.
        user_name: String,
    },
    /// Delete the user's console password (what existed is recorded first).
    RemoveLoginProfile {
        /// The user.
        user_name: String,
    },
    /// Inline role policy `AWSRevokeOlderSessions` denying everything to sessions issued before the response.
    RevokeRoleSessions {
        /// The role.
        role_name: String,
    },
    /// Inline role policy denying the role's sessions issued to this instance before the response
    /// (conditions `ec2:SourceInstanceARN` and `aws:userId`, with `aws:TokenIssueTime`).
    RevokeInstanceSessions {
        /// The role.
        role_name: String,
        /// The instance whose credentials leaked.
        instance_id: String,
    },
    /// Remove the instance profile from the instance whose credentials leaked (recorded first).
    DetachInstanceProfile {
        /// The instance.
        instance_id: String,
    },
    /// Undo a quarantine from what it recorded on the instance (snapshots are kept).
    ReleaseInstance {
        /// The instance.
        instance_id: String,
    },
    /// Remove every public and cross-account permission of an EBS snapshot or AMI (who had them
    /// recorded on it first).
    Unshare {
        /// Snapshot or image.
        kind: ArtifactKind,
        /// `snap-…` or `ami-…`.
        id: String,
    },
    /// Give back the permissions `unshare` recorded (the undo, `FbRelease`).
    RestoreSharing {
        /// Snapshot or image.
        kind: ArtifactKind,
        /// `snap-…` or `ami-…`.
        id: String,
    },
    /// Stop new executions of a Lambda function: reserved concurrency 0 (the previous setting
    /// recorded on the function first).
    StopFunction {
        /// The function's name.
        function: String,
    },
    /// Disable the function's event source mappings (the enabled ones recorded first).
    DisableEventSources {
        /// The function's name.
        function: String,
    },
    /// Move a function in a VPC to its VPC's isolation group (its groups recorded first).
    IsolateFunction {
        /// The function's name.
        function: String,
    },
    /// Inline role policy denying the sessions the execution role issued to this function before
    /// the response (`lambda:SourceFunctionArn`, `aws:TokenIssueTime`); its other users untouched.
    RevokeFunctionSessions {
        /// The execution role the finding names; `None` when it names none. The executor revokes
        /// on the live execution role (`GetFunction`) either way.
        role_name: Option<String>,
        /// The function's name.
        function: String,
    },
    /// Undo a function's containment from its records: concurrency, event sources, VPC groups,
    /// and the sessions policy.
    ReleaseFunction {
        /// The function's name.
        function: String,
    },
    /// Turn all four of an S3 bucket's Block Public Access settings on (the previous ones recorded
    /// on the bucket first).
    BlockPublicAccess {
        /// The bucket.
        bucket: String,
    },
    /// Add the bucket-policy statement that denies reading the bucket's objects tagged
    /// `GuardDutyMalwareScanStatus=THREATS_FOUND` (once per bucket, recorded).
    DenyMalwareReads {
        /// The bucket.
        bucket: String,
        /// The roles that may still read them (`FIREBREAK_MALWARE_READERS`).
        readers: Vec<String>,
    },
    /// Undo a bucket's containment from its records: Block Public Access as it was, the malware
    /// statement removed.
    ReleaseBucket {
        /// The bucket.
        bucket: String,
    },
    /// Stop an ECS task (Fargate): it cannot be started again, its service (if any) starts a new
    /// one. Only when a playbook rule chooses `contain` for tasks.
    StopTask {
        /// Its cluster.
        cluster: String,
        /// The task's ARN.
        task_arn: String,
    },
    /// Tell the team (SNS).
    Notify,
}

impl Action {
    /// Its kind in the registry.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::IsolateInstance { .. } => ActionKind::IsolateInstance,
            Action::DenyNetworkAcl { .. } => ActionKind::DenyNetworkAcl,
            Action::TakeOutOfService { .. } => ActionKind::TakeOutOfService,
            Action::ProtectEvidence { .. } => ActionKind::ProtectEvidence,
            Action::SnapshotVolumes { .. } => ActionKind::SnapshotVolumes,
            Action::TagInstance { .. } => ActionKind::TagInstance,
            Action::AwaitApproval { .. } => ActionKind::AwaitApproval,
            Action::DeactivateAccessKey { .. } => ActionKind::DeactivateAccessKey,
            Action::RevokeUserSessions { .. } => ActionKind::RevokeUserSessions,
            Action::RemoveLoginProfile { .. } => ActionKind::RemoveLoginProfile,
            Action::RevokeRoleSessions { .. } => ActionKind::RevokeRoleSessions,
            Action::RevokeInstanceSessions { .. } => ActionKind::RevokeInstanceSessions,
            Action::DetachInstanceProfile { .. } => ActionKind::DetachInstanceProfile,
            Action::ReleaseInstance { .. } => ActionKind::ReleaseInstance,
            Action::Unshare { .. } => ActionKind::Unshare,
            Action::RestoreSharing { .. } => ActionKind::RestoreSharing,
            Action::StopFunction { .. } => ActionKind::StopFunction,
            Action::DisableEventSources { .. } => ActionKind::DisableEventSources,
            Action::IsolateFunction { .. } => ActionKind::IsolateFunction,
            Action::RevokeFunctionSessions { .. } => ActionKind::RevokeFunctionSessions,
            Action::ReleaseFunction { .. } => ActionKind::ReleaseFunction,
            Action::BlockPublicAccess { .. } => ActionKind::BlockPublicAccess,
            Action::DenyMalwareReads { .. } => ActionKind::DenyMalwareReads,
            Action::ReleaseBucket { .. } => ActionKind::ReleaseBucket,
            Action::StopTask { .. } => ActionKind::StopTask,
            Action::Notify => ActionKind::Notify,
        }
    }

    /// The kebab-case name used in logs, tags and notes (the registry's).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The resource the action changes (`i-…`, a key id, a user or role name; empty for notify).
    pub fn resource(&self) -> &str {
        match self {
            Action::IsolateInstance { instance_id }
            | Action::DenyNetworkAcl { instance_id }
            | Action::TakeOutOfService { instance_id }
            | Action::ProtectEvidence { instance_id }
            | Action::SnapshotVolumes { instance_id }
            | Action::TagInstance { instance_id }
            | Action::AwaitApproval { instance_id }
            | Action::DetachInstanceProfile { instance_id }
            | Action::ReleaseInstance { instance_id } => instance_id,
            Action::DeactivateAccessKey { access_key_id, .. } => access_key_id,
            Action::RevokeUserSessions { user_name } | Action::RemoveLoginProfile { user_name } => {
                user_name
            }
            Action::RevokeRoleSessions { role_name }
            | Action::RevokeInstanceSessions { role_name, .. } => role_name,
            Action::Unshare { id, .. } | Action::RestoreSharing { id, .. } => id,
            Action::StopFunction { function }
            | Action::DisableEventSources { function }
            | Action::IsolateFunction { function }
            | Action::RevokeFunctionSessions { function, .. }
            | Action::ReleaseFunction { function } => function,
            Action::BlockPublicAccess { bucket }
            | Action::DenyMalwareReads { bucket, .. }
            | Action::ReleaseBucket { bucket } => bucket,
            Action::StopTask { task_arn, .. } => task_arn,
            Action::Notify => "",
        }
    }

    /// True for the actions that cut an attacker off: their failure is a containment failure.
    pub fn is_containment(&self) -> bool {
        self.kind().is_containment()
    }
}

/// What the playbook decided and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The playbook row that matched.
    pub rule: &'static str,
    /// Why, in words a person reads in the notification.
    pub reason: String,
    /// The actions, in order of intent (the executor runs what it can concurrently).
    pub actions: Vec<Action>,
    /// The playbook rule that decided ("rule 4: crypto in prod accounts → ask"); `None` when no
    /// playbook rule was consulted (an override, an analyst's action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

impl Plan {
    /// A plan that only notifies.
    pub fn notify_only(rule: &'static str, reason: String) -> Plan {
        Plan {
            rule,
            reason,
            actions: vec![Action::Notify],
            decided_by: None,
        }
    }

    /// True when the plan has an action of this kind.
    pub fn has(&self, kind: ActionKind) -> bool {
        self.actions.iter().any(|a| a.kind() == kind)
    }

    /// The first action of this kind.
    pub fn find(&self, kind: ActionKind) -> Option<&Action> {
        self.actions.iter().find(|a| a.kind() == kind)
    }

    /// True when the plan changes a resource (anything beyond notifying).
    pub fn changes_resources(&self) -> bool {
        self.actions.iter().any(|a| *a != Action::Notify)
    }

    /// True when the plan cuts an attacker off (isolation, revocation), not only gathers evidence.
    pub fn has_containment(&self) -> bool {
        self.actions.iter().any(Action::is_containment)
    }
}

/// The planned actions as outcomes, without touching anything.
pub fn dry_run(plan: &Plan) -> Vec<Outcome> {
    plan.actions
        .iter()
        .filter(|a| **a != Action::Notify)
        .map(|a| {
            Outcome::new(
                a.kind(),
                a.resource(),
                Status::Planned,
                "dry run: not carried out",
            )
        })
        .collect()
}

/// Every planned action as skipped, for `reason`.
pub fn skip_all(plan: &Plan, reason: &str) -> Vec<Outcome> {
    dry_run(plan)
        .into_iter()
        .map(|o| Outcome {
            status: Status::Skipped,
            detail: reason.to_string(),
            ..o
        })
        .collect()
}
