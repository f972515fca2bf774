//! Carries out a credential plan: cut the leaked credentials off first, record what is about to be
//! removed before removing it, then say on the user or role what happened.
//!
//! Rounds (each one concurrent round of calls; a deny policy's write is always preceded by a read
//! of the principal's inline policies, `ListUserPolicies`/`ListRolePolicies` → `Get…Policy` each,
//! to merge and size it, `actions/sessions/`):
//! - IAM user: `[GetUser ‖ ListAccessKeys ‖ GetLoginProfile]` → `[UpdateAccessKey Inactive ‖
//!   PutUserPolicy (deny sessions issued before the cutoff) ‖ TagUser (record of the password)]` →
//!   `[DeleteLoginProfile]` → `[PutUserPolicy (cutoff moved to after the last step)]` → `[TagUser]`.
//! - Role: `[GetRole ‖ DescribeInstances ‖ DescribeIamInstanceProfileAssociations]` →
//!   `[PutRolePolicy AWSRevokeOlderSessions, or the instance's minute policy ‖ CreateTags (record of
//!   the profile)]` → `[DisassociateIamInstanceProfile]` → `[PutRolePolicy (cutoff moved), or the
//!   instance's policy read back after a second and written again until it lists the instance]` →
//!   `[TagRole]`.
//!
//! The cutoff is rounded *up* to the next whole second, so every session issued before the response
//! is denied. When a step closes a way to get new sessions (the key deactivated, the password
//! removed, the profile taken off the instance), the cutoff is moved to after it: a session minted
//! with the leaked key or from the instance in the moments between does not survive either.
//!
//! `user` revokes a user's credentials, `role` a role's sessions (all of them, or one instance's);
//! `principal` is what both share: the gate at the principal's read, the deny in force, the tags
//! that end it.

mod principal;
mod role;
mod user;

use self::role::revoke_role;
use self::user::revoke_user;
use crate::execute::Request;
use crate::kind::ActionKind::{
    DeactivateAccessKey, DetachInstanceProfile, RemoveLoginProfile, RevokeInstanceSessions,
    RevokeRoleSessions, RevokeUserSessions,
};
use crate::outcome::Execution;
use crate::plan::Plan;
use crate::ports::{IamPorts, InstancesPort, Ports, ProfilesPort};

/// What a credential plan asks for.
#[derive(Default)]
struct Wanted<'a> {
    user: Option<&'a str>,
    key: Option<&'a str>,
    remove_login: bool,
    role: Option<&'a str>,
    /// Only the role's sessions issued to this instance.
    scoped: Option<&'a str>,
    detach: Option<&'a str>,
}

fn wanted(plan: &Plan) -> Wanted<'_> {
    let mut w = Wanted::default();
    for a in &plan.actions {
        match a.kind {
            RevokeUserSessions => w.user = a.user_name(),
            DeactivateAccessKey => w.key = a.access_key_id(),
            RemoveLoginProfile => w.remove_login = true,
            RevokeRoleSessions => w.role = a.role_name(),
            RevokeInstanceSessions => {
                w.role = a.role_name();
                w.scoped = a.instance_id();
            }
            DetachInstanceProfile => w.detach = a.instance_id(),
            _ => {}
        }
    }
    w
}

/// Carries out a credential plan.
pub async fn run<E: InstancesPort + ProfilesPort, S, I: IamPorts>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    let (iam, ec2) = (p.iam, p.ec2);
    let w = wanted(r.plan);
    if let Some(user) = w.user {
        revoke_user(iam, r, user, w.key, w.remove_login).await
    } else if let Some(role) = w.role {
        revoke_role(iam, ec2, r, role, w.scoped, w.detach).await
    } else {
        Execution::default()
    }
}
