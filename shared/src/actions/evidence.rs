//! `protect-evidence`: termination protection on, an OS shutdown stops instead of terminating, and
//! volumes are kept on termination — each change recorded on the instance first (what Firebreak
//! changed, and from what), so a release puts back exactly what Firebreak changed and nothing else.

use crate::actions::registry::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{EvidencePort, InstanceFacts, InstancesPort};
use crate::tags;

const ACTION: ActionKind = ActionKind::ProtectEvidence;

/// Evidence protection. Before Firebreak turns termination protection on, it records on the
/// instance that it is the one doing so (write-ahead): if the path to AWS breaks between the two
/// calls, the redelivery still knows, and a release lifts only what Firebreak set. A record left
/// by a change that never happened makes a release turn off a protection that is already off.
pub async fn protect_evidence<E: EvidencePort + InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Vec<Outcome> {
    let (t, s, v) = futures::join!(
        termination_protection(ec2, facts),
        shutdown_stops(ec2, facts),
        keep_volumes(ec2, facts)
    );
    vec![t, s, v]
}

async fn termination_protection<E: EvidencePort + InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Outcome {
    let id = facts.instance_id.as_str();
    if facts.spot {
        // EC2 refuses it ("not supported for spot instances"): not attempted, not recorded.
        let why = "termination protection skipped: EC2 does not support it for Spot instances \
                   (shutdown behaviour and volumes are still protected)";
        return Outcome::new(ACTION, id, Status::Skipped, why);
    }
    match ec2.termination_protection(id).await {
        Ok(true) => Outcome::new(
            ACTION,
            id,
            Status::AlreadyDone,
            "termination protection was already on",
        ),
        Ok(false) => {
            if facts.tag(tags::SET_TERMINATION_PROTECTION).is_none() {
                let record = [tags::pair(tags::SET_TERMINATION_PROTECTION, tags::TRUE)];
                if let Err(e) = ec2.tag_instance(id, &record).await {
                    return Outcome::failed(
                        ACTION,
                        id,
                        "could not record that Firebreak turns termination protection on \
                         (left off)",
                        &e,
                    );
                }
            }
            match ec2.enable_termination_protection(id).await {
                Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, "termination protection on"),
                Err(e) => {
                    Outcome::failed(ACTION, id, "could not turn termination protection on", &e)
                }
            }
        }
        Err(e) => Outcome::failed(ACTION, id, "could not read termination protection", &e),
    }
}

/// Shutdown behaviour `stop`, the previous one recorded first.
async fn shutdown_stops<E: EvidencePort + InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Outcome {
    let id = facts.instance_id.as_str();
    let before = match ec2.shutdown_behaviour(id).await {
        Ok(b) => b,
        Err(e) => return Outcome::failed(ACTION, id, "could not read the shutdown behaviour", &e),
    };
    if before == "stop" {
        return Outcome::new(
            ACTION,
            id,
            Status::AlreadyDone,
            "shutdown behaviour was already stop",
        );
    }
    if facts.tag(tags::SHUTDOWN_BEHAVIOUR).is_none() {
        let record = [tags::pair(tags::SHUTDOWN_BEHAVIOUR, &before)];
        if let Err(e) = ec2.tag_instance(id, &record).await {
            let why = "could not record the shutdown behaviour (left unchanged)";
            return Outcome::failed(ACTION, id, why, &e);
        }
    }
    match ec2.set_shutdown_behaviour(id, "stop").await {
        Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, "shutdown behaviour stop"),
        Err(e) => Outcome::failed(ACTION, id, "could not set shutdown behaviour", &e),
    }
}

