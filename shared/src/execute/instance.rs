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

use std::collections::HashMap;

use futures::future::join_all;

use crate::actions::isolate::GroupsByVpc;
use crate::actions::network_acl::{self, AclPlan};
use crate::actions::registry::ActionKind;
use crate::actions::tag_instance::Ending;
use crate::actions::{evidence, isolate, out_of_service, snapshot, tag_instance};
use crate::clock::epoch_seconds;
use crate::error::AwsError;
use crate::execute::Request;
use crate::incident::InstanceRef;
use crate::outcome::{Execution, Marked, Outcome, Status, Told};
use crate::plan::skip_all;
use crate::playbook::decided_by_a_human;
use crate::ports::{Ec2Ports, FoundGroups, InstanceFacts, NetworkAclFacts, ServicePorts};
use crate::records::{self, AclDenies, Budget, Isolation, Room};
use crate::seal;
use crate::tags;
use tokio::time::Instant;

const ISOLATE: ActionKind = ActionKind::IsolateInstance;

/// Instances whose quarantine started within the hour before `now`, other than `instance_id`.
fn quarantines_in_the_last_hour(
    starts: &[(String, String)],
    instance_id: &str,
    now: &str,
) -> usize {
    let Some(now) = epoch_seconds(now) else {
        return 0;
    };
    let since = now - 3600;
    starts
        .iter()
        .filter(|(id, _)| id != instance_id)
        // An unreadable time counts: the cap errs on the side of asking a human.
        .filter(|(_, at)| epoch_seconds(at).is_none_or(|t| t >= since))
        .count()
}

/// Round 1: the instance and, speculatively, the quarantine groups of the VPCs the finding names
/// and (under a cap) the recent quarantines, at the same time.
struct Round1 {
    described: Result<Option<InstanceFacts>, AwsError>,
    early: Early,
    recent: Option<Result<Vec<(String, String)>, AwsError>>,
}

/// What round 1 found of the VPCs the finding names: their quarantine groups and network ACLs.
#[derive(Default)]
struct Early {
    groups: HashMap<String, FoundGroups>,
    acls: HashMap<String, Vec<NetworkAclFacts>>,
}

async fn round1<E: Ec2Ports>(
    ec2: &E,
    r: Request<'_>,
    instance: &InstanceRef,
    isolate: bool,
    cap: bool,
) -> Round1 {
    let named_vpcs = match isolate {
        true => instance.vpc_ids(),
        false => Vec::new(),
    };
    let acl_vpcs = match r.plan.has(ActionKind::DenyNetworkAcl) {
        true => named_vpcs.clone(),
        false => Vec::new(),
    };
    let (described, groups, acls, recent) = futures::join!(
        ec2.describe_instance(&instance.instance_id),
        join_all(
            named_vpcs
                .iter()
                .map(|v| async move { (v.clone(), ec2.reconcile_quarantine_groups(v).await) })
        ),
        network_acl::acls_of(ec2, &acl_vpcs),
        async {
            match isolate && cap {
                true => Some(ec2.quarantine_starts().await),
                false => None,
            }
        }
    );
    Round1 {
        described,
        early: Early {
            groups: groups.into_iter().filter_map(found).collect(),
            acls: acls.into_iter().filter_map(found).collect(),
        },
        recent,
    }
}

/// A lookup that answered: what round 1 speculatively found (one that failed is looked up again).
fn found<T>((vpc, r): (String, Result<T, AwsError>)) -> Option<(String, T)> {
    r.ok().map(|f| (vpc, f))
}

/// An execution that ends before any change: its outcomes, and whether containment failed.
struct Ended(Vec<Outcome>, Option<bool>);

/// The instance to act on, or the execution that ends here (gone, terminated, exempt, unreadable).
fn gate(
    r: Request<'_>,
    id: &str,
    described: Result<Option<InstanceFacts>, AwsError>,
    isolate: bool,
) -> Result<InstanceFacts, Ended> {
    let ends = |outcomes, completed| Err(Ended(outcomes, completed));
    match described {
        Ok(Some(f)) if f.state == "terminated" || f.state == "shutting-down" => ends(
            skip_all(r.plan, &format!("the instance is {}", f.state)),
            None,
        ),
        Ok(Some(f)) if f.tag(r.exempt_tag) == Some(tags::TRUE) => ends(
            skip_all(
                r.plan,
                &format!("the instance is tagged {}=true", r.exempt_tag),
            ),
            None,
        ),
        Ok(Some(f)) => Ok(f),
        Ok(None) => ends(skip_all(r.plan, "the instance no longer exists"), None),
        Err(e) => ends(
            vec![Outcome::failed(
                ISOLATE,
                id,
                "could not describe the instance",
                &e,
            )],
            isolate.then_some(false),
        ),
    }
}

