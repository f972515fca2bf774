//! `isolate-instance`: every interface of the instance moves to its VPC's untracking group, then to
//! its isolation group (tracked connections become untracked, then denied); each interface's
//! original groups are recorded on the instance first. Its undo puts each interface back into the
//! groups recorded for it.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;

use crate::actions::registry::ActionKind;
use crate::error::AwsError;
use crate::outcome::{Outcome, Status};
use crate::ports::{
    FoundGroups, InstanceFacts, InstancesPort, InterfaceFacts, InterfacesPort, QuarantineGroups,
    QuarantineGroupsPort,
};
use crate::tags::{self, OriginalGroups};

const ACTION: ActionKind = ActionKind::IsolateInstance;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What [`records`] decided.
pub struct Records {
    /// The groups to restore on release, per ENI.
    pub original: BTreeMap<String, Vec<String>>,
    /// The tags to write before the first group change.
    pub to_write: Vec<(String, String)>,
}

/// The quarantine groups of each VPC, or why they could not be had.
pub type GroupsByVpc = HashMap<String, Result<QuarantineGroups, AwsError>>;

/// The groups of every VPC of the instance: those found in round 1 (`early`) if complete, else
/// created (after a lookup for the VPCs round 1 did not look at, or failed on).
pub async fn prepare_groups<E: QuarantineGroupsPort>(
    ec2: &E,
    facts: &InstanceFacts,
    mut early: HashMap<String, FoundGroups>,
) -> GroupsByVpc {
    let vpcs = facts.vpc_ids();
    let prepared = join_all(vpcs.iter().map(|vpc| {
        let early = early.remove(vpc);
        async move { (vpc.clone(), quarantine_groups(ec2, vpc, early).await) }
    }))
    .await;
    prepared.into_iter().collect()
}

async fn quarantine_groups<E: QuarantineGroupsPort>(
    ec2: &E,
    vpc: &str,
    early: Option<FoundGroups>,
) -> Result<QuarantineGroups, AwsError> {
    let found = match early {
        Some(f) => f,
        None => ec2.reconcile_quarantine_groups(vpc).await?,
    };
    match found.complete() {
        Some(g) => Ok(g),
        None => ec2.create_quarantine_groups(vpc, &found).await,
    }
}

/// What to record before the first group change: when the quarantine started (unless an earlier
/// delivery recorded it) and each interface's groups to restore on release. A tag written earlier
/// wins (redelivery after isolation); otherwise the current groups, unless they are already
/// Firebreak's own.
pub fn records(facts: &InstanceFacts, groups: &GroupsByVpc, now: &str) -> Records {
    let firebreak_groups: Vec<&str> = groups
        .values()
        .filter_map(|g| g.as_ref().ok())
        .flat_map(|g| [g.isolation.as_str(), g.untracking.as_str()])
        .collect();
    let mut original = BTreeMap::new();
    let mut to_record = Vec::new();
    if facts.tag(tags::QUARANTINE_STARTED).is_none() {
        to_record.push(tags::pair(tags::QUARANTINE_STARTED, now));
    }
    for eni in &facts.interfaces {
        let key = OriginalGroups::key(&eni.network_interface_id);
        if let Some(recorded) = facts.tag(&key) {
            original.insert(
                eni.network_interface_id.clone(),
                OriginalGroups::decode(recorded).0,
            );
        } else if !eni
            .group_ids
            .iter()
            .all(|g| firebreak_groups.contains(&g.as_str()))
        {
            original.insert(eni.network_interface_id.clone(), eni.group_ids.clone());
            to_record.push((key, OriginalGroups(eni.group_ids.clone()).encode()));
        }
    }
    Records {
        original,
        to_write: to_record,
    }
}

/// Writes the records (alongside the group changes); `None` when there is nothing to write.
pub async fn write_records<E: InstancesPort>(
    ec2: &E,
    instance_id: &str,
    to_record: &[(String, String)],
) -> Option<Outcome> {
    if to_record.is_empty() {
        return None;
    }
    Some(match ec2.tag_instance(instance_id, to_record).await {
        Ok(()) => Outcome::new(
            ACTION,
            instance_id,
            Status::Succeeded,
            format!(
                "recorded original groups of {} interface(s) in tags",
                to_record
                    .iter()
                    .filter(|(k, _)| k.starts_with(tags::ORIGINAL_GROUPS))
                    .count()
            ),
        ),
        Err(e) => Outcome::failed(ACTION, instance_id, "could not record original groups", &e),
    })
}

/// Every interface of the instance, concurrently.
pub async fn isolate_all<E: InterfacesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    groups: &GroupsByVpc,
) -> Vec<Outcome> {
    join_all(
        facts
            .interfaces
            .iter()
            .map(|eni| isolate_interface(ec2, eni, groups.get(&eni.vpc_id))),
    )
    .await
}

