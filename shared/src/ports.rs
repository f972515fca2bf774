//! Narrow ports: one trait per AWS capability, methods named by intent, and the facts they return.
//! The actions and schedulers are generic over them; `aws/` implements them with the SDK (one
//! adapter per service), tests with recording fakes that implement only what they need.
#![allow(async_fn_in_trait)]

use serde::Serialize;

use crate::error::AwsError;
use crate::incident::{distinct, tag_value, ArtifactRef, FindingRef};

/// A network interface as EC2 reports it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceFacts {
    /// `eni-…`.
    pub network_interface_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Its security groups, as EC2 reports them now.
    pub group_ids: Vec<String>,
    /// Its private IPv4 addresses (primary first) and IPv6 addresses.
    pub addresses: Vec<String>,
    /// An EKS node's trunk interface (security groups for pods): the pods with their own groups
    /// use branch interfaces linked to it, which are not among the instance's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub trunk: bool,
}

/// An attached EBS volume.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeFacts {
    /// `vol-…`.
    pub volume_id: String,
    /// e.g. `/dev/xvda`.
    pub device_name: String,
    /// Whether it is deleted when the instance terminates.
    pub delete_on_termination: bool,
}

/// An instance as EC2 reports it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceFacts {
    /// `i-…`.
    pub instance_id: String,
    /// `running`, `stopped`, `terminated`, …
    pub state: String,
    /// Every attached interface.
    pub interfaces: Vec<InterfaceFacts>,
    /// Every attached EBS volume.
    pub volumes: Vec<VolumeFacts>,
    /// Tags (key, value): others' as they are, Firebreak's only where their seal verifies
    /// (`seal.rs`), without it.
    pub tags: Vec<(String, String)>,
    /// A Spot instance (EC2 refuses termination protection for those).
    pub spot: bool,
    /// Firebreak's tags that carry no seal (written by a version before sealing): trusted only by
    /// a release that checks the facts they describe.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forged: Vec<String>,
}

impl InstanceFacts {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        tag_value(&self.tags, key)
    }

    /// The distinct VPCs of its interfaces, in interface order.
    pub fn vpc_ids(&self) -> Vec<String> {
        distinct(self.interfaces.iter().map(|i| i.vpc_id.clone()))
    }
}

/// The two Firebreak groups of one VPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuarantineGroups {
    /// No ingress, no egress.
    pub isolation: String,
    /// All traffic in and out (IPv4 and IPv6): turns tracked connections into untracked ones.
    pub untracking: String,
    /// This invocation created one of them: EC2 may not know it everywhere yet.
    pub created: bool,
}

/// The quarantine groups of a VPC that already exist.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FoundGroups {
    /// The isolation group, if it exists.
    pub isolation: Option<String>,
    /// The untracking group, if it exists.
    pub untracking: Option<String>,
}

impl FoundGroups {
    /// Both groups, when both exist.
    pub fn complete(&self) -> Option<QuarantineGroups> {
        Some(QuarantineGroups {
            isolation: self.isolation.clone()?,
            untracking: self.untracking.clone()?,
            created: false,
        })
    }
}

/// A snapshot Firebreak took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotFacts {
    /// `vol-…`.
    pub volume_id: String,
    /// `snap-…`.
    pub snapshot_id: String,
}

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
    /// For a target group of type `ip`: the instance's address registered (else the instance).
    pub ip: Option<String>,
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

/// An instance: what it is now, and its tags.
pub trait InstancesPort: Sync {
    /// The instance now, or `None` when it no longer exists.
    async fn describe_instance(&self, instance_id: &str)
        -> Result<Option<InstanceFacts>, AwsError>;
    /// The instances waiting for a human (status `awaiting-approval` or `needs-human`).
    async fn waiting_for_a_human(&self) -> Result<Vec<InstanceFacts>, AwsError>;
    /// Every instance carrying the quarantine-start tag, with its value (the blast-radius cap).
    async fn quarantine_starts(&self) -> Result<Vec<(String, String)>, AwsError>;
    /// Adds or overwrites tags on the instance.
    async fn tag_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), AwsError>;
    /// Removes these tag keys from the instance.
    async fn untag_instance(&self, instance_id: &str, keys: &[String]) -> Result<(), AwsError>;
}

