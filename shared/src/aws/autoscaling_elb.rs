//! Auto Scaling and Elastic Load Balancing v2 through the SDK: the instance's group and the target
//! groups that send it traffic. With EC2's Elastic IPs, it is what taking an instance out of
//! service needs ([`ServicePorts`](crate::ports::ServicePorts)).

use futures::StreamExt;

use crate::aws::ec2::Ec2;
use crate::aws::sdk::filter;
use crate::error::AwsError;
use crate::ports::{
    AddressFacts, AddressesPort, AutoScalingPort, GroupMembership, Registration, TargetGroupsPort,
};
use crate::seal::Seal;

/// The services beside EC2 of one account and region: Auto Scaling, Elastic Load Balancing v2 and
/// EC2's Elastic IPs (taking an instance out of service), Lambda (`aws/lambda.rs`) and S3
/// (`aws/s3.rs`). With a [`Seal`] (every incident's), the `firebreak:*` tags it writes on functions
/// and buckets are sealed, and those it reads are opened (`seal.rs`).
#[derive(Clone)]
pub struct Services {
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// S3 (`aws/s3.rs`).
    pub s3: aws_sdk_s3::Client,
    /// ECS (`aws/ecs.rs`).
    pub ecs: aws_sdk_ecs::Client,
    /// Auto Scaling.
    pub asg: aws_sdk_autoscaling::Client,
    /// Elastic Load Balancing v2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// EC2, for the Elastic IPs.
    pub ec2: Ec2,
    /// The incident's sealing, when it seals.
    pub seal: Option<Seal>,
}

impl Services {
    /// The same clients, sealing for one incident.
    pub fn sealed(&self, seal: Seal) -> Services {
        Services {
            seal: Some(seal),
            ..self.clone()
        }
    }
}

/// Elastic IPs, through EC2.
impl AddressesPort for Services {
    async fn addresses(&self, instance_id: &str) -> Result<Vec<AddressFacts>, AwsError> {
        let out = self
            .ec2
            .0
            .describe_addresses()
            .filters(filter("instance-id", &[instance_id]))
            .send()
            .await?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| {
                Some(AddressFacts {
                    allocation_id: a.allocation_id()?.to_string(),
                    association_id: a.association_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    network_interface_id: a.network_interface_id().unwrap_or_default().to_string(),
                    private_ip: a.private_ip_address().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }

    async fn disassociate_address(&self, association_id: &str) -> Result<(), AwsError> {
        match self
            .ec2
            .0
            .disassociate_address()
            .association_id(association_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = AwsError::from(e);
                // Gone already (a redelivery after the change): the end state holds.
                if e.code.as_deref() == Some("InvalidAssociationID.NotFound") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn associate_address(
        &self,
        allocation_id: &str,
        network_interface_id: &str,
        private_ip: &str,
    ) -> Result<(), AwsError> {
        let mut call = self
            .ec2
            .0
            .associate_address()
            .allocation_id(allocation_id)
            .allow_reassociation(false);
        if !network_interface_id.is_empty() {
            call = call.network_interface_id(network_interface_id);
        }
        if !private_ip.is_empty() {
            call = call.private_ip_address(private_ip);
        }
        call.send().await?;
        Ok(())
    }
}

impl AutoScalingPort for Services {
    async fn auto_scaling_group(
        &self,
        instance_id: &str,
    ) -> Result<Option<GroupMembership>, AwsError> {
        let out = self
            .asg
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(out
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id))
            .map(|i| GroupMembership {
                group: i.auto_scaling_group_name().unwrap_or_default().to_string(),
                lifecycle_state: i.lifecycle_state().unwrap_or_default().to_string(),
            }))
    }

    async fn enter_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .enter_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await?;
        Ok(())
    }

    async fn detach_from_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .detach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await?;
        Ok(())
    }

    async fn exit_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .exit_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(())
    }

    async fn attach_to_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .attach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(())
    }
}

impl TargetGroupsPort for Services {
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
        addresses: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        let mut groups = Vec::new();
        let mut pages = self.elb.describe_target_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            for g in page?.target_groups() {
                let by_ip = g.target_type().is_some_and(|t| t.as_str() == "ip");
                let by_instance = g.target_type().is_none_or(|t| t.as_str() == "instance");
                let in_vpc = g.vpc_id().is_some_and(|v| vpc_ids.iter().any(|x| x == v));
                if let (true, true, Some(arn)) =
                    (by_ip || by_instance, in_vpc, g.target_group_arn())
                {
                    groups.push((arn.to_string(), by_ip));
                }
            }
        }
        // A bounded number at a time: an account can have hundreds of target groups in a VPC.
        let healths: Vec<_> = futures::stream::iter(groups.iter().map(|(arn, _)| {
            self.elb
                .describe_target_health()
                .target_group_arn(arn)
                .send()
        }))
        .buffered(TARGET_HEALTH_AT_ONCE)
        .collect()
        .await;
        let mut found = Vec::new();
        for ((arn, by_ip), health) in groups.iter().zip(healths) {
            for d in health?.target_health_descriptions() {
                let Some(id) = d.target().and_then(|t| t.id()) else {
                    continue;
                };
                let ip = (*by_ip && addresses.iter().any(|a| a == id)).then(|| id.to_string());
                if ip.is_some() || (!by_ip && id == instance_id) {
                    found.push(Registration {
                        target_group_arn: arn.clone(),
                        port: d.target().and_then(|t| t.port()),
                        ip,
                    });
                }
            }
        }
        Ok(found)
    }

    async fn deregister(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        let result = self
            .elb
            .deregister_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(elb_target(r.ip.as_deref().unwrap_or(instance_id), r.port))
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        let e = AwsError::from(e);
        // Not registered (any more): Auto Scaling deregisters an instance entering Standby, at
        // the same time. The end state holds if the target group no longer lists it.
        if e.code.as_deref() == Some("InvalidTarget") {
            let health = self
                .elb
                .describe_target_health()
                .target_group_arn(&r.target_group_arn)
                .send()
                .await?;
            let still = health.target_health_descriptions().iter().any(|d| {
                d.target()
                    .is_some_and(|t| t.id() == Some(instance_id) && t.port() == r.port)
            });
            if !still {
                return Ok(());
            }
        }
        Err(e)
    }

    async fn register(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        self.elb
            .register_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(elb_target(r.ip.as_deref().unwrap_or(instance_id), r.port))
            .send()
            .await?;
        Ok(())
    }
}

/// Target groups whose health is read at the same time.
const TARGET_HEALTH_AT_ONCE: usize = 8;

/// The target: the instance's id, or its address in an `ip` target group.
fn elb_target(
    instance_id: &str,
    port: Option<i32>,
) -> aws_sdk_elasticloadbalancingv2::types::TargetDescription {
    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
        .id(instance_id)
        .set_port(port)
        .build()
}
