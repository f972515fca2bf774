//! `take-out-of-service`: a quarantined instance out of its Auto Scaling group (which would
//! otherwise replace — terminate — an instance that fails its health checks, and termination
//! protection does not stop Auto Scaling), the load balancer target groups that send it traffic,
//! and its Elastic IPs. Each is recorded on the instance *before* it is changed (write-ahead: a cut
//! between the two calls must not lose the record). Its undo puts back what the records name, and a
//! record is removed only once what it names is restored.
//!
//! This runs concurrently with isolation: it does not gate containment and does not lengthen its
//! critical path.

use futures::future::join_all;

use crate::actions::spec::ActionSpec;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{
    AddressFacts, AddressesPort, AutoScalingPort, GroupMembership, InstanceFacts, InstancesPort,
    OutOfServicePorts, Registration, TargetGroupsPort,
};
use crate::records::{Budget, Service};
use crate::shell::{self, Command};
use crate::tags::{self, AutoScalingRecord, EipRecord, TargetRecord};

mod in_service;

const ACTION: ActionKind = ActionKind::TakeOutOfService;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What `take-out-of-service` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:EnterStandby",
        "autoscaling:DetachInstances",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DeregisterTargets",
        "ec2:DescribeAddresses",
        "ec2:DisassociateAddress",
        "ec2:CreateTags",
    ],
    tags: &[tags::AUTO_SCALING, tags::OUT_OF_SERVICE],
    undo_permissions: &[
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:ExitStandby",
        "autoscaling:AttachInstances",
        "elasticloadbalancing:RegisterTargets",
        "ec2:AssociateAddress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ],
};

/// Writes one record within the budget; why it could not be, if it could not.
async fn write_record<E: InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    budget: &Budget,
    write: Vec<(String, String)>,
) -> Option<String> {
    let id = facts.instance_id.as_str();
    budget
        .record(&facts.tags, write, |w| async move {
            ec2.tag_instance(id, &w).await
        })
        .await
}

/// Takes the instance out of its group, target groups and Elastic IPs, each recorded first. A
/// record that cannot be written does not stop it: the instance still leaves service, and each
/// change says what it was, for a human (a release cannot put back what is not recorded).
pub async fn take_out_of_service<E: InstancesPort, S: OutOfServicePorts>(
    ec2: &E,
    service: &S,
    facts: &InstanceFacts,
    budget: &Budget,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    let mut outcomes = Vec::new();
    let now = in_service::read(service, facts, &mut outcomes).await;
    if now.group.is_none() && now.registrations.is_empty() && now.addresses.is_empty() {
        if outcomes.is_empty() {
            outcomes.push(Outcome::new(
                ACTION,
                id,
                Status::AlreadyDone,
                "in no Auto Scaling group or target group, and no Elastic IP",
            ));
        }
        return outcomes;
    }
    let [group_record, service_record] = in_service::records(facts, &now);
    // Concurrently; the group's record takes its tag first (joined futures start in order).
    let (group_lost, service_lost) = futures::join!(
        write_record(ec2, facts, budget, group_record),
        write_record(ec2, facts, budget, service_record)
    );
    let recorded = Service::read(&facts.tags);
    // What this delivery meant to record and could not.
    let lost = |new: bool| service_lost.as_deref().filter(|_| new);

    // The changes, concurrently.
    let auto_scaling = async {
        let m = now.group.as_ref()?;
        let lost = group_lost
            .as_deref()
            .filter(|_| facts.tag(tags::AUTO_SCALING).is_none());
        let outcome = leave_group(ec2, service, m, id, lost.is_none()).await;
        Some(noted(outcome, lost, || group_was(&m.group)))
    };
    let targets = join_all(now.registrations.iter().map(|r| async {
        let outcome = deregister(service, r, id).await;
        noted(outcome, lost(!recorded.targets.contains(r)), || {
            format!("it was registered with {}", TargetRecord::encode(r))
        })
    }));
    let eips = join_all(now.addresses.iter().map(|a| async {
        let outcome = disassociate(service, a, id).await;
        noted(
            outcome,
            lost(!recorded.addresses.contains_key(&a.allocation_id)),
            || address_was(a),
        )
    }));
    let (group_outcome, target_outcomes, eip_outcomes) =
        futures::join!(auto_scaling, targets, eips);
    outcomes.extend(group_outcome);
    outcomes.extend(target_outcomes);
    outcomes.extend(eip_outcomes);
    outcomes
}

/// The group the instance was in service in, for a human (its name quoted when it is not a plain
/// word: a name may hold any printable ASCII but `:`).
fn group_was(group: &str) -> String {
    let group = match shell::auto_scaling_group_name(group) {
        true => shell::quote(group),
        false => shell::shown(group),
    };
    format!(
        "the instance was in service in Auto Scaling group {group} (aws autoscaling \
         exit-standby, or attach-instances if it was detached)"
    )
}

