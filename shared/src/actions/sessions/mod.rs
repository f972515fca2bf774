//! `revoke-user-sessions`, `revoke-role-sessions` and `revoke-instance-sessions`: an inline policy
//! denying every session issued before a cutoff, written on the user or the role (the [`Holder`]) —
//! for one instance's stolen credentials, only the sessions the role issued to that instance, in
//! the policy of the minute shared by every instance revoked in it (`denies/`) — the cutoff moved
//! past each step that closes a way to new sessions; and `tag-principal`, the holder tagged with
//! what was done.
//!
//! Every write is merged with what the principal holds and sized first against IAM's quota on its
//! inline policies. An instance's deny that does not fit becomes the role-wide one
//! (`AWSRevokeOlderSessions`), said so in the outcome and the notification. Concurrent revocations
//! of one role may each write the minute's policy from what they read: each reads it back after a
//! while and writes its instance again until it is there ([`Holder::settle`]). An instance with no
//! profile any more keeps the deny the role holds (a redelivery writes nothing); one with a
//! profile again moves to the current minute. When the principal's policies cannot be read, the
//! deny is written as earlier versions wrote it (an instance's: a policy of its own).
//! No automatic undo: deleting a policy would re-enable the stolen sessions (the notification
//! prints the command, with when it is safe); Firebreak prunes a policy itself once every
//! credential it covers has expired.
//!
//! Here the holder and the deny's types; `principal.rs`: the inline-policy calls on a user or a
//! role; `deny.rs`: the deny written; `settle.rs`: round 4, the cutoff moved and an instance's deny
//! read back; `outcome.rs`: the outcome of the revocation; `tag.rs`: `tag-principal`.

mod deny;
mod outcome;
mod principal;
mod settle;
pub mod tag;

use std::time::Duration;

use tokio::time::Instant;

use crate::actions::spec::ActionSpec;
use crate::denies::{Instance, NoRoom};
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::tags;

/// How long a revocation waits after writing an instance's minute policy before reading it back:
/// a concurrent revocation of the role that read the policy before this write, and so may write a
/// version without this instance, takes a few calls to write it, well within this (plus a jitter
/// per instance, so that the writes again do not collide). IAM has no conditional write.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// How many times an instance's deny is read back and written again at most.
pub const CONFIRM_ATTEMPTS: u32 = 8;
/// What the read-back leaves of the incident's deadline for the steps after it.
const CONFIRM_RESERVE: Duration = Duration::from_secs(3);

/// What `revoke-user-sessions` calls and writes.
pub const REVOKE_USER_SESSIONS: ActionSpec = ActionSpec {
    kind: ActionKind::RevokeUserSessions,
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

/// What `revoke-role-sessions` calls and writes.
pub const REVOKE_ROLE_SESSIONS: ActionSpec = ActionSpec {
    kind: ActionKind::RevokeRoleSessions,
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

/// What `revoke-instance-sessions` calls and writes.
pub const REVOKE_INSTANCE_SESSIONS: ActionSpec = ActionSpec {
    kind: ActionKind::RevokeInstanceSessions,
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

/// The sessions of a role issued to one instance.
#[derive(Clone, Copy)]
pub struct InstanceSessions<'a> {
    /// The role.
    pub role: &'a str,
    /// The instance.
    pub instance_id: &'a str,
    /// Its ARN.
    pub instance_arn: &'a str,
    /// Whether it may have fetched credentials of the role since an earlier deny: a profile is
    /// attached to it now, or that is unknown. When not, a deny the role already holds stands.
    pub fresh: bool,
}

/// Whose older sessions a deny policy cuts off: the one place the user and role paths differ in
/// writing the policy, reporting it, moving its cutoff and tagging the principal.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    /// An IAM user.
    User(&'a str),
    /// A role: every session of it.
    Role(&'a str),
    /// A role's sessions issued to one instance.
    Instance(InstanceSessions<'a>),
}

/// The deny in force after a revocation's writes.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The policy that denies the sessions.
    pub policy: String,
    /// Its cutoff.
    pub cutoff: String,
    /// Set when an instance's deny did not fit and every session of the role is denied instead:
    /// why.
    pub widened: Option<String>,
    /// The other instances the instance's minute policy lists, when read back.
    pub others: Option<usize>,
    /// An instance's deny the role already held (nothing written).
    pub already: bool,
    /// Set when the principal's inline policies could not be read, and the deny was written
    /// without merging or sizing, as earlier versions did: why.
    pub blind: Option<String>,
    /// An instance's (cutoff minute, instance) written, until read back.
    wanted: Vec<(String, Instance)>,
    /// The earlier versions' policies its writes took over.
    retire: Vec<(String, String, Instance)>,
    /// When it was last written.
    written: Instant,
    /// Whether it was read back (or needs no read-back).
    confirmed: bool,
}

impl Denial {
    /// A deny written with `policy` and `cutoff`, nothing to read back.
    pub fn written(policy: &str, cutoff: &str) -> Denial {
        Denial {
            policy: policy.to_string(),
            cutoff: cutoff.to_string(),
            widened: None,
            others: None,
            already: false,
            blind: None,
            wanted: Vec::new(),
            retire: Vec::new(),
            written: Instant::now(),
            confirmed: true,
        }
    }
}

/// Why no deny is in force.
#[derive(Debug, Clone)]
pub enum Refused {
    /// An AWS call failed.
    Aws(AwsError),
    /// The deny does not fit in the principal's inline policies.
    NoRoom(NoRoom),
    /// The finding's instance cannot go into a policy.
    Invalid(String),
    /// Written, and replaced by concurrent revocations each time it was read back.
    Unconfirmed(String),
}

impl<'a> Holder<'a> {
    /// The user or role name.
    pub fn name(self) -> &'a str {
        match self {
            Holder::User(n) | Holder::Role(n) => n,
            Holder::Instance(i) => i.role,
        }
    }

    fn action(self) -> ActionKind {
        match self {
            Holder::User(_) => ActionKind::RevokeUserSessions,
            Holder::Role(_) => ActionKind::RevokeRoleSessions,
            Holder::Instance(_) => ActionKind::RevokeInstanceSessions,
        }
    }
}
