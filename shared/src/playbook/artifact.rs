//! An EBS snapshot or AMI: its sharing taken away.

use crate::incident::{ArtifactKind, ArtifactRef, Incident};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// An EBS snapshot or AMI: `contain` takes away every public and cross-account permission (AWS's
/// guidance for a compromised snapshot or AMI: do not let others use it); nothing else changes it.
pub(super) fn plan_artifact(incident: &Incident, a: &ArtifactRef, response: Response) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let what = match a.kind {
        ArtifactKind::Snapshot => "EBS snapshot",
        ArtifactKind::Image => "AMI",
    };
    let about = format!("{family} finding about {what} {}", a.id);
    match response {
        Response::Contain => Plan {
            rule: UNSHARE_RULE,
            reason: format!("{about}: no one else may use it"),
            actions: unshare(a),
            decided_by: None,
        },
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}: awaiting approval. To stop sharing it, select the finding in Security \
                 Hub and choose the custom action FbQuarantine"
            ),
        ),
        _ => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// The rule of a snapshot or AMI whose sharing is taken away.
pub const UNSHARE_RULE: &str = "unshare-artifact";

pub(super) fn unshare(a: &ArtifactRef) -> Vec<Action> {
    vec![
        Action::new(ActionKind::Unshare, Target::artifact(a.kind, a.id.clone())),
        Action::notify(),
    ]
}
