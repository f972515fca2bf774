//! The services beside EC2 and IAM of one account and region, one adapter each — Auto Scaling,
//! Elastic Load Balancing v2 (`aws/autoscaling_elb.rs`), Lambda (`aws/lambda.rs`), S3
//! (`aws/s3.rs`), ECS (`aws/ecs.rs`), RDS (`aws/rds.rs`) — and EC2 for the Elastic IPs (`aws/addresses.rs`): the
//! `service` of a response's `Ports`, each port passed through to its service's adapter; and
//! Systems Manager, S3 and EC2 together for a memory capture (`aws/memory.rs`).

use crate::aws::autoscaling_elb::{AutoScaling, LoadBalancing};
use crate::aws::ec2::Ec2;
use crate::aws::ecs::Ecs;
use crate::aws::lambda::Lambda;
use crate::aws::rds::Rds;
use crate::aws::s3::S3;
use crate::error::AwsError;
use crate::ports::{
    AddressFacts, AddressesPort, AutoScalingPort, BucketTags, BucketsPort, DatabaseFacts,
    DatabasesPort, FunctionFacts, FunctionVpc, FunctionsPort, GroupMembership, MappingFacts,
    ProvisionedFacts, PublicAccessBlock, Registration, TargetGroupsPort, TaskFacts, TasksPort,
    UpdateStatus,
};
use crate::seal::Seal;

/// Systems Manager of one account and region (memory capture: `aws/memory.rs`).
#[derive(Clone)]
pub struct Ssm {
    /// The client.
    pub ssm: aws_sdk_ssm::Client,
}

/// One adapter per service of the account and region.
#[derive(Clone)]
pub struct Services {
    /// Auto Scaling.
    pub asg: AutoScaling,
    /// Elastic Load Balancing v2.
    pub elb: LoadBalancing,
    /// Lambda.
    pub lambda: Lambda,
    /// S3.
    pub s3: S3,
    /// ECS.
    pub ecs: Ecs,
    /// RDS.
    pub rds: Rds,
    /// EC2, for the Elastic IPs and the VPC endpoints of a memory capture.
    pub ec2: Ec2,
    /// Systems Manager (memory capture, `aws/memory.rs`).
    pub ssm: Ssm,
    /// Whether this is Firebreak's own account and region, where the evidence bucket and the
    /// capture document are: memory is captured only here.
    pub capture_here: bool,
}

impl Services {
    /// The same adapters, sealing for one incident (the ones that write records: Lambda, S3, RDS).
    pub fn sealed(&self, seal: Seal) -> Services {
        let mut s = self.clone();
        s.lambda.seal = Some(seal.clone());
        s.rds.seal = Some(seal.clone());
        s.s3.seal = Some(seal);
        s
    }
}

impl AutoScalingPort for Services {
    async fn auto_scaling_group(
        &self,
        instance_id: &str,
    ) -> Result<Option<GroupMembership>, AwsError> {
        self.asg.auto_scaling_group(instance_id).await
    }
    async fn enter_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg.enter_standby(group, instance_id).await
    }
    async fn detach_from_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg.detach_from_group(group, instance_id).await
    }
    async fn exit_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg.exit_standby(group, instance_id).await
    }
    async fn attach_to_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg.attach_to_group(group, instance_id).await
    }
}

impl TargetGroupsPort for Services {
    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
        addresses: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        self.elb
            .registrations(instance_id, vpc_ids, addresses)
            .await
    }
    async fn deregister(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        self.elb.deregister(r, instance_id).await
    }
    async fn register(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        self.elb.register(r, instance_id).await
    }
}

impl AddressesPort for Services {
    async fn addresses(&self, instance_id: &str) -> Result<Vec<AddressFacts>, AwsError> {
        self.ec2.addresses(instance_id).await
    }
    async fn disassociate_address(&self, association_id: &str) -> Result<(), AwsError> {
        self.ec2.disassociate_address(association_id).await
    }
    async fn associate_address(
        &self,
        allocation_id: &str,
        network_interface_id: &str,
        private_ip: &str,
    ) -> Result<(), AwsError> {
        self.ec2
            .associate_address(allocation_id, network_interface_id, private_ip)
            .await
    }
}

