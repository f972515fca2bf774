//! Carries out a [`Plan`] through the ports. Containment is the critical path; only the tag that
//! records the original groups runs alongside it. Evidence protection and snapshots start the moment
//! containment completes (they do not gate it, and run concurrently with each other), then the
//! instance is tagged with the finding and the time of containment.
//!
//! Round trips on the critical path (each box is one concurrent round of calls):
//! `[DescribeInstances ‖ DescribeSecurityGroups per VPC named in the finding]` →
//! (first incident in a VPC only: `[CreateSecurityGroup ×2]` → `[Revoke/Authorize rules]`) →
//! `[ModifyNetworkInterfaceAttribute → untracking, per ENI]` → `[… → isolation, per ENI]`.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;
use serde::Serialize;

use crate::error::AwsError;
use crate::estate::{take_out_of_service, EstatePort};
use crate::incident::Incident;
use crate::playbook::{Action, Plan};
use crate::ports::{Ec2Port, FoundGroups, InstanceFacts, InterfaceFacts, QuarantineGroups};

/// Tag naming the finding that quarantined an instance (also on its snapshots).
pub const FINDING_TAG: &str = "firebreak:finding-id";
/// Tag with the time containment completed.
pub const CONTAINED_AT_TAG: &str = "firebreak:contained-at";
/// Tag with the quarantine status (`quarantined`, `containment-failed`).
pub const STATUS_TAG: &str = "firebreak:status";
/// When Firebreak decided to quarantine the instance, written with the record of its original
/// groups (before the first group change): what the blast-radius cap counts.
pub const QUARANTINE_STARTED_TAG: &str = "firebreak:quarantine-started-at";
/// Prefix of the tags recording each ENI's groups before quarantine: `firebreak:original-groups:<eni>`.
pub const ORIGINAL_GROUPS_TAG: &str = "firebreak:original-groups:";
/// Tag present when Firebreak (not the owner) turned termination protection on.
pub const SET_TERMINATION_PROTECTION_TAG: &str = "firebreak:set-termination-protection";

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Done now.
    Succeeded,
    /// Already in the wanted state (redelivery, second click).
    AlreadyDone,
    /// Deliberately not done (instance gone, exempt, dry run).
    Skipped,
    /// Attempted and failed.
    Failed,
    /// Dry run: would be done.
    Planned,
}

/// The outcome of one step on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The action name (`isolate-instance`, …).
    pub action: &'static str,
    /// The resource acted on (`i-…`, `eni-…`, `vol-…`, topic).
    pub resource: String,
    /// How it ended.
    pub status: Status,
    /// What happened, in a few words.
    pub detail: String,
    /// The AWS error code, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
}

impl Outcome {
    pub(crate) fn new(
        action: &'static str,
        resource: &str,
        status: Status,
        detail: impl Into<String>,
    ) -> Outcome {
        Outcome {
            action,
            resource: resource.to_string(),
            status,
            detail: detail.into(),
            error_code: None,
        }
    }

    pub(crate) fn failed(
        action: &'static str,
        resource: &str,
        what: &str,
        e: &AwsError,
    ) -> Outcome {
        Outcome {
            action,
            resource: resource.to_string(),
            status: Status::Failed,
            detail: format!("{what}: {e}"),
            error_code: e.code.clone(),
        }
    }
}

/// What carrying out a plan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Execution {
    /// Every step's outcome.
    pub outcomes: Vec<Outcome>,
    /// Whether the threat is cut off: every interface isolated, every credential revoked (`None`
    /// when containment was not attempted).
    pub contained: Option<bool>,
    /// The groups each ENI had before quarantine, for release.
    pub original_groups: BTreeMap<String, Vec<String>>,
    /// How to undo what was done, one command or instruction per line (credential plans).
    pub undo: Vec<String>,
    /// What the team must know beyond the outcomes (e.g. other users of a revoked role).
    pub warnings: Vec<String>,
    /// Set when the blast-radius cap held containment back: why, in words.
    pub held_by_cap: Option<String>,
}

/// The planned actions as outcomes, without touching anything.
pub fn dry_run(plan: &Plan) -> Vec<Outcome> {
    plan.actions
        .iter()
        .filter(|a| **a != Action::Notify)
        .map(|a| {
            Outcome::new(
                a.name(),
                a.resource(),
                Status::Planned,
                "dry run: not carried out",
            )
        })
        .collect()
}

/// Every planned action as skipped, for `reason`.
pub(crate) fn skip_all(plan: &Plan, reason: &str) -> Vec<Outcome> {
    dry_run(plan)
        .into_iter()
        .map(|o| Outcome {
            status: Status::Skipped,
            detail: reason.to_string(),
            ..o
        })
        .collect()
}

