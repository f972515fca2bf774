//! `protect-evidence`: termination protection on (recorded as Firebreak's first, so a release lifts
//! only what Firebreak set), an OS shutdown stops instead of terminating, and volumes are kept on
//! termination. Its undo turns termination protection off when Firebreak turned it on.

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
        shutdown_stops(ec2, &facts.instance_id),
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

async fn shutdown_stops<E: EvidencePort>(ec2: &E, id: &str) -> Outcome {
    match ec2.set_shutdown_behaviour_stop(id).await {
        Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, "shutdown behaviour stop"),
        Err(e) => Outcome::failed(ACTION, id, "could not set shutdown behaviour", &e),
    }
}

async fn keep_volumes<E: EvidencePort>(ec2: &E, facts: &InstanceFacts) -> Outcome {
    let id = facts.instance_id.as_str();
    let devices: Vec<String> = facts
        .volumes
        .iter()
        .map(|v| v.device_name.clone())
        .collect();
    if devices.is_empty() {
        return Outcome::new(ACTION, id, Status::Skipped, "no EBS volumes");
    }
    match ec2.keep_volumes_on_termination(id, &devices).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!("DeleteOnTermination=false on {}", devices.join(", ")),
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