/// The blast-radius cap. An instance whose quarantine already started (a redelivery) is finished
/// whatever the count; a count that cannot be read fails containment, to be retried. `Ok(Some(why))`
/// when the cap holds isolation back.
fn cap_check(
    r: Request<'_>,
    facts: &InstanceFacts,
    cap: usize,
    recent: Result<Vec<(String, String)>, AwsError>,
    now: &str,
) -> Result<Option<String>, Outcome> {
    let id = facts.instance_id.as_str();
    let starts = recent.map_err(|e| {
        Outcome::failed(
            ISOLATE,
            id,
            "could not count the quarantines of the last hour (blast-radius cap)",
            &e,
        )
    })?;
    if Isolation::read(&facts.tags).started.is_some() {
        return Ok(None);
    }
    let n = quarantines_in_the_last_hour(&starts, id, now);
    Ok((n >= cap).then(|| {
        format!(
            "blast-radius cap: {n} instance(s) of account {} in {} were quarantined in \
             the last hour (FIREBREAK_MAX_QUARANTINES_PER_HOUR={cap}). {id} was NOT \
             isolated; evidence was preserved. A human must decide: to isolate it, \
             select the finding in Security Hub and choose the custom action \
             FbQuarantine.",
            r.incident.account, r.incident.region
        )
    }))
}

/// Carries out an instance plan. With `cap`, at most that many instances of the account and region
/// are quarantined per rolling hour: beyond it the plan is carried out without isolation (evidence
/// only), and the execution says a human must decide.
pub async fn run<E: Ec2Ports, S: ServicePorts>(
    ec2: &E,
    service: &S,
    r: Request<'_>,
    cap: Option<usize>,
) -> Execution {
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

/// The instance acted on, the time the response started, and the tags it can still take.
#[derive(Clone, Copy)]
struct Here<'a> {
    facts: &'a InstanceFacts,
    now: &'a str,
    budget: &'a Budget,
}