/// The two Firebreak security groups of each VPC.
pub trait QuarantineGroupsPort: Sync {
    /// Finds (by tag) the VPC's isolation and untracking groups that exist. Changes nothing.
    async fn find_quarantine_groups(&self, vpc_id: &str) -> Result<FoundGroups, AwsError>;
    /// Finds them as [`find_quarantine_groups`](Self::find_quarantine_groups) does, and puts their
    /// rules right if someone changed them, in the same round. Creates nothing.
    async fn reconcile_quarantine_groups(&self, vpc_id: &str) -> Result<FoundGroups, AwsError>;
    /// The VPC of each of these groups that exists, `(group, vpc)` (a release checks recorded
    /// groups against the facts).
    async fn group_vpcs(&self, group_ids: &[String]) -> Result<Vec<(String, String)>, AwsError>;
    /// Creates the groups `found` lacks (with their rules); returns both.
    async fn create_quarantine_groups(
        &self,
        vpc_id: &str,
        found: &FoundGroups,
    ) -> Result<QuarantineGroups, AwsError>;
}

/// The security groups of a network interface.
pub trait InterfacesPort: Sync {
    /// Replaces the groups of one interface.
    async fn set_interface_groups(&self, eni: &str, group_ids: &[String]) -> Result<(), AwsError>;
}

/// What keeps an instance's evidence from being destroyed.
pub trait EvidencePort: Sync {
    /// Whether termination protection is on.
    async fn termination_protection(&self, instance_id: &str) -> Result<bool, AwsError>;
    /// Turns termination protection on.
    async fn enable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError>;
    /// Turns termination protection off.
    async fn disable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError>;
    /// What an OS-initiated shutdown does: `stop` or `terminate`.
    async fn shutdown_behaviour(&self, instance_id: &str) -> Result<String, AwsError>;
    /// Sets what an OS-initiated shutdown does (`stop`, `terminate`).
    async fn set_shutdown_behaviour(&self, instance_id: &str, value: &str) -> Result<(), AwsError>;
    /// `DeleteOnTermination` = `delete` on the given devices.
    async fn set_delete_on_termination(
        &self,
        instance_id: &str,
        device_names: &[String],
        delete: bool,
    ) -> Result<(), AwsError>;
}

/// EBS snapshots taken as evidence.
pub trait SnapshotsPort: Sync {
    /// Snapshots already taken for this finding of any of these volumes.
    async fn finding_snapshots(
        &self,
        finding_id: &str,
        volume_ids: &[String],
    ) -> Result<Vec<SnapshotFacts>, AwsError>;
    /// Crash-consistent snapshots of all the instance's volumes at once, with these tags.
    async fn snapshot_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<SnapshotFacts>, AwsError>;
    /// A snapshot of one volume, with these tags.
    async fn snapshot_volume(
        &self,
        volume_id: &str,
        tags: &[(String, String)],
    ) -> Result<SnapshotFacts, AwsError>;
}

/// The instance profile of an instance.
pub trait ProfilesPort: Sync {
    /// The instance profile associated with the instance now, if any.
    async fn instance_profile_association(
        &self,
        instance_id: &str,
    ) -> Result<Option<ProfileAssociation>, AwsError>;
    /// Removes an instance profile association.
    async fn disassociate_instance_profile(&self, association_id: &str) -> Result<(), AwsError>;
    /// Associates the instance profile with the instance.
    async fn associate_instance_profile(
        &self,
        instance_id: &str,
        profile_arn: &str,
    ) -> Result<(), AwsError>;
}