/// Where an Elastic IP was, and the command that puts it back (not printed when a value is not
/// what EC2 issues).
fn address_was(a: &AddressFacts) -> String {
    let (allocation, eni, ip) = (&a.allocation_id, &a.network_interface_id, &a.private_ip);
    let associate = Command::new("aws ec2 associate-address")
        .arg("--allocation-id", shell::ALLOCATION, allocation)
        .arg("--network-interface-id", shell::NETWORK_INTERFACE, eni)
        .arg("--private-ip-address", shell::IP_ADDRESS, ip);
    format!(
        "Elastic IP {} was on {} ({}) {}",
        shell::shown(allocation),
        shell::shown(eni),
        shell::shown(ip),
        associate.or_note(|c| format!("({c})"))
    )
}

/// `outcome`, with the state before a change that could not be recorded (`lost`: why), for a human.
fn noted(outcome: Outcome, lost: Option<&str>, what: impl FnOnce() -> String) -> Outcome {
    match lost {
        Some(why) if outcome.is_ok() => outcome.unrecorded(what(), why),
        _ => outcome,
    }
}

/// Standby; when Standby is refused (e.g. a group with warm pools or a lifecycle in progress),
/// detached, and the record says so.
async fn leave_group<E: InstancesPort, S: AutoScalingPort>(
    ec2: &E,
    service: &S,
    m: &GroupMembership,
    id: &str,
    recorded: bool,
) -> Outcome {
    let standby = match service.enter_standby(&m.group, id).await {
        Ok(()) => {
            return Outcome::new(
                ACTION,
                id,
                Status::Succeeded,
                format!(
                    "Auto Scaling group {}: standby (the group replaces the capacity)",
                    m.group
                ),
            )
        }
        Err(standby) => standby,
    };
    if let Err(e) = service.detach_from_group(&m.group, id).await {
        return Outcome::failed(
            ACTION,
            id,
            &format!(
                "could not take the instance out of Auto Scaling group {} (standby: {})",
                m.group, standby.message
            ),
            &e,
        );
    }
    let detached = format!(
        "Auto Scaling group {}: detached (standby refused: {}; the group replaces the capacity)",
        m.group, standby.message
    );
    if !recorded {
        return Outcome::new(ACTION, id, Status::Succeeded, detached);
    }
    let record = AutoScalingRecord {
        group: m.group.clone(),
        detached: true,
    };
    match ec2
        .tag_instance(id, &[tags::pair(tags::AUTO_SCALING, record.encode())])
        .await
    {
        Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, detached),
        Err(e) => Outcome::failed(
            ACTION,
            id,
            &format!(
                "detached from Auto Scaling group {} but could not record it",
                m.group
            ),
            &e,
        ),
    }
}

async fn deregister<S: TargetGroupsPort>(service: &S, r: &Registration, id: &str) -> Outcome {
    match service.deregister(r, id).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!("deregistered from {}", TargetRecord::encode(r)),
        ),
        Err(e) => Outcome::failed(
            ACTION,
            id,
            &format!("could not deregister from {}", r.target_group_arn),
            &e,
        ),
    }
}

async fn disassociate<S: AddressesPort>(service: &S, a: &AddressFacts, id: &str) -> Outcome {
    match service.disassociate_address(&a.association_id).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!(
                "Elastic IP {} ({}) disassociated (EC2 may give the interface a new public IPv4 \
                 address; its isolation blocks it all the same)",
                a.public_ip, a.allocation_id
            ),
        ),
        Err(e) => Outcome::failed(
            ACTION,
            id,
            &format!("could not disassociate Elastic IP {}", a.public_ip),
            &e,
        ),
    }
}

/// The undo: puts back what [`take_out_of_service`] recorded (in either format); returns the
/// outcomes and the record keys to remove: the Auto Scaling tag once the instance is back in its
/// group, the [`Service`] record once every registration and address is back.
pub async fn put_back_in_service<S: OutOfServicePorts>(
    service: &S,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>) {
    let id = facts.instance_id.as_str();
    let recorded = Service::read(&facts.tags);
    let auto_scaling = async {
        let record = AutoScalingRecord::decode(facts.tag(tags::AUTO_SCALING)?);
        Some(back_in_group(service, &record, id).await)
    };
    let targets = join_all(
        recorded
            .targets
            .iter()
            .map(|r| register_again(service, r, id)),
    );
    let eips = join_all(
        recorded
            .addresses
            .iter()
            .map(|(allocation, e)| associate_again(service, allocation, e, id)),
    );
    let (group, targets, eips) = futures::join!(auto_scaling, targets, eips);
    let mut outcomes = Vec::new();
    let mut restored = Vec::new();
    if let Some((o, key)) = group {
        outcomes.push(o);
        restored.extend(key);
    }
    let others: Vec<Outcome> = targets.into_iter().chain(eips).collect();
    if others.iter().all(Outcome::is_ok) {
        restored.extend(Service::keys(&facts.tags));
    }
    outcomes.extend(others);
    (outcomes, restored)
}

