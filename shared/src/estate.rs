//! Taking a quarantined instance out of service, and putting it back on release: its Auto Scaling
//! group (which would otherwise replace — terminate — an instance that fails its health checks, and
//! termination protection does not stop Auto Scaling), the load balancer target groups that send it
//! traffic, and its Elastic IPs. Each is recorded on the instance *before* it is changed
//! (write-ahead: a cut between the two calls must not lose the record), and the records are removed
//! only once a release has restored what they name.
//!
//! This runs concurrently with isolation: it does not gate containment and does not lengthen its
//! critical path.

#![allow(async_fn_in_trait)] // the ports are used only by this crate's executors and tests

use futures::future::join_all;
use serde::Serialize;

use crate::error::AwsError;
use crate::executor::{Outcome, Status};
use crate::ports::{Ec2Port, InstanceFacts};

/// `firebreak:auto-scaling` = `<group> standby` or `<group> detached`.
pub const AUTO_SCALING_TAG: &str = "firebreak:auto-scaling";
/// `firebreak:target:<n>` = `<target group ARN> <port>`, one per registration taken away.
pub const TARGET_TAG: &str = "firebreak:target:";
/// `firebreak:eip:<allocation id>` = `<ENI> <private IP>` the address was associated with.
pub const EIP_TAG: &str = "firebreak:eip:";

/// The instance's place in an Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMembership {
    /// The group's name.
    pub group: String,
    /// `InService`, `Standby`, `Pending`, …
    pub lifecycle_state: String,
}

/// One registration of the instance in a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// The target group ARN.
    pub target_group_arn: String,
    /// The port, when the registration names one.
    pub port: Option<i32>,
}

/// An Elastic IP associated with the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressFacts {
    /// `eipalloc-…`.
    pub allocation_id: String,
    /// `eipassoc-…`.
    pub association_id: String,
    /// The public IP.
    pub public_ip: String,
    /// The ENI it is on.
    pub network_interface_id: String,
    /// The private IP it maps to.
    pub private_ip: String,
}

