//! Round 1 of `take-out-of-service`: what the instance is in service in (its Auto Scaling group,
//! the target groups it is registered with, its Elastic IPs), and the records of it to write
//! before anything changes.

use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{AddressFacts, GroupMembership, InstanceFacts, OutOfServicePorts, Registration};
use crate::records::{self, Service};
use crate::tags::{self, AutoScalingRecord, EipRecord};

const ACTION: ActionKind = ActionKind::TakeOutOfService;

/// A lookup's findings, or none when it failed (reported in `outcomes`): what it would have found
/// is left alone.
fn or_report<T>(
    found: Result<Vec<T>, AwsError>,
    what: &str,
    id: &str,
    outcomes: &mut Vec<Outcome>,
) -> Vec<T> {
    found.unwrap_or_else(|e| {
        outcomes.push(Outcome::failed(
            ACTION,
            id,
            &format!("could not read {what}"),
            &e,
        ));
        Vec::new()
    })
}

/// What the instance is in, as read in one round.
pub(super) struct InService {
    pub(super) group: Option<GroupMembership>,
    pub(super) registrations: Vec<Registration>,
    pub(super) addresses: Vec<AddressFacts>,
}

/// Round 1: the group, the registrations and the addresses (failed lookups are reported).
pub(super) async fn read<S: OutOfServicePorts>(
    service: &S,
    facts: &InstanceFacts,
    outcomes: &mut Vec<Outcome>,
) -> InService {
    let id = facts.instance_id.as_str();
    let vpcs = facts.vpc_ids();
    let ips: Vec<String> = facts
        .interfaces
        .iter()
        .flat_map(|i| i.addresses.iter().cloned())
        .collect();
    let (group, registrations, addresses) = futures::join!(
        service.auto_scaling_group(id),
        service.registrations(id, &vpcs, &ips),
        service.addresses(id)
    );
    let group = match group {
        Ok(Some(m)) if m.lifecycle_state == "InService" => Some(m),
        Ok(Some(m)) => {
            outcomes.push(Outcome::new(
                ACTION,
                id,
                Status::AlreadyDone,
                format!(
                    "Auto Scaling group {}: the instance is {}",
                    m.group, m.lifecycle_state
                ),
            ));
            None
        }
        Ok(None) => None,
        Err(e) => {
            outcomes.push(Outcome::failed(
                ACTION,
                id,
                "could not read the instance's Auto Scaling group",
                &e,
            ));
            None
        }
    };
    let registrations = or_report(
        registrations,
        "the load balancer target groups",
        id,
        outcomes,
    );
    let addresses = or_report(addresses, "the instance's Elastic IPs", id, outcomes);
    InService {
        group,
        registrations,
        addresses,
    }
}

/// The records of what will change: the Auto Scaling group in a tag of its own, the registrations
/// and addresses in the [`Service`] record (each its own write: one that does not fit never costs
/// the other). What an earlier delivery recorded is kept.
pub(super) fn records(facts: &InstanceFacts, now: &InService) -> [Vec<(String, String)>; 2] {
    let mut group = Vec::new();
    if let Some(m) = &now.group {
        if facts.tag(tags::AUTO_SCALING).is_none() {
            let r = AutoScalingRecord {
                group: m.group.clone(),
                detached: false,
            };
            group.push(tags::pair(tags::AUTO_SCALING, r.encode()));
        }
    }
    let recorded = Service::read(&facts.tags);
    let mut record = Service::packed(&facts.tags);
    let mut changed = false;
    for r in &now.registrations {
        if !recorded.targets.contains(r) {
            record.targets.push(r.clone());
            changed = true;
        }
    }
    for a in &now.addresses {
        if !recorded.addresses.contains_key(&a.allocation_id) {
            let r = EipRecord {
                network_interface_id: a.network_interface_id.clone(),
                private_ip: a.private_ip.clone(),
            };
            record.addresses.insert(a.allocation_id.clone(), r);
            changed = true;
        }
    }
    let service = match changed {
        true => records::chunked(tags::OUT_OF_SERVICE, &record.tokens(), &facts.tags),
        false => Vec::new(),
    };
    [group, service]
}
