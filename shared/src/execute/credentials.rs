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

use crate::actions::registry::ActionKind;
use crate::actions::sessions::{Denial, Holder, InstanceSessions, Refused};
use crate::actions::{access_key, login_profile, profile};
use crate::error::AwsError;
use crate::execute::Request;
use crate::incident::Incident;
use crate::outcome::{quiet, Execution, Marked, Outcome, Status, Told};
use crate::plan::{skip_all, Action, Plan};
use crate::ports::{
    AccessKeyFacts, IamPorts, InstancesPort, LoginProfileFacts, PrincipalFacts, ProfilesPort,
};
use crate::seal;
use crate::shell::{self, Command};
use crate::tags::{self, status};

fn succeeded(o: &Option<Outcome>) -> bool {
    o.as_ref().is_some_and(|o| o.status == Status::Succeeded)
}

/// True when no step that cuts the attacker off (the plan's containment actions) failed.
fn contained(plan: &Plan, outcomes: &[Outcome]) -> bool {
    !outcomes.iter().any(|o| {
        o.status == Status::Failed
            && plan
                .actions
                .iter()
                .any(|a| a.is_containment() && a.kind() == o.action)
    })
}

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
        match a {
            Action::RevokeUserSessions { user_name } => w.user = Some(user_name),
            Action::DeactivateAccessKey { access_key_id, .. } => w.key = Some(access_key_id),
            Action::RemoveLoginProfile { .. } => w.remove_login = true,
            Action::RevokeRoleSessions { role_name } => w.role = Some(role_name),
            Action::RevokeInstanceSessions {
                role_name,
                instance_id,
            } => {
                w.role = Some(role_name);
                w.scoped = Some(instance_id);
            }
            Action::DetachInstanceProfile { instance_id } => w.detach = Some(instance_id),
            _ => {}
        }
    }
    w
}

/// Carries out a credential plan.
pub async fn run<I: IamPorts, E: InstancesPort + ProfilesPort>(
    iam: &I,
    ec2: &E,
    r: Request<'_>,
) -> Execution {
    let w = wanted(r.plan);
    if let Some(user) = w.user {
        revoke_user(iam, r, user, w.key, w.remove_login).await
    } else if let Some(role) = w.role {
        revoke_role(iam, ec2, r, role, w.scoped, w.detach).await
    } else {
        Execution::default()
    }
}

/// The execution that ends at the principal's read (exempt, gone, or unknown), if it does. An
/// exemption that cannot be read is never taken as "not exempt": nothing is done, and the invocation
/// fails so that it is retried.
fn principal_gate(
    r: Request<'_>,
    kind: &str,
    name: &str,
    read: &Result<Option<PrincipalFacts>, AwsError>,
) -> Option<Execution> {
    let skipped = |why: String| {
        Some(Execution {
            outcomes: skip_all(r.plan, &why),
            ..Execution::default()
        })
    };
    match read {
        Ok(Some(p)) if p.tag(r.exempt_tag) == Some(tags::TRUE) => {
            skipped(format!("the {kind} is tagged {}=true", r.exempt_tag))
        }
        Ok(Some(_)) => None,
        Ok(None) => skipped(format!("the {kind} {name} no longer exists")),
        Err(e) => {
            let first = r.plan.actions.iter().find(|a| a.is_containment());
            let action = first.map_or(ActionKind::TagPrincipal, Action::kind);
            let why = format!(
                "could not read whether the {kind} {name} is exempt ({}): NOT acted on; the \
                 retry reads it again",
                r.exempt_tag
            );
            Some(Execution {
                outcomes: vec![Outcome::failed(action, name, &why, e)],
                completed: Some(false),
                ..Execution::default()
            })
        }
    }
}

type UserRead = (
    Result<Option<PrincipalFacts>, AwsError>,
    Option<Result<Vec<AccessKeyFacts>, AwsError>>,
    Option<Result<Option<LoginProfileFacts>, AwsError>>,
);

/// The user, its keys (when a key is to be deactivated), its console password (when it is to go).
async fn read_user<I: IamPorts>(iam: &I, user: &str, keys: bool, login: bool) -> UserRead {
    futures::join!(
        iam.user(user),
        async {
            match keys {
                true => Some(iam.access_keys(user).await),
                false => None,
            }
        },
        async {
            match login {
                true => Some(iam.login_profile(user).await),
                false => None,
            }
        }
    )
}