/// One entry of a network ACL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AclEntryFacts {
    /// 1–32766 (32767 is the default `*` rule).
    pub rule_number: i32,
    /// Outbound (else inbound).
    pub egress: bool,
    /// Allow (else deny).
    pub allow: bool,
    /// The IPv4 or IPv6 CIDR it matches (the source of inbound traffic, the destination of
    /// outbound traffic).
    pub cidr: String,
}

/// A network ACL of a VPC, with its entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkAclFacts {
    /// `acl-…`.
    pub network_acl_id: String,
    /// Its VPC.
    pub vpc_id: String,
    /// Every entry, both directions.
    pub entries: Vec<AclEntryFacts>,
}

/// The network ACLs of a VPC.
pub trait NetworkAclsPort: Sync {
    /// Every network ACL of the VPC.
    async fn network_acls(&self, vpc_id: &str) -> Result<Vec<NetworkAclFacts>, AwsError>;
    /// These network ACLs, those that still exist (a terminated instance no longer names its VPC).
    async fn network_acls_by_id(&self, ids: &[String]) -> Result<Vec<NetworkAclFacts>, AwsError>;
    /// Adds a deny entry for `cidr`, all protocols, in one direction.
    async fn add_deny_entry(
        &self,
        network_acl_id: &str,
        rule_number: i32,
        egress: bool,
        cidr: &str,
    ) -> Result<(), AwsError>;
    /// Deletes an entry.
    async fn delete_entry(
        &self,
        network_acl_id: &str,
        rule_number: i32,
        egress: bool,
    ) -> Result<(), AwsError>;
}

/// A Lambda function as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionFacts {
    /// Its unqualified ARN.
    pub arn: String,
    /// Its execution role's ARN.
    pub role_arn: Option<String>,
    /// Its reserved concurrency; `None` when it has none (it uses the account's pool).
    pub reserved_concurrency: Option<i32>,
    /// Its VPC configuration, when it is attached to a VPC.
    pub vpc: Option<FunctionVpc>,
    /// Its tags: others' as they are, Firebreak's only where their seal verifies (`seal.rs`),
    /// without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (written by a version before sealing): trusted only by
    /// a release that checks the facts they describe.
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    pub forged: Vec<String>,
    /// How Lambda's last update of its configuration stands (`LastUpdateStatus`).
    pub last_update: UpdateStatus,
}

/// How Lambda's last update of a function's configuration stands: an update (a VPC change among
/// them) is applied asynchronously, `InProgress` then `Successful` or `Failed` (Lambda Developer
/// Guide, "Lambda function states"; API reference, UpdateFunctionConfiguration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateStatus {
    /// `LastUpdateStatus`: `InProgress`, `Successful`, `Failed` (empty when Lambda reports none).
    pub status: String,
    /// `LastUpdateStatusReasonCode` (`SubnetOutOfIPAddresses`, …), when it failed.
    pub reason_code: Option<String>,
    /// `LastUpdateStatusReason`, in Lambda's words.
    pub reason: Option<String>,
}

impl UpdateStatus {
    /// Lambda is still applying it.
    pub fn in_progress(&self) -> bool {
        self.status == "InProgress"
    }

    /// Lambda gave it up: the function's previous configuration stays in effect.
    pub fn failed(&self) -> bool {
        self.status == "Failed"
    }
}

/// One provisioned concurrency configuration of a function (on an alias or a published version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedFacts {
    /// The alias or version number it is configured on.
    pub qualifier: String,
    /// `RequestedProvisionedConcurrentExecutions`.
    pub requested: i32,
}

/// A function's VPC configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionVpc {
    /// The VPC.
    pub vpc_id: String,
    /// Its subnets.
    pub subnets: Vec<String>,
    /// Its security groups.
    pub groups: Vec<String>,
    /// `Ipv6AllowedForDualStack`, kept as it is when the groups change.
    pub ipv6_dual_stack: Option<bool>,
}