/// `DeleteOnTermination=false` on every volume; the devices that had it on recorded first.
async fn keep_volumes<E: EvidencePort + InstancesPort>(ec2: &E, facts: &InstanceFacts) -> Outcome {
    let id = facts.instance_id.as_str();
    if facts.volumes.is_empty() {
        return Outcome::new(ACTION, id, Status::Skipped, "no EBS volumes");
    }
    let deleted: Vec<String> = facts
        .volumes
        .iter()
        .filter(|v| v.delete_on_termination)
        .map(|v| v.device_name.clone())
        .collect();
    if deleted.is_empty() {
        let all: Vec<&str> = facts
            .volumes
            .iter()
            .map(|v| v.device_name.as_str())
            .collect();
        let detail = format!(
            "DeleteOnTermination was already false on {}",
            all.join(", ")
        );
        return Outcome::new(ACTION, id, Status::AlreadyDone, detail);
    }
    if facts.tag(tags::KEPT_VOLUMES).is_none() {
        let record = [tags::pair(tags::KEPT_VOLUMES, deleted.join(" "))];
        if let Err(e) = ec2.tag_instance(id, &record).await {
            let why = "could not record which volumes were deleted on termination (left unchanged)";
            return Outcome::failed(ACTION, id, why, &e);
        }
    }
    match ec2.set_delete_on_termination(id, &deleted, false).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!("DeleteOnTermination=false on {}", deleted.join(", ")),
        ),
        Err(e) => Outcome::failed(ACTION, id, "could not keep volumes on termination", &e),
    }
}

/// The undo: termination protection off when Firebreak's record says it turned it on (`None`
/// otherwise); with the outcome, the record to remove once done.
pub async fn lift_termination_protection<E: EvidencePort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Option<(Outcome, Option<String>)> {
    if facts.tag(tags::SET_TERMINATION_PROTECTION) != Some(tags::TRUE) {
        return None;
    }
    let id = facts.instance_id.as_str();
    const UNDO: ActionKind = ActionKind::ReleaseInstance;
    let outcome = match ec2.disable_termination_protection(id).await {
        Ok(()) => Outcome::new(
            UNDO,
            id,
            Status::Succeeded,
            "termination protection off (Firebreak had turned it on)",
        ),
        Err(e) => Outcome::failed(UNDO, id, "could not turn termination protection off", &e),
    };
    let done = outcome
        .is_ok()
        .then(|| tags::SET_TERMINATION_PROTECTION.to_string());
    Some((outcome, done))
}

/// The undo of the other two changes: the shutdown behaviour and `DeleteOnTermination` put back to
/// what was recorded; with each outcome, the record to remove once done.
pub async fn restore_settings<E: EvidencePort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Vec<(Outcome, Option<String>)> {
    const UNDO: ActionKind = ActionKind::ReleaseInstance;
    let id = facts.instance_id.as_str();
    let shutdown = async {
        let before = facts.tag(tags::SHUTDOWN_BEHAVIOUR)?;
        Some(match ec2.set_shutdown_behaviour(id, before).await {
            Ok(()) => (
                Outcome::new(
                    UNDO,
                    id,
                    Status::Succeeded,
                    format!("shutdown behaviour {before} again"),
                ),
                Some(tags::SHUTDOWN_BEHAVIOUR.to_string()),
            ),
            Err(e) => (
                Outcome::failed(UNDO, id, "could not restore the shutdown behaviour", &e),
                None,
            ),
        })
    };
    let volumes = async {
        let devices: Vec<String> = facts
            .tag(tags::KEPT_VOLUMES)?
            .split_whitespace()
            .map(String::from)
            .collect();
        Some(
            match ec2.set_delete_on_termination(id, &devices, true).await {
                Ok(()) => (
                    Outcome::new(
                        UNDO,
                        id,
                        Status::Succeeded,
                        format!("DeleteOnTermination=true again on {}", devices.join(", ")),
                    ),
                    Some(tags::KEPT_VOLUMES.to_string()),
                ),
                Err(e) => (
                    Outcome::failed(UNDO, id, "could not restore DeleteOnTermination", &e),
                    None,
                ),
            },
        )
    };
    let (s, v) = futures::join!(shutdown, volumes);
    s.into_iter().chain(v).collect()
}
