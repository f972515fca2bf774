//! EC2 through the SDK: instances and their tags, interfaces, evidence protection, snapshots,
//! instance profiles and Elastic IPs. The quarantine groups are in `security_groups.rs`.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, CopyTagsFromSource, EbsInstanceBlockDeviceSpecification,
    InstanceAttributeName, InstanceBlockDeviceMappingSpecification, InstanceLifecycleType,
    InstanceNetworkInterface, InstanceSpecification, ResourceType, Tag,
};

use crate::aws::sdk::{ec2_tags, filter, tag_pairs, tag_spec};
use crate::aws::secrets;
use crate::error::AwsError;
use crate::ports::{
    EvidencePort, InstanceFacts, InstancesPort, InterfaceFacts, InterfacesPort, ProfileAssociation,
    ProfilesPort, SnapshotFacts, SnapshotsPort, VolumeFacts,
};
use crate::records::Isolation;
use crate::seal::{Keyring, Seal};
use crate::tags;

/// EC2 through the SDK. With a [`Seal`] (every incident's), the `firebreak:*` tags it writes on
/// instances and artifacts are sealed, and those it reads are opened: only values whose seal
/// verifies reach [`InstanceFacts::tags`] (`seal.rs`).
#[derive(Clone)]
pub struct Ec2(pub aws_sdk_ec2::Client, pub Option<Seal>);

impl Ec2 {
    /// The same client, sealing for one incident.
    pub fn sealed(&self, seal: Seal) -> Ec2 {
        Ec2(self.0.clone(), Some(seal))
    }

    /// `tags` as written on `resource` (sealed when this adapter seals).
    pub(crate) async fn sealing(
        &self,
        resource: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<(String, String)>, AwsError> {
        secrets::sealing(self.1.as_ref(), resource, tags).await
    }

    /// The keys, when this adapter seals (`None` when it does not).
    pub(crate) async fn keys(&self) -> Result<Option<std::sync::Arc<Keyring>>, AwsError> {
        secrets::keys(self.1.as_ref()).await
    }

    /// An instance's facts with its tags opened.
    async fn opened(&self, keys: Option<&Keyring>, mut facts: InstanceFacts) -> InstanceFacts {
        let tags = std::mem::take(&mut facts.tags);
        (facts.tags, facts.legacy, facts.forged) =
            secrets::opened(self.1.as_ref(), keys, &facts.instance_id, tags).await;
        facts
    }
}

/// A snapshot as `DescribeSnapshots` (`Snapshot`) and `CreateSnapshots` (`SnapshotInfo`) report it:
/// two SDK types with the same two fields.
fn snapshot_facts(volume_id: Option<&str>, snapshot_id: Option<&str>) -> Option<SnapshotFacts> {
    Some(SnapshotFacts {
        volume_id: volume_id?.to_string(),
        snapshot_id: snapshot_id?.to_string(),
    })
}

/// One attempt only, for a call that creates something new each time (a snapshot): a retry after an
/// attempt that timed out but succeeded would take a second one. The tag-based check before it
/// covers Lambda's retry instead.
fn once() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default()
        .retry_config(aws_sdk_ec2::config::retry::RetryConfig::standard().with_max_attempts(1))
}

/// An attached interface: its groups and every address it has (primary IPv4 first).
fn interface_facts(n: &InstanceNetworkInterface) -> InterfaceFacts {
    let primary = n.private_ip_address();
    let mut addresses: Vec<String> = primary.map(String::from).into_iter().collect();
    addresses.extend(
        n.private_ip_addresses()
            .iter()
            .filter_map(|a| a.private_ip_address())
            .filter(|a| Some(*a) != primary)
            .map(String::from),
    );
    addresses.extend(
        n.ipv6_addresses()
            .iter()
            .filter_map(|a| a.ipv6_address().map(String::from)),
    );
    InterfaceFacts {
        network_interface_id: n.network_interface_id().unwrap_or_default().to_string(),
        vpc_id: n.vpc_id().unwrap_or_default().to_string(),
        group_ids: n
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(String::from))
            .collect(),
        addresses,
        trunk: n.interface_type() == Some("trunk"),
    }
}