/// One event source mapping of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFacts {
    /// Its UUID.
    pub uuid: String,
    /// `Enabled`, `Enabling`, `Disabled`, `Disabling`, `Creating`, `Updating`, `Deleting`.
    pub state: String,
    /// The ARN of the function it invokes (qualified when it invokes a version or an alias).
    pub function_arn: String,
}

impl MappingFacts {
    /// True when it invokes the function whose unqualified ARN is `arn` (any version or alias).
    pub fn invokes(&self, arn: &str) -> bool {
        let own = |m: &str| m == arn || m.strip_prefix(arn).is_some_and(|q| q.starts_with(':'));
        !arn.is_empty() && own(&self.function_arn)
    }

    /// True when it delivers events, or is about to.
    pub fn delivers(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Enabled" | "Enabling" | "Creating" | "Updating"
        )
    }
}

/// Lambda functions: concurrency, event source mappings, VPC configuration, tags.
pub trait FunctionsPort: Sync {
    /// The function now, `None` when it no longer exists.
    async fn function(&self, name: &str) -> Result<Option<FunctionFacts>, AwsError>;
    /// Its event source mappings: those Lambda lists for its name and for each of its aliases.
    async fn mappings(&self, name: &str) -> Result<Vec<MappingFacts>, AwsError>;
    /// Sets its reserved concurrency (`None`: removes it, back to the account's pool).
    async fn set_concurrency(&self, name: &str, reserved: Option<i32>) -> Result<(), AwsError>;
    /// Its provisioned concurrency configurations (its aliases' and versions').
    async fn provisioned(&self, name: &str) -> Result<Vec<ProvisionedFacts>, AwsError>;
    /// Sets the provisioned concurrency of one alias or version (`None`: removes it).
    async fn set_provisioned(
        &self,
        name: &str,
        qualifier: &str,
        executions: Option<i32>,
    ) -> Result<(), AwsError>;
    /// How Lambda's last update of its configuration stands now (`GetFunctionConfiguration`).
    async fn update_status(&self, name: &str) -> Result<UpdateStatus, AwsError>;
    /// Enables or disables one event source mapping.
    async fn set_mapping_enabled(&self, uuid: &str, enabled: bool) -> Result<(), AwsError>;
    /// Replaces the security groups of its VPC configuration (its subnets and IPv6 setting kept).
    async fn set_function_groups(
        &self,
        name: &str,
        vpc: &FunctionVpc,
        groups: &[String],
    ) -> Result<(), AwsError>;
    /// Adds or overwrites tags on it (by ARN).
    async fn tag_function(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes these tag keys from it (by ARN).
    async fn untag_function(&self, arn: &str, keys: &[String]) -> Result<(), AwsError>;
    /// The VPC of each of these security groups that exists, `(group, vpc)` (EC2): a release
    /// checks an unsealed record of the function's groups against it.
    async fn security_group_vpcs(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, AwsError>;
    /// Firebreak's own quarantine groups in the VPC (EC2; isolation and untracking), which no
    /// record of a function's own groups may name.
    async fn quarantine_group_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError>;
}

/// An S3 bucket's Block Public Access settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_policy: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_acls: true,
        ignore_acls: true,
        block_policy: true,
        restrict_buckets: true,
    };
}

/// An S3 bucket's tags as read. S3 replaces a bucket's whole tag set at once, so a write carries
/// every tag it does not change back exactly as it was read ([`raw`](Self::raw)): an unsealed or
/// forged value is never written back sealed (laundered), nor a sealed one sealed again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketTags {
    /// Tags (key, value): others' as they are, Firebreak's only where their seal verifies
    /// (`seal.rs`), without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (an earlier version's): never restored from.
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    pub forged: Vec<String>,
    /// The whole tag set exactly as S3 holds it, seals included.
    pub raw: Vec<(String, String)>,
}

