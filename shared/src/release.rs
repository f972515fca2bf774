//! Undoing a quarantine (`FbRelease`), from what the quarantine recorded on the instance: each ENI's
//! original groups, whether Firebreak turned termination protection on, the instance profile it
//! removed, the Auto Scaling group, target groups and Elastic IPs it took the instance out of. Evidence snapshots are kept. A record is removed only once what it records is restored,
//! so a release that fails part-way can be retried.

use futures::future::join_all;

use crate::credentials::{REMOVED_PROFILE_FINDING_TAG, REMOVED_PROFILE_TAG};
use crate::estate::{put_back_in_service, EstatePort};
use crate::executor::{
    Execution, Outcome, Status, CONTAINED_AT_TAG, FINDING_TAG, ORIGINAL_GROUPS_TAG,
    QUARANTINE_STARTED_TAG, SET_TERMINATION_PROTECTION_TAG, STATUS_TAG,
};
use crate::ports::{Ec2Port, InterfaceFacts};

/// Tag with the time of the last release.
pub const RELEASED_AT_TAG: &str = "firebreak:released-at";

/// Restores a quarantined instance. `contained` in the result means "released".
pub async fn execute_release<E: Ec2Port, S: EstatePort>(
    ec2: &E,
    estate: &S,
    instance_id: &str,
    now: &str,
) -> Execution {
    let id = instance_id;
    let facts = match ec2.describe_instance(id).await {
        Ok(Some(f)) if f.state != "terminated" => f,
        Ok(Some(_)) | Ok(None) => {
            return Execution {
                outcomes: vec![Outcome::new(
                    "release-instance",
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
                    "release-instance",
                    id,
                    "could not describe the instance",
                    &e,
                )],
                contained: Some(false),
                ..Execution::default()
            }
        }
    };

    // Interfaces, termination protection and the instance profile, concurrently.
    let interfaces = join_all(facts.interfaces.iter().map(|eni| {
        restore_interface(
            ec2,
            eni,
            facts.tag(&format!(
                "{ORIGINAL_GROUPS_TAG}{}",
                eni.network_interface_id
            )),
        )
    }));
    let termination = async {
        if facts.tag(SET_TERMINATION_PROTECTION_TAG) != Some("true") {
            return None;
        }
        Some(match ec2.disable_termination_protection(id).await {
            Ok(()) => Outcome::new(
                "release-instance",
                id,
                Status::Succeeded,
                "termination protection off (Firebreak had turned it on)",
            ),
            Err(e) => Outcome::failed(
                "release-instance",
                id,
                "could not turn termination protection off",
                &e,
            ),
        })
    };
    let profile = async {
        let arn = facts.tag(REMOVED_PROFILE_TAG)?;
        Some(match ec2.instance_profile_association(id).await {
            Ok(Some(a)) => Outcome::new(
                "release-instance",
                id,
                Status::AlreadyDone,
                format!(
                    "an instance profile is attached already ({})",
                    a.instance_profile_arn
                ),
            ),
            Ok(None) => match ec2.associate_instance_profile(id, arn).await {
                Ok(()) => Outcome::new(
                    "release-instance",
                    id,
                    Status::Succeeded,
                    format!("instance profile {arn} attached again"),
                ),
                Err(e) => Outcome::failed(
                    "release-instance",
                    id,
                    &format!("could not attach instance profile {arn} again"),
                    &e,
                ),
            },
            Err(e) => Outcome::failed(
                "release-instance",
                id,
                "could not read the instance profile association",
                &e,
            ),
        })
    };
    let service = put_back_in_service(estate, &facts);
    let (restored, termination, profile, (in_service, service_records)) =
        futures::join!(interfaces, termination, profile, service);

    // Remove the records of what is restored; keep the rest for a retry.
    let ok = |o: &Outcome| matches!(o.status, Status::Succeeded | Status::AlreadyDone);
    let mut remove: Vec<String> = Vec::new();
    for (eni, outcome) in facts.interfaces.iter().zip(&restored) {
        let key = format!("{ORIGINAL_GROUPS_TAG}{}", eni.network_interface_id);
        if ok(outcome) && facts.tag(&key).is_some() {
            remove.push(key);
        }
    }
    if termination.as_ref().is_some_and(ok) {
        remove.push(SET_TERMINATION_PROTECTION_TAG.to_string());
    }
    if profile.as_ref().is_some_and(ok) {
        remove.push(REMOVED_PROFILE_TAG.to_string());
        if facts.tag(REMOVED_PROFILE_FINDING_TAG).is_some() {
            remove.push(REMOVED_PROFILE_FINDING_TAG.to_string());
        }
    }
    remove.extend(service_records);
    let released = restored.iter().all(ok)
        && in_service.iter().all(ok)
        && termination.as_ref().is_none_or(ok)
        && profile.as_ref().is_none_or(ok);
    if released {
        for key in [
            STATUS_TAG,
            CONTAINED_AT_TAG,
            FINDING_TAG,
            QUARANTINE_STARTED_TAG,
        ] {
            if facts.tag(key).is_some() {
                remove.push(key.to_string());
            }
        }
    }
    let mut outcomes: Vec<Outcome> = restored;
    outcomes.extend(termination);
    outcomes.extend(profile);
    outcomes.extend(in_service);
    let nothing_recorded =
        remove.is_empty() && outcomes.iter().all(|o| o.status == Status::AlreadyDone);
    if !remove.is_empty() {
        let untag = ec2.untag_instance(id, &remove).await;
        let mark = ec2
            .tag_instance(id, &[(RELEASED_AT_TAG.to_string(), now.to_string())])
            .await;
        outcomes.push(match untag.and(mark) {
            Ok(()) => Outcome::new(
                "release-instance",
                id,
                Status::Succeeded,
                format!(
                    "removed tags {}; tagged {RELEASED_AT_TAG}",
                    remove.join(", ")
                ),
            ),
            Err(e) => Outcome::failed("release-instance", id, "could not update the tags", &e),
        });
    } else if nothing_recorded {
        outcomes.push(Outcome::new(
            "release-instance",
            id,
            Status::AlreadyDone,
            "nothing to release: no quarantine recorded on the instance",
        ));
    }
    Execution {
        contained: Some(released),
        outcomes,
        ..Execution::default()
    }
}

