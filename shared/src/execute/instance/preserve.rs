//! Off the critical path: evidence protection and snapshots, concurrently; then the instance
//! tagged with what happened, and when (and the `await-approval` step).

use crate::actions::tag_instance::{self, Ending};
use crate::actions::{evidence, snapshot};
use crate::execute::instance::here::Here;
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Marked, Outcome, Status, Told};
use crate::playbook::decided_by_a_human;
use crate::ports::{Ec2Ports, InstanceFacts};
use crate::tags;

/// Then, off the critical path (so they do not compete with it for the API): evidence protection
/// and snapshots, concurrently; then the instance says what happened, and when.
pub(super) async fn preserve<E: Ec2Ports>(
    ec2: &E,
    r: Request<'_>,
    at: Here<'_>,
    result: &mut Execution,
) {
    let facts = at.facts;
    // The moment the last group change returned, not when the response started.
    let contained_at = r.clock.rfc3339();
    let protect = async {
        match r.plan.has(ActionKind::ProtectEvidence) {
            true => evidence::protect_evidence(ec2, facts, at.budget).await,
            false => Vec::new(),
        }
    };
    let snapshots = async {
        match r.plan.has(ActionKind::SnapshotVolumes) {
            true => snapshot::snapshot_volumes(ec2, r.incident, facts, at.now).await,
            false => Vec::new(),
        }
    };
    let (protected, snapped) = futures::join!(protect, snapshots);
    result.outcomes.extend(protected);
    result.outcomes.extend(snapped);
    if r.plan.has(ActionKind::TagInstance) {
        let asked = r.plan.has(ActionKind::AwaitApproval);
        let ending = match (result.completed, &result.held_by_cap) {
            (Some(true), _) => Ending::Contained,
            (Some(false), _) => Ending::Failed,
            (None, Some(_)) => Ending::HeldByCap,
            (None, None) if asked => Ending::AwaitingApproval,
            (None, None) => Ending::NotAttempted,
        };
        let finding = &r.incident.finding_id;
        // Who approved: only a human's plan (an analyst's action, an approval) records a decision.
        let decided = r
            .plan
            .decided_by
            .as_deref()
            .filter(|_| decided_by_a_human(r.plan));
        let outcome = tag_instance::tag_instance(
            ec2,
            facts,
            finding,
            ending,
            &contained_at,
            decided,
            at.budget,
        )
        .await;
        let written = tag_instance::tags_after(facts, finding, ending, &contained_at, decided);
        result.told = told(facts, &written, outcome.is_ok());
        if asked {
            result.outcomes.push(awaiting(facts, &outcome));
        }
        result.outcomes.push(outcome);
    }
}

/// The status the instance is left with (the one written, else the one it had), and whether the
/// team was told of it already (only if it was not written again).
fn told(facts: &InstanceFacts, written: &[(String, String)], tagged: bool) -> Option<Told> {
    let new = written
        .iter()
        .find(|(k, _)| k == tags::STATUS && tagged)
        .map(|(_, v)| v.as_str());
    let had = facts.tag(tags::STATUS);
    let status = new.or(had)?;
    Some(Told {
        on: Marked::Instance(facts.instance_id.clone()),
        mark: tags::pair(tags::STATUS, tags::status::told(status)),
        already: new.is_none() && had.is_some_and(tags::status::is_told),
    })
}

/// The `await-approval` step: the instance waits for a human (or a human already decided).
fn awaiting(facts: &InstanceFacts, tagged: &Outcome) -> Outcome {
    let id = facts.instance_id.as_str();
    let kind = ActionKind::AwaitApproval;
    match tags::status_of(facts) {
        Some(tags::status::AWAITING_APPROVAL) => {
            Outcome::new(kind, id, Status::AlreadyDone, "still awaiting approval")
        }
        Some(s) if s != tags::status::NEEDS_HUMAN => Outcome::new(
            kind,
            id,
            Status::Skipped,
            format!("not asked again: the instance is {s}"),
        ),
        _ if !tagged.is_ok() => Outcome::refused(
            kind,
            id,
            "could not mark the instance as awaiting approval (see tag-instance)",
        ),
        _ => Outcome::new(
            kind,
            id,
            Status::Succeeded,
            "awaiting approval: evidence preserved, not isolated",
        ),
    }
}
