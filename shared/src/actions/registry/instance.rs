//! An instance's actions: the quarantine's steps, the approval it may wait for, the instance
//! profile detached, and the release.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};
use crate::tags;

const EC2_TAGS: &[&str] = &["ec2:CreateTags"];
const EC2_UNTAG: &[&str] = &["ec2:CreateTags", "ec2:DeleteTags"];

pub(super) const ISOLATE_INSTANCE: ActionSpec = ActionSpec {
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
};

pub(super) const DENY_NETWORK_ACL: ActionSpec = ActionSpec {
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
};

pub(super) const TAKE_OUT_OF_SERVICE: ActionSpec = ActionSpec {
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
};

pub(super) const PROTECT_EVIDENCE: ActionSpec = ActionSpec {
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
};

pub(super) const SNAPSHOT_VOLUMES: ActionSpec = ActionSpec {
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
};

pub(super) const TAG_INSTANCE: ActionSpec = ActionSpec {
    kind: TagInstance,
    name: "tag-instance",
    contains: false,
    permissions: EC2_TAGS,
    tags: &[tags::FINDING, tags::STATUS, tags::CONTAINED_AT],
    undo_permissions: EC2_UNTAG,
};

pub(super) const AWAIT_APPROVAL: ActionSpec = ActionSpec {
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
};

pub(super) const DETACH_INSTANCE_PROFILE: ActionSpec = ActionSpec {
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
};

pub(super) const RELEASE_INSTANCE: ActionSpec = ActionSpec {
    kind: ReleaseInstance,
    name: "release-instance",
    contains: false,
    // Its own reads and the records' removal; the undos it runs are declared by their actions.
    permissions: &["ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};
