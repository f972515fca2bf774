//! Undoing a quarantine (`FbRelease`), from what the quarantine recorded on the instance: each
//! action's undo, concurrently — each ENI's original groups (`isolate`), termination protection if
//! Firebreak turned it on (`evidence`), the network ACL entries it added (`network_acl`), the
//! instance profile it removed (`profile`), the Auto
//! Scaling group, target groups and Elastic IPs it took the instance out of (`out_of_service`).
//! Evidence snapshots are kept. A record is removed only once what it records is restored, so a
//! release that fails part-way can be retried.

use crate::actions::{evidence, isolate, network_acl, out_of_service, profile, tag_instance};
use crate::execute::vet::{vet, Vetted};
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Action;
use crate::ports::{Ec2Ports, InstanceFacts, InstancesPort, OutOfServicePorts, Ports};
use crate::records::{AclDenies, Isolation};
use crate::tags;

const RELEASE: ActionKind = ActionKind::ReleaseInstance;

/// Restores a quarantined instance. `completed` in the result means "released".
/// `decided_by`: who asked for the release (recorded as a rejection when the instance was
/// awaiting approval).
pub async fn run<E: Ec2Ports, S: OutOfServicePorts, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    let Some(id) = r.plan.find(RELEASE).and_then(Action::instance_id) else {
        return Execution::default();
    };
    let (ec2, service, clock) = (p.ec2, p.service, r.clock);
    let decided_by = r.plan.decided_by.as_deref();
    let read = match ec2.describe_instance(id).await {
        // Terminated, but its tags still readable: the deny entries for its addresses must not
        // stay in the VPC's network ACLs, where they would cut off whoever gets them next.
        Ok(Some(f)) if f.state == "terminated" && has_acl_records(&f) => {
            let mut f = f;
            f.interfaces.clear();
            let vetted = vet(ec2, &f).await;
            return release_terminated(ec2, vetted).await;
        }
        Ok(Some(f)) if f.state != "terminated" => f,
        Ok(Some(_)) | Ok(None) => {
            return Execution {
                outcomes: vec![Outcome::new(
                    RELEASE,
                    id,
                    Status::Skipped,
                    "the instance no longer exists",
                )],
                ..Execution::default()
            }
        }
        Err(e) => {
            return Execution {
                outcomes: vec![Outcome::failed(
                    RELEASE,
                    id,
                    "could not describe the instance",
                    &e,
                )],
                completed: Some(false),
                ..Execution::default()
            }
        }
    };
    let vetted = vet(ec2, &read).await;
    let facts = &vetted.facts;
    let (mut outcomes, mut remove, mut released) = undo_all(ec2, service, facts).await;
    released &= vetted.refused.is_empty();
    if !vetted.refused.is_empty() {
        // A record a check refused stays, and so do the markers of the quarantine.
        let markers = tag_instance::quarantine_tags(facts);
        remove.retain(|k| !markers.contains(k));
    }
    outcomes.extend(vetted.refused.iter().cloned());
    widen(&mut remove, &vetted);
    // Only keys the instance carries (the vetted records are in the earlier format); a forged tag
    // stays, as evidence.
    let present = |k: &String| read.tags.iter().chain(&read.legacy).any(|(t, _)| t == k);
    remove.retain(present);
    let now = clock.rfc3339();
    let mut mark = vec![tags::pair(tags::RELEASED_AT, &now)];
    if tags::status_of(facts) == Some(tags::status::AWAITING_APPROVAL) {
        let who = tags::tag_safe(decided_by.unwrap_or("FbRelease"));
        mark.push(tags::pair(
            tags::DECISION,
            format!("rejected {now} by {who}"),
        ));
    }
    let outcomes = clear_records(ec2, facts, outcomes, remove, mark).await;
    Execution {
        completed: Some(released),
        outcomes,
        warnings: vetted.warnings,
        ..Execution::default()
    }
}

/// Once the vetted isolation or network ACL record is restored, every tag that held it goes.
fn widen(remove: &mut Vec<String>, vetted: &Vetted) {
    let tags = &vetted.facts.tags;
    let kinds = [
        (Isolation::keys(tags), &vetted.isolation_keys),
        (AclDenies::keys(tags), &vetted.acl_keys),
    ];
    for (vetted_keys, all) in kinds {
        if vetted_keys.iter().any(|k| remove.contains(k)) {
            for k in all.iter() {
                if !remove.contains(k) {
                    remove.push(k.clone());
                }
            }
        }
    }
}

fn has_acl_records(facts: &InstanceFacts) -> bool {
    !AclDenies::read(&facts.tags).0.is_empty()
}

/// A terminated instance: only its network ACL entries are left to remove.
async fn release_terminated<E: Ec2Ports>(ec2: &E, vetted: Vetted) -> Execution {
    let (mut outcomes, _) = network_acl::remove(ec2, &vetted.facts).await;
    outcomes.extend(vetted.refused);
    let released = outcomes.iter().all(Outcome::is_ok);
    Execution {
        completed: Some(released),
        outcomes,
        warnings: vetted.warnings,
        ..Execution::default()
    }
}

/// Every recorded change undone, concurrently: the outcomes, the records to remove, and whether
/// everything was restored.
async fn undo_all<E: Ec2Ports, S: OutOfServicePorts>(
    ec2: &E,
    service: &S,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>, bool) {
    let (interfaces, acls, settings, profile, in_service) = futures::join!(
        isolate::restore_all(ec2, facts),
        network_acl::remove(ec2, facts),
        evidence::restore(ec2, facts),
        profile::reattach(ec2, facts),
        out_of_service::put_back_in_service(service, facts)
    );
    let mut outcomes = Vec::new();
    let mut remove: Vec<String> = Vec::new();
    for (o, done) in [interfaces, acls, settings, in_service] {
        outcomes.extend(o);
        remove.extend(done);
    }
    if let Some((o, done)) = profile {
        outcomes.push(o);
        remove.extend(done);
    }
    let released = outcomes.iter().all(Outcome::is_ok);
    if released {
        remove.extend(tag_instance::quarantine_tags(facts));
    }
    (outcomes, remove, released)
}

/// Removes the records of what is restored (keeping the rest for a retry) and marks the release.
async fn clear_records<E: InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    mut outcomes: Vec<Outcome>,
    remove: Vec<String>,
    mark: Vec<(String, String)>,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    if remove.is_empty() {
        if outcomes.iter().all(|o| o.status == Status::AlreadyDone) {
            outcomes.push(Outcome::new(
                RELEASE,
                id,
                Status::AlreadyDone,
                "nothing to release: no quarantine recorded on the instance",
            ));
        }
        return outcomes;
    }
    let untag = ec2.untag_instance(id, &remove).await;
    let marked: Vec<&str> = mark.iter().map(|(k, _)| k.as_str()).collect();
    let marked = marked.join(", ");
    let mark = ec2.tag_instance(id, &mark).await;
    outcomes.push(match untag.and(mark) {
        Ok(()) => Outcome::new(
            RELEASE,
            id,
            Status::Succeeded,
            format!("removed tags {}; tagged {marked}", remove.join(", ")),
        ),
        Err(e) => Outcome::failed(RELEASE, id, "could not update the tags", &e),
    });
    outcomes
}
