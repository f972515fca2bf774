//! What sends an instance traffic or would replace it: its Auto Scaling group, the load balancer
//! target groups it is registered in, its Elastic IPs.

use serde::Serialize;

use crate::error::AwsError;

/// The instance's place in an Auto Scaling group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMembership {
    /// The group's name.
    pub group: String,
    /// `InService`, `Standby`, `Pending`, …
    pub lifecycle_state: String,
}

/// The instance's Auto Scaling group.
pub trait AutoScalingPort: Sync {
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
}

/// One registration of the instance in a target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// The target group ARN.
    pub target_group_arn: String,
    /// The port, when the registration names one.
    pub port: Option<i32>,
    /// For a target group of type `ip`: the instance's address registered (else the instance).
    pub ip: Option<String>,
}

/// The load balancer target groups that send the instance traffic.
pub trait TargetGroupsPort: Sync {
    /// Every target group registration of the instance in the target groups of its VPCs: by its
    /// id (`instance` target groups) or by one of its `addresses` (`ip` target groups).
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
        addresses: &[String],
    ) -> Result<Vec<Registration>, AwsError>;
    /// `DeregisterTargets`.
    async fn deregister(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError>;
    /// `RegisterTargets`.
    async fn register(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError>;
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

/// The instance's Elastic IPs.
pub trait AddressesPort: Sync {
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
