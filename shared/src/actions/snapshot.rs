//! `snapshot-volumes`: crash-consistent snapshots of every attached volume, tagged with the finding
//! id; a redelivered finding takes no second snapshot of a volume. Snapshots are evidence: a release
//! keeps them (no undo).

use futures::future::join_all;

use crate::actions::registry::ActionKind;
use crate::incident::Incident;
use crate::outcome::{Outcome, Status};
use crate::ports::{InstanceFacts, SnapshotsPort};
use crate::tags;

const ACTION: ActionKind = ActionKind::SnapshotVolumes;

/// At most one snapshot per volume and finding: what exists (by tag) is not taken again.
pub async fn snapshot_volumes<E: SnapshotsPort>(
    ec2: &E,
    incident: &Incident,
    facts: &InstanceFacts,
    now: &str,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    if facts.volumes.is_empty() {
        return vec![Outcome::new(ACTION, id, Status::Skipped, "no EBS volumes")];
    }
    let volume_ids: Vec<String> = facts.volumes.iter().map(|v| v.volume_id.clone()).collect();
    let existing = match ec2
        .finding_snapshots(&incident.finding_id, &volume_ids)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            return vec![Outcome::failed(
                ACTION,
                id,
                "could not look for earlier snapshots",
                &e,
            )]
        }
    };
    let tags = vec![
        tags::pair(tags::FINDING, &incident.finding_id),
        tags::pair(tags::SNAPSHOT_INSTANCE, id),
        tags::pair(tags::SNAPSHOT_TAKEN_AT, now),
        tags::pair("Name", tags::snapshot_name(id)),
    ];
    let mut outcomes: Vec<Outcome> = existing
        .iter()
        .map(|s| {
            Outcome::new(
                ACTION,
                &s.volume_id,
                Status::AlreadyDone,
                s.snapshot_id.clone(),
            )
        })
        .collect();
    let missing: Vec<&String> = volume_ids
        .iter()
        .filter(|v| !existing.iter().any(|s| &s.volume_id == *v))
        .collect();
    if missing.is_empty() {
        return outcomes;
    }
    outcomes.extend(take(ec2, id, &missing, existing.is_empty(), &tags).await);
    outcomes
}

/// Takes the missing snapshots: all volumes at once when none exists yet, else one by one.
async fn take<E: SnapshotsPort>(
    ec2: &E,
    id: &str,
    missing: &[&String],
    none_yet: bool,
    tags: &[(String, String)],
) -> Vec<Outcome> {
    if none_yet {
        return match ec2.snapshot_instance(id, tags).await {
            Ok(taken) => taken
                .iter()
                .map(|s| {
                    Outcome::new(
                        ACTION,
                        &s.volume_id,
                        Status::Succeeded,
                        s.snapshot_id.clone(),
                    )
                })
                .collect(),
            Err(e) => vec![Outcome::failed(
                ACTION,
                id,
                "could not snapshot the instance",
                &e,
            )],
        };
    }
    join_all(missing.iter().map(|v| async {
        match ec2.snapshot_volume(v, tags).await {
            Ok(s) => Outcome::new(ACTION, v, Status::Succeeded, s.snapshot_id),
            Err(e) => Outcome::failed(ACTION, v, "could not snapshot the volume", &e),
        }
    }))
    .await
}