async fn restore_interface<E: Ec2Port>(
    ec2: &E,
    eni: &InterfaceFacts,
    recorded: Option<&str>,
) -> Outcome {
    let name = eni.network_interface_id.as_str();
    let Some(recorded) = recorded else {
        // No record: fine if the interface is not in Firebreak's groups; otherwise it cannot be
        // restored automatically.
        return match ec2.find_quarantine_groups(&eni.vpc_id).await {
            Ok(found) => {
                let ours = [found.isolation, found.untracking];
                if eni
                    .group_ids
                    .iter()
                    .any(|g| ours.iter().any(|o| o.as_deref() == Some(g.as_str())))
                {
                    Outcome {
                        error_code: None,
                        ..Outcome::new(
                            "release-instance",
                            name,
                            Status::Failed,
                            "in a Firebreak quarantine group but its original groups were not \
                             recorded: choose its groups by hand",
                        )
                    }
                } else {
                    Outcome::new(
                        "release-instance",
                        name,
                        Status::AlreadyDone,
                        format!("not quarantined (groups {})", eni.group_ids.join(" ")),
                    )
                }
            }
            Err(e) => Outcome::failed(
                "release-instance",
                name,
                "could not look up the quarantine groups",
                &e,
            ),
        };
    };
    let groups: Vec<String> = recorded.split_whitespace().map(String::from).collect();
    if groups.is_empty() {
        return Outcome::new(
            "release-instance",
            name,
            Status::Failed,
            "the recorded original groups are empty",
        );
    }
    let (mut have, mut want) = (eni.group_ids.clone(), groups.clone());
    have.sort();
    want.sort();
    if have == want {
        return Outcome::new(
            "release-instance",
            name,
            Status::AlreadyDone,
            format!("already in {}", groups.join(" ")),
        );
    }
    match ec2.set_interface_groups(name, &groups).await {
        Ok(()) => Outcome::new(
            "release-instance",
            name,
            Status::Succeeded,
            format!("{} → {}", eni.group_ids.join(" "), groups.join(" ")),
        ),
        Err(e) => Outcome::failed(
            "release-instance",
            name,
            "could not restore the original groups",
            &e,
        ),
    }
}