async fn revoke_user<I: IamPorts>(
    iam: &I,
    r: Request<'_>,
    user: &str,
    key: Option<&str>,
    remove_login: bool,
) -> Execution {
    // Round 1: the user (exists? exempt?), its keys, its console password.
    let (facts, keys, login) = read_user(iam, user, key.is_some(), remove_login).await;
    if let Some(skipped) = principal_gate(r, "IAM user", user, &facts) {
        return skipped;
    }
    let facts = facts.ok().flatten();
    let existing_login = login.as_ref().and_then(|l| l.clone().ok().flatten());
    let cutoff = r.clock.cutoff();

    // Round 2: the key off, older sessions denied, and the password recorded before it goes.
    let holder = Holder::User(user);
    let (deactivated, denied, recorded) = futures::join!(
        async {
            match key {
                Some(key) => Some(access_key::deactivate(iam, user, key, keys.as_ref()).await),
                None => None,
            }
        },
        holder.deny(iam, &cutoff, r.clock),
        login_profile::record(iam, user, existing_login.as_ref())
    );

    // Round 3: the console password, recorded or not (the record is also in the notification).
    let removed_login = match remove_login {
        true => Some(
            login_profile::remove(iam, user, facts.as_ref(), login.as_ref(), recorded.as_ref())
                .await,
        ),
        false => None,
    };

    // Round 4: move the cutoff past the steps that closed a way to new sessions, and tag the user.
    let closed = succeeded(&deactivated) || succeeded(&removed_login);
    let denied = holder
        .settle(iam, denied, closed, r.clock, r.deadline)
        .await;
    let revoked = holder.revoked(&denied);
    let cutoff = in_force(&denied, cutoff);
    let deactivated_key = key
        .filter(|_| succeeded(&deactivated))
        .map(|k| tags::pair(&tags::deactivated_key(k), &r.incident.finding_id));
    let mut outcomes: Vec<Outcome> = deactivated.into_iter().collect();
    outcomes.push(revoked);
    outcomes.extend(removed_login.clone());
    let (ok, tagged, told) = conclude(
        iam,
        r,
        holder,
        facts.as_ref(),
        &outcomes,
        &cutoff,
        deactivated_key.into_iter().collect(),
    )
    .await;
    outcomes.push(tagged);
    let password_removed = removed_login.map(|o| o.status) == Some(Status::Succeeded);
    Execution {
        completed: Some(ok),
        outcomes,
        undo: user_undo(
            user,
            key,
            &cutoff,
            password_removed.then_some(existing_login.as_ref()),
        ),
        warnings: tampering(user, facts.as_ref()),
        told: Some(told),
        ..Execution::default()
    }
}

/// The cutoff of the deny in force, else the one attempted.
fn in_force(denied: &Result<Denial, Refused>, attempted: String) -> String {
    denied.as_ref().map_or(attempted, |d| d.cutoff.clone())
}

/// What the team is told of forged records on the user or role (Firebreak acted on none of them).
fn tampering(name: &str, facts: Option<&PrincipalFacts>) -> Vec<String> {
    match facts.filter(|f| !f.forged.is_empty()) {
        Some(f) => vec![seal::tampering(name, &f.forged)],
        None => Vec::new(),
    }
}

/// Whether the credentials are contained (no containment step failed), and the holder tagged with
/// the status, the cutoff and `extra`.
async fn conclude<I: IamPorts>(
    iam: &I,
    r: Request<'_>,
    holder: Holder<'_>,
    facts: Option<&PrincipalFacts>,
    outcomes: &[Outcome],
    cutoff: &str,
    extra: Vec<(String, String)>,
) -> (bool, Outcome, Told) {
    let ok = contained(r.plan, outcomes);
    let status = match (ok, holder) {
        (false, _) => status::REVOCATION_FAILED,
        (true, Holder::User(_)) => status::CREDENTIALS_REVOKED,
        (true, Holder::Role(_) | Holder::Instance(_)) => status::SESSIONS_REVOKED,
    };
    // The mark that the team was told stays only while nothing changes.
    let had = facts.and_then(|f| f.tag(tags::STATUS));
    let already =
        had.is_some_and(|v| status::word(v) == status && status::is_told(v) && quiet(outcomes));
    let value = match already {
        true => status::told(status),
        false => status.to_string(),
    };
    let tagged = holder
        .tag(iam, facts, r.incident, &value, cutoff, extra)
        .await;
    let on = match holder {
        Holder::User(n) => Marked::User(n.to_string()),
        Holder::Role(n) | Holder::Instance(InstanceSessions { role: n, .. }) => {
            Marked::Role(n.to_string())
        }
    };
    let told = Told {
        on,
        mark: tags::pair(tags::STATUS, status::told(status)),
        already,
    };
    (ok, tagged, told)
}