impl BucketTags {
    /// A tag set read without opening (an adapter that does not seal): every tag as it is.
    pub fn plain(tags: Vec<(String, String)>) -> BucketTags {
        BucketTags {
            raw: tags.clone(),
            tags,
            ..BucketTags::default()
        }
    }

    /// The whole tag set to put: every tag as read, with `written` merged in (a key written is
    /// replaced, an empty value removes it). `written` holds the values as they go to S3 (sealed by
    /// the adapter); nothing else is ever sealed.
    pub fn merged(&self, written: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = (self.raw.iter())
            .filter(|(k, _)| !written.iter().any(|(w, _)| w == k))
            .cloned()
            .collect();
        out.extend(written.iter().filter(|(_, v)| !v.is_empty()).cloned());
        out
    }
}

/// S3 buckets: Block Public Access, the bucket policy, tags.
pub trait BucketsPort: Sync {
    /// The bucket's tags; `None` when the bucket does not exist.
    async fn bucket_tags(&self, bucket: &str) -> Result<Option<BucketTags>, AwsError>;
    /// Replaces the bucket's whole tag set with `present`'s as read and `write` merged in
    /// ([`BucketTags::merged`]): only `write`'s values are sealed (an empty value removes its key).
    async fn put_bucket_tags(
        &self,
        bucket: &str,
        present: &BucketTags,
        write: &[(String, String)],
    ) -> Result<(), AwsError>;
    /// Its Block Public Access settings; `None` when it has none.
    async fn public_access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlock>, AwsError>;
    /// Sets them (`None`: removes the configuration).
    async fn set_public_access_block(
        &self,
        bucket: &str,
        settings: Option<PublicAccessBlock>,
    ) -> Result<(), AwsError>;
    /// Its bucket policy (JSON); `None` when it has none.
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, AwsError>;
    /// Sets it (`None`: deletes it).
    async fn set_bucket_policy(&self, bucket: &str, policy: Option<&str>) -> Result<(), AwsError>;
}

/// An ECS task as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    /// `RUNNING`, `STOPPED`, …
    pub last_status: String,
    /// Its network interface (awsvpc), when it has one.
    pub network_interface_id: Option<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

/// ECS tasks.
pub trait TasksPort: Sync {
    /// The task now; `None` when ECS no longer knows it.
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskFacts>, AwsError>;
    /// Stops it, with `reason` (shown in the console and DescribeTasks).
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError>;
}

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

/// Who, besides its owner, can use an EBS snapshot or AMI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sharing {
    /// Public (group `all`).
    pub public: bool,
    /// Other accounts.
    pub accounts: Vec<String>,
    /// Organizations (AMIs only).
    pub organizations: Vec<String>,
    /// Organizational units (AMIs only).
    pub units: Vec<String>,
}

impl Sharing {
    /// Shared with no one.
    pub fn is_empty(&self) -> bool {
        *self == Sharing::default()
    }

    /// Everything in `self` or `other`, once each.
    pub fn union(&self, other: &Sharing) -> Sharing {
        let merge = |a: &[String], b: &[String]| {
            let mut v = a.to_vec();
            v.extend(b.iter().filter(|x| !a.contains(x)).cloned());
            v
        };
        Sharing {
            public: self.public || other.public,
            accounts: merge(&self.accounts, &other.accounts),
            organizations: merge(&self.organizations, &other.organizations),
            units: merge(&self.units, &other.units),
        }
    }

    /// In words, for a notification.
    pub fn describe(&self) -> String {
        match self.is_empty() {
            true => "no one".into(),
            false => self.tokens().join(", "),
        }
    }
}

/// What a snapshot or AMI is now: who can use it, and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFacts {
    /// Who can create volumes from it / launch it, besides its owner.
    pub sharing: Sharing,
    /// Its tags (Firebreak's only where their seal verifies, as on [`InstanceFacts::tags`]).
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (an earlier version's): never restored from.
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify.
    pub forged: Vec<String>,
}

