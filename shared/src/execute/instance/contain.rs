//! Containment, the critical path: what is missing prepared (quarantine groups, network ACLs),
//! then isolation with its records, the network ACL entries once theirs is written, and the
//! instance taken out of service alongside.

use std::collections::HashMap;

use crate::actions::isolate::{self, GroupsByVpc};
use crate::actions::network_acl::{self, AclPlan};
use crate::actions::out_of_service;
use crate::execute::instance::here::Here;
use crate::execute::instance::read::Early;
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome};
use crate::ports::{Ec2Ports, InstanceFacts, NetworkAclFacts, OutOfServicePorts};
use crate::records::{AclDenies, Room};

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
pub(super) async fn contain<E: Ec2Ports, S: OutOfServicePorts>(
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