/// How to undo a user's revocation, one command a line. `password`: `Some` when it was removed
/// (with what it was, when known).
fn user_undo(
    user: &str,
    key: Option<&str>,
    cutoff: &str,
    password: Option<Option<&LoginProfileFacts>>,
) -> Vec<String> {
    let mut undo = Vec::new();
    if let Some(key) = key {
        undo.push(access_key::undo_command(user, key));
    }
    undo.push(
        Command::new("aws iam delete-user-policy")
            .arg("--user-name", shell::IAM_USER, user)
            .arg("--policy-name", shell::IAM_POLICY, tags::USER_REVOKE_POLICY)
            .or_note(|c| {
                format!(
                    "{c}   (re-enables the user's sessions issued before {cutoff}: wait until they \
                     expire, at most 36 h)"
                )
            }),
    );
    if let Some(existing) = password {
        undo.push(login_profile::undo_command(user, existing));
    }
    let list_tags =
        Command::new("aws iam list-user-tags").arg("--user-name", shell::IAM_USER, user);
    undo.push(format!(
        "then remove the user's firebreak:* tags: {}",
        list_tags.or_note(|c| c)
    ));
    undo
}

async fn revoke_role<I: IamPorts, E: InstancesPort + ProfilesPort>(
    iam: &I,
    ec2: &E,
    r: Request<'_>,
    role: &str,
    scoped: Option<&str>,
    detach: Option<&str>,
) -> Execution {
    // Round 1: the role (exists? exempt?), and the instance and its profile association.
    let (facts, read) = futures::join!(iam.role(role), profile::read(ec2, detach));
    if let Some(skipped) = principal_gate(r, "IAM role", role, &facts) {
        return skipped;
    }
    let facts = facts.ok().flatten();
    let cutoff = r.clock.cutoff();
    // Whether the instance may have new credentials of the role: unless it is known to have no
    // profile now (detached earlier, terminated).
    let fresh = !matches!(read.association, Some(Ok(None)));
    // What to do about the instance: detach, or why not.
    let detach_plan = detach.map(|id| (id, profile::decide(id, read, r.exempt_tag)));

    // Round 2: revoke, and record the profile on the instance before it is removed.
    let arn = scoped.map(|i| instance_arn(r.incident, i));
    let holder = role_holder(role, scoped.zip(arn.as_deref()), fresh);
    let record = async {
        match &detach_plan {
            Some((id, Ok(a))) => Some(profile::record(ec2, id, a, &r.incident.finding_id).await),
            _ => None,
        }
    };
    let (denied, recorded) = futures::join!(holder.deny(iam, &cutoff, r.clock), record);

    // Round 3: take the profile off the instance, so it cannot fetch new credentials.
    let detached = match &detach_plan {
        None => None,
        Some((_, Err(o))) => Some(o.clone()),
        Some((id, Ok(a))) => {
            let recorded = matches!(recorded, Some(Ok(())));
            Some(profile::detach(ec2, id, a, recorded).await)
        }
    };
    let removed_profile = match (&detach_plan, &detached) {
        (Some((_, Ok(a))), Some(o)) if o.status == Status::Succeeded => {
            Some(a.instance_profile_arn.clone())
        }
        _ => None,
    };

    // Round 4: cutoff past the detachment, an instance's deny read back; tag the role.
    let denied = holder
        .settle(iam, denied, succeeded(&detached), r.clock, r.deadline)
        .await;
    let mut outcomes = vec![holder.revoked(&denied)];
    let cutoff = in_force(&denied, cutoff);
    outcomes.extend(detached);
    let (ok, tagged, told) =
        conclude(iam, r, holder, facts.as_ref(), &outcomes, &cutoff, vec![]).await;
    outcomes.push(tagged);
    Execution {
        completed: Some(ok),
        outcomes,
        undo: role_undo(
            holder,
            denied.as_ref().ok(),
            removed_profile.zip(detach),
            &r.incident.region,
        ),
        warnings: [
            tampering(role, facts.as_ref()),
            role_warning(holder, denied.as_ref().ok()),
        ]
        .concat(),
        told: Some(told),
        ..Execution::default()
    }
}

