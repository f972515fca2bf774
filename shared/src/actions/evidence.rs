//! `protect-evidence`: termination protection on, an OS shutdown stops instead of terminating, and
//! volumes are kept on termination. What Firebreak changes, and from what, is recorded on the
//! instance first ([`Evidence`], one record for the three), so a release puts back exactly what
//! Firebreak changed and nothing else. A record that cannot be written (EC2's tag limit, a failed
//! `CreateTags`) never holds a protection back: the change is made, and the state before is
//! reported for a human (a release then leaves the protection on: never less protected).

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{EvidencePort, InstanceFacts, InstancesPort};
use crate::records::{self, Budget, Evidence};
use crate::shell::{self, Command};
use crate::tags;

const ACTION: ActionKind = ActionKind::ProtectEvidence;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What `protect-evidence` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeInstanceAttribute",
        "ec2:ModifyInstanceAttribute",
        "ec2:CreateTags",
    ],
    tags: &[tags::EVIDENCE],
    undo_permissions: &["ec2:ModifyInstanceAttribute", "ec2:DeleteTags"],
};

/// What the instance has now, as read before any change.
struct Before {
    /// `None` for a Spot instance (EC2 refuses the attribute), else whether it is on.
    protection: Option<Result<bool, AwsError>>,
    shutdown: Result<String, AwsError>,
    /// The devices whose volumes are deleted on termination.
    deleted: Vec<String>,
}

impl Before {
    async fn read<E: EvidencePort>(ec2: &E, facts: &InstanceFacts) -> Before {
        let id = facts.instance_id.as_str();
        let (protection, shutdown) = futures::join!(
            async {
                match facts.spot {
                    true => None,
                    false => Some(ec2.termination_protection(id).await),
                }
            },
            ec2.shutdown_behaviour(id)
        );
        let deleted = facts
            .volumes
            .iter()
            .filter(|v| v.delete_on_termination)
            .map(|v| v.device_name.clone())
            .collect();
        Before {
            protection,
            shutdown,
            deleted,
        }
    }

    /// What will change, as a record: what the instance records already, plus what is new.
    fn record(&self, recorded: &Evidence) -> Evidence {
        Evidence {
            termination_protection: recorded.termination_protection
                || matches!(self.protection, Some(Ok(false))),
            shutdown: recorded.shutdown.clone().or(match &self.shutdown {
                Ok(b) if b != "stop" => Some(b.clone()),
                _ => None,
            }),
            kept_volumes: match recorded.kept_volumes.is_empty() {
                true => self.deleted.clone(),
                false => recorded.kept_volumes.clone(),
            },
        }
    }
}

/// Evidence protection: the three settings read, the record written, then the three changes,
/// concurrently (the record's outcome never stops them).
pub async fn protect_evidence<E: EvidencePort + InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    budget: &Budget,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    let before = Before::read(ec2, facts).await;
    let recorded = Evidence::read(&facts.tags);
    let record = before.record(&recorded);
    // The whole record, in this version's format (what an earlier one recorded included).
    let write = match record == recorded {
        true => Vec::new(),
        false => records::chunked(tags::EVIDENCE, &record.tokens(), &facts.tags),
    };
    let unrecorded = budget
        .record(&facts.tags, write, |w| async move {
            ec2.tag_instance(id, &w).await
        })
        .await;
    // What only this delivery would have recorded is what a failed record leaves unrecorded.
    let new = |has: bool, had: bool| has && !had;
    let why = |changed: bool| unrecorded.as_deref().filter(|_| changed);
    let (t, s, v) = futures::join!(
        termination_protection(
            ec2,
            facts,
            before.protection,
            why(new(
                record.termination_protection,
                recorded.termination_protection
            ))
        ),
        shutdown_stops(
            ec2,
            id,
            before.shutdown,
            why(new(record.shutdown.is_some(), recorded.shutdown.is_some()))
        ),
        keep_volumes(
            ec2,
            facts,
            &before.deleted,
            why(new(
                !record.kept_volumes.is_empty(),
                !recorded.kept_volumes.is_empty()
            ))
        )
    );
    vec![t, s, v]
}

async fn termination_protection<E: EvidencePort>(
    ec2: &E,
    facts: &InstanceFacts,
    before: Option<Result<bool, AwsError>>,
    unrecorded: Option<&str>,
) -> Outcome {
    let id = facts.instance_id.as_str();
    let on = match before {
        // EC2 refuses it ("not supported for spot instances"): not attempted, not recorded.
        None => {
            let why = "termination protection skipped: EC2 does not support it for Spot \
                       instances (shutdown behaviour and volumes are still protected)";
            return Outcome::new(ACTION, id, Status::Skipped, why);
        }
        Some(Err(e)) => {
            return Outcome::failed(ACTION, id, "could not read termination protection", &e)
        }
        Some(Ok(on)) => on,
    };
    if on {
        let done = "termination protection was already on";
        return Outcome::new(ACTION, id, Status::AlreadyDone, done);
    }
    let outcome = match ec2.enable_termination_protection(id).await {
        Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, "termination protection on"),
        Err(e) => {
            return Outcome::failed(ACTION, id, "could not turn termination protection on", &e)
        }
    };
    match unrecorded {
        Some(why) => outcome.unrecorded(protection_was_off(id), why),
        None => outcome,
    }
}

/// The termination protection before, and the command that puts it back, for a human.
fn protection_was_off(id: &str) -> String {
    let put_back = Command::new("aws ec2 modify-instance-attribute")
        .arg("--instance-id", shell::INSTANCE, id)
        .words("--no-disable-api-termination");
    format!(
        "termination protection was off {}",
        put_back.or_note(|c| format!("({c})"))
    )
}

