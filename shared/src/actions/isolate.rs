//! `isolate-instance`: every interface of the instance moves to its VPC's untracking group, then to
//! its isolation group (tracked connections become untracked, then denied); each interface's
//! original groups are recorded on the instance first. Its undo puts each interface back into the
//! groups recorded for it.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;
use tokio::time::{timeout_at, Instant};

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::incident::InstanceRef;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{
    FoundGroups, InstanceFacts, InstancesPort, InterfaceFacts, InterfacesPort, QuarantineGroups,
    QuarantineGroupsPort,
};
use crate::records::{self, Isolation, Room};
use crate::retry;
use crate::shell::{self, Command};
use crate::tags;

const ACTION: ActionKind = ActionKind::IsolateInstance;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What `isolate-instance` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:CreateTags",
    ],
    tags: &[tags::ISOLATION],
    undo_permissions: &[
        "ec2:DescribeSecurityGroups",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ],
};

/// What [`records`] decided.
pub struct Records {
    /// The groups to restore on release, per ENI.
    pub original: BTreeMap<String, Vec<String>>,
    /// The tags to write before the first group change (empty when all is recorded).
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
/// delivery recorded it) and each interface's groups to restore on release, in the isolation
/// record ([`Isolation`]). What is recorded wins (redelivery after isolation); otherwise the
/// current groups, unless they are already Firebreak's own — then the groups the finding names for
/// the interface (what it had when GuardDuty saw it: a delivery cut off between the first group
/// change and its record leaves no other trace of them).
pub fn records(
    facts: &InstanceFacts,
    finding: &InstanceRef,
    groups: &GroupsByVpc,
    now: &str,
) -> Records {
    let firebreak_groups: Vec<&str> = groups
        .values()
        .filter_map(|g| g.as_ref().ok())
        .flat_map(|g| [g.isolation.as_str(), g.untracking.as_str()])
        .collect();
    let ours = |gs: &[String]| gs.iter().all(|g| firebreak_groups.contains(&g.as_str()));
    let recorded = Isolation::read(&facts.tags);
    let mut record = Isolation::packed(&facts.tags);
    let mut changed = false;
    if recorded.started.is_none() {
        record.started = Some(now.to_string());
        changed = true;
    }
    let mut original = BTreeMap::new();
    for eni in &facts.interfaces {
        let id = &eni.network_interface_id;
        if let Some(gs) = recorded.groups.get(id) {
            original.insert(id.clone(), gs.clone());
            continue;
        }
        let named = finding
            .network_interfaces
            .iter()
            .find(|n| n.network_interface_id.as_deref() == Some(id.as_str()))
            .map(|n| n.security_groups.clone())
            .filter(|gs| !gs.is_empty() && !ours(gs));
        let current = match named {
            _ if !ours(&eni.group_ids) => eni.group_ids.clone(),
            Some(gs) => gs,
            None => continue,
        };
        record.groups.insert(id.clone(), current.clone());
        original.insert(id.clone(), current);
        changed = true;
    }
    let to_write = match changed {
        true => records::chunked(tags::ISOLATION, &record.tokens(), &facts.tags),
        false => Vec::new(),
    };
    Records { original, to_write }
}

/// The original groups in words, for a human when they could not be recorded.
fn in_words(original: &BTreeMap<String, Vec<String>>) -> String {
    let each: Vec<String> = original
        .iter()
        .map(|(eni, gs)| format!("{eni} was in {}", gs.join(" ")))
        .collect();
    format!("original groups: {}", each.join("; "))
}

/// Writes the records (alongside the group changes, which never wait for them: containment comes
/// first), within the tag budget; `None` when there is nothing to write. A record that cannot be
/// written is reported with the groups in it, for a human.
pub async fn write_records<E: InstancesPort>(
    ec2: &E,
    instance_id: &str,
    room: Room,
    original: &BTreeMap<String, Vec<String>>,
) -> Option<Outcome> {
    let to_record = match room {
        Room::Nothing => return None,
        Room::Refused(no) => {
            let done = Outcome::new(
                ACTION,
                instance_id,
                Status::Skipped,
                "isolation not recorded",
            );
            return Some(done.unrecorded(in_words(original), no));
        }
        Room::Write(w) => w,
    };
    Some(match ec2.tag_instance(instance_id, &to_record).await {
        Ok(()) => Outcome::new(
            ACTION,
            instance_id,
            Status::Succeeded,
            format!(
                "recorded original groups of {} interface(s) in tags",
                original.len()
            ),
        ),
        Err(e) => Outcome::failed(ACTION, instance_id, "could not record original groups", &e)
            .unrecorded(in_words(original), &e),
    })
}

/// Every interface of the instance, concurrently. `original`: the groups to put an interface back
/// into if it cannot be isolated; `deadline`: when to stop waiting for EC2 and put it back.
pub async fn isolate_all<E: InterfacesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    groups: &GroupsByVpc,
    original: &BTreeMap<String, Vec<String>>,
    deadline: Instant,
) -> Vec<Outcome> {
    join_all(facts.interfaces.iter().map(|eni| {
        let own = original
            .get(&eni.network_interface_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        isolate_interface(ec2, eni, groups.get(&eni.vpc_id), own, deadline)
    }))
    .await
}

/// One interface: untracking group, then isolation group. It is never left in the untracking group
/// (which allows all traffic): if isolation does not complete, by error or by the deadline, the
/// interface is put back into its own groups (`original`), or else into the isolation group.
pub async fn isolate_interface<E: InterfacesPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    groups: Option<&Result<QuarantineGroups, AwsError>>,
    original: &[String],
    deadline: Instant,
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
    if Instant::now() >= deadline {
        // Not even started: the interface is untouched, in its own groups.
        let why = "EC2 did not answer before the incident's deadline: not moved, NOT isolated";
        return Outcome::refused(ACTION, name, why);
    }
    let untracking = std::slice::from_ref(&groups.untracking);
    let moved = timeout_at(deadline, set_groups(ec2, name, untracking, groups.created)).await;
    let failure = match moved {
        Ok(Ok(())) => match timeout_at(deadline, into_isolation(ec2, name, groups)).await {
            Ok(Ok(())) => {
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
            Ok(Err(e)) => Failure::Isolation(e),
            Err(_) => Failure::Deadline,
        },
        // The change may have been made although its answer did not come back: put it back too.
        Ok(Err(e)) => Failure::Untracking(e),
        Err(_) => Failure::Deadline,
    };
    put_back(ec2, eni, groups, original, failure).await
}

/// Why an interface could not be isolated.
enum Failure {
    Untracking(AwsError),
    Isolation(AwsError),
    Deadline,
}

/// Sets an interface's groups; groups this invocation created may not be visible yet.
async fn set_groups<E: InterfacesPort>(
    ec2: &E,
    eni: &str,
    groups: &[String],
    created: bool,
) -> Result<(), AwsError> {
    match created {
        true => retry::until_visible(|| ec2.set_interface_groups(eni, groups)).await,
        false => ec2.set_interface_groups(eni, groups).await,
    }
}

/// The interface now allows everything: isolation must follow, so try twice before giving up (the
/// SDK has already retried throttling and 5xx inside each attempt).
async fn into_isolation<E: InterfacesPort>(
    ec2: &E,
    eni: &str,
    groups: &QuarantineGroups,
) -> Result<(), AwsError> {
    let isolation = std::slice::from_ref(&groups.isolation);
    match set_groups(ec2, eni, isolation, groups.created).await {
        Ok(()) => Ok(()),
        Err(_) => ec2.set_interface_groups(eni, isolation).await,
    }
}

/// Isolation did not complete: the interface goes back into its own groups (or, when they are not
/// known, into the isolation group), never stays in the allow-all one. Always a containment failure.
async fn put_back<E: InterfacesPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    groups: &QuarantineGroups,
    original: &[String],
    failure: Failure,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let (why, error) = match failure {
        Failure::Untracking(e) => ("could not move to the untracking group", Some(e)),
        Failure::Isolation(e) => (
            "moved to the untracking group but NOT to the isolation group",
            Some(e),
        ),
        Failure::Deadline => (
            "EC2 did not answer before the incident's deadline: NOT isolated",
            None,
        ),
    };
    let own = !original.is_empty() && !original.contains(&groups.untracking);
    let isolation = vec![groups.isolation.clone()];
    let mut target = match own {
        true => original.to_vec(),
        false => isolation.clone(),
    };
    let mut back = ec2.set_interface_groups(name, &target).await;
    if back.is_err() && own {
        // Its own groups could not be had (one deleted since, say): the isolation group will do.
        target = isolation;
        back = ec2.set_interface_groups(name, &target).await;
    }
    let detail = match &back {
        Ok(()) if target.as_slice() == original => format!(
            "{why}; put back into its own groups {} (not isolated, no more exposed than before)",
            target.join(" ")
        ),
        Ok(()) => format!("{why}; put into the isolation group {}", groups.isolation),
        Err(e) => format!(
            "{why}; could NOT be put back into {} ({e}): it may be in the untracking group \
             (open to all traffic)",
            target.join(" ")
        ),
    };
    let code = error
        .as_ref()
        .or(back.as_ref().err())
        .and_then(|e| e.code.clone());
    Outcome {
        error_code: code,
        ..Outcome::refused(ACTION, name, detail)
    }
}

