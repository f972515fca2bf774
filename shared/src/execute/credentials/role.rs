//! A role's revocation: its sessions denied (every one, or only those issued to one instance),
//! the instance profile recorded then taken off the instance, the cutoff moved past it, the role
//! tagged; what the team must know, and how to undo it.

use crate::actions::profile;
use crate::actions::sessions::{Denial, Holder, InstanceSessions};
use crate::execute::credentials::principal::{
    conclude, in_force, principal_gate, succeeded, tampering,
};
use crate::execute::Request;
use crate::incident::Incident;
use crate::outcome::{Execution, Status};
use crate::ports::{IamPorts, InstancesPort, ProfilesPort};
use crate::shell::{self, Command};
use crate::tags;

pub(super) async fn revoke_role<I: IamPorts, E: InstancesPort + ProfilesPort>(
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