/// The role's every session, or (`scoped`: the instance and its ARN) those issued to one instance.
fn role_holder<'a>(role: &'a str, scoped: Option<(&'a str, &'a str)>, fresh: bool) -> Holder<'a> {
    match scoped {
        Some((instance_id, instance_arn)) => Holder::Instance(InstanceSessions {
            role,
            instance_id,
            instance_arn,
            fresh,
        }),
        None => Holder::Role(role),
    }
}

/// `arn:<partition>:ec2:<region>:<account>:instance/<id>`.
fn instance_arn(incident: &Incident, instance_id: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{}:instance/{instance_id}",
        incident.partition, incident.region, incident.account
    )
}

/// What the team must know about a role's revocation: who else it cuts off, or that it does not.
fn role_warning(holder: Holder<'_>, denied: Option<&Denial>) -> Vec<String> {
    let role = holder.name();
    let Some(d) = denied else {
        return Vec::new();
    };
    let cutoff = &d.cutoff;
    let everyone = format!(
        "Every session of role {role} issued before {cutoff} is denied, including those of \
         other instances, functions or people using the role: they keep failing until they get new \
         credentials (EC2 instances refresh theirs automatically before expiry). IAM may take a few \
         minutes to apply the policy everywhere."
    );
    let shared = match d.policy.starts_with(tags::INSTANCE_SESSIONS_POLICY_PREFIX) {
        true => format!(
            ", which lists every instance of the role revoked in that minute{}",
            others(d)
        ),
        false => String::new(),
    };
    let warning = match (holder, &d.widened) {
        (Holder::Instance(i), None) => format!(
            "Only the sessions of role {role} issued to instance {} before {cutoff} are denied \
             ({}{shared}): the role's other instances, functions and people are not affected. To \
             deny every session of the role, choose FbRevoke on the finding in Security Hub. IAM \
             may take a few minutes to apply the policy everywhere.",
            i.instance_id, d.policy
        ),
        (Holder::Instance(_), Some(why)) => format!(
            "NOT ONLY THE INSTANCE'S SESSIONS: {why}. {everyone} Firebreak prunes the role's \
             instance policies once every session they deny has expired (36 h after their \
             cutoff), which makes room again."
        ),
        _ => everyone,
    };
    vec![warning]
}

/// `, N others` of an instance's minute policy, when it was read back.
fn others(d: &Denial) -> String {
    match d.others {
        Some(0) | None => String::new(),
        Some(1) => ": one other".to_string(),
        Some(n) => format!(": {n} others"),
    }
}

