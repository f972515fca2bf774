//! The action registry: one declaration per kind of action Firebreak takes — its name (in plans,
//! logs, tags and notes), whether it cuts an attacker off, the IAM actions it calls, the tags it
//! writes, and the IAM actions its undo (`FbRelease`) calls. Permissions and the template checks are
//! derived from here (`permissions.rs`, `tests/template_permissions.rs`); a test fails any kind that
//! declares none.
//!
//! To add an action: a variant here and its [`ActionSpec`] in [`REGISTRY`], a module under
//! `actions/` with its process and undo, a round in the scheduler (`execute/`), a row in
//! `docs/actions.md` (its IAM table is generated: `FIREBREAK_BLESS=1 cargo test -p firebreak
//! --test docs_actions`).

use serde::Serialize;

use crate::tags;

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

use ActionKind::*;

const EC2_TAGS: &[&str] = &["ec2:CreateTags"];
const EC2_UNTAG: &[&str] = &["ec2:CreateTags", "ec2:DeleteTags"];

/// One declaration per kind, in [`ActionKind`] order.
pub const REGISTRY: &[ActionSpec] = &[
    ActionSpec {
        kind: IsolateInstance,
        name: "isolate-instance",
        contains: true,
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:CreateTags",
        ],
        tags: &[tags::ISOLATION],
        undo_permissions: &[
            "ec2:DescribeSecurityGroups",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
    },
    ActionSpec {
        kind: DenyNetworkAcl,
        name: "deny-network-acl",
        // Security-group isolation is the containment; the ACL cuts what it cannot. Its failure
        // is reported (and retried), not a containment failure.
        contains: false,
        permissions: &[
            "ec2:DescribeNetworkAcls",
            "ec2:CreateNetworkAclEntry",
            "ec2:CreateTags",
        ],
        tags: &[tags::ACL_DENIES],
        undo_permissions: &[
            "ec2:DescribeNetworkAcls",
            "ec2:DeleteNetworkAclEntry",
            "ec2:DeleteTags",
        ],
    },
    ActionSpec {
        kind: TakeOutOfService,
        name: "take-out-of-service",
        contains: false,
        permissions: &[
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:EnterStandby",
            "autoscaling:DetachInstances",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "elasticloadbalancing:DeregisterTargets",
            "ec2:DescribeAddresses",
            "ec2:DisassociateAddress",
            "ec2:CreateTags",
        ],
        tags: &[tags::AUTO_SCALING, tags::OUT_OF_SERVICE],
        undo_permissions: &[
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:ExitStandby",
            "autoscaling:AttachInstances",
            "elasticloadbalancing:RegisterTargets",
            "ec2:AssociateAddress",
            "ec2:CreateTags",
            "ec2:DeleteTags",
        ],
    },
    ActionSpec {
        kind: ProtectEvidence,
        name: "protect-evidence",
        contains: false,
        permissions: &[
            "ec2:DescribeInstanceAttribute",
            "ec2:ModifyInstanceAttribute",
            "ec2:CreateTags",
        ],
        tags: &[tags::EVIDENCE],
        undo_permissions: &["ec2:ModifyInstanceAttribute", "ec2:DeleteTags"],
    },
    ActionSpec {
        kind: SnapshotVolumes,
        name: "snapshot-volumes",
        contains: false,
        permissions: &[
            "ec2:DescribeSnapshots",
            "ec2:CreateSnapshots",
            "ec2:CreateSnapshot",
            "ec2:CreateTags",
        ],
        // On the snapshots, not the instance. Evidence is kept on release: no undo.
        tags: &[
            tags::FINDING,
            tags::SNAPSHOT_INSTANCE,
            tags::SNAPSHOT_TAKEN_AT,
        ],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: TagInstance,
        name: "tag-instance",
        contains: false,
        permissions: EC2_TAGS,
        tags: &[tags::FINDING, tags::STATUS, tags::CONTAINED_AT],
        undo_permissions: EC2_UNTAG,
    },
    ActionSpec {
        kind: AwaitApproval,
        name: "await-approval",
        contains: false,
        // The status tag (written with tag-instance's call), on a decision who decided, and the
        // reminder: the waiting instances listed, the one reminder recorded.
        permissions: &["ec2:DescribeInstances", "ec2:CreateTags"],
        tags: &[
            tags::STATUS,
            tags::DECISION,
            tags::AWAITING_SINCE,
            tags::REMINDED_AT,
        ],
        undo_permissions: EC2_UNTAG,
    },
    ActionSpec {
        kind: DeactivateAccessKey,
        name: "deactivate-access-key",
        contains: true,
        permissions: &["iam:GetUser", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
        tags: &[tags::DEACTIVATED_KEY],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: RevokeUserSessions,
        name: "revoke-user-sessions",
        contains: true,
        // The user's inline policies read first: sized against IAM's quota, an earlier cutoff kept.
        permissions: &[
            "iam:GetUser",
            "iam:ListUserPolicies",
            "iam:GetUserPolicy",
            "iam:PutUserPolicy",
        ],
        tags: &[tags::REVOKED_BEFORE],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: RemoveLoginProfile,
        name: "remove-login-profile",
        contains: true,
        permissions: &[
            "iam:GetLoginProfile",
            "iam:DeleteLoginProfile",
            "iam:TagUser",
        ],
        tags: &[tags::LOGIN_PROFILE],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: RevokeRoleSessions,
        name: "revoke-role-sessions",
        contains: true,
        // The role's inline policies read first: sized, an earlier cutoff kept, the expired
        // instance policies pruned.
        permissions: &[
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ],
        tags: &[tags::REVOKED_BEFORE],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: RevokeInstanceSessions,
        name: "revoke-instance-sessions",
        contains: true,
        // The role's inline policies read, merged, sized and read back; the expired and the
        // earlier versions' per-instance ones deleted.
        permissions: &[
            "iam:GetRole",
            "iam:ListRolePolicies",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
        ],
        tags: &[tags::REVOKED_BEFORE],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: DetachInstanceProfile,
        name: "detach-instance-profile",
        contains: true,
        permissions: &[
            "ec2:DescribeInstances",
            "ec2:DescribeIamInstanceProfileAssociations",
            "ec2:DisassociateIamInstanceProfile",
            "ec2:CreateTags",
        ],
        tags: &[tags::REMOVED_PROFILE, tags::REMOVED_PROFILE_FINDING],
        // Attaching an instance profile passes its role to EC2.
        undo_permissions: &[
            "ec2:DescribeIamInstanceProfileAssociations",
            "ec2:AssociateIamInstanceProfile",
            "iam:PassRole",
            "ec2:DeleteTags",
        ],
    },
    ActionSpec {
        kind: ReleaseInstance,
        name: "release-instance",
        contains: false,
        // Its own reads and the records' removal; the undos it runs are declared by their actions.
        permissions: &["ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"],
        tags: &[tags::RELEASED_AT],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: TagPrincipal,
        name: "tag-principal",
        contains: false,
        permissions: &["iam:TagUser", "iam:TagRole"],
        tags: &[tags::STATUS, tags::REVOKED_BEFORE, tags::FINDING],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: Unshare,
        name: "unshare",
        contains: true,
        permissions: &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeSnapshotAttribute",
            "ec2:ModifySnapshotAttribute",
            "ec2:DescribeImages",
            "ec2:DescribeImageAttribute",
            "ec2:ModifyImageAttribute",
            "ec2:CreateTags",
        ],
        tags: &[tags::SHARED_WITH],
        undo_permissions: &[
            "ec2:ModifySnapshotAttribute",
            "ec2:ModifyImageAttribute",
            "ec2:DeleteTags",
        ],
    },
    ActionSpec {
        kind: RestoreSharing,
        name: "restore-sharing",
        contains: false,
        permissions: &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeImages",
            "ec2:ModifySnapshotAttribute",
            "ec2:ModifyImageAttribute",
            "ec2:DeleteTags",
        ],
        tags: &[],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: StopFunction,
        name: "stop-function",
        contains: true,
        permissions: &[
            "lambda:GetFunction",
            "lambda:ListTags",
            "lambda:ListProvisionedConcurrencyConfigs",
            "lambda:DeleteProvisionedConcurrencyConfig",
            "lambda:PutFunctionConcurrency",
            "lambda:TagResource",
        ],
        tags: &[
            tags::CONCURRENCY,
            tags::PROVISIONED,
            tags::FINDING,
            tags::STATUS,
            tags::CONTAINED_AT,
        ],
        undo_permissions: &[
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:PutProvisionedConcurrencyConfig",
            "lambda:UntagResource",
        ],
    },
    ActionSpec {
        kind: DisableEventSources,
        name: "disable-event-sources",
        contains: true,
        permissions: &[
            "lambda:ListEventSourceMappings",
            "lambda:ListAliases",
            "lambda:UpdateEventSourceMapping",
            "lambda:TagResource",
        ],
        tags: &[tags::EVENT_SOURCES],
        undo_permissions: &["lambda:UpdateEventSourceMapping", "lambda:UntagResource"],
    },
    ActionSpec {
        kind: IsolateFunction,
        name: "isolate-function",
        contains: true,
        permissions: &[
            "lambda:UpdateFunctionConfiguration",
            "lambda:GetFunctionConfiguration",
            "lambda:TagResource",
            "ec2:DescribeSecurityGroups",
            "ec2:CreateSecurityGroup",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:CreateTags",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
        ],
        tags: &[tags::VPC_GROUPS],
        undo_permissions: &[
            "lambda:UpdateFunctionConfiguration",
            "lambda:GetFunctionConfiguration",
            "lambda:UntagResource",
        ],
    },
    ActionSpec {
        kind: RevokeFunctionSessions,
        name: "revoke-function-sessions",
        contains: true,
        permissions: &["iam:GetRole", "iam:PutRolePolicy"],
        tags: &[],
        // The undo reads the policy an earlier version named by the function's name alone.
        undo_permissions: &["iam:DeleteRolePolicy", "iam:GetRolePolicy"],
    },
    ActionSpec {
        kind: ReleaseFunction,
        name: "release-function",
        contains: false,
        // Its own reads and the records' removal; the undos it runs are declared by their actions.
        // An earlier version's unsealed records are checked against the function's own mappings
        // and the VPC's security groups.
        permissions: &[
            "lambda:GetFunction",
            "lambda:ListTags",
            "lambda:ListEventSourceMappings",
            "lambda:ListAliases",
            "ec2:DescribeSecurityGroups",
            "lambda:TagResource",
            "lambda:UntagResource",
        ],
        tags: &[tags::RELEASED_AT],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: BlockPublicAccess,
        name: "block-public-access",
        contains: true,
        permissions: &[
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
        ],
        tags: &[tags::PUBLIC_ACCESS_BLOCK, tags::FINDING],
        // DeletePublicAccessBlock is authorized as s3:PutBucketPublicAccessBlock.
        undo_permissions: &["s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging"],
    },
    ActionSpec {
        kind: DenyMalwareReads,
        name: "deny-malware-reads",
        contains: true,
        permissions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
        ],
        tags: &[tags::MALWARE_DENY, tags::FINDING],
        undo_permissions: &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
            "s3:PutBucketTagging",
        ],
    },
    ActionSpec {
        kind: ReleaseBucket,
        name: "release-bucket",
        contains: false,
        // Its own reads and the records' removal; the undos it runs are declared by their actions.
        permissions: &["s3:GetBucketTagging", "s3:PutBucketTagging"],
        tags: &[tags::RELEASED_AT],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: StopTask,
        name: "stop-task",
        contains: true,
        permissions: &["ecs:DescribeTasks", "ecs:StopTask"],
        tags: &[],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: Notify,
        name: "notify",
        contains: false,
        // The topic is encrypted with the stack's KMS key.
        permissions: &["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"],
        tags: &[],
        undo_permissions: &[],
    },
    ActionSpec {
        kind: UpdateFinding,
        name: "update-finding",
        contains: false,
        permissions: &["securityhub:BatchUpdateFindings"],
        tags: &[],
        undo_permissions: &[],
    },
];

impl ActionKind {
    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = ActionKind> {
        REGISTRY.iter().map(|s| s.kind)
    }

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        &REGISTRY[self as usize]
    }

    /// The kebab-case name used in plans, logs, tags and notes.
    pub fn name(self) -> &'static str {
        self.spec().name
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

    /// True when its failure is a containment failure.
    pub fn is_containment(self) -> bool {
        self.spec().contains
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
    fn the_registry_is_in_kind_order_and_names_match_serde() {
        for (i, kind) in ActionKind::all().enumerate() {
            // `spec()` indexes the registry by the enum's discriminant.
            assert_eq!(kind as usize, i);
            assert_eq!(kind.spec().kind, kind);
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_name.as_str(), Some(kind.name()));
            assert_eq!(kind.to_string(), kind.name());
        }
    }

    #[test]
    fn every_kind_declares_its_permissions() {
        for spec in REGISTRY {
            assert!(
                !spec.permissions.is_empty(),
                "{} declares no IAM actions",
                spec.name
            );
            for p in spec.permissions.iter().chain(spec.undo_permissions) {
                let (service, action) = p.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && action.starts_with(char::is_uppercase),
                    "{}: {p} is not service:Action",
                    spec.name
                );
            }
        }
    }
}