async fn back_in_group<S: AutoScalingPort>(
    service: &S,
    record: &AutoScalingRecord,
    id: &str,
) -> (Outcome, Option<String>) {
    let group = record.group.as_str();
    let current = service.auto_scaling_group(id).await;
    let result = match &current {
        Ok(Some(m)) if m.lifecycle_state == "InService" => Ok("already in service"),
        Ok(Some(m)) if !record.detached && m.lifecycle_state == "Standby" => service
            .exit_standby(group, id)
            .await
            .map(|()| "out of standby"),
        Ok(None) => service
            .attach_to_group(group, id)
            .await
            .map(|()| "attached again"),
        Ok(Some(m)) => Ok(if m.lifecycle_state.starts_with("Pending") {
            "returning"
        } else {
            "in the group"
        }),
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(what) => (
            Outcome::new(
                UNDO,
                id,
                Status::Succeeded,
                format!("Auto Scaling group {group}: {what}"),
            ),
            Some(tags::AUTO_SCALING.to_string()),
        ),
        Err(e) => {
            // AttachInstances fails when the group is at its maximum size (its replacement took
            // the place): the record stays for a retry once there is room.
            let full = e.message.contains("max") || e.message.contains("Max");
            let hint = match full {
                true => {
                    ": the group is at its maximum size; raise it (or scale in), then choose \
                         FbRelease again"
                }
                false => "",
            };
            let what = format!("could not return the instance to Auto Scaling group {group}{hint}");
            (Outcome::failed(UNDO, id, &what, &e), None)
        }
    }
}

async fn register_again<S: TargetGroupsPort>(service: &S, r: &Registration, id: &str) -> Outcome {
    let value = TargetRecord::encode(r);
    match service.register(r, id).await {
        Ok(()) => Outcome::new(
            UNDO,
            id,
            Status::Succeeded,
            format!("registered again with {value}"),
        ),
        Err(e) => Outcome::failed(
            UNDO,
            id,
            &format!("could not register again with {value}"),
            &e,
        ),
    }
}

async fn associate_again<S: AddressesPort>(
    service: &S,
    allocation: &str,
    record: &EipRecord,
    id: &str,
) -> Outcome {
    let (eni, ip) = (&record.network_interface_id, &record.private_ip);
    match service.associate_address(allocation, eni, ip).await {
        Ok(()) => Outcome::new(
            UNDO,
            id,
            Status::Succeeded,
            format!("Elastic IP {allocation} associated again with {eni} ({ip})"),
        ),
        Err(e) => Outcome::failed(
            UNDO,
            id,
            &format!("could not associate Elastic IP {allocation} again"),
            &e,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::testing::{assert_pasteable, HOSTILE};

    #[test]
    fn the_state_before_names_the_group_and_prints_only_a_valid_association() {
        let ordinary = group_was("web-asg");
        assert_eq!(
            ordinary,
            "the instance was in service in Auto Scaling group web-asg (aws autoscaling \
             exit-standby, or attach-instances if it was detached)"
        );
        for hostile in HOSTILE {
            assert_pasteable(&group_was(hostile), &ordinary);
        }
        assert!(group_was("a;b").contains("group 'a;b' (aws"));

        let address = |allocation: &str, eni: &str, ip: &str| {
            address_was(&AddressFacts {
                allocation_id: allocation.into(),
                association_id: "eipassoc-12345678".into(),
                public_ip: "203.0.113.7".into(),
                network_interface_id: eni.into(),
                private_ip: ip.into(),
            })
        };
        let (allocation, eni, ip) = ("eipalloc-12345678", "eni-0123456789abcdef0", "10.0.0.5");
        let ordinary = address(allocation, eni, ip);
        assert_eq!(
            ordinary,
            "Elastic IP eipalloc-12345678 was on eni-0123456789abcdef0 (10.0.0.5) (aws ec2 \
             associate-address --allocation-id eipalloc-12345678 --network-interface-id \
             eni-0123456789abcdef0 --private-ip-address 10.0.0.5)"
        );
        for hostile in HOSTILE {
            for text in [
                address(hostile, eni, ip),
                address(allocation, hostile, ip),
                address(allocation, eni, hostile),
            ] {
                assert!(text.contains(") (not printed: "), "{text}");
                assert_pasteable(&text, &ordinary);
            }
        }
    }
}