/// What Firebreak reads of an instance.
fn facts_of(i: &aws_sdk_ec2::types::Instance) -> InstanceFacts {
    let mut interfaces: Vec<_> = i.network_interfaces().to_vec();
    interfaces.sort_by_key(|n| n.attachment().and_then(|a| a.device_index()).unwrap_or(0));
    InstanceFacts {
        instance_id: i.instance_id().unwrap_or_default().to_string(),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string())
            .unwrap_or_default(),
        interfaces: interfaces.iter().map(interface_facts).collect(),
        volumes: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| {
                Some(VolumeFacts {
                    volume_id: b.ebs()?.volume_id()?.to_string(),
                    device_name: b.device_name()?.to_string(),
                    delete_on_termination: b.ebs()?.delete_on_termination().unwrap_or(false),
                })
            })
            .collect(),
        spot: i.instance_lifecycle() == Some(&InstanceLifecycleType::Spot),
        tags: tag_pairs(i.tags()),
        legacy: Vec::new(),
        forged: Vec::new(),
    }
}

impl InstancesPort for Ec2 {
    async fn describe_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<InstanceFacts>, AwsError> {
        // The keys are awaited beside the call: on a cold start their fetch is not a round trip of
        // its own.
        let call = self.0.describe_instances().instance_ids(instance_id).send();
        let (out, keys) = futures::join!(call, self.keys());
        let keys = keys?;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let Some(i) = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
        else {
            return Ok(None);
        };
        Ok(Some(self.opened(keys.as_deref(), facts_of(i)).await))
    }

    async fn waiting_for_a_human(&self) -> Result<Vec<InstanceFacts>, AwsError> {
        let statuses = [tags::status::AWAITING_APPROVAL, tags::status::NEEDS_HUMAN];
        let keys = self.keys().await?;
        // By key: a sealed value is not the bare status, so EC2 cannot filter on it.
        let mut found = Vec::new();
        let mut pages = self
            .0
            .describe_instances()
            .filters(filter("tag-key", &[tags::STATUS]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for i in page?.reservations().iter().flat_map(|r| r.instances()) {
                let f = self.opened(keys.as_deref(), facts_of(i)).await;
                if tags::status_of(&f).is_some_and(|s| statuses.contains(&s)) {
                    found.push(f);
                }
            }
        }
        Ok(found)
    }

    async fn quarantine_starts(&self) -> Result<Vec<(String, String)>, AwsError> {
        // Either format: the isolation record, or the earlier start tag. Only a record whose seal
        // verifies counts (a forged or unsealed one never holds a quarantine back).
        let keys = [tags::ISOLATION, tags::QUARANTINE_STARTED];
        let mut pages = self
            .0
            .describe_instances()
            .filters(filter("tag-key", &keys))
            .into_paginator()
            .send();
        // The keys beside the first page: on a cold start their fetch is no round trip of its own.
        let (mut page, ring) = futures::join!(pages.next(), self.keys());
        let ring = ring?;
        let mut starts = Vec::new();
        while let Some(this) = page {
            for i in this?.reservations().iter().flat_map(|r| r.instances()) {
                let facts = self.opened(ring.as_deref(), facts_of(i)).await;
                let record = Isolation::read(&facts.tags);
                if record.started.is_none() && record.groups.is_empty() {
                    continue;
                }
                // A record without a readable start still counts (the cap errs towards a human).
                starts.push((facts.instance_id, record.started.unwrap_or_default()));
            }
            page = pages.next().await;
        }
        Ok(starts)
    }

    async fn tag_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), AwsError> {
        let tags = self.sealing(instance_id, tags).await?;
        self.0
            .create_tags()
            .resources(instance_id)
            .set_tags(Some(ec2_tags(&tags)))
            .send()
            .await?;
        Ok(())
    }

    async fn untag_instance(&self, instance_id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.0
            .delete_tags()
            .resources(instance_id)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .send()
            .await?;
        Ok(())
    }
}

impl InterfacesPort for Ec2 {
    async fn set_interface_groups(&self, eni: &str, group_ids: &[String]) -> Result<(), AwsError> {
        self.0
            .modify_network_interface_attribute()
            .network_interface_id(eni)
            .set_groups(Some(group_ids.to_vec()))
            .send()
            .await?;
        Ok(())
    }
}

impl EvidencePort for Ec2 {
    async fn termination_protection(&self, instance_id: &str) -> Result<bool, AwsError> {
        let out = self
            .0
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await?;
        Ok(out
            .disable_api_termination()
            .and_then(|v| v.value())
            .unwrap_or(false))
    }

