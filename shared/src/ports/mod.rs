//! Narrow ports: one trait per AWS capability, methods named by intent, and the facts they return.
//! The actions and schedulers are generic over them; `aws/` implements them with the SDK (one
//! adapter per service), tests with recording fakes that implement only what they need.
//!
//! One file per capability group, each trait beside the facts it returns: `ec2` (instances,
//! quarantine groups, interfaces, network ACLs, evidence, snapshots, profiles, artifacts),
//! `out_of_service` (Auto Scaling, target groups, Elastic IPs), `lambda`, `s3`, `ecs`, `rds`, `iam`,
//! `memory` (Systems Manager, presigned URLs, VPC endpoints: memory capture), `notify` (the
//! notification, the notifier, Security Hub findings), `tickets` (a finding's ticket). Here: the
//! bundles the schedulers take, and every item re-exported, so `crate::ports::X` names it.
#![allow(async_fn_in_trait)]

pub mod ec2;
pub mod ecs;
pub mod iam;
pub mod lambda;
pub mod memory;
pub mod notify;
pub mod out_of_service;
pub mod rds;
pub mod s3;
pub mod tickets;

pub use ec2::*;
pub use ecs::*;
pub use iam::*;
pub use lambda::*;
pub use memory::*;
pub use notify::*;
pub use out_of_service::*;
pub use rds::*;
pub use s3::*;
pub use tickets::*;

/// Everything the instance responses need from EC2.
pub trait Ec2Ports:
    ArtifactsPort
    + InstancesPort
    + QuarantineGroupsPort
    + InterfacesPort
    + NetworkAclsPort
    + EvidencePort
    + SnapshotsPort
    + ProfilesPort
{
}

impl<T> Ec2Ports for T where
    T: ArtifactsPort
        + InstancesPort
        + QuarantineGroupsPort
        + InterfacesPort
        + NetworkAclsPort
        + EvidencePort
        + SnapshotsPort
        + ProfilesPort
{
}

/// What sends an instance traffic or would replace it: taking it out of service needs these three.
pub trait OutOfServicePorts: AutoScalingPort + TargetGroupsPort + AddressesPort {}

impl<T> OutOfServicePorts for T where T: AutoScalingPort + TargetGroupsPort + AddressesPort {}

/// The adapters one response may use: EC2, the services beside it, IAM. Every scheduler is
/// `run(&Ports, Request) -> Execution` and bounds only the ports it calls, so a test passes `&()`
/// for an adapter the scheduler never touches.
pub struct Ports<'a, E, S, I> {
    /// EC2.
    pub ec2: &'a E,
    /// The services beside EC2 and IAM (out of service, Lambda, S3, ECS).
    pub service: &'a S,
    /// IAM.
    pub iam: &'a I,
}

impl<E, S, I> Clone for Ports<'_, E, S, I> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E, S, I> Copy for Ports<'_, E, S, I> {}

/// Every service beside EC2 and IAM: what a response of any kind may need of them.
pub trait ServicePorts:
    AutoScalingPort
    + TargetGroupsPort
    + AddressesPort
    + FunctionsPort
    + BucketsPort
    + TasksPort
    + DatabasesPort
    + MemoryPort
{
}

impl<T> ServicePorts for T where
    T: AutoScalingPort
        + TargetGroupsPort
        + AddressesPort
        + FunctionsPort
        + BucketsPort
        + TasksPort
        + DatabasesPort
        + MemoryPort
{
}

/// Everything the credential responses need from IAM.
pub trait IamPorts: PrincipalsPort + UserCredentialsPort + InlinePoliciesPort {}

impl<T> IamPorts for T where T: PrincipalsPort + UserCredentialsPort + InlinePoliciesPort {}
