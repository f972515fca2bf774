//! Carries out a credential plan through the ports: cut the leaked credentials off first, record
//! what is about to be removed before removing it, then say on the user or role what happened.
//!
//! Rounds (each one concurrent round of calls):
//! - IAM user: `[GetUser ‖ ListAccessKeys ‖ GetLoginProfile]` → `[UpdateAccessKey Inactive ‖
//!   PutUserPolicy (deny sessions issued before the cutoff) ‖ TagUser (record of the password)]` →
//!   `[DeleteLoginProfile]` → `[PutUserPolicy (cutoff moved to after the last step) ‖ TagUser]`.
//! - Role: `[GetRole ‖ DescribeInstances ‖ DescribeIamInstanceProfileAssociations]` →
//!   `[PutRolePolicy AWSRevokeOlderSessions ‖ CreateTags (record of the profile)]` →
//!   `[DisassociateIamInstanceProfile]` → `[PutRolePolicy (cutoff moved) ‖ TagRole]`.
//!
//! The cutoff is rounded *up* to the next whole second, so every session issued before the response
//! is denied. When a step closes a way to get new sessions (the key deactivated, the password
//! removed, the profile taken off the instance), the cutoff is moved to after it: a session minted
//! with the leaked key or from the instance in the moments between does not survive either.

use serde_json::json;

use crate::error::AwsError;
use crate::executor::{skip_all, Execution, Outcome, Status, FINDING_TAG, STATUS_TAG};
use crate::incident::Incident;
use crate::playbook::{Action, Plan};
use crate::ports::{Ec2Port, IamPort, PrincipalFacts, ProfileAssociation};

/// The inline role policy the IAM console's "Revoke active sessions" writes; Firebreak writes the same.
pub const ROLE_REVOKE_POLICY: &str = "AWSRevokeOlderSessions";
/// The inline user policy denying the user's sessions issued before the cutoff.
pub const USER_REVOKE_POLICY: &str = "FirebreakRevokeOlderSessions";
/// Tag with the cutoff: sessions issued before it are denied.
pub const REVOKED_BEFORE_TAG: &str = "firebreak:sessions-revoked-before";
/// Prefix of the user tag recording a key Firebreak deactivated: `firebreak:deactivated-key:<id>`.
pub const DEACTIVATED_KEY_TAG: &str = "firebreak:deactivated-key:";
/// User tag recording the console password Firebreak removed (when it was created, reset flag).
pub const LOGIN_PROFILE_TAG: &str = "firebreak:removed-login-profile";
/// Instance tag recording the instance profile Firebreak removed (its ARN).
pub const REMOVED_PROFILE_TAG: &str = "firebreak:removed-instance-profile";
/// Instance tag naming the finding that made Firebreak remove the profile.
pub const REMOVED_PROFILE_FINDING_TAG: &str = "firebreak:removed-instance-profile-finding";

/// The time now rounded up to the next whole second, RFC 3339: every session issued so far is older.
pub fn cutoff_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() + u64::from(now.subsec_nanos() > 0);
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// The deny-older-sessions policy document (the shape the IAM console uses for roles).
pub fn revoke_policy(cutoff: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {"aws:TokenIssueTime": cutoff}}
        }]
    })
    .to_string()
}

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
                .any(|a| a.is_containment() && a.name() == o.action)
    })
}

