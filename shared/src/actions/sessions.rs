//! `revoke-user-sessions`, `revoke-role-sessions` and `revoke-instance-sessions`: an inline policy
//! denying every session issued before a cutoff, written on the user or the role (the [`Holder`]) —
//! for one instance's stolen credentials, only the sessions the role issued to that instance — the
//! cutoff moved past each step that closes a way to new sessions; and `tag-principal`, the holder
//! tagged with what was done.
//! No automatic undo: deleting the policy would re-enable the stolen sessions (the notification
//! prints the command, with when it is safe).

use serde_json::json;

use crate::actions::registry::ActionKind;
use crate::clock::Clock;
use crate::error::AwsError;
use crate::incident::Incident;
use crate::outcome::{Outcome, Status};
use crate::ports::{PrincipalFacts, PrincipalsPort};
use crate::tags;

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

/// The deny-older-sessions policy for the sessions a role issued to one instance: its credentials
/// carry the instance's ARN (`ec2:SourceInstanceARN`) and, as their session name, its id
/// (`aws:userId` = `<role id>:<instance id>`); either statement denies them, and no other session of
/// the role matches either.
pub fn instance_revoke_policy(cutoff: &str, instance_arn: &str, user_id: Option<&str>) -> String {
    let mut statements = vec![json!({
        "Effect": "Deny",
        "Action": ["*"],
        "Resource": ["*"],
        "Condition": {
            "DateLessThan": {"aws:TokenIssueTime": cutoff},
            "ArnEquals": {"ec2:SourceInstanceARN": instance_arn}
        }
    })];
    if let Some(user_id) = user_id {
        statements.push(json!({
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "StringEquals": {"aws:userId": user_id}
            }
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// The sessions of a role issued to one instance.
#[derive(Clone, Copy)]
pub struct InstanceSessions<'a> {
    /// The role.
    pub role: &'a str,
    /// The instance.
    pub instance_id: &'a str,
    /// Its ARN.
    pub instance_arn: &'a str,
    /// `<role id>:<instance id>`, when the finding names it.
    pub user_id: Option<&'a str>,
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

impl<'a> Holder<'a> {
    /// The user or role name.
    pub fn name(self) -> &'a str {
        match self {
            Holder::User(n) | Holder::Role(n) => n,
            Holder::Instance(i) => i.role,
        }
    }

    /// The deny policy's name.
    pub fn policy(self) -> String {
        match self {
            Holder::User(_) => tags::USER_REVOKE_POLICY.to_string(),
            Holder::Role(_) => tags::ROLE_REVOKE_POLICY.to_string(),
            Holder::Instance(i) => tags::instance_revoke_policy(i.instance_id),
        }
    }

    /// Writes the deny policy with `cutoff`.
    pub async fn put_policy<I: PrincipalsPort>(
        self,
        iam: &I,
        cutoff: &str,
    ) -> Result<(), AwsError> {
        let document = match self {
            Holder::Instance(i) => instance_revoke_policy(cutoff, i.instance_arn, i.user_id),
            _ => revoke_policy(cutoff),
        };
        let policy = self.policy();
        match self {
            Holder::User(n) => iam.put_user_policy(n, &policy, &document).await,
            Holder::Role(n) => iam.put_role_policy(n, &policy, &document).await,
            Holder::Instance(i) => iam.put_role_policy(i.role, &policy, &document).await,
        }
    }

    /// The outcome of writing the deny policy with `cutoff`.
    pub fn revoked(self, written: Result<(), AwsError>, cutoff: &str) -> Outcome {
        let (action, failure) = match self {
            Holder::User(_) => (
                ActionKind::RevokeUserSessions,
                "could not deny the user's older sessions",
            ),
            Holder::Role(_) => (
                ActionKind::RevokeRoleSessions,
                "could not revoke the role's sessions",
            ),
            Holder::Instance(_) => (
                ActionKind::RevokeInstanceSessions,
                "could not revoke the role's sessions of the instance",
            ),
        };
        let which = match self {
            Holder::Instance(i) => format!("the session of instance {}", i.instance_id),
            _ => "every session".to_string(),
        };
        match written {
            Ok(()) => Outcome::new(
                action,
                self.name(),
                Status::Succeeded,
                format!("{} denies {which} issued before {cutoff}", self.policy()),
            ),
            Err(e) => Outcome::failed(action, self.name(), failure, &e),
        }
    }

    /// When this invocation closed a way to new sessions and the policy stands, writes it again
    /// with the cutoff moved past that step; returns the cutoff in force.
    pub async fn move_cutoff<I: PrincipalsPort>(
        self,
        iam: &I,
        closed: bool,
        revoked: &mut Outcome,
        cutoff: String,
        clock: &dyn Clock,
    ) -> String {
        if !closed || revoked.status != Status::Succeeded {
            return cutoff;
        }
        let later = clock.cutoff();
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
    pub async fn tag<I: PrincipalsPort>(
        self,
        iam: &I,
        facts: Option<&PrincipalFacts>,
        incident: &Incident,
        status: &str,
        cutoff: &str,
        extra: Vec<(String, String)>,
    ) -> Outcome {
        let mut add = vec![
            tags::pair(tags::STATUS, status),
            tags::pair(tags::REVOKED_BEFORE, cutoff),
        ];
        if facts.and_then(|f| f.tag(tags::FINDING)).is_none() {
            add.push(tags::pair(tags::FINDING, &incident.finding_id));
        }
        add.extend(extra);
        let (tagged, failure) = match self {
            Holder::User(n) => (iam.tag_user(n, &add).await, "could not tag the user"),
            Holder::Role(n) | Holder::Instance(InstanceSessions { role: n, .. }) => {
                (iam.tag_role(n, &add).await, "could not tag the role")
            }
        };
        match tagged {
            Ok(()) => Outcome::new(
                ActionKind::TagPrincipal,
                self.name(),
                Status::Succeeded,
                format!(
                    "tagged {}",
                    add.iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => Outcome::failed(ActionKind::TagPrincipal, self.name(), failure, &e),
        }
    }
}
