//! `revoke-user-sessions` and `revoke-role-sessions`: an inline policy denying every session issued
//! before a cutoff, written on the user or the role (the [`Holder`]), the cutoff moved past each
//! step that closes a way to new sessions; and `tag-principal`, the holder tagged with what was done.
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

/// Whose older sessions a deny policy cuts off: the one place the user and role paths differ in
/// writing the policy, reporting it, moving its cutoff and tagging the principal.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    User(&'a str),
    Role(&'a str),
}

impl<'a> Holder<'a> {
    /// The user or role name.
    pub fn name(self) -> &'a str {
        match self {
            Holder::User(n) | Holder::Role(n) => n,
        }
    }

    /// The deny policy's name.
    pub fn policy(self) -> &'static str {
        match self {
            Holder::User(_) => tags::USER_REVOKE_POLICY,
            Holder::Role(_) => tags::ROLE_REVOKE_POLICY,
        }
    }

    /// Writes the deny policy with `cutoff`.
    pub async fn put_policy<I: PrincipalsPort>(
        self,
        iam: &I,
        cutoff: &str,
    ) -> Result<(), AwsError> {
        let document = revoke_policy(cutoff);
        match self {
            Holder::User(n) => {
                iam.put_user_policy(n, tags::USER_REVOKE_POLICY, &document)
                    .await
            }
            Holder::Role(n) => {
                iam.put_role_policy(n, tags::ROLE_REVOKE_POLICY, &document)
                    .await
            }
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
            Holder::Role(n) => (iam.tag_role(n, &add).await, "could not tag the role"),
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
