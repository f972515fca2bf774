//! Carries out an instance plan (quarantine, out of service, evidence, snapshots, tags).
//! Containment is the critical path; only the tag that records the original groups, and taking the
//! instance out of service, run alongside it. Evidence protection and snapshots start the moment
//! containment completes (they do not gate it, and run concurrently with each other), then the
//! instance is tagged with the finding and the time of containment.
//!
//! Round trips on the critical path (each box is one concurrent round of calls):
//! `[DescribeInstances ‖ DescribeSecurityGroups per VPC named in the finding]` →
//! (first incident in a VPC only: `[CreateSecurityGroup ×2]` → `[Revoke/Authorize rules]`) →
//! `[ModifyNetworkInterfaceAttribute → untracking, per ENI]` → `[… → isolation, per ENI]`.
//!
//! The rounds, one file each: `read` (round 1, and the gate: gone, terminated, exempt), `cap` (the
//! blast-radius cap), `contain` (what is missing prepared, then isolation with its records, the
//! network ACL entries and out of service), `preserve` (evidence, snapshots, the instance's tags);
//! `here` is what every round after the gate works with.

mod cap;
mod contain;
mod here;
mod preserve;
mod read;

use tokio::time::Instant;

use self::cap::cap_check;
use self::contain::contain;
use self::here::{tag_budget, Here};
use self::preserve::preserve;
use self::read::{gate, round1, Ended};
use crate::actions::isolate;
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::ports::{Ec2Ports, OutOfServicePorts, Ports};
use crate::seal;

const ISOLATE: ActionKind = ActionKind::IsolateInstance;

/// Carries out an instance plan. With `cap`, at most that many instances of the account and region
/// are quarantined per rolling hour: beyond it the plan is carried out without isolation (evidence
/// only), and the execution says a human must decide.
pub async fn run<E: Ec2Ports, S: OutOfServicePorts, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    let (ec2, service, cap) = (p.ec2, p.service, r.cap);
    let Some(instance) = r.incident.instance() else {
        return Execution::default();
    };
    let id = instance.instance_id.as_str();
    let now = r.clock.rfc3339();
    let mut isolate = r.plan.has(ISOLATE);
    let first = round1(ec2, r, instance, isolate, cap.is_some()).await;
    let facts = match gate(r, id, first.described, isolate) {
        Ok(f) => f,
        Err(Ended(outcomes, completed)) => {
            return Execution {
                outcomes,
                completed,
                ..Execution::default()
            }
        }
    };
    let mut result = Execution::default();
    if !facts.forged.is_empty() {
        result.warnings.push(seal::tampering(id, &facts.forged));
    }
    if isolate {
        result
            .warnings
            .extend(isolate::pods_not_isolated(&facts, &r.incident.region));
    }
    if let (Some(cap), Some(recent)) = (cap, first.recent) {
        match cap_check(r, &facts, cap, recent, &now) {
            Err(failed) => {
                result.outcomes = vec![failed];
                result.completed = Some(false);
                return result;
            }
            Ok(Some(why)) => {
                result
                    .outcomes
                    .push(Outcome::new(ISOLATE, id, Status::Skipped, why.clone()));
                result.held_by_cap = Some(why);
                isolate = false;
            }
            Ok(None) => {}
        }
    }
    let budget = tag_budget(r, &facts);
    let at = Here {
        facts: &facts,
        now: &now,
        budget: &budget,
    };
    contain(ec2, service, r, at, isolate, first.early, &mut result).await;
    if !past_deadline(r, id, &mut result) {
        preserve(ec2, r, at, &mut result).await;
    }
    result
}

/// Past the incident's deadline, what is left would not end before Lambda stops the function:
/// it is reported as not done, now, and the retry (containment failed, or steps failed) does it.
fn past_deadline(r: Request<'_>, id: &str, result: &mut Execution) -> bool {
    if Instant::now() < r.deadline {
        return false;
    }
    let why = "not done: the incident's deadline passed; the retry does it";
    let left = [
        ActionKind::ProtectEvidence,
        ActionKind::SnapshotVolumes,
        ActionKind::TagInstance,
    ];
    for kind in left.into_iter().filter(|k| r.plan.has(*k)) {
        result.outcomes.push(Outcome::refused(kind, id, why));
    }
    true
}
