//! Memory capture's adapter ([`MemoryPort`] on [`Services`]): Systems Manager (the agent's state,
//! Run Command) through `Services::ssm`, the evidence bucket's presigned URLs through S3, and the VPC's
//! endpoints, their addresses and S3's prefix list, and the isolation group's endpoint rules
//! through EC2.

use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange, PrefixListId};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_ssm::types::InstanceInformationStringFilter;

use crate::aws::sdk::{filter, local_error};
use crate::aws::services::Services;
use crate::error::AwsError;
use crate::ports::{EgressTo, ManagedInstance, MemoryPort, Presign, VpcEndpointFacts};
use crate::tags;

/// The HTTPS rule for one destination, described as Firebreak's capture rule.
fn https_to(to: &EgressTo) -> IpPermission {
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443);
    match to {
        EgressTo::Address(cidr) => rule.ip_ranges(
            IpRange::builder()
                .cidr_ip(cidr)
                .description(tags::CAPTURE_EGRESS)
                .build(),
        ),
        EgressTo::PrefixList(pl) => rule.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(pl)
                .description(tags::CAPTURE_EGRESS)
                .build(),
        ),
    }
    .build()
}

impl MemoryPort for Services {
    fn capture_here(&self) -> bool {
        self.capture_here
    }

    async fn managed_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<ManagedInstance>, AwsError> {
        let filter = InstanceInformationStringFilter::builder()
            .key("InstanceIds")
            .values(instance_id)
            .build()
            .map_err(local_error)?;
        let out = self
            .ssm
            .ssm
            .describe_instance_information()
            .filters(filter)
            .send()
            .await?;
        let info = out
            .instance_information_list()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id));
        Ok(info.map(|i| ManagedInstance {
            ping_status: i.ping_status().map(|p| p.as_str()).unwrap_or("").into(),
            platform_type: i.platform_type().map(|p| p.as_str()).unwrap_or("").into(),
        }))
    }

    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpointFacts>, AwsError> {
        let c = &self.ec2.0;
        let out = c
            .describe_vpc_endpoints()
            .filters(filter("vpc-id", &[vpc_id]))
            .send()
            .await?;
        let enis: Vec<String> = out
            .vpc_endpoints()
            .iter()
            .flat_map(|e| e.network_interface_ids().iter().cloned())
            .collect();
        let addresses: Vec<(String, String)> = match enis.is_empty() {
            true => Vec::new(),
            false => c
                .describe_network_interfaces()
                .set_network_interface_ids(Some(enis))
                .send()
                .await?
                .network_interfaces()
                .iter()
                .filter_map(|n| {
                    Some((
                        n.network_interface_id()?.to_string(),
                        n.private_ip_address()?.to_string(),
                    ))
                })
                .collect(),
        };
        Ok(out
            .vpc_endpoints()
            .iter()
            .map(|e| VpcEndpointFacts {
                service_name: e.service_name().unwrap_or("").into(),
                endpoint_type: e
                    .vpc_endpoint_type()
                    .map(|t| t.as_str())
                    .unwrap_or("")
                    .into(),
                state: e.state().map(|s| s.as_str()).unwrap_or("").to_lowercase(),
                private_dns: e.private_dns_enabled().unwrap_or(false),
                addresses: addresses
                    .iter()
                    .filter(|(eni, _)| e.network_interface_ids().contains(eni))
                    .map(|(_, ip)| ip.clone())
                    .collect(),
            })
            .collect())
    }

    async fn prefix_list(&self, name: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .ec2
            .0
            .describe_prefix_lists()
            .filters(filter("prefix-list-name", &[name]))
            .send()
            .await?;
        Ok(out
            .prefix_lists()
            .iter()
            .find(|p| p.prefix_list_name() == Some(name))
            .and_then(|p| p.prefix_list_id().map(String::from)))
    }

    async fn allow_capture_egress(&self, group_id: &str, to: &[EgressTo]) -> Result<(), AwsError> {
        // One call per destination, so a rule the group has already (`Duplicate`) does not keep
        // the others out.
        let add = to.iter().map(|t| async move {
            let sent = self
                .ec2
                .0
                .authorize_security_group_egress()
                .group_id(group_id)
                .ip_permissions(https_to(t))
                .send()
                .await;
            match sent.map_err(AwsError::from) {
                Err(e) if e.code.as_deref() == Some("InvalidPermission.Duplicate") => Ok(()),
                other => other.map(|_| ()),
            }
        });
        futures::future::try_join_all(add).await?;
        Ok(())
    }

    async fn presign(
        &self,
        method: Presign,
        bucket: &str,
        key: &str,
        seconds: u64,
    ) -> Result<String, AwsError> {
        let config =
            PresigningConfig::expires_in(Duration::from_secs(seconds)).map_err(local_error)?;
        let s3 = &self.s3.s3;
        let request = match method {
            Presign::Get => s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(AwsError::from)?,
            Presign::Put => s3
                .put_object()
                .bucket(bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(AwsError::from)?,
        };
        Ok(request.uri().to_string())
    }

    async fn send_command(
        &self,
        document: &str,
        instance_id: &str,
        parameters: &[(&str, String)],
        comment: &str,
    ) -> Result<String, AwsError> {
        let mut call = self
            .ssm
            .ssm
            .send_command()
            .document_name(document)
            .instance_ids(instance_id)
            .comment(comment);
        for (name, value) in parameters {
            call = call.parameters(*name, vec![value.clone()]);
        }
        let out = call.send().await?;
        out.command()
            .and_then(|c| c.command_id())
            .map(String::from)
            .ok_or_else(|| local_error("SendCommand returned no command id"))
    }
}
