//! The IAM user's and role's actions: an access key deactivated, sessions revoked, a console
//! password removed, the principal tagged.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};
use crate::tags;

pub(super) const DEACTIVATE_ACCESS_KEY: ActionSpec = ActionSpec {
    kind: DeactivateAccessKey,
    name: "deactivate-access-key",
    contains: true,
    permissions: &["iam:GetUser", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
    tags: &[tags::DEACTIVATED_KEY],
    undo_permissions: &[],
};

pub(super) const REVOKE_USER_SESSIONS: ActionSpec = ActionSpec {
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
};

pub(super) const REMOVE_LOGIN_PROFILE: ActionSpec = ActionSpec {
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
};

pub(super) const REVOKE_ROLE_SESSIONS: ActionSpec = ActionSpec {
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
};

pub(super) const REVOKE_INSTANCE_SESSIONS: ActionSpec = ActionSpec {
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
};

pub(super) const TAG_PRINCIPAL: ActionSpec = ActionSpec {
    kind: TagPrincipal,
    name: "tag-principal",
    contains: false,
    permissions: &["iam:TagUser", "iam:TagRole"],
    tags: &[tags::STATUS, tags::REVOKED_BEFORE, tags::FINDING],
    undo_permissions: &[],
};