fn group_list(tag_value: &str) -> Vec<String> {
    tag_value.split_whitespace().map(String::from).collect()
}

/// Instances whose quarantine started within the hour before `now`, other than `instance_id`.
fn quarantines_in_the_last_hour(
    starts: &[(String, String)],
    instance_id: &str,
    now: &str,
) -> usize {
    use aws_smithy_types::date_time::Format;
    let Ok(now) = aws_smithy_types::DateTime::from_str(now, Format::DateTime) else {
        return 0;
    };
    let since = now.secs() - 3600;
    starts
        .iter()
        .filter(|(id, _)| id != instance_id)
        .filter(|(_, at)| {
            // An unreadable time counts: the cap errs on the side of asking a human.
            aws_smithy_types::DateTime::from_str(at, Format::DateTime)
                .map(|t| t.secs() >= since)
                .unwrap_or(true)
        })
        .count()
}

/// Carries out an instance plan (quarantine, evidence, snapshots, tags). With `cap`, at most that
/// many instances of the account and region are quarantined per rolling hour: beyond it the plan
/// is carried out without isolation (evidence only), and the execution says a human must decide.
pub async fn execute_instance_plan<E: Ec2Port, S: EstatePort>(
    ec2: &E,
    estate: &S,
    incident: &Incident,
    plan: &Plan,
    exempt_tag: &str,
    now: &str,
    cap: Option<usize>,
) -> Execution {
    let mut result = Execution::default();
    let Some(instance) = incident.instance() else {
        return result;
    };
    let id = instance.instance_id.as_str();
    let wants = |name: &str| plan.actions.iter().any(|a| a.name() == name);
    let mut isolate = wants("isolate-instance");

    // Round 1: read the instance and, speculatively, the quarantine groups of the VPCs the finding
    // names and (under a cap) the recent quarantines, at the same time.
    let named_vpcs = if isolate {
        instance.vpc_ids()
    } else {
        Vec::new()
    };
    let count_recent = isolate && cap.is_some();
    let (described, early, recent) = futures::join!(
        ec2.describe_instance(id),
        join_all(
            named_vpcs
                .iter()
                .map(|v| async move { (v.clone(), ec2.find_quarantine_groups(v).await) })
        ),
        async {
            if count_recent {
                Some(ec2.quarantine_starts().await)
            } else {
                None
            }
        }
    );
    let facts = match described {
        Ok(Some(f)) if f.state != "terminated" && f.state != "shutting-down" => f,
        Ok(Some(f)) => {
            result.outcomes = skip_all(plan, &format!("the instance is {}", f.state));
            return result;
        }
        Ok(None) => {
            result.outcomes = skip_all(plan, "the instance no longer exists");
            return result;
        }
        Err(e) => {
            result.outcomes = vec![Outcome::failed(
                "isolate-instance",
                id,
                "could not describe the instance",
                &e,
            )];
            result.contained = isolate.then_some(false);
            return result;
        }
    };
    if facts.tag(exempt_tag) == Some("true") {
        result.outcomes = skip_all(plan, &format!("the instance is tagged {exempt_tag}=true"));
        return result;
    }

    // The blast-radius cap. An instance whose quarantine already started (a redelivery) is
    // finished whatever the count; a count that cannot be read fails containment, to be retried.
    if let (Some(cap), Some(recent)) = (cap, recent) {
        match recent {
            Err(e) => {
                result.outcomes = vec![Outcome::failed(
                    "isolate-instance",
                    id,
                    "could not count the quarantines of the last hour (blast-radius cap)",
                    &e,
                )];
                result.contained = Some(false);
                return result;
            }
            Ok(_) if facts.tag(QUARANTINE_STARTED_TAG).is_some() => {}
            Ok(starts) => {
                let n = quarantines_in_the_last_hour(&starts, id, now);
                if n >= cap {
                    let why = format!(
                        "blast-radius cap: {n} instance(s) of account {} in {} were quarantined in \
                         the last hour (FIREBREAK_MAX_QUARANTINES_PER_HOUR={cap}). {id} was NOT \
                         isolated; evidence was preserved. A human must decide: to isolate it, \
                         select the finding in Security Hub and choose the custom action \
                         FbQuarantine.",
                        incident.account, incident.region
                    );
                    result.outcomes.push(Outcome::new(
                        "isolate-instance",
                        id,
                        Status::Skipped,
                        why.clone(),
                    ));
                    result.held_by_cap = Some(why);
                    isolate = false;
                }
            }
        }
    }

    // Only now, for an instance that exists and is not exempt, create what is missing: the groups
    // of VPCs the finding named but that have none yet, and of VPCs it did not name (a lookup first).
    let mut found: HashMap<String, FoundGroups> = early
        .into_iter()
        .filter_map(|(vpc, f)| f.ok().map(|f| (vpc, f)))
        .collect();
    let mut groups: HashMap<String, Result<QuarantineGroups, AwsError>> = HashMap::new();
    if isolate {
        let vpcs = facts.vpc_ids();
        let prepared = join_all(vpcs.iter().map(|vpc| {
            let early = found.remove(vpc);
            async move { (vpc.clone(), quarantine_groups(ec2, vpc, early).await) }
        }))
        .await;
        groups.extend(prepared);
    }
    let firebreak_groups: Vec<&str> = groups
        .values()
        .filter_map(|g| g.as_ref().ok())
        .flat_map(|g| [g.isolation.as_str(), g.untracking.as_str()])
        .collect();

    // The groups to restore on release: a tag written earlier wins (redelivery after isolation);
    // otherwise the current groups, unless they are already Firebreak's own. With them, when the
    // quarantine started (what the blast-radius cap counts).
    let mut to_record: Vec<(String, String)> = Vec::new();
    if facts.tag(QUARANTINE_STARTED_TAG).is_none() {
        to_record.push((QUARANTINE_STARTED_TAG.to_string(), now.to_string()));
    }
    for eni in &facts.interfaces {
        let key = format!("{ORIGINAL_GROUPS_TAG}{}", eni.network_interface_id);
        if let Some(recorded) = facts.tag(&key) {
            result
                .original_groups
                .insert(eni.network_interface_id.clone(), group_list(recorded));
        } else if !eni
            .group_ids
            .iter()
            .all(|g| firebreak_groups.contains(&g.as_str()))
        {
            result
                .original_groups
                .insert(eni.network_interface_id.clone(), eni.group_ids.clone());
            to_record.push((key, eni.group_ids.join(" ")));
        }
    }

    // Round 2+: isolation per ENI; the record of the original groups is written alongside.
    let isolation = async {
        if !isolate {
            return Vec::new();
        }
        join_all(
            facts
                .interfaces
                .iter()
                .map(|eni| isolate_interface(ec2, eni, groups.get(&eni.vpc_id))),
        )
        .await
    };
    let record = async {
        if !isolate || to_record.is_empty() {
            return None;
        }
        Some(match ec2.tag_instance(id, &to_record).await {
            Ok(()) => Outcome::new(
                "isolate-instance",
                id,
                Status::Succeeded,
                format!(
                    "recorded original groups of {} interface(s) in tags",
                    to_record
                        .iter()
                        .filter(|(k, _)| k.starts_with(ORIGINAL_GROUPS_TAG))
                        .count()
                ),
            ),
            Err(e) => Outcome::failed(
                "isolate-instance",
                id,
                "could not record original groups",
                &e,
            ),
        })
    };
    // Out of service (Auto Scaling, load balancers, Elastic IPs) alongside: it does not gate
    // containment. Not when the blast-radius cap held isolation back.
    let service = async {
        if isolate && wants("take-out-of-service") {
            take_out_of_service(ec2, estate, &facts).await
        } else {
            Vec::new()
        }
    };
    let (isolated, recorded, out_of_service) = futures::join!(isolation, record, service);
    // The moment the last group change returned, not when the response started.
    let contained_at = crate::responder::now_rfc3339();
    if isolate {
        result.contained = Some(
            isolated
                .iter()
                .all(|o| matches!(o.status, Status::Succeeded | Status::AlreadyDone)),
        );
    }
    result.outcomes.extend(isolated);
    result.outcomes.extend(recorded);
    result.outcomes.extend(out_of_service);

    // Then, off the critical path (so they do not compete with it for the API): evidence
    // protection and snapshots, concurrently.
    let protect = async {
        if wants("protect-evidence") {
            protect_evidence(ec2, &facts).await
        } else {
            Vec::new()
        }
    };
    let snapshots = async {
        if wants("snapshot-volumes") {
            snapshot_volumes(ec2, incident, &facts, now).await
        } else {
            Vec::new()
        }
    };
    let (protected, snapped) = futures::join!(protect, snapshots);
    result.outcomes.extend(protected);
    result.outcomes.extend(snapped);

    // After containment: say on the instance what happened, and when.
    if wants("tag-instance") {
        let mut tags = Vec::new();
        if facts.tag(FINDING_TAG).is_none() {
            tags.push((FINDING_TAG.to_string(), incident.finding_id.clone()));
        }
        match result.contained {
            Some(true) if facts.tag(STATUS_TAG) == Some("quarantined") => {}
            Some(true) => {
                tags.push((STATUS_TAG.to_string(), "quarantined".to_string()));
                tags.push((CONTAINED_AT_TAG.to_string(), contained_at.clone()));
            }
            Some(false) => tags.push((STATUS_TAG.to_string(), "containment-failed".to_string())),
            None if result.held_by_cap.is_some() => {
                tags.push((STATUS_TAG.to_string(), "needs-human".to_string()))
            }
            None => {}
        }
        let outcome = if tags.is_empty() {
            Outcome::new("tag-instance", id, Status::AlreadyDone, "already tagged")
        } else {
            let names: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
            match ec2.tag_instance(id, &tags).await {
                Ok(()) => Outcome::new(
                    "tag-instance",
                    id,
                    Status::Succeeded,
                    format!("tagged {}", names.join(", ")),
                ),
                Err(e) => Outcome::failed("tag-instance", id, "could not tag the instance", &e),
            }
        };
        result.outcomes.push(outcome);
    }
    result
}

