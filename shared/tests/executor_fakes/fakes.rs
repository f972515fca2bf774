//! The recording fake of EC2 (`FakeEc2`) and of SNS (`FakeSns`).

use std::sync::Mutex;

use firebreak::error::AwsError;
use firebreak::incident::ArtifactRef;
use firebreak::ports::{
    AclEntryFacts, ArtifactFacts, ArtifactsPort, EvidencePort, FoundGroups, InstanceFacts,
    InstancesPort, InterfaceFacts, InterfacesPort, NetworkAclFacts, NetworkAclsPort, Notification,
    Notifier, ProfileAssociation, ProfilesPort, QuarantineGroups, QuarantineGroupsPort, Sharing,
    SnapshotFacts, SnapshotsPort, VolumeFacts,
};

pub(crate) struct FakeEc2 {
    pub(crate) facts: Option<InstanceFacts>,
    pub(crate) fail_group: Option<String>,
    pub(crate) groups_exist: bool,
    pub(crate) profile: Option<ProfileAssociation>,
    /// Other instances' quarantine starts (the blast-radius cap's count).
    quarantines: Vec<(String, String)>,
    /// Deny entries added to the VPC's network ACL.
    pub(crate) acl_entries: Mutex<Vec<AclEntryFacts>>,
    /// A group change into this group waits this long before answering.
    pub(crate) stall: Option<(String, std::time::Duration)>,
    /// The first this-many group changes answer `InvalidGroup.NotFound` (a group just created).
    pub(crate) not_yet_visible: std::sync::atomic::AtomicUsize,
    calls: Mutex<Vec<String>>,
}