/// The shutdown behaviour before, and the command that puts it back, for a human.
fn shutdown_was(id: &str, before: &str) -> String {
    let put_back = Command::new("aws ec2 modify-instance-attribute")
        .arg("--instance-id", shell::INSTANCE, id)
        .arg(
            "--instance-initiated-shutdown-behavior",
            shell::SHUTDOWN_BEHAVIOUR,
            before,
        );
    format!(
        "the shutdown behaviour was {} {}",
        shell::shown(before),
        put_back.or_note(|c| format!("({c})"))
    )
}

/// Shutdown behaviour `stop`.
async fn shutdown_stops<E: EvidencePort>(
    ec2: &E,
    id: &str,
    before: Result<String, AwsError>,
    unrecorded: Option<&str>,
) -> Outcome {
    let before = match before {
        Ok(b) => b,
        Err(e) => return Outcome::failed(ACTION, id, "could not read the shutdown behaviour", &e),
    };
    if before == "stop" {
        let done = "shutdown behaviour was already stop";
        return Outcome::new(ACTION, id, Status::AlreadyDone, done);
    }
    let outcome = match ec2.set_shutdown_behaviour(id, "stop").await {
        Ok(()) => Outcome::new(ACTION, id, Status::Succeeded, "shutdown behaviour stop"),
        Err(e) => return Outcome::failed(ACTION, id, "could not set shutdown behaviour", &e),
    };
    match unrecorded {
        Some(why) => outcome.unrecorded(shutdown_was(id, &before), why),
        None => outcome,
    }
}

/// `DeleteOnTermination=false` on every volume that had it on.
async fn keep_volumes<E: EvidencePort>(
    ec2: &E,
    facts: &InstanceFacts,
    deleted: &[String],
    unrecorded: Option<&str>,
) -> Outcome {
    let id = facts.instance_id.as_str();
    if facts.volumes.is_empty() {
        return Outcome::new(ACTION, id, Status::Skipped, "no EBS volumes");
    }
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
    let outcome = match ec2.set_delete_on_termination(id, deleted, false).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!("DeleteOnTermination=false on {}", deleted.join(", ")),
        ),
        Err(e) => return Outcome::failed(ACTION, id, "could not keep volumes on termination", &e),
    };
    match unrecorded {
        Some(why) => outcome.unrecorded(
            format!("DeleteOnTermination was true on {}", deleted.join(", ")),
            why,
        ),
        None => outcome,
    }
}

/// The undo: termination protection off where Firebreak's record says it turned it on, the
/// shutdown behaviour and `DeleteOnTermination` put back to what was recorded, concurrently; with
/// the outcomes, the record's keys to remove once all three are done.
pub async fn restore<E: EvidencePort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>) {
    let id = facts.instance_id.as_str();
    let recorded = Evidence::read(&facts.tags);
    let protection = async {
        if !recorded.termination_protection {
            return None;
        }
        Some(match ec2.disable_termination_protection(id).await {
            Ok(()) => Outcome::new(
                UNDO,
                id,
                Status::Succeeded,
                "termination protection off (Firebreak had turned it on)",
            ),
            Err(e) => Outcome::failed(UNDO, id, "could not turn termination protection off", &e),
        })
    };
    let shutdown = async {
        let before = recorded.shutdown.as_deref()?;
        Some(match ec2.set_shutdown_behaviour(id, before).await {
            Ok(()) => {
                let done = format!("shutdown behaviour {before} again");
                Outcome::new(UNDO, id, Status::Succeeded, done)
            }
            Err(e) => Outcome::failed(UNDO, id, "could not restore the shutdown behaviour", &e),
        })
    };
    let volumes = async {
        let devices = &recorded.kept_volumes;
        if devices.is_empty() {
            return None;
        }
        Some(
            match ec2.set_delete_on_termination(id, devices, true).await {
                Ok(()) => {
                    let done = format!("DeleteOnTermination=true again on {}", devices.join(", "));
                    Outcome::new(UNDO, id, Status::Succeeded, done)
                }
                Err(e) => Outcome::failed(UNDO, id, "could not restore DeleteOnTermination", &e),
            },
        )
    };
    let (p, s, v) = futures::join!(protection, shutdown, volumes);
    let outcomes: Vec<Outcome> = p.into_iter().chain(s).chain(v).collect();
    let done = match outcomes.iter().all(Outcome::is_ok) {
        true => Evidence::keys(&facts.tags),
        false => Vec::new(),
    };
    (outcomes, done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::testing::{assert_pasteable, HOSTILE};

    #[test]
    fn the_state_before_prints_only_a_valid_instance_and_behaviour() {
        let id = "i-0123456789abcdef0";
        let ordinary = protection_was_off(id);
        assert_eq!(
            ordinary,
            "termination protection was off (aws ec2 modify-instance-attribute --instance-id \
             i-0123456789abcdef0 --no-disable-api-termination)"
        );
        let shutdown = shutdown_was(id, "terminate");
        assert_eq!(
            shutdown,
            "the shutdown behaviour was terminate (aws ec2 modify-instance-attribute \
             --instance-id i-0123456789abcdef0 --instance-initiated-shutdown-behavior terminate)"
        );
        for hostile in HOSTILE {
            for (text, like) in [
                (protection_was_off(hostile), &ordinary),
                (shutdown_was(hostile, "terminate"), &shutdown),
                (shutdown_was(id, hostile), &shutdown),
            ] {
                assert!(text.contains(" (not printed: "), "{text}");
                assert_pasteable(&text, like);
            }
        }
    }
}