/// The VPC's groups: those found in round 1 if complete, else created (after a lookup when round 1
/// did not look, or failed).
async fn quarantine_groups<E: Ec2Port>(
    ec2: &E,
    vpc: &str,
    early: Option<FoundGroups>,
) -> Result<QuarantineGroups, AwsError> {
    let found = match early {
        Some(f) => f,
        None => ec2.find_quarantine_groups(vpc).await?,
    };
    match found.complete() {
        Some(g) => Ok(g),
        None => ec2.create_quarantine_groups(vpc, &found).await,
    }
}

async fn isolate_interface<E: Ec2Port>(
    ec2: &E,
    eni: &InterfaceFacts,
    groups: Option<&Result<QuarantineGroups, AwsError>>,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let groups = match groups {
        Some(Ok(g)) => g,
        Some(Err(e)) => {
            return Outcome::failed(
                "isolate-instance",
                name,
                &format!("could not prepare the quarantine groups of {}", eni.vpc_id),
                e,
            )
        }
        None => {
            return Outcome {
                error_code: None,
                ..Outcome::new(
                    "isolate-instance",
                    name,
                    Status::Failed,
                    "no quarantine groups for its VPC",
                )
            }
        }
    };
    if eni.group_ids == [groups.isolation.clone()] {
        // Never pass an isolated interface through the allow-all group again.
        return Outcome::new(
            "isolate-instance",
            name,
            Status::AlreadyDone,
            format!("already only in {}", groups.isolation),
        );
    }
    if let Err(e) = ec2
        .set_interface_groups(name, std::slice::from_ref(&groups.untracking))
        .await
    {
        return Outcome::failed(
            "isolate-instance",
            name,
            "could not move to the untracking group",
            &e,
        );
    }
    // The interface now allows everything: isolation must follow, so try twice before giving up
    // (the SDK has already retried throttling and 5xx inside each attempt).
    let isolation = std::slice::from_ref(&groups.isolation);
    let mut last = None;
    for _ in 0..2 {
        match ec2.set_interface_groups(name, isolation).await {
            Ok(()) => {
                return Outcome::new(
                    "isolate-instance",
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
        "isolate-instance",
        name,
        "moved to the untracking group but NOT to the isolation group (open to all traffic)",
        &e,
    )
}

/// Evidence protection. Before Firebreak turns termination protection on, it records on the
/// instance that it is the one doing so (write-ahead): if the path to AWS breaks between the two
/// calls, the redelivery still knows, and a release lifts only what Firebreak set. A record left
/// by a change that never happened makes a release turn off a protection that is already off.
async fn protect_evidence<E: Ec2Port>(ec2: &E, facts: &InstanceFacts) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    let termination = async {
        match ec2.termination_protection(id).await {
            Ok(true) => Outcome::new(
                "protect-evidence",
                id,
                Status::AlreadyDone,
                "termination protection was already on",
            ),
            Ok(false) => {
                if facts.tag(SET_TERMINATION_PROTECTION_TAG).is_none() {
                    let record = [(
                        SET_TERMINATION_PROTECTION_TAG.to_string(),
                        "true".to_string(),
                    )];
                    if let Err(e) = ec2.tag_instance(id, &record).await {
                        return Outcome::failed(
                            "protect-evidence",
                            id,
                            "could not record that Firebreak turns termination protection on \
                             (left off)",
                            &e,
                        );
                    }
                }
                match ec2.enable_termination_protection(id).await {
                    Ok(()) => Outcome::new(
                        "protect-evidence",
                        id,
                        Status::Succeeded,
                        "termination protection on",
                    ),
                    Err(e) => Outcome::failed(
                        "protect-evidence",
                        id,
                        "could not turn termination protection on",
                        &e,
                    ),
                }
            }
            Err(e) => Outcome::failed(
                "protect-evidence",
                id,
                "could not read termination protection",
                &e,
            ),
        }
    };
    let shutdown = async {
        match ec2.set_shutdown_behaviour_stop(id).await {
            Ok(()) => Outcome::new(
                "protect-evidence",
                id,
                Status::Succeeded,
                "shutdown behaviour stop",
            ),
            Err(e) => Outcome::failed(
                "protect-evidence",
                id,
                "could not set shutdown behaviour",
                &e,
            ),
        }
    };
    let volumes = async {
        let devices: Vec<String> = facts
            .volumes
            .iter()
            .map(|v| v.device_name.clone())
            .collect();
        if devices.is_empty() {
            return Outcome::new("protect-evidence", id, Status::Skipped, "no EBS volumes");
        }
        match ec2.keep_volumes_on_termination(id, &devices).await {
            Ok(()) => Outcome::new(
                "protect-evidence",
                id,
                Status::Succeeded,
                format!("DeleteOnTermination=false on {}", devices.join(", ")),
            ),
            Err(e) => Outcome::failed(
                "protect-evidence",
                id,
                "could not keep volumes on termination",
                &e,
            ),
        }
    };
    let (t, s, v) = futures::join!(termination, shutdown, volumes);
    vec![t, s, v]
}

/// At most one snapshot per volume and finding: what exists (by tag) is not taken again.
async fn snapshot_volumes<E: Ec2Port>(
    ec2: &E,
    incident: &Incident,
    facts: &InstanceFacts,
    now: &str,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    if facts.volumes.is_empty() {
        return vec![Outcome::new(
            "snapshot-volumes",
            id,
            Status::Skipped,
            "no EBS volumes",
        )];
    }
    let volume_ids: Vec<String> = facts.volumes.iter().map(|v| v.volume_id.clone()).collect();
    let existing = match ec2
        .finding_snapshots(&incident.finding_id, &volume_ids)
        .await
    {
        Ok(e) => e,
        Err(e) => {
            return vec![Outcome::failed(
                "snapshot-volumes",
                id,
                "could not look for earlier snapshots",
                &e,
            )]
        }
    };
    let tags = vec![
        (FINDING_TAG.to_string(), incident.finding_id.clone()),
        ("firebreak:instance-id".to_string(), id.to_string()),
        ("firebreak:taken-at".to_string(), now.to_string()),
        ("Name".to_string(), format!("firebreak-evidence-{id}")),
    ];
    let mut outcomes: Vec<Outcome> = existing
        .iter()
        .map(|s| {
            Outcome::new(
                "snapshot-volumes",
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
    if existing.is_empty() {
        match ec2.snapshot_instance(id, &tags).await {
            Ok(taken) => outcomes.extend(taken.iter().map(|s| {
                Outcome::new(
                    "snapshot-volumes",
                    &s.volume_id,
                    Status::Succeeded,
                    s.snapshot_id.clone(),
                )
            })),
            Err(e) => outcomes.push(Outcome::failed(
                "snapshot-volumes",
                id,
                "could not snapshot the instance",
                &e,
            )),
        }
    } else {
        let taken = join_all(missing.iter().map(|v| async {
            match ec2.snapshot_volume(v, &tags).await {
                Ok(s) => Outcome::new("snapshot-volumes", v, Status::Succeeded, s.snapshot_id),
                Err(e) => {
                    Outcome::failed("snapshot-volumes", v, "could not snapshot the volume", &e)
                }
            }
        }))
        .await;
        outcomes.extend(taken);
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::quarantines_in_the_last_hour;

    #[test]
    fn the_cap_counts_other_instances_quarantined_within_the_rolling_hour() {
        let now = "2026-11-23T10:00:00Z";
        let starts = [
            ("i-self".to_string(), "2026-11-23T09:59:00Z".to_string()),
            ("i-a".to_string(), "2026-11-23T09:00:00Z".to_string()), // exactly an hour: counts
            ("i-b".to_string(), "2026-11-23T09:30:00.250Z".to_string()),
            ("i-c".to_string(), "2026-11-23T08:59:59Z".to_string()), // older: does not
            ("i-d".to_string(), "garbled".to_string()),              // unreadable: counts
        ];
        assert_eq!(quarantines_in_the_last_hour(&starts, "i-self", now), 3);
        assert_eq!(quarantines_in_the_last_hour(&[], "i-self", now), 0);
    }
}