/// Whose older sessions a deny policy cuts off: the one place the user and role paths differ in
/// writing the policy, reporting it, moving its cutoff and tagging the principal.
#[derive(Clone, Copy)]
enum Holder<'a> {
    User(&'a str),
    Role(&'a str),
}

impl<'a> Holder<'a> {
    fn name(self) -> &'a str {
        match self {
            Holder::User(n) | Holder::Role(n) => n,
        }
    }

    fn policy(self) -> &'static str {
        match self {
            Holder::User(_) => USER_REVOKE_POLICY,
            Holder::Role(_) => ROLE_REVOKE_POLICY,
        }
    }

    async fn put_policy<I: IamPort>(self, iam: &I, cutoff: &str) -> Result<(), AwsError> {
        let document = revoke_policy(cutoff);
        match self {
            Holder::User(n) => iam.put_user_policy(n, USER_REVOKE_POLICY, &document).await,
            Holder::Role(n) => iam.put_role_policy(n, ROLE_REVOKE_POLICY, &document).await,
        }
    }

    /// The outcome of writing the deny policy with `cutoff`.
    fn revoked(self, written: Result<(), AwsError>, cutoff: &str) -> Outcome {
        let (action, failure) = match self {
            Holder::User(_) => (
                "revoke-user-sessions",
                "could not deny the user's older sessions",
            ),
            Holder::Role(_) => (
                "revoke-role-sessions",
                "could not revoke the role's sessions",
            ),
        };
        match written {
            Ok(()) => Outcome::new(
                action,
                self.name(),
                Status::Succeeded,
                format!(
                    "{} denies every session issued before {cutoff}",
                    self.policy()
                ),
            ),
            Err(e) => Outcome::failed(action, self.name(), failure, &e),
        }
    }

    /// When this invocation closed a way to new sessions and the policy stands, writes it again
    /// with the cutoff moved past that step; returns the cutoff in force.
    async fn move_cutoff<I: IamPort>(
        self,
        iam: &I,
        closed: bool,
        revoked: &mut Outcome,
        cutoff: String,
    ) -> String {
        if !closed || revoked.status != Status::Succeeded {
            return cutoff;
        }
        let later = cutoff_now();
        match self.put_policy(iam, &later).await {
            Ok(()) => {
                *revoked = self.revoked(Ok(()), &later);
                later
            }
            // The first policy stands; only the moments after it are not covered.
            Err(_) => cutoff,
        }
    }

    /// Tags the principal with the status, the cutoff, the finding (unless an earlier one is
    /// recorded) and `extra`.
    async fn tag<I: IamPort>(
        self,
        iam: &I,
        facts: Option<&PrincipalFacts>,
        incident: &Incident,
        status: &str,
        cutoff: &str,
        extra: Vec<(String, String)>,
    ) -> Outcome {
        let mut tags = vec![
            (STATUS_TAG.to_string(), status.to_string()),
            (REVOKED_BEFORE_TAG.to_string(), cutoff.to_string()),
        ];
        if facts.and_then(|f| f.tag(FINDING_TAG)).is_none() {
            tags.push((FINDING_TAG.to_string(), incident.finding_id.clone()));
        }
        tags.extend(extra);
        let (tagged, failure) = match self {
            Holder::User(n) => (iam.tag_user(n, &tags).await, "could not tag the user"),
            Holder::Role(n) => (iam.tag_role(n, &tags).await, "could not tag the role"),
        };
        match tagged {
            Ok(()) => Outcome::new(
                "tag-principal",
                self.name(),
                Status::Succeeded,
                format!(
                    "tagged {}",
                    tags.iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => Outcome::failed("tag-principal", self.name(), failure, &e),
        }
    }
}

/// Carries out a credential plan.
pub async fn execute_credential_plan<I: IamPort, E: Ec2Port>(
    iam: &I,
    ec2: &E,
    incident: &Incident,
    plan: &Plan,
    exempt_tag: &str,
) -> Execution {
    let mut user = None;
    let mut key = None;
    let mut remove_login = false;
    let mut role = None;
    let mut detach = None;
    for a in &plan.actions {
        match a {
            Action::RevokeUserSessions { user_name } => user = Some(user_name.as_str()),
            Action::DeactivateAccessKey { access_key_id, .. } => key = Some(access_key_id.as_str()),
            Action::RemoveLoginProfile { .. } => remove_login = true,
            Action::RevokeRoleSessions { role_name } => role = Some(role_name.as_str()),
            Action::DetachInstanceProfile { instance_id } => detach = Some(instance_id.as_str()),
            _ => {}
        }
    }
    if let Some(user) = user {
        revoke_user(iam, incident, plan, exempt_tag, user, key, remove_login).await
    } else if let Some(role) = role {
        revoke_role(iam, ec2, incident, plan, exempt_tag, role, detach).await
    } else {
        Execution::default()
    }
}

fn principal_gate(
    plan: &Plan,
    kind: &str,
    name: &str,
    read: &Result<Option<PrincipalFacts>, AwsError>,
    exempt_tag: &str,
) -> Option<Execution> {
    match read {
        Ok(Some(p)) if p.tag(exempt_tag) == Some("true") => Some(Execution {
            outcomes: skip_all(plan, &format!("the {kind} is tagged {exempt_tag}=true")),
            ..Execution::default()
        }),
        Ok(Some(_)) => None,
        Ok(None) => Some(Execution {
            outcomes: skip_all(plan, &format!("the {kind} {name} no longer exists")),
            ..Execution::default()
        }),
        // Unknown: act anyway; a revocation must not wait for a read that failed.
        Err(_) => None,
    }
}

async fn revoke_user<I: IamPort>(
    iam: &I,
    incident: &Incident,
    plan: &Plan,
    exempt_tag: &str,
    user: &str,
    key: Option<&str>,
    remove_login: bool,
) -> Execution {
    // Round 1: the user (exists? exempt?), its keys, its console password.
    let (facts, keys, login) = futures::join!(
        iam.user(user),
        async {
            match key {
                Some(_) => Some(iam.access_keys(user).await),
                None => None,
            }
        },
        async {
            match remove_login {
                true => Some(iam.login_profile(user).await),
                false => None,
            }
        }
    );
    if let Some(skipped) = principal_gate(plan, "IAM user", user, &facts, exempt_tag) {
        return skipped;
    }
    let facts = facts.ok().flatten();
    let mut outcomes = Vec::new();
    let mut undo = Vec::new();
    let cutoff = cutoff_now();

    // Round 2: the key off, older sessions denied, and the password recorded before it goes.
    let deactivate = async {
        let key = key?;
        let current = match &keys {
            Some(Ok(keys)) => match keys.iter().find(|k| k.access_key_id == key) {
                Some(k) => Some(k.status.clone()),
                None => {
                    return Some(Outcome::new(
                        "deactivate-access-key",
                        key,
                        Status::Failed,
                        format!("{key} is not an access key of IAM user {user}"),
                    ))
                }
            },
            _ => None,
        };
        if current.as_deref() == Some("Inactive") {
            return Some(Outcome::new(
                "deactivate-access-key",
                key,
                Status::AlreadyDone,
                "already Inactive",
            ));
        }
        Some(match iam.deactivate_access_key(user, key).await {
            Ok(()) => Outcome::new(
                "deactivate-access-key",
                key,
                Status::Succeeded,
                "Inactive (the user's other keys are unchanged)",
            ),
            Err(e) => Outcome::failed(
                "deactivate-access-key",
                key,
                "could not deactivate the key",
                &e,
            ),
        })
    };
    let holder = Holder::User(user);
    let deny = holder.put_policy(iam, &cutoff);
    let existing_login = match &login {
        Some(Ok(Some(profile))) => Some(profile.clone()),
        _ => None,
    };
    let record_login = async {
        let profile = existing_login.as_ref()?;
        let value = format!(
            "created={} reset-required={}",
            profile.created, profile.password_reset_required
        );
        Some(
            iam.tag_user(user, &[(LOGIN_PROFILE_TAG.to_string(), value)])
                .await,
        )
    };
    let (deactivated, denied, recorded) = futures::join!(deactivate, deny, record_login);
    let mut revoked = holder.revoked(denied, &cutoff);

    // Round 3: the console password, recorded or not (the record is also in the notification).
    let removed_login = if !remove_login {
        None
    } else {
        Some(match (&login, existing_login.as_ref()) {
            (Some(Ok(None)), _) => Outcome::new(
                "remove-login-profile",
                user,
                if facts
                    .as_ref()
                    .and_then(|f| f.tag(LOGIN_PROFILE_TAG))
                    .is_some()
                {
                    Status::AlreadyDone
                } else {
                    Status::Skipped
                },
                "the user has no console password",
            ),
            (_, profile) => match iam.delete_login_profile(user).await {
                Ok(()) => Outcome::new(
                    "remove-login-profile",
                    user,
                    Status::Succeeded,
                    match profile {
                        Some(p) => format!(
                            "console password removed (created {}{})",
                            p.created,
                            match &recorded {
                                Some(Ok(())) => format!(", recorded in tag {LOGIN_PROFILE_TAG}"),
                                _ => ", NOT recorded in tags".to_string(),
                            }
                        ),
                        None => "console password removed".to_string(),
                    },
                ),
                Err(e) if e.is_not_found() => Outcome::new(
                    "remove-login-profile",
                    user,
                    Status::AlreadyDone,
                    "the user has no console password",
                ),
                Err(e) => Outcome::failed(
                    "remove-login-profile",
                    user,
                    "could not remove the console password",
                    &e,
                ),
            },
        })
    };

    // Round 4: move the cutoff past the steps that closed a way to new sessions, and tag the user.
    let closed = succeeded(&deactivated) || succeeded(&removed_login);
    let final_cutoff = holder.move_cutoff(iam, closed, &mut revoked, cutoff).await;
    outcomes.extend(deactivated.clone());
    outcomes.push(revoked);
    outcomes.extend(removed_login.clone());
    let ok = contained(plan, &outcomes);
    let mut deactivated_key = Vec::new();
    if let (Some(key), true) = (key, succeeded(&deactivated)) {
        deactivated_key.push((
            format!("{DEACTIVATED_KEY_TAG}{key}"),
            incident.finding_id.clone(),
        ));
    }
    let status = if ok {
        "credentials-revoked"
    } else {
        "revocation-failed"
    };
    outcomes.push(
        holder
            .tag(
                iam,
                facts.as_ref(),
                incident,
                status,
                &final_cutoff,
                deactivated_key,
            )
            .await,
    );

    if let Some(key) = key {
        undo.push(format!(
            "aws iam update-access-key --user-name {user} --access-key-id {key} --status Active   \
             (better: create a new key for the user and delete {key})"
        ));
    }
    undo.push(format!(
        "aws iam delete-user-policy --user-name {user} --policy-name {USER_REVOKE_POLICY}   \
         (re-enables the user's sessions issued before {final_cutoff}: wait until they expire, at most 36 h)"
    ));
    if removed_login.as_ref().map(|o| o.status) == Some(Status::Succeeded) {
        let was = existing_login
            .as_ref()
            .map(|p| {
                format!(
                    "; it existed since {}, reset required: {}",
                    p.created, p.password_reset_required
                )
            })
            .unwrap_or_default();
        undo.push(format!(
            "aws iam create-login-profile --user-name {user} --password-reset-required --password '<new temporary password>'   \
             (the old password cannot be restored{was})"
        ));
    }
    undo.push(format!(
        "then remove the user's firebreak:* tags: aws iam list-user-tags --user-name {user}"
    ));
    Execution {
        contained: Some(ok),
        outcomes,
        undo,
        ..Execution::default()
    }
}

async fn revoke_role<I: IamPort, E: Ec2Port>(
    iam: &I,
    ec2: &E,
    incident: &Incident,
    plan: &Plan,
    exempt_tag: &str,
    role: &str,
    detach: Option<&str>,
) -> Execution {
    // Round 1: the role (exists? exempt?), and the instance and its profile association.
    let (facts, instance, association) = futures::join!(
        iam.role(role),
        async {
            match detach {
                Some(i) => Some(ec2.describe_instance(i).await),
                None => None,
            }
        },
        async {
            match detach {
                Some(i) => Some(ec2.instance_profile_association(i).await),
                None => None,
            }
        }
    );
    if let Some(skipped) = principal_gate(plan, "IAM role", role, &facts, exempt_tag) {
        return skipped;
    }
    let facts = facts.ok().flatten();
    let cutoff = cutoff_now();
    let mut warnings = Vec::new();

    // What to do about the instance: detach, or why not.
    let detach_plan: Option<Result<(&str, ProfileAssociation), Outcome>> = detach.map(|id| {
        let instance = match instance {
            Some(Ok(Some(f))) if f.tag(exempt_tag) == Some("true") => {
                return Err(Outcome::new(
                    "detach-instance-profile",
                    id,
                    Status::Skipped,
                    format!("the instance is tagged {exempt_tag}=true"),
                ))
            }
            Some(Ok(Some(f))) if f.state == "terminated" => {
                return Err(Outcome::new(
                    "detach-instance-profile",
                    id,
                    Status::Skipped,
                    "the instance is terminated",
                ))
            }
            Some(Ok(Some(f))) => Some(f),
            Some(Ok(None)) => {
                return Err(Outcome::new(
                    "detach-instance-profile",
                    id,
                    Status::Skipped,
                    "the instance no longer exists",
                ))
            }
            _ => None,
        };
        match association {
            Some(Ok(Some(a))) => Ok((id, a)),
            Some(Ok(None)) => {
                let earlier = instance
                    .as_ref()
                    .and_then(|f| f.tag(REMOVED_PROFILE_TAG))
                    .map(String::from);
                Err(match earlier {
                    Some(arn) => Outcome::new(
                        "detach-instance-profile",
                        id,
                        Status::AlreadyDone,
                        format!("no profile attached; Firebreak removed {arn} earlier"),
                    ),
                    None => Outcome::new(
                        "detach-instance-profile",
                        id,
                        Status::Skipped,
                        "the instance has no instance profile",
                    ),
                })
            }
            Some(Err(e)) => Err(Outcome::failed(
                "detach-instance-profile",
                id,
                "could not read the instance's profile association",
                &e,
            )),
            None => Err(Outcome::new(
                "detach-instance-profile",
                id,
                Status::Skipped,
                "not planned",
            )),
        }
    });

    // Round 2: revoke, and record the profile on the instance before it is removed.
    let holder = Holder::Role(role);
    let revoke = holder.put_policy(iam, &cutoff);
    let record = async {
        match &detach_plan {
            Some(Ok((id, a))) => Some(
                ec2.tag_instance(
                    id,
                    &[
                        (
                            REMOVED_PROFILE_TAG.to_string(),
                            a.instance_profile_arn.clone(),
                        ),
                        (
                            REMOVED_PROFILE_FINDING_TAG.to_string(),
                            incident.finding_id.clone(),
                        ),
                    ],
                )
                .await,
            ),
            _ => None,
        }
    };
    let (revoked, recorded) = futures::join!(revoke, record);
    let mut revoked = holder.revoked(revoked, &cutoff);

    // Round 3: take the profile off the instance, so it cannot fetch new credentials.
    let mut removed_profile = None;
    let detached = match detach_plan {
        None => None,
        Some(Err(o)) => Some(o),
        Some(Ok((id, a))) => Some(
            match ec2.disassociate_instance_profile(&a.association_id).await {
                Ok(()) => {
                    removed_profile = Some(a.instance_profile_arn.clone());
                    Outcome::new(
                        "detach-instance-profile",
                        id,
                        Status::Succeeded,
                        format!(
                            "removed {} ({}){}",
                            a.instance_profile_arn,
                            a.association_id,
                            match &recorded {
                                Some(Ok(())) => format!(", recorded in tag {REMOVED_PROFILE_TAG}"),
                                _ => ", NOT recorded in tags".to_string(),
                            }
                        ),
                    )
                }
                Err(e) => Outcome::failed(
                    "detach-instance-profile",
                    id,
                    "could not remove the instance profile",
                    &e,
                ),
            },
        ),
    };

    // Round 4: cutoff past the detachment; tag the role.
    let final_cutoff = holder
        .move_cutoff(iam, succeeded(&detached), &mut revoked, cutoff)
        .await;
    let mut outcomes = vec![revoked];
    outcomes.extend(detached);
    let ok = contained(plan, &outcomes);
    let status = if ok {
        "sessions-revoked"
    } else {
        "revocation-failed"
    };
    outcomes.push(
        holder
            .tag(iam, facts.as_ref(), incident, status, &final_cutoff, vec![])
            .await,
    );

    warnings.push(format!(
        "Every session of role {role} issued before {final_cutoff} is denied, including those of \
         other instances, functions or people using the role: they keep failing until they get new \
         credentials (EC2 instances refresh theirs automatically before expiry). IAM may take a few \
         minutes to apply the policy everywhere."
    ));
    let mut undo = vec![format!(
        "aws iam delete-role-policy --role-name {role} --policy-name {ROLE_REVOKE_POLICY}   \
         (re-enables the stolen sessions if they have not expired: wait at least 12 h after {final_cutoff}, the longest a role session lasts)"
    )];
    if let (Some(arn), Some(id)) = (removed_profile, detach) {
        undo.push(format!(
            "aws ec2 associate-iam-instance-profile --region {} --instance-id {id} --iam-instance-profile Arn={arn}   \
             (only once the instance is known to be clean)",
            incident.region
        ));
    }
    undo.push(format!(
        "then remove the role's firebreak:* tags: aws iam list-role-tags --role-name {role}"
    ));
    Execution {
        contained: Some(ok),
        outcomes,
        undo,
        warnings,
        ..Execution::default()
    }
}