/// The undo, every interface concurrently; with the outcomes, the record's keys to remove once
/// every interface is restored (a partial release keeps the record for the retry).
pub async fn restore_all<E: InterfacesPort + QuarantineGroupsPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>) {
    let recorded = Isolation::read(&facts.tags);
    let mut outcomes = join_all(facts.interfaces.iter().map(|eni| {
        let groups = recorded.groups.get(&eni.network_interface_id);
        restore_interface(ec2, eni, groups)
    }))
    .await;
    // A recorded interface no longer attached keeps its record (and says so): it may still be in
    // the isolation group, and its groups are known nowhere else.
    let attached = |eni: &String| {
        facts
            .interfaces
            .iter()
            .any(|i| &i.network_interface_id == eni)
    };
    for (eni, groups) in recorded.groups.iter().filter(|(eni, _)| !attached(eni)) {
        outcomes.push(Outcome::refused(
            UNDO,
            eni,
            format!(
                "no longer attached to {}: restore its groups by hand ({}); the record is kept",
                facts.instance_id,
                groups.join(" ")
            ),
        ));
    }
    let done = match outcomes.iter().all(Outcome::is_ok) {
        true => Isolation::keys(&facts.tags),
        false => Vec::new(),
    };
    (outcomes, done)
}

/// Puts one interface back into its recorded groups.
async fn restore_interface<E: InterfacesPort + QuarantineGroupsPort>(
    ec2: &E,
    eni: &InterfaceFacts,
    recorded: Option<&Vec<String>>,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let Some(groups) = recorded.cloned() else {
        return unrecorded(ec2, eni).await;
    };
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

/// The warning for an EKS node with security groups for pods (a trunk interface): its pods with
/// their own groups use branch interfaces, which are not the instance's and keep their network
/// (EKS User Guide, "Security groups for pods": branch interfaces are "in addition to the
/// standard and trunk network interfaces attached to the node"). `None` for any other instance.
pub fn pods_not_isolated(facts: &InstanceFacts, region: &str) -> Option<String> {
    let trunk = facts.interfaces.iter().find(|i| i.trunk)?;
    let list = Command::new("aws ec2 describe-network-interfaces")
        .arg("--region", shell::REGION, region)
        .arg_with(
            "--filters",
            "Name=tag:vpcresources.k8s.aws/trunk-eni-id,Values=",
            shell::NETWORK_INTERFACE,
            &trunk.network_interface_id,
        )
        .or_note(|c| c);
    Some(format!(
        "EKS NODE: {} carries the trunk interface {} (security groups for pods). Pods with their \
         own security groups use branch interfaces, which are not the instance's: isolating the \
         instance does NOT cut them off. List them:\n  {list}\nthen stop those pods (kubectl \
         delete pod), or drain the node.",
        shell::shown(&facts.instance_id),
        shell::shown(&trunk.network_interface_id),
    ))
}
