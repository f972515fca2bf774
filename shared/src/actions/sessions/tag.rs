//! `tag-principal`: the user or role tagged with what was done.

use crate::actions::sessions::{Holder, InstanceSessions};
use crate::actions::spec::ActionSpec;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{PrincipalFacts, PrincipalsPort};
use crate::tags;

/// What `tag-principal` calls and writes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ActionKind::TagPrincipal,
    permissions: &["iam:TagUser", "iam:TagRole"],
    tags: &[tags::STATUS, tags::REVOKED_BEFORE, tags::FINDING],
    undo_permissions: &[],
};

impl<'a> Holder<'a> {
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