/// EBS snapshots and AMIs: their sharing (`createVolumePermission`, `launchPermission`).
pub trait ArtifactsPort: Sync {
    /// The artifact now, `None` when it no longer exists.
    async fn artifact(&self, a: &ArtifactRef) -> Result<Option<ArtifactFacts>, AwsError>;
    /// Removes these permissions.
    async fn unshare(&self, a: &ArtifactRef, who: &Sharing) -> Result<(), AwsError>;
    /// Adds these permissions.
    async fn share(&self, a: &ArtifactRef, who: &Sharing) -> Result<(), AwsError>;
    /// Adds or overwrites tags on it.
    async fn tag_artifact(
        &self,
        a: &ArtifactRef,
        tags: &[(String, String)],
    ) -> Result<(), AwsError>;
    /// Removes these tag keys from it.
    async fn untag_artifact(&self, a: &ArtifactRef, keys: &[String]) -> Result<(), AwsError>;
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

/// What sends the instance traffic or would replace it: taking it out of service needs all three.
pub trait ServicePorts:
    AutoScalingPort + TargetGroupsPort + AddressesPort + FunctionsPort + BucketsPort + TasksPort
{
}

impl<T> ServicePorts for T where
    T: AutoScalingPort + TargetGroupsPort + AddressesPort + FunctionsPort + BucketsPort + TasksPort
{
}

/// IAM users and roles: who they are, the deny policies and tags Firebreak writes on them.
pub trait PrincipalsPort: Sync {
    /// The user now, or `None` when it does not exist.
    async fn user(&self, user_name: &str) -> Result<Option<PrincipalFacts>, AwsError>;
    /// The role now, or `None` when it does not exist.
    async fn role(&self, role_name: &str) -> Result<Option<PrincipalFacts>, AwsError>;
    /// Creates or replaces an inline policy of the user.
    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError>;
    /// Creates or replaces an inline policy of the role.
    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError>;
    /// Deletes an inline policy of the role (`Ok` when it does not exist).
    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError>;
    /// The document (JSON) of an inline policy of the role, `None` when it has no such policy. A
    /// port that cannot read policies answers `None`: it never claims a policy it did not read.
    async fn role_policy(
        &self,
        _role_name: &str,
        _policy_name: &str,
    ) -> Result<Option<String>, AwsError> {
        Ok(None)
    }
    /// Adds or overwrites tags on the user.
    async fn tag_user(&self, user_name: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Adds or overwrites tags on the role.
    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
}

/// An IAM user's long-term credentials: access keys and console password.
pub trait UserCredentialsPort: Sync {
    /// The user's access keys.
    async fn access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyFacts>, AwsError>;
    /// The user's console password, or `None` when it has none.
    async fn login_profile(&self, user_name: &str) -> Result<Option<LoginProfileFacts>, AwsError>;
    /// Sets one access key of the user to `Inactive`.
    async fn deactivate_access_key(
        &self,
        user_name: &str,
        access_key_id: &str,
    ) -> Result<(), AwsError>;
    /// Deletes the user's console password.
    async fn delete_login_profile(&self, user_name: &str) -> Result<(), AwsError>;
}

/// A user's or role's inline policies as IAM holds them: read before a deny is merged into them
/// and sized against IAM's quota on their sum (`denies.rs`).
pub trait InlinePoliciesPort: Sync {
    /// Every inline policy of the role: (name, document as written).
    async fn role_policies(&self, role_name: &str) -> Result<Vec<(String, String)>, AwsError>;
    /// Every inline policy of the user: (name, document as written).
    async fn user_policies(&self, user_name: &str) -> Result<Vec<(String, String)>, AwsError>;
}

/// Everything the credential responses need from IAM.
pub trait IamPorts: PrincipalsPort + UserCredentialsPort + InlinePoliciesPort {}

impl<T> IamPorts for T where T: PrincipalsPort + UserCredentialsPort + InlinePoliciesPort {}

/// A message for the team, in one form per kind of subscriber.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Under 100 characters, ASCII, one line: the subject, and all an SMS subscriber gets.
    pub subject: String,
    /// The text a person reads.
    pub body: String,
    /// The structured report (JSON), for automation.
    pub report: String,
    /// The same message as an AWS Chatbot custom notification (JSON), for chat channels.
    pub chat: String,
    /// Message attributes for subscription filter policies: (name, value, is_number).
    pub attributes: Vec<(String, String, bool)>,
}

/// SNS's limit on one message, in bytes.
pub const SNS_MESSAGE_BYTES: usize = 262_144;
/// Where the structured report starts in the e-mail.
pub const REPORT_MARKER: &str = "--- structured report ---";

impl Notification {
    /// What an e-mail subscriber reads: the text, then the structured report.
    pub fn email(&self) -> String {
        format!("{}\n{REPORT_MARKER}\n{}\n", self.body, self.report)
    }

