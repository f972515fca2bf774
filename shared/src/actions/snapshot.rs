//! `snapshot-volumes`: crash-consistent snapshots of every attached volume, tagged with the finding
//! id; a redelivered finding takes no second snapshot of a volume. Snapshots are evidence: a release
//! keeps them (no undo).

use futures::future::join_all;

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{InstanceFacts, SnapshotFacts, SnapshotsPort};
use crate::tags;

const ACTION: ActionKind = ActionKind::SnapshotVolumes;

/// What `snapshot-volumes` calls and writes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeSnapshots",
        "ec2:CreateSnapshots",
        "ec2:CreateSnapshot",
        "ec2:CreateTags",
    ],
    // On the snapshots, not the instance. Evidence is kept on release: no undo.
    tags: &[
        tags::FINDING,
        tags::SNAPSHOT_INSTANCE,
        tags::SNAPSHOT_TAKEN_AT,
    ],
    undo_permissions: &[],
};

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
    let finding = incident.finding_id.as_str();
    outcomes.extend(take(ec2, id, finding, &missing, existing.is_empty(), &tags).await);
    outcomes
}

/// Attempts at the missing snapshots. A snapshot call gets one SDK attempt (a retry after an attempt
/// that timed out but succeeded would take a second snapshot); after an error, what the failed call
/// may have taken is looked for (tagged with the finding, of those volumes) before taking it again.
const ATTEMPTS: u32 = 6;

/// One failed snapshot call: the resource named in its outcome, what failed, the error.
type Failure = (String, &'static str, AwsError);

/// Takes the missing snapshots: all volumes at once when none exists yet, else one by one; after
/// an error, looks for them before trying again.
async fn take<E: SnapshotsPort>(
    ec2: &E,
    id: &str,
    finding_id: &str,
    missing: &[&String],
    none_yet: bool,
    tags: &[(String, String)],
) -> Vec<Outcome> {
    let mut left: Vec<String> = missing.iter().map(|v| v.to_string()).collect();
    let mut outcomes = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for attempt in 0..ATTEMPTS {
        let (taken, failed) = attempt_once(ec2, id, &left, attempt == 0 && none_yet, tags).await;
        for s in taken {
            left.retain(|v| v != &s.volume_id);
            outcomes.push(Outcome::new(
                ACTION,
                &s.volume_id,
                Status::Succeeded,
                s.snapshot_id,
            ));
        }
        failures = failed;
        if failures.is_empty() || left.is_empty() {
            break;
        }
        // EC2 may have taken them before the error (a 500, a timeout): look before trying again.
        tokio::time::sleep(std::time::Duration::from_millis(
            300 * u64::from(attempt + 1),
        ))
        .await;
        if let Ok(found) = ec2.finding_snapshots(finding_id, &left).await {
            for s in found {
                left.retain(|v| v != &s.volume_id);
                let detail = format!(
                    "{} (taken, though the call answered an error)",
                    s.snapshot_id
                );
                outcomes.push(Outcome::new(
                    ACTION,
                    &s.volume_id,
                    Status::Succeeded,
                    detail,
                ));
            }
        }
        if left.is_empty() {
            failures.clear();
            break;
        }
    }
    outcomes.extend(
        failures
            .into_iter()
            .filter(|(r, _, _)| r == id || left.contains(r))
            .map(|(r, what, e)| Outcome::failed(ACTION, &r, what, &e)),
    );
    outcomes
}

/// One attempt: the whole instance at once, or each volume left.
async fn attempt_once<E: SnapshotsPort>(
    ec2: &E,
    id: &str,
    left: &[String],
    whole_instance: bool,
    tags: &[(String, String)],
) -> (Vec<SnapshotFacts>, Vec<Failure>) {
    if whole_instance {
        return match ec2.snapshot_instance(id, tags).await {
            Ok(taken) => (taken, Vec::new()),
            Err(e) => (
                Vec::new(),
                vec![(id.to_string(), "could not snapshot the instance", e)],
            ),
        };
    }
    let each = join_all(
        left.iter()
            .map(|v| async move { (v, ec2.snapshot_volume(v, tags).await) }),
    );
    let mut taken = Vec::new();
    let mut failed = Vec::new();
    for (v, r) in each.await {
        match r {
            Ok(s) => taken.push(s),
            Err(e) => failed.push((v.clone(), "could not snapshot the volume", e)),
        }
    }
    (taken, failed)
}
