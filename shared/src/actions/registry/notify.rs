//! What every response may do beside acting on the resource: the team told, the finding updated.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};

pub(super) const NOTIFY: ActionSpec = ActionSpec {
    kind: Notify,
    name: "notify",
    contains: false,
    // The topic is encrypted with the stack's KMS key.
    permissions: &["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"],
    tags: &[],
    undo_permissions: &[],
};

pub(super) const UPDATE_FINDING: ActionSpec = ActionSpec {
    kind: UpdateFinding,
    name: "update-finding",
    contains: false,
    permissions: &["securityhub:BatchUpdateFindings"],
    tags: &[],
    undo_permissions: &[],
};