impl FakeEc2 {
    pub(crate) fn new(groups: Vec<String>) -> FakeEc2 {
        FakeEc2 {
            facts: Some(InstanceFacts {
                instance_id: "i-0123456789abcdef0".into(),
                state: "running".into(),
                interfaces: vec![InterfaceFacts {
                    network_interface_id: "eni-1".into(),
                    vpc_id: "vpc-1".into(),
                    group_ids: groups,
                    addresses: vec!["10.0.0.5".into()],
                    trunk: false,
                }],
                volumes: vec![VolumeFacts {
                    volume_id: "vol-1".into(),
                    device_name: "/dev/xvda".into(),
                    delete_on_termination: true,
                }],
                tags: vec![],
                spot: false,
                legacy: vec![],
                forged: vec![],
            }),
            fail_group: None,
            groups_exist: true,
            profile: None,
            quarantines: Vec::new(),
            acl_entries: Mutex::new(Vec::new()),
            stall: None,
            not_yet_visible: std::sync::atomic::AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn groups(&self, _vpc: &str) -> Result<FoundGroups, AwsError> {
        Ok(if self.groups_exist {
            FoundGroups {
                isolation: Some("sg-iso".into()),
                untracking: Some("sg-untrack".into()),
            }
        } else {
            FoundGroups::default()
        })
    }
}

pub(crate) fn throttled() -> AwsError {
    AwsError {
        code: Some("RequestLimitExceeded".into()),
        message: "slow down".into(),
    }
}

impl ArtifactsPort for FakeEc2 {
    async fn artifact(&self, _: &ArtifactRef) -> Result<Option<ArtifactFacts>, AwsError> {
        Ok(None)
    }
    async fn unshare(&self, a: &ArtifactRef, _: &Sharing) -> Result<(), AwsError> {
        self.log(format!("unshare {}", a.id));
        Ok(())
    }
    async fn share(&self, a: &ArtifactRef, _: &Sharing) -> Result<(), AwsError> {
        self.log(format!("share {}", a.id));
        Ok(())
    }
    async fn tag_artifact(&self, a: &ArtifactRef, _: &[(String, String)]) -> Result<(), AwsError> {
        self.log(format!("tag {}", a.id));
        Ok(())
    }
    async fn untag_artifact(&self, a: &ArtifactRef, _: &[String]) -> Result<(), AwsError> {
        self.log(format!("untag {}", a.id));
        Ok(())
    }
}

impl InstancesPort for FakeEc2 {
    async fn waiting_for_a_human(&self) -> Result<Vec<InstanceFacts>, AwsError> {
        self.log("waiting".into());
        let waiting = |f: &&InstanceFacts| {
            matches!(
                f.tag("firebreak:status"),
                Some("awaiting-approval" | "needs-human")
            )
        };
        Ok(self.facts.iter().filter(waiting).cloned().collect())
    }
    async fn describe_instance(&self, _: &str) -> Result<Option<InstanceFacts>, AwsError> {
        self.log("describe".into());
        Ok(self.facts.clone())
    }
    async fn quarantine_starts(&self) -> Result<Vec<(String, String)>, AwsError> {
        Ok(self.quarantines.clone())
    }
    async fn tag_instance(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.log(format!("tag {}", keys.join(",")));
        Ok(())
    }
    async fn untag_instance(&self, _: &str, keys: &[String]) -> Result<(), AwsError> {
        self.log(format!("untag {}", keys.join(",")));
        Ok(())
    }
}

impl QuarantineGroupsPort for FakeEc2 {
    async fn find_quarantine_groups(&self, vpc: &str) -> Result<FoundGroups, AwsError> {
        self.log(format!("lookup-groups {vpc}"));
        self.groups(vpc)
    }
    async fn reconcile_quarantine_groups(&self, vpc: &str) -> Result<FoundGroups, AwsError> {
        self.log(format!("find-groups {vpc}"));
        self.groups(vpc)
    }
    /// Every group is in the fake's one VPC but those named `sg-elsewhere…`.
    async fn group_vpcs(&self, ids: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        let vpc = |g: &String| match g.starts_with("sg-elsewhere") {
            true => "vpc-2",
            false => "vpc-1",
        };
        Ok(ids
            .iter()
            .map(|g| (g.clone(), vpc(g).to_string()))
            .collect())
    }
    async fn create_quarantine_groups(
        &self,
        vpc: &str,
        _: &FoundGroups,
    ) -> Result<QuarantineGroups, AwsError> {
        self.log(format!("create-groups {vpc}"));
        Ok(QuarantineGroups {
            isolation: "sg-iso".into(),
            untracking: "sg-untrack".into(),
            created: true,
        })
    }
}

/// The VPC's one network ACL: the default's allow-all at rule 100, both ways.
impl NetworkAclsPort for FakeEc2 {
    async fn network_acls(&self, vpc: &str) -> Result<Vec<NetworkAclFacts>, AwsError> {
        self.log(format!("find-acls {vpc}"));
        let allow = |egress| AclEntryFacts {
            rule_number: 100,
            egress,
            allow: true,
            cidr: "0.0.0.0/0".into(),
        };
        let mut entries = vec![allow(false), allow(true)];
        entries.extend(self.acl_entries.lock().unwrap().iter().cloned());
        Ok(vec![NetworkAclFacts {
            network_acl_id: "acl-1".into(),
            vpc_id: vpc.into(),
            entries,
        }])
    }
    async fn network_acls_by_id(&self, ids: &[String]) -> Result<Vec<NetworkAclFacts>, AwsError> {
        self.log(format!("find-acls-by-id {}", ids.join(" ")));
        let mut acls = self.network_acls("vpc-1").await?;
        acls.retain(|a| ids.contains(&a.network_acl_id));
        Ok(acls)
    }
    async fn add_deny_entry(
        &self,
        acl: &str,
        rule_number: i32,
        egress: bool,
        cidr: &str,
    ) -> Result<(), AwsError> {
        self.log(format!("acl-deny {acl} {rule_number} {egress} {cidr}"));
        self.acl_entries.lock().unwrap().push(AclEntryFacts {
            rule_number,
            egress,
            allow: false,
            cidr: cidr.into(),
        });
        Ok(())
    }
    async fn delete_entry(
        &self,
        acl: &str,
        rule_number: i32,
        egress: bool,
    ) -> Result<(), AwsError> {
        self.log(format!("acl-delete {acl} {rule_number} {egress}"));
        self.acl_entries
            .lock()
            .unwrap()
            .retain(|e| (e.rule_number, e.egress) != (rule_number, egress));
        Ok(())
    }
}

impl InterfacesPort for FakeEc2 {
    async fn set_interface_groups(&self, eni: &str, groups: &[String]) -> Result<(), AwsError> {
        use std::sync::atomic::Ordering;
        let unseen = self.not_yet_visible.load(Ordering::SeqCst);
        if unseen > 0 {
            self.not_yet_visible.store(unseen - 1, Ordering::SeqCst);
            self.log(format!("not-yet-visible {eni} {}", groups.join(" ")));
            return Err(AwsError {
                code: Some("InvalidGroup.NotFound".into()),
                message: format!("The security group '{}' does not exist", groups[0]),
            });
        }
        if let Some((group, wait)) = &self.stall {
            if groups.contains(group) {
                tokio::time::sleep(*wait).await;
            }
        }
        self.log(format!("set {eni} {}", groups.join(" ")));
        if self.fail_group.as_deref() == Some(groups[0].as_str()) {
            return Err(throttled());
        }
        Ok(())
    }
}

impl EvidencePort for FakeEc2 {
    async fn termination_protection(&self, _: &str) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn enable_termination_protection(&self, _: &str) -> Result<(), AwsError> {
        self.log("protect".into());
        Ok(())
    }
    async fn disable_termination_protection(&self, _: &str) -> Result<(), AwsError> {
        self.log("unprotect".into());
        Ok(())
    }
    async fn shutdown_behaviour(&self, _: &str) -> Result<String, AwsError> {
        Ok("terminate".into())
    }
    async fn set_shutdown_behaviour(&self, _: &str, value: &str) -> Result<(), AwsError> {
        self.log(format!("shutdown-{value}"));
        Ok(())
    }
    async fn set_delete_on_termination(
        &self,
        _: &str,
        _: &[String],
        delete: bool,
    ) -> Result<(), AwsError> {
        self.log(
            if delete {
                "delete-volumes"
            } else {
                "keep-volumes"
            }
            .into(),
        );
        Ok(())
    }
}

impl SnapshotsPort for FakeEc2 {
    async fn finding_snapshots(
        &self,
        _: &str,
        _: &[String],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        Ok(vec![])
    }
    async fn snapshot_instance(
        &self,
        _: &str,
        _: &[(String, String)],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        self.log("snapshot".into());
        Ok(vec![SnapshotFacts {
            volume_id: "vol-1".into(),
            snapshot_id: "snap-1".into(),
        }])
    }
    async fn snapshot_volume(
        &self,
        _: &str,
        _: &[(String, String)],
    ) -> Result<SnapshotFacts, AwsError> {
        unreachable!("no earlier snapshots in these tests")
    }
}

impl ProfilesPort for FakeEc2 {
    async fn instance_profile_association(
        &self,
        _: &str,
    ) -> Result<Option<ProfileAssociation>, AwsError> {
        self.log("describe-association".into());
        Ok(self.profile.clone())
    }
    async fn disassociate_instance_profile(&self, id: &str) -> Result<(), AwsError> {
        self.log(format!("disassociate {id}"));
        Ok(())
    }
    async fn associate_instance_profile(&self, _: &str, arn: &str) -> Result<(), AwsError> {
        self.log(format!("associate {arn}"));
        Ok(())
    }
}

#[derive(Default)]
pub(crate) struct FakeSns(pub(crate) Mutex<Vec<Notification>>);

impl Notifier for FakeSns {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        self.0.lock().unwrap().push(n.clone());
        Ok("m-1".into())
    }
}