/// How to undo a role's revocation. `denied`: the deny in force; `profile`: the profile removed
/// and its instance.
fn role_undo(
    holder: Holder<'_>,
    denied: Option<&Denial>,
    profile: Option<(String, &str)>,
    region: &str,
) -> Vec<String> {
    let role = holder.name();
    let mut undo = Vec::new();
    if let Some(d) = denied {
        let whose = match (holder, &d.widened) {
            (Holder::Instance(_), None) => "of every instance it lists",
            _ => "of the role",
        };
        let cutoff = &d.cutoff;
        undo.push(
            Command::new("aws iam delete-role-policy")
                .arg("--role-name", shell::IAM_ROLE, role)
                .arg("--policy-name", shell::IAM_POLICY, &d.policy)
                .or_note(|c| {
                    format!(
                        "{c}   (re-enables the stolen sessions {whose} if they have not expired: \
                         wait at least 36 h after {cutoff}, the longest a temporary credential \
                         lasts; Firebreak deletes an instance policy itself at the role's first \
                         revocation after that)"
                    )
                }),
        );
    }
    if let Some((arn, id)) = profile {
        undo.push(
            Command::new("aws ec2 associate-iam-instance-profile")
                .arg("--region", shell::REGION, region)
                .arg("--instance-id", shell::INSTANCE, id)
                .arg_with("--iam-instance-profile", "Arn=", shell::ARN, &arn)
                .or_note(|c| format!("{c}   (only once the instance is known to be clean)")),
        );
    }
    let list_tags =
        Command::new("aws iam list-role-tags").arg("--role-name", shell::IAM_ROLE, role);
    undo.push(format!(
        "then remove the role's firebreak:* tags: {}",
        list_tags.or_note(|c| c)
    ));
    undo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::testing::{assert_pasteable, HOSTILE};

    const CUTOFF: &str = "2026-11-30T03:00:00Z";

    /// The undo lines as the notification prints them.
    fn text(lines: Vec<String>) -> String {
        lines.iter().map(|l| format!("  {l}\n")).collect()
    }

    fn user(user: &str, key: &str, created: &str) -> String {
        let login = LoginProfileFacts {
            created: created.into(),
            password_reset_required: true,
        };
        text(user_undo(user, Some(key), CUTOFF, Some(Some(&login))))
    }

    #[test]
    fn a_user_s_undo_prints_only_a_valid_user_and_key() {
        let (name, key, created) = ("alice", "AKIAIOSFODNN7EXAMPLE", "2026-01-02T03:04:05Z");
        let ordinary = user(name, key, created);
        for needle in [
            "  aws iam update-access-key --user-name alice --access-key-id AKIAIOSFODNN7EXAMPLE \
             --status Active   (better: create a new key for the user and delete AKIAIOSFODNN7EXAMPLE)\n",
            "  aws iam delete-user-policy --user-name alice --policy-name \
             FirebreakRevokeOlderSessions   (re-enables the user's sessions issued before \
             2026-11-30T03:00:00Z: wait until they expire, at most 36 h)\n",
            "  aws iam create-login-profile --user-name alice --password-reset-required --password \
             '<new temporary password>'   (the old password cannot be restored; it existed since \
             2026-01-02T03:04:05Z, reset required: true)\n",
            "  then remove the user's firebreak:* tags: aws iam list-user-tags --user-name alice\n",
        ] {
            assert!(ordinary.contains(needle), "{needle}\nnot in\n{ordinary}");
        }
        assert_eq!(crate::shell::testing::check(&ordinary), Ok(4));
        for hostile in HOSTILE.iter().chain(&["bob`id`", "a b"]) {
            let by_user = user(hostile, key, created);
            assert_eq!(by_user.matches("(not printed: ").count(), 4, "{by_user}");
            assert_pasteable(&by_user, &ordinary);
            let by_key = user(name, hostile, created);
            assert_eq!(by_key.matches("(not printed: ").count(), 1, "{by_key}");
            assert_pasteable(&by_key, &ordinary);
            assert_pasteable(&user(name, key, hostile), &ordinary);
        }
    }

    fn role(holder: Holder<'_>, arn: &str, id: &str, region: &str) -> String {
        let policy = match holder {
            Holder::Instance(_) => tags::instance_sessions_policy(CUTOFF),
            _ => tags::ROLE_REVOKE_POLICY.to_string(),
        };
        let denied = Denial::written(&policy, CUTOFF);
        text(role_undo(
            holder,
            Some(&denied),
            Some((arn.to_string(), id)),
            region,
        ))
    }

    #[test]
    fn a_role_s_undo_prints_only_a_valid_role_instance_profile_and_region() {
        let (arn, id) = (
            "arn:aws:iam::123456789012:instance-profile/web",
            "i-0123456789abcdef0",
        );
        let scoped = |role, instance_id| {
            Holder::Instance(InstanceSessions {
                role,
                instance_id,
                instance_arn: "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
                fresh: true,
            })
        };
        let ordinary = role(scoped("web", id), arn, id, "us-east-1");
        for needle in [
            "  aws iam delete-role-policy --role-name web --policy-name \
             FirebreakRevokeInstanceSessions-20261130T030000Z   (re-enables the stolen sessions \
             of every instance it lists if they have not expired: wait at least 36 h after \
             2026-11-30T03:00:00Z, the longest a temporary credential lasts; Firebreak deletes an \
             instance policy itself at the role's first revocation after that)\n",
            "  aws ec2 associate-iam-instance-profile --region us-east-1 --instance-id \
             i-0123456789abcdef0 --iam-instance-profile \
             Arn=arn:aws:iam::123456789012:instance-profile/web   (only once the instance is \
             known to be clean)\n",
            "  then remove the role's firebreak:* tags: aws iam list-role-tags --role-name web\n",
        ] {
            assert!(ordinary.contains(needle), "{needle}\nnot in\n{ordinary}");
        }
        for hostile in HOSTILE
            .iter()
            .chain(&["arn:aws:iam::123456789012:instance-profile/a b"])
        {
            for text in [
                role(Holder::Role(hostile), arn, id, "us-east-1"),
                role(scoped(hostile, id), arn, id, "us-east-1"),
                role(scoped("web", hostile), arn, hostile, "us-east-1"),
                role(scoped("web", id), hostile, id, "us-east-1"),
                role(scoped("web", id), arn, id, hostile),
            ] {
                assert!(text.contains("(not printed: "), "{text}");
                assert_pasteable(&text, &ordinary);
            }
        }
    }
}