    async fn enable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await?;
        Ok(())
    }

    async fn disable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await?;
        Ok(())
    }

    async fn shutdown_behaviour(&self, instance_id: &str) -> Result<String, AwsError> {
        let out = self
            .0
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await?;
        Ok(out
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value())
            .unwrap_or("stop")
            .to_string())
    }

    async fn set_shutdown_behaviour(&self, instance_id: &str, value: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .instance_initiated_shutdown_behavior(AttributeValue::builder().value(value).build())
            .send()
            .await?;
        Ok(())
    }

    async fn set_delete_on_termination(
        &self,
        instance_id: &str,
        device_names: &[String],
        delete: bool,
    ) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .set_block_device_mappings(Some(
                device_names
                    .iter()
                    .map(|d| {
                        InstanceBlockDeviceMappingSpecification::builder()
                            .device_name(d)
                            .ebs(
                                EbsInstanceBlockDeviceSpecification::builder()
                                    .delete_on_termination(delete)
                                    .build(),
                            )
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await?;
        Ok(())
    }
}

impl SnapshotsPort for Ec2 {
    async fn finding_snapshots(
        &self,
        finding_id: &str,
        volume_ids: &[String],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        let vols: Vec<&str> = volume_ids.iter().map(String::as_str).collect();
        let out = self
            .0
            .describe_snapshots()
            .owner_ids("self")
            .filters(filter(&format!("tag:{}", tags::FINDING), &[finding_id]))
            .filters(filter("volume-id", &vols))
            .send()
            .await?;
        Ok(out
            .snapshots()
            .iter()
            .filter_map(|s| snapshot_facts(s.volume_id(), s.snapshot_id()))
            .collect())
    }

    async fn snapshot_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        let out = self
            .0
            .create_snapshots()
            .instance_specification(
                InstanceSpecification::builder()
                    .instance_id(instance_id)
                    .exclude_boot_volume(false)
                    .build(),
            )
            .description(format!("Firebreak evidence of {instance_id}"))
            .tag_specifications(tag_spec(ResourceType::Snapshot, tags))
            .copy_tags_from_source(CopyTagsFromSource::Volume)
            .customize()
            .config_override(once())
            .send()
            .await?;
        Ok(out
            .snapshots()
            .iter()
            .filter_map(|s| snapshot_facts(s.volume_id(), s.snapshot_id()))
            .collect())
    }

    async fn snapshot_volume(
        &self,
        volume_id: &str,
        tags: &[(String, String)],
    ) -> Result<SnapshotFacts, AwsError> {
        let out = self
            .0
            .create_snapshot()
            .volume_id(volume_id)
            .description(format!("Firebreak evidence of {volume_id}"))
            .tag_specifications(tag_spec(ResourceType::Snapshot, tags))
            .customize()
            .config_override(once())
            .send()
            .await?;
        Ok(SnapshotFacts {
            volume_id: volume_id.to_string(),
            snapshot_id: out.snapshot_id().unwrap_or_default().to_string(),
        })
    }
}

impl ProfilesPort for Ec2 {
    async fn instance_profile_association(
        &self,
        instance_id: &str,
    ) -> Result<Option<ProfileAssociation>, AwsError> {
        let out = self
            .0
            .describe_iam_instance_profile_associations()
            .filters(filter("instance-id", &[instance_id]))
            .filters(filter("state", &["associating", "associated"]))
            .send()
            .await?;
        Ok(out
            .iam_instance_profile_associations()
            .iter()
            .find(|a| a.instance_id() == Some(instance_id))
            .and_then(|a| {
                Some(ProfileAssociation {
                    association_id: a.association_id()?.to_string(),
                    instance_profile_arn: a.iam_instance_profile()?.arn()?.to_string(),
                })
            }))
    }

    async fn disassociate_instance_profile(&self, association_id: &str) -> Result<(), AwsError> {
        self.0
            .disassociate_iam_instance_profile()
            .association_id(association_id)
            .send()
            .await?;
        Ok(())
    }

    async fn associate_instance_profile(
        &self,
        instance_id: &str,
        profile_arn: &str,
    ) -> Result<(), AwsError> {
        self.0
            .associate_iam_instance_profile()
            .instance_id(instance_id)
            .iam_instance_profile(
                aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                    .arn(profile_arn)
                    .build(),
            )
            .send()
            .await?;
        Ok(())
    }
}
