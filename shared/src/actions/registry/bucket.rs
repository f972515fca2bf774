//! An S3 bucket's actions: public access blocked, malware reads denied, and released.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};
use crate::tags;

pub(super) const BLOCK_PUBLIC_ACCESS: ActionSpec = ActionSpec {
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
};

pub(super) const DENY_MALWARE_READS: ActionSpec = ActionSpec {
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
};

pub(super) const RELEASE_BUCKET: ActionSpec = ActionSpec {
    kind: ReleaseBucket,
    name: "release-bucket",
    contains: false,
    // Its own reads and the records' removal; the undos it runs are declared by their actions.
    permissions: &["s3:GetBucketTagging", "s3:PutBucketTagging"],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};
