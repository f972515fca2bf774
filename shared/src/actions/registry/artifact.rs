//! An EBS snapshot's or AMI's actions: unshared, and its sharing restored.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};
use crate::tags;

pub(super) const UNSHARE: ActionSpec = ActionSpec {
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
};

pub(super) const RESTORE_SHARING: ActionSpec = ActionSpec {
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
};
