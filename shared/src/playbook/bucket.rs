//! An S3 bucket or object: locked (public access blocked, the caller's sessions revoked; a
//! malicious object made unreadable).

use crate::config::Config;
use crate::incident::{AccessKeyRef, BucketRef, Incident, Principal};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::credentials::protected;
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// An S3 bucket or object (AWS's guidance: block public access, contain the credentials that were
/// used; for malware, keep the object from being read): `contain` does that, `ask` tells the team
/// how; anything else notifies.
pub(super) fn plan_bucket(
    incident: &Incident,
    b: &BucketRef,
    response: Response,
    config: &Config,
) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on {}",
        incident.severity,
        incident.resource_name()
    );
    match response {
        Response::Contain => lock_bucket(b, about, config),
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}: awaiting approval. To lock it, select the finding in Security Hub and \
                 choose the custom action FbQuarantine"
            ),
        ),
        _ => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// The rule of a bucket that is locked (public access blocked, or malware made unreadable).
pub const LOCK_BUCKET_RULE: &str = "lock-bucket";

/// A malicious object: the statement that keeps it unread. A bucket: Block Public Access on, and
/// the caller's sessions revoked when the finding names a user or role Firebreak may revoke.
pub(super) fn lock_bucket(b: &BucketRef, about: String, config: &Config) -> Plan {
    let bucket = b.name.clone();
    if b.object_key.is_some() {
        return Plan {
            rule: LOCK_BUCKET_RULE,
            reason: format!("{about}: no one but the security roles may read it"),
            actions: vec![
                Action::new(
                    ActionKind::DenyMalwareReads,
                    Target::malware_reads(bucket, config.malware_readers.clone()),
                ),
                Action::notify(),
            ],
            decided_by: None,
        };
    }
    let mut actions = vec![Action::on_bucket(ActionKind::BlockPublicAccess, bucket)];
    let mut reason = format!("{about}: no public access");
    match b.caller.as_ref().map(AccessKeyRef::principal) {
        Some(p) if protected(&p, config).is_some() => reason.push_str(
            "; the caller is one of Firebreak's own or protected roles: a human must contain it",
        ),
        Some(Principal::IamUser { user_name, .. }) => {
            reason.push_str(&format!("; the sessions of user {user_name} revoked"));
            actions.push(Action::on_user(ActionKind::RevokeUserSessions, user_name));
        }
        Some(Principal::Role { role_name, .. }) => {
            reason.push_str(&format!("; the sessions of role {role_name} revoked"));
            actions.push(Action::on_role(ActionKind::RevokeRoleSessions, role_name));
        }
        Some(_) => reason.push_str("; the caller's credentials cannot be revoked by IAM policy"),
        None => {}
    }
    actions.push(Action::notify());
    Plan {
        rule: LOCK_BUCKET_RULE,
        reason,
        actions,
        decided_by: None,
    }
}
