//! What a user's and a role's revocation share: the gate at the principal's read (exempt, gone,
//! unreadable), the cutoff of the deny in force, forged records told, and the principal tagged
//! with how it ended.

use crate::actions::sessions::{Denial, Holder, InstanceSessions, Refused};
use crate::error::AwsError;
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{quiet, Execution, Marked, Outcome, Status, Told};
use crate::plan::{skip_all, Plan};
use crate::ports::{IamPorts, PrincipalFacts};
use crate::seal;
use crate::tags::{self, status};

pub(super) fn succeeded(o: &Option<Outcome>) -> bool {
    o.as_ref().is_some_and(|o| o.status == Status::Succeeded)
}

/// True when no step that cuts the attacker off (the plan's containment actions) failed.
fn contained(plan: &Plan, outcomes: &[Outcome]) -> bool {
    !outcomes.iter().any(|o| {
        o.status == Status::Failed
            && plan
                .actions
                .iter()
                .any(|a| a.is_containment() && a.kind == o.action)
    })
}

/// The execution that ends at the principal's read (exempt, gone, or unknown), if it does. An
/// exemption that cannot be read is never taken as "not exempt": nothing is done, and the invocation
/// fails so that it is retried.
pub(super) fn principal_gate(
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
            let action = first.map_or(ActionKind::TagPrincipal, |a| a.kind);
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

/// The cutoff of the deny in force, else the one attempted.
pub(super) fn in_force(denied: &Result<Denial, Refused>, attempted: String) -> String {
    denied.as_ref().map_or(attempted, |d| d.cutoff.clone())
}

/// What the team is told of forged records on the user or role (Firebreak acted on none of them).
pub(super) fn tampering(name: &str, facts: Option<&PrincipalFacts>) -> Vec<String> {
    match facts.filter(|f| !f.forged.is_empty()) {
        Some(f) => vec![seal::tampering(name, &f.forged)],
        None => Vec::new(),
    }
}

/// Whether the credentials are contained (no containment step failed), and the holder tagged with
/// the status, the cutoff and `extra`.
pub(super) async fn conclude<I: IamPorts>(
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
    let on = match holder {
        Holder::User(n) => Marked::User(n.to_string()),
        Holder::Role(n) | Holder::Instance(InstanceSessions { role: n, .. }) => {
            Marked::Role(n.to_string())
        }
    };
    let had = facts.and_then(|f| f.tag(tags::STATUS));
    let told = Told::kept(on, tags::STATUS, status, had, quiet(outcomes));
    let tagged = (holder.tag(iam, facts, r.incident, &told.written(), cutoff, extra)).await;
    (ok, tagged, told)
}