/// One interface: untracking group, then isolation group.
pub async fn isolate_interface<E: InterfacesPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    groups: Option<&Result<QuarantineGroups, AwsError>>,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let groups = match groups {
        Some(Ok(g)) => g,
        Some(Err(e)) => {
            return Outcome::failed(
                ACTION,
                name,
                &format!("could not prepare the quarantine groups of {}", eni.vpc_id),
                e,
            )
        }
        None => return Outcome::refused(ACTION, name, "no quarantine groups for its VPC"),
    };
    if eni.group_ids == [groups.isolation.clone()] {
        // Never pass an isolated interface through the allow-all group again.
        return Outcome::new(
            ACTION,
            name,
            Status::AlreadyDone,
            format!("already only in {}", groups.isolation),
        );
    }
    if let Err(e) = ec2
        .set_interface_groups(name, std::slice::from_ref(&groups.untracking))
        .await
    {
        return Outcome::failed(ACTION, name, "could not move to the untracking group", &e);
    }
    into_isolation(ec2, eni, groups).await
}

/// The interface now allows everything: isolation must follow, so try twice before giving up (the
/// SDK has already retried throttling and 5xx inside each attempt).
async fn into_isolation<E: InterfacesPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    groups: &QuarantineGroups,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let isolation = std::slice::from_ref(&groups.isolation);
    let mut last = None;
    for _ in 0..2 {
        match ec2.set_interface_groups(name, isolation).await {
            Ok(()) => {
                return Outcome::new(
                    ACTION,
                    name,
                    Status::Succeeded,
                    format!(
                        "{} → untracking {} → isolation {}",
                        eni.group_ids.join(" "),
                        groups.untracking,
                        groups.isolation
                    ),
                )
            }
            Err(e) => last = Some(e),
        }
    }
    let e = last.unwrap_or(AwsError {
        code: None,
        message: "unknown".into(),
    });
    Outcome::failed(
        ACTION,
        name,
        "moved to the untracking group but NOT to the isolation group (open to all traffic)",
        &e,
    )
}

/// The undo, every interface concurrently; with each outcome, the record to remove once restored.
pub async fn restore_all<E: InterfacesPort + QuarantineGroupsPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Vec<(Outcome, Option<String>)> {
    join_all(facts.interfaces.iter().map(|eni| async move {
        let key = OriginalGroups::key(&eni.network_interface_id);
        let recorded = facts.tag(&key);
        let outcome = restore_interface(ec2, eni, recorded).await;
        let done = (outcome.is_ok() && recorded.is_some()).then_some(key);
        (outcome, done)
    }))
    .await
}

/// Puts one interface back into its recorded groups.
async fn restore_interface<E: InterfacesPort + QuarantineGroupsPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    recorded: Option<&str>,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let Some(recorded) = recorded else {
        return unrecorded(ec2, eni).await;
    };
    let groups = OriginalGroups::decode(recorded).0;
    if groups.is_empty() {
        return Outcome::refused(UNDO, name, "the recorded original groups are empty");
    }
    let (mut have, mut want) = (eni.group_ids.clone(), groups.clone());
    have.sort();
    want.sort();
    if have == want {
        return Outcome::new(
            UNDO,
            name,
            Status::AlreadyDone,
            format!("already in {}", groups.join(" ")),
        );
    }
    match ec2.set_interface_groups(name, &groups).await {
        Ok(()) => Outcome::new(
            UNDO,
            name,
            Status::Succeeded,
            format!("{} → {}", eni.group_ids.join(" "), groups.join(" ")),
        ),
        Err(e) => Outcome::failed(UNDO, name, "could not restore the original groups", &e),
    }
}

/// No record: fine if the interface is not in Firebreak's groups; otherwise it cannot be restored
/// automatically.
async fn unrecorded<E: QuarantineGroupsPort>(ec2: &E, eni: &InterfaceFacts) -> Outcome {
    let name = eni.network_interface_id.as_str();
    match ec2.find_quarantine_groups(&eni.vpc_id).await {
        Ok(found) => {
            let ours = [found.isolation, found.untracking];
            if eni
                .group_ids
                .iter()
                .any(|g| ours.iter().any(|o| o.as_deref() == Some(g.as_str())))
            {
                Outcome::refused(
                    UNDO,
                    name,
                    "in a Firebreak quarantine group but its original groups were not \
                     recorded: choose its groups by hand",
                )
            } else {
                Outcome::new(
                    UNDO,
                    name,
                    Status::AlreadyDone,
                    format!("not quarantined (groups {})", eni.group_ids.join(" ")),
                )
            }
        }
        Err(e) => Outcome::failed(UNDO, name, "could not look up the quarantine groups", &e),
    }
}