/// What the responders need from Auto Scaling, Elastic Load Balancing and EC2 addresses.
pub trait EstatePort: Sync {
    /// The instance's Auto Scaling group, if it is in one.
    async fn auto_scaling_group(
        &self,
        instance_id: &str,
    ) -> Result<Option<GroupMembership>, AwsError>;
    /// `EnterStandby` without decrementing the desired capacity (the group replaces it).
    async fn enter_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError>;
    /// `DetachInstances` without decrementing the desired capacity.
    async fn detach_from_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError>;
    /// `ExitStandby`.
    async fn exit_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError>;
    /// `AttachInstances`.
    async fn attach_to_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError>;
    /// Every target group registration of the instance (target groups of its VPCs).
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<Registration>, AwsError>;
    /// `DeregisterTargets`.
    async fn deregister(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError>;
    /// `RegisterTargets`.
    async fn register(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError>;
    /// The Elastic IPs associated with the instance.
    async fn addresses(&self, instance_id: &str) -> Result<Vec<AddressFacts>, AwsError>;
    /// `DisassociateAddress`.
    async fn disassociate_address(&self, association_id: &str) -> Result<(), AwsError>;
    /// `AssociateAddress` to this interface and private IP.
    async fn associate_address(
        &self,
        allocation_id: &str,
        network_interface_id: &str,
        private_ip: &str,
    ) -> Result<(), AwsError>;
}

const ACTION: &str = "take-out-of-service";

fn registration_record(r: &Registration) -> String {
    match r.port {
        Some(p) => format!("{} {p}", r.target_group_arn),
        None => r.target_group_arn.clone(),
    }
}

fn parse_registration(value: &str) -> Registration {
    let mut parts = value.split_whitespace();
    Registration {
        target_group_arn: parts.next().unwrap_or_default().to_string(),
        port: parts.next().and_then(|p| p.parse().ok()),
    }
}

/// A lookup's findings, or none when it failed (reported in `outcomes`): what it would have found
/// is left alone.
fn or_report<T>(
    found: Result<Vec<T>, AwsError>,
    what: &str,
    id: &str,
    outcomes: &mut Vec<Outcome>,
) -> Vec<T> {
    found.unwrap_or_else(|e| {
        outcomes.push(Outcome::failed(
            ACTION,
            id,
            &format!("could not read {what}"),
            &e,
        ));
        Vec::new()
    })
}

/// Takes the instance out of its group, target groups and Elastic IPs.
pub async fn take_out_of_service<E: Ec2Port, S: EstatePort>(
    ec2: &E,
    estate: &S,
    facts: &InstanceFacts,
) -> Vec<Outcome> {
    let id = facts.instance_id.as_str();
    let vpcs = facts.vpc_ids();
    let (group, registrations, addresses) = futures::join!(
        estate.auto_scaling_group(id),
        estate.registrations(id, &vpcs),
        estate.addresses(id)
    );
    let mut outcomes = Vec::new();

    // What will change, recorded first. A record left from an earlier delivery is kept.
    let mut record: Vec<(String, String)> = Vec::new();
    let group = match group {
        Ok(Some(m)) if m.lifecycle_state == "InService" => {
            if facts.tag(AUTO_SCALING_TAG).is_none() {
                record.push((AUTO_SCALING_TAG.to_string(), format!("{} standby", m.group)));
            }
            Some(m)
        }
        Ok(Some(m)) => {
            outcomes.push(Outcome::new(
                ACTION,
                id,
                Status::AlreadyDone,
                format!(
                    "Auto Scaling group {}: the instance is {}",
                    m.group, m.lifecycle_state
                ),
            ));
            None
        }
        Ok(None) => None,
        Err(e) => {
            outcomes.push(Outcome::failed(
                ACTION,
                id,
                "could not read the instance's Auto Scaling group",
                &e,
            ));
            None
        }
    };
    let registrations = or_report(
        registrations,
        "the load balancer target groups",
        id,
        &mut outcomes,
    );
    let addresses = or_report(addresses, "the instance's Elastic IPs", id, &mut outcomes);
    let recorded_targets: Vec<&str> = facts
        .tags
        .iter()
        .filter(|(k, _)| k.starts_with(TARGET_TAG))
        .map(|(_, v)| v.as_str())
        .collect();
    let mut next_target = recorded_targets.len();
    for r in &registrations {
        let value = registration_record(r);
        if !recorded_targets.contains(&value.as_str()) {
            record.push((format!("{TARGET_TAG}{next_target}"), value));
            next_target += 1;
        }
    }
    for a in &addresses {
        let key = format!("{EIP_TAG}{}", a.allocation_id);
        if facts.tag(&key).is_none() {
            record.push((key, format!("{} {}", a.network_interface_id, a.private_ip)));
        }
    }
    if group.is_none() && registrations.is_empty() && addresses.is_empty() {
        if outcomes.is_empty() {
            outcomes.push(Outcome::new(
                ACTION,
                id,
                Status::AlreadyDone,
                "in no Auto Scaling group or target group, and no Elastic IP",
            ));
        }
        return outcomes;
    }
    if !record.is_empty() {
        if let Err(e) = ec2.tag_instance(id, &record).await {
            outcomes.push(Outcome::failed(
                ACTION,
                id,
                "could not record what is taken out of service (nothing was changed)",
                &e,
            ));
            return outcomes;
        }
    }

    // The changes, concurrently.
    let auto_scaling = async {
        let m = group.as_ref()?;
        Some(match estate.enter_standby(&m.group, id).await {
            Ok(()) => Outcome::new(
                ACTION,
                id,
                Status::Succeeded,
                format!(
                    "Auto Scaling group {}: standby (the group replaces the capacity)",
                    m.group
                ),
            ),
            // Standby is refused (e.g. a group with warm pools or a lifecycle in progress): detach.
            Err(standby) => match estate.detach_from_group(&m.group, id).await {
                Ok(()) => match ec2
                    .tag_instance(
                        id,
                        &[(
                            AUTO_SCALING_TAG.to_string(),
                            format!("{} detached", m.group),
                        )],
                    )
                    .await
                {
                    Ok(()) => Outcome::new(
                        ACTION,
                        id,
                        Status::Succeeded,
                        format!(
                            "Auto Scaling group {}: detached (standby refused: {}; the group \
                             replaces the capacity)",
                            m.group, standby.message
                        ),
                    ),
                    Err(e) => Outcome::failed(
                        ACTION,
                        id,
                        &format!(
                            "detached from Auto Scaling group {} but could not record it",
                            m.group
                        ),
                        &e,
                    ),
                },
                Err(e) => Outcome::failed(
                    ACTION,
                    id,
                    &format!(
                        "could not take the instance out of Auto Scaling group {} (standby: {})",
                        m.group, standby.message
                    ),
                    &e,
                ),
            },
        })
    };
    let targets = join_all(registrations.iter().map(|r| async move {
        match estate.deregister(r, id).await {
            Ok(()) => Outcome::new(
                ACTION,
                id,
                Status::Succeeded,
                format!("deregistered from {}", registration_record(r)),
            ),
            Err(e) => Outcome::failed(
                ACTION,
                id,
                &format!("could not deregister from {}", r.target_group_arn),
                &e,
            ),
        }
    }));
    let eips = join_all(addresses.iter().map(|a| async move {
        match estate.disassociate_address(&a.association_id).await {
            Ok(()) => Outcome::new(
                ACTION,
                id,
                Status::Succeeded,
                format!(
                    "Elastic IP {} ({}) disassociated",
                    a.public_ip, a.allocation_id
                ),
            ),
            Err(e) => Outcome::failed(
                ACTION,
                id,
                &format!("could not disassociate Elastic IP {}", a.public_ip),
                &e,
            ),
        }
    }));
    let (group_outcome, target_outcomes, eip_outcomes) =
        futures::join!(auto_scaling, targets, eips);
    outcomes.extend(group_outcome);
    outcomes.extend(target_outcomes);
    outcomes.extend(eip_outcomes);
    outcomes
}

/// Puts back what [`take_out_of_service`] recorded; returns the outcomes and the tag keys whose
/// restoration succeeded (to be removed).
pub async fn put_back_in_service<S: EstatePort>(
    estate: &S,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>) {
    let id = facts.instance_id.as_str();
    const RELEASE: &str = "release-instance";
    let auto_scaling = async {
        let value = facts.tag(AUTO_SCALING_TAG)?;
        let (group, how) = value.rsplit_once(' ').unwrap_or((value, "standby"));
        let current = estate.auto_scaling_group(id).await;
        let result = match (&current, how) {
            (Ok(Some(m)), _) if m.lifecycle_state == "InService" => Ok("already in service"),
            (Ok(Some(m)), "standby") if m.lifecycle_state == "Standby" => estate
                .exit_standby(group, id)
                .await
                .map(|()| "out of standby"),
            (Ok(None), _) => estate
                .attach_to_group(group, id)
                .await
                .map(|()| "attached again"),
            (Ok(Some(m)), _) => Ok(if m.lifecycle_state.starts_with("Pending") {
                "returning"
            } else {
                "in the group"
            }),
            (Err(e), _) => Err(e.clone()),
        };
        Some(match result {
            Ok(what) => (
                Outcome::new(
                    RELEASE,
                    id,
                    Status::Succeeded,
                    format!("Auto Scaling group {group}: {what}"),
                ),
                Some(AUTO_SCALING_TAG.to_string()),
            ),
            Err(e) => (
                Outcome::failed(
                    RELEASE,
                    id,
                    &format!("could not return the instance to Auto Scaling group {group}"),
                    &e,
                ),
                None,
            ),
        })
    };
    let targets = join_all(
        facts
            .tags
            .iter()
            .filter(|(k, _)| k.starts_with(TARGET_TAG))
            .map(|(k, v)| async move {
                let r = parse_registration(v);
                match estate.register(&r, id).await {
                    Ok(()) => (
                        Outcome::new(
                            RELEASE,
                            id,
                            Status::Succeeded,
                            format!("registered again with {v}"),
                        ),
                        Some(k.clone()),
                    ),
                    Err(e) => (
                        Outcome::failed(
                            RELEASE,
                            id,
                            &format!("could not register again with {v}"),
                            &e,
                        ),
                        None,
                    ),
                }
            }),
    );
    let eips = join_all(
        facts
            .tags
            .iter()
            .filter_map(|(k, v)| Some((k, k.strip_prefix(EIP_TAG)?, v)))
            .map(|(k, allocation, v)| async move {
                let mut parts = v.split_whitespace();
                let (eni, ip) = (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                );
                match estate.associate_address(allocation, eni, ip).await {
                    Ok(()) => (
                        Outcome::new(
                            RELEASE,
                            id,
                            Status::Succeeded,
                            format!("Elastic IP {allocation} associated again with {eni} ({ip})"),
                        ),
                        Some(k.clone()),
                    ),
                    Err(e) => (
                        Outcome::failed(
                            RELEASE,
                            id,
                            &format!("could not associate Elastic IP {allocation} again"),
                            &e,
                        ),
                        None,
                    ),
                }
            }),
    );
    let (group, targets, eips) = futures::join!(auto_scaling, targets, eips);
    let mut outcomes = Vec::new();
    let mut restored = Vec::new();
    for (o, key) in group.into_iter().chain(targets).chain(eips) {
        outcomes.push(o);
        restored.extend(key);
    }
    (outcomes, restored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_records_round_trip() {
        let r = Registration {
            target_group_arn: "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc".into(),
            port: Some(8080),
        };
        assert_eq!(parse_registration(&registration_record(&r)), r);
        let no_port = Registration {
            port: None,
            ..r.clone()
        };
        assert_eq!(parse_registration(&registration_record(&no_port)), no_port);
    }
}
