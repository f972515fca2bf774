//! Auto Scaling and Elastic Load Balancing v2 through the SDK, one adapter each: the instance's
//! group ([`AutoScaling`]) and the target groups that send it traffic ([`LoadBalancing`]). With
//! EC2's Elastic IPs (`aws/addresses.rs`), what taking an instance out of service needs.

use futures::StreamExt;

use crate::error::AwsError;
use crate::ports::{AutoScalingPort, GroupMembership, Registration, TargetGroupsPort};

/// Auto Scaling of one account and region: the instance's group.
#[derive(Clone)]
pub struct AutoScaling {
    /// The client.
    pub asg: aws_sdk_autoscaling::Client,
}

/// Elastic Load Balancing v2 of one account and region: the target groups that send an instance
/// traffic.
#[derive(Clone)]
pub struct LoadBalancing {
    /// The client.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl AutoScalingPort for AutoScaling {
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

impl TargetGroupsPort for LoadBalancing {
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
