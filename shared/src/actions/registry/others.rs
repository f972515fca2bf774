//! The declarations of the kinds no action module carries out: their schedulers do it themselves
//! (`execute/`), or the output floor does. Each names where.

use crate::actions::spec::ActionSpec;
use crate::kind::ActionKind::*;
use crate::tags;

/// `await-approval` (`execute/instance/preserve.rs`; the reminder, `reminder.rs`).
pub const AWAIT_APPROVAL: ActionSpec = ActionSpec {
    kind: AwaitApproval,
    // The status tag (written with tag-instance's call), on a decision who decided, and the
    // reminder: the waiting instances listed, the one reminder recorded.
    permissions: &["ec2:DescribeInstances", "ec2:CreateTags"],
    tags: &[
        tags::STATUS,
        tags::DECISION,
        tags::AWAITING_SINCE,
        tags::REMINDED_AT,
    ],
    undo_permissions: &["ec2:CreateTags", "ec2:DeleteTags"],
};

/// `release-instance` (`execute/release.rs`).
pub const RELEASE_INSTANCE: ActionSpec = ActionSpec {
    kind: ReleaseInstance,
    // Its own reads and the records' removal; the undos it runs are declared by their actions.
    permissions: &["ec2:DescribeInstances", "ec2:CreateTags", "ec2:DeleteTags"],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};

/// `unshare` (`execute/artifact.rs`).
pub const UNSHARE: ActionSpec = ActionSpec {
    kind: Unshare,
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

/// `restore-sharing` (`execute/artifact.rs`).
pub const RESTORE_SHARING: ActionSpec = ActionSpec {
    kind: RestoreSharing,
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

/// `release-function` (`execute/function/release.rs`).
pub const RELEASE_FUNCTION: ActionSpec = ActionSpec {
    kind: ReleaseFunction,
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
};

/// `release-bucket` (`execute/bucket.rs`).
pub const RELEASE_BUCKET: ActionSpec = ActionSpec {
    kind: ReleaseBucket,
    // Its own reads and the records' removal; the undos it runs are declared by their actions.
    permissions: &["s3:GetBucketTagging", "s3:PutBucketTagging"],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};

/// `stop-task` (`execute/task.rs`).
pub const STOP_TASK: ActionSpec = ActionSpec {
    kind: StopTask,
    permissions: &["ecs:DescribeTasks", "ecs:StopTask"],
    tags: &[],
    undo_permissions: &[],
};

/// `notify` (`respond.rs`, `digest.rs`).
pub const NOTIFY: ActionSpec = ActionSpec {
    kind: Notify,
    // The topic is encrypted with the stack's KMS key.
    permissions: &["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"],
    tags: &[],
    undo_permissions: &[],
};

/// `update-finding` (`custom_action.rs`).
pub const UPDATE_FINDING: ActionSpec = ActionSpec {
    kind: UpdateFinding,
    permissions: &["securityhub:BatchUpdateFindings"],
    tags: &[],
    undo_permissions: &[],
};