/// The tags the instance can still take (EC2 allows 50), with a place kept for the status and the
/// finding the response ends by writing.
fn tag_budget(r: Request<'_>, facts: &InstanceFacts) -> Budget {
    let markers = match r.plan.has(ActionKind::TagInstance) {
        true => [tags::FINDING, tags::STATUS]
            .iter()
            .filter(|k| facts.tag(k).is_none())
            .count(),
        false => 0,
    };
    // Tags Firebreak does not trust still take their place among EC2's 50.
    let untrusted = facts.legacy.len() + facts.forged.len();
    Budget::new(records::counted(&facts.tags) + untrusted, markers)
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

/// What is ready before the first change: the quarantine groups of every VPC, and the network
/// ACL entries to add (or why they cannot be planned).
struct Prepared {
    groups: GroupsByVpc,
    acls: Result<Vec<AclPlan>, Outcome>,
}

/// Only now, for an instance that exists and is not exempt, is what is missing created: the groups
/// of VPCs the finding named but that have none yet, and of VPCs it did not name (a lookup first);
/// the network ACLs of VPCs round 1 did not read are read at the same time.
async fn prepare<E: Ec2Ports>(
    ec2: &E,
    facts: &InstanceFacts,
    isolate: bool,
    deny_acl: bool,
    early: Early,
) -> Prepared {
    let Early { groups, mut acls } = early;
    let unread: Vec<String> = match deny_acl {
        true => facts
            .vpc_ids()
            .into_iter()
            .filter(|v| !acls.contains_key(v))
            .collect(),
        false => Vec::new(),
    };
    let (groups, read) = futures::join!(
        async {
            match isolate {
                true => isolate::prepare_groups(ec2, facts, groups).await,
                false => HashMap::new(),
            }
        },
        network_acl::acls_of(ec2, &unread)
    );
    let mut failed = None;
    for (vpc, found) in read {
        match found {
            Ok(found) => {
                acls.insert(vpc, found);
            }
            Err(e) => {
                let what = "could not read the network ACLs of the VPC";
                failed = Some(Outcome::failed(ActionKind::DenyNetworkAcl, &vpc, what, &e));
            }
        }
    }
    let seed = network_acl::seed(&facts.instance_id);
    let acl_records = AclDenies::read(&facts.tags);
    let plan = |vpc: &String, acl: &NetworkAclFacts| {
        let recorded = acl_records.0.get(&acl.network_acl_id);
        let cidrs = network_acl::cidrs_in(facts, vpc);
        network_acl::plan_acl(acl, &cidrs, recorded, seed)
    };
    let acls = match failed {
        Some(outcome) => Err(outcome),
        None => Ok(facts
            .vpc_ids()
            .iter()
            .flat_map(|v| acls.get(v).into_iter().flatten().map(move |a| (v, a)))
            .map(|(v, a)| plan(v, a))
            .collect()),
    };
    Prepared { groups, acls }
}

/// Isolation, with the records written and the instance taken out of service alongside; the network
/// ACL entries once their record is written, beside the move to the isolation group. The records
/// take their tags in this order: the isolation record, then the network ACL entries', then what
/// is taken out of service.
async fn contain<E: Ec2Ports, S: ServicePorts>(
    ec2: &E,
    service: &S,
    r: Request<'_>,
    at: Here<'_>,
    isolate: bool,
    early: Early,
    result: &mut Execution,
) {
    let Some(finding) = r.incident.instance() else {
        return;
    };
    let facts = at.facts;
    let deny_acl = isolate && r.plan.has(ActionKind::DenyNetworkAcl);
    let prepared = prepare(ec2, facts, isolate, deny_acl, early).await;
    let records = isolate::records(facts, finding, &prepared.groups, at.now);
    let isolation_room = match isolate {
        true => at.budget.reserve(&facts.tags, records.to_write.clone()),
        false => Room::Nothing,
    };
    let acl_room = match (deny_acl, &prepared.acls) {
        (true, Ok(plans)) => at
            .budget
            .reserve(&facts.tags, network_acl::records(facts, plans)),
        _ => Room::Nothing,
    };
    let isolation = async {
        match isolate {
            true => {
                let (groups, original) = (&prepared.groups, &records.original);
                isolate::isolate_all(ec2, facts, groups, original, r.deadline).await
            }
            false => Vec::new(),
        }
    };
    let id = facts.instance_id.as_str();
    let record = isolate::write_records(ec2, id, isolation_room, &records.original);
    // The network ACL entries: their record (a call of its own), then the entries.
    let deny = async {
        match deny_acl {
            true => deny_when_recorded(ec2, facts, &prepared.acls, acl_room).await,
            false => Vec::new(),
        }
    };
    // Out of service alongside: it does not gate containment. Not when the cap held isolation back.
    let service = async {
        match isolate && r.plan.has(ActionKind::TakeOutOfService) {
            true => out_of_service::take_out_of_service(ec2, service, facts, at.budget).await,
            false => Vec::new(),
        }
    };
    let (isolated, recorded, denied, out_of_service) =
        futures::join!(isolation, record, deny, service);
    result.original_groups = records.original;
    if isolate {
        result.completed = Some(isolated.iter().all(Outcome::is_ok));
    }
    result.outcomes.extend(isolated);
    result.outcomes.extend(recorded);
    result.outcomes.extend(denied);
    result.outcomes.extend(out_of_service);
}

/// The network ACL entries, never before their record is written (nor when it could not be).
async fn deny_when_recorded<E: Ec2Ports>(
    ec2: &E,
    facts: &InstanceFacts,
    plans: &Result<Vec<AclPlan>, Outcome>,
    room: Room,
) -> Vec<Outcome> {
    let plans = match plans {
        Ok(plans) => plans,
        Err(failed) => return vec![failed.clone()],
    };
    match network_acl::write_records(ec2, facts, room).await {
        Some(not_recorded) if !not_recorded.is_ok() => vec![not_recorded],
        recorded => {
            let mut outcomes: Vec<Outcome> = recorded.into_iter().collect();
            outcomes.extend(network_acl::deny(ec2, plans).await);
            outcomes
        }
    }
}

/// Then, off the critical path (so they do not compete with it for the API): evidence protection
/// and snapshots, concurrently; then the instance says what happened, and when.
async fn preserve<E: Ec2Ports>(ec2: &E, r: Request<'_>, at: Here<'_>, result: &mut Execution) {
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

#[cfg(test)]
mod tests {
    use super::quarantines_in_the_last_hour;

    #[test]
    fn the_cap_counts_other_instances_quarantined_within_the_rolling_hour() {
        let now = "2026-11-23T10:00:00Z";
        let starts = [
            ("i-self".to_string(), "2026-11-23T09:59:00Z".to_string()),
            ("i-a".to_string(), "2026-11-23T09:00:00Z".to_string()), // exactly an hour: counts
            ("i-b".to_string(), "2026-11-23T09:30:00.250Z".to_string()),
            ("i-c".to_string(), "2026-11-23T08:59:59Z".to_string()), // older: does not
            ("i-d".to_string(), "garbled".to_string()),              // unreadable: counts
        ];
        assert_eq!(quarantines_in_the_last_hour(&starts, "i-self", now), 3);
        assert_eq!(quarantines_in_the_last_hour(&[], "i-self", now), 0);
    }
}
