//! EC2: instances and their interfaces, volumes, quarantine groups, network ACLs, evidence
//! (termination protection, snapshots), instance profiles, and the sharing of snapshots and AMIs.

use serde::Serialize;

use crate::error::AwsError;
use crate::incident::{distinct, tag_value, ArtifactRef};

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

/// A snapshot Firebreak took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotFacts {
    /// `vol-…`.
    pub volume_id: String,
    /// `snap-…`.
    pub snapshot_id: String,
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

/// An instance profile associated with an instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileAssociation {
    /// `iip-assoc-…`.
    pub association_id: String,
    /// The instance profile's ARN.
    pub instance_profile_arn: String,
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