    /// The SNS message for `MessageStructure=json`, one key per protocol: `default` (chat
    /// channels through Chatbot's HTTPS subscription, SQS, HTTP/S, `email-json`, …) the chat
    /// notification, `email` the e-mail, `sms` the subject, `lambda` the structured report. Within
    /// SNS's limit: an e-mail too long for it is cut at the end, with a note.
    pub fn message_structure(&self) -> String {
        let attributes: usize = (self.attributes.iter())
            .map(|(name, value, _)| name.len() + value.len() + 16)
            .sum();
        let budget = SNS_MESSAGE_BYTES.saturating_sub(attributes + self.subject.len() + 1024);
        let structure = |email: &str| {
            serde_json::json!({
                "default": self.chat,
                "email": email,
                "sms": self.subject,
                "lambda": self.report,
            })
            .to_string()
        };
        let mut email = self.email();
        let mut message = structure(&email);
        for _ in 0..4 {
            if message.len() <= budget {
                break;
            }
            const CUT: &str = "\n[… cut here: SNS takes 256 KB per message]\n";
            let keep = email
                .len()
                .saturating_sub(message.len() - budget + CUT.len());
            let mut at = keep;
            while !email.is_char_boundary(at) {
                at -= 1;
            }
            email = format!("{}{CUT}", &email[..at]);
            message = structure(&email);
        }
        message
    }
}

/// Where notifications go.
pub trait Notifier: Sync {
    /// Publishes the message; returns the message id.
    async fn publish(&self, notification: &Notification) -> Result<String, AwsError>;
}

/// An IAM user or role as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrincipalFacts {
    /// Its ARN.
    pub arn: String,
    /// Its tags (key, value): others' as they are, Firebreak's only where their seal verifies
    /// (`seal.rs`), without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (an earlier version's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forged: Vec<String>,
}

impl PrincipalFacts {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        tag_value(&self.tags, key)
    }
}

/// One access key of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKeyFacts {
    /// `AKIA…`.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
}

/// A user's console password, as far as IAM tells (never the password itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginProfileFacts {
    /// When it was created.
    pub created: String,
    /// Whether the user must change it at next sign-in.
    pub password_reset_required: bool,
}

/// An instance profile associated with an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileAssociation {
    /// `iip-assoc-…`.
    pub association_id: String,
    /// The instance profile's ARN.
    pub instance_profile_arn: String,
}

/// A Security Hub workflow status Firebreak sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Workflow {
    /// The team was told.
    Notified,
    /// Done with (after a release).
    Resolved,
}

impl Workflow {
    /// The ASFF value.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Notified => "NOTIFIED",
            Workflow::Resolved => "RESOLVED",
        }
    }
}

/// Where findings are annotated (Security Hub).
pub trait FindingsPort: Sync {
    /// Sets the finding's note (`UpdatedBy: firebreak`) and, when given, its workflow status.
    async fn update_finding(
        &self,
        finding: &FindingRef,
        note: &str,
        workflow: Option<Workflow>,
    ) -> Result<(), AwsError>;
}