impl FunctionsPort for Services {
    async fn function(&self, name: &str) -> Result<Option<FunctionFacts>, AwsError> {
        self.lambda.function(name).await
    }
    async fn mappings(&self, name: &str) -> Result<Vec<MappingFacts>, AwsError> {
        self.lambda.mappings(name).await
    }
    async fn set_concurrency(&self, name: &str, reserved: Option<i32>) -> Result<(), AwsError> {
        self.lambda.set_concurrency(name, reserved).await
    }
    async fn provisioned(&self, name: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
        self.lambda.provisioned(name).await
    }
    async fn set_provisioned(
        &self,
        name: &str,
        qualifier: &str,
        executions: Option<i32>,
    ) -> Result<(), AwsError> {
        self.lambda
            .set_provisioned(name, qualifier, executions)
            .await
    }
    async fn update_status(&self, name: &str) -> Result<UpdateStatus, AwsError> {
        self.lambda.update_status(name).await
    }
    async fn set_mapping_enabled(&self, uuid: &str, enabled: bool) -> Result<(), AwsError> {
        self.lambda.set_mapping_enabled(uuid, enabled).await
    }
    async fn set_function_groups(
        &self,
        name: &str,
        vpc: &FunctionVpc,
        groups: &[String],
    ) -> Result<(), AwsError> {
        self.lambda.set_function_groups(name, vpc, groups).await
    }
    async fn tag_function(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.lambda.tag_function(arn, tags).await
    }
    async fn untag_function(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.lambda.untag_function(arn, keys).await
    }
    async fn security_group_vpcs(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, AwsError> {
        self.lambda.security_group_vpcs(group_ids).await
    }
    async fn quarantine_group_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError> {
        self.lambda.quarantine_group_ids(vpc_id).await
    }
}

impl BucketsPort for Services {
    async fn bucket_tags(&self, bucket: &str) -> Result<Option<BucketTags>, AwsError> {
        self.s3.bucket_tags(bucket).await
    }
    async fn put_bucket_tags(
        &self,
        bucket: &str,
        present: &BucketTags,
        write: &[(String, String)],
    ) -> Result<(), AwsError> {
        self.s3.put_bucket_tags(bucket, present, write).await
    }
    async fn public_access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlock>, AwsError> {
        self.s3.public_access_block(bucket).await
    }
    async fn set_public_access_block(
        &self,
        bucket: &str,
        settings: Option<PublicAccessBlock>,
    ) -> Result<(), AwsError> {
        self.s3.set_public_access_block(bucket, settings).await
    }
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        self.s3.bucket_policy(bucket).await
    }
    async fn set_bucket_policy(&self, bucket: &str, policy: Option<&str>) -> Result<(), AwsError> {
        self.s3.set_bucket_policy(bucket, policy).await
    }
}

impl TasksPort for Services {
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskFacts>, AwsError> {
        self.ecs.task(cluster, task_arn).await
    }
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        self.ecs.stop_task(cluster, task_arn, reason).await
    }
}

impl DatabasesPort for Services {
    async fn database(&self, db_instance: &str) -> Result<Option<DatabaseFacts>, AwsError> {
        self.rds.database(db_instance).await
    }
    async fn snapshot_database(
        &self,
        db: &DatabaseFacts,
        snapshot: &str,
        tags: &[(String, String)],
    ) -> Result<bool, AwsError> {
        self.rds.snapshot_database(db, snapshot, tags).await
    }
    async fn set_database_groups(
        &self,
        db: &DatabaseFacts,
        groups: &[String],
    ) -> Result<(), AwsError> {
        self.rds.set_database_groups(db, groups).await
    }
    async fn tag_database(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.rds.tag_database(arn, tags).await
    }
    async fn untag_database(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        self.rds.untag_database(arn, keys).await
    }
}
