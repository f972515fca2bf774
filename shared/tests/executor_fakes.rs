//! The executor and responder driven through recording fakes: ordering and failure semantics that
//! are hard to provoke in the emulator.

use std::sync::Mutex;

use firebreak::clock::FixedClock;
use firebreak::config::Config;
use firebreak::denies::{self, Instance};
use firebreak::error::{AwsError, FirebreakError};
use firebreak::incident::{
    AccessKeyRef, ArtifactRef, Incident, InstanceRef, InterfaceRef, Resource, ResourceRole,
    SequenceRef, Source,
};
use firebreak::outcome::Status;
use firebreak::ports::InlinePoliciesPort;
use firebreak::ports::{
    AccessKeyFacts, AclEntryFacts, AddressFacts, AddressesPort, ArtifactFacts, ArtifactsPort,
    AutoScalingPort, BucketTags, BucketsPort, EvidencePort, FoundGroups, FunctionFacts,
    FunctionVpc, FunctionsPort, GroupMembership, InstanceFacts, InstancesPort, InterfaceFacts,
    InterfacesPort, LoginProfileFacts, MappingFacts, NetworkAclFacts, NetworkAclsPort,
    Notification, Notifier, PrincipalFacts, PrincipalsPort, ProfileAssociation, ProfilesPort,
    ProvisionedFacts, PublicAccessBlock, QuarantineGroups, QuarantineGroupsPort, Registration,
    Sharing, SnapshotFacts, SnapshotsPort, TargetGroupsPort, TaskFacts, TasksPort, UpdateStatus,
    UserCredentialsPort, VolumeFacts,
};
use firebreak::records::Budget;

struct FakeEc2 {
    facts: Option<InstanceFacts>,
    fail_group: Option<String>,
    groups_exist: bool,
    profile: Option<ProfileAssociation>,
    /// Other instances' quarantine starts (the blast-radius cap's count).
    quarantines: Vec<(String, String)>,
    /// Deny entries added to the VPC's network ACL.
    acl_entries: Mutex<Vec<AclEntryFacts>>,
    /// A group change into this group waits this long before answering.
    stall: Option<(String, std::time::Duration)>,
    /// The first this-many group changes answer `InvalidGroup.NotFound` (a group just created).
    not_yet_visible: std::sync::atomic::AtomicUsize,
    calls: Mutex<Vec<String>>,
}

impl FakeEc2 {
    fn new(groups: Vec<String>) -> FakeEc2 {
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

    fn calls(&self) -> Vec<String> {
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

/// An instance in no Auto Scaling group, target group or Elastic IP.
struct NoEstate;

/// No Lambda function exists (these tests are about instances and credentials).
macro_rules! no_functions {
    ($t:ty) => {
        impl FunctionsPort for $t {
            async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
                Ok(None)
            }
            async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
                Ok(vec![])
            }
            async fn set_concurrency(&self, _: &str, _: Option<i32>) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn set_mapping_enabled(&self, _: &str, _: bool) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
                unreachable!("no function")
            }
            async fn set_provisioned(
                &self,
                _: &str,
                _: &str,
                _: Option<i32>,
            ) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
                unreachable!("no function")
            }
            async fn set_function_groups(
                &self,
                _: &str,
                _: &FunctionVpc,
                _: &[String],
            ) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn tag_function(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn untag_function(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
                unreachable!("no function")
            }
            async fn security_group_vpcs(
                &self,
                _: &[String],
            ) -> Result<Vec<(String, String)>, AwsError> {
                unreachable!("no function")
            }
            async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
                unreachable!("no function")
            }
        }
    };
}

/// No S3 bucket exists either.
macro_rules! no_buckets {
    ($t:ty) => {
        impl BucketsPort for $t {
            async fn bucket_tags(&self, _: &str) -> Result<Option<BucketTags>, AwsError> {
                Ok(None)
            }
            async fn put_bucket_tags(
                &self,
                _: &str,
                _: &BucketTags,
                _: &[(String, String)],
            ) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
            async fn public_access_block(
                &self,
                _: &str,
            ) -> Result<Option<PublicAccessBlock>, AwsError> {
                Ok(None)
            }
            async fn set_public_access_block(
                &self,
                _: &str,
                _: Option<PublicAccessBlock>,
            ) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
            async fn bucket_policy(&self, _: &str) -> Result<Option<String>, AwsError> {
                Ok(None)
            }
            async fn set_bucket_policy(&self, _: &str, _: Option<&str>) -> Result<(), AwsError> {
                unreachable!("no bucket")
            }
        }
    };
}

/// No ECS task either.
macro_rules! no_tasks {
    ($t:ty) => {
        impl TasksPort for $t {
            async fn task(&self, _: &str, _: &str) -> Result<Option<TaskFacts>, AwsError> {
                Ok(None)
            }
            async fn stop_task(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
                unreachable!("no task")
            }
        }
    };
}

no_tasks!(NoEstate);
no_tasks!(ServingEstate);
no_buckets!(NoEstate);
no_buckets!(ServingEstate);
no_functions!(NoEstate);
no_functions!(ServingEstate);

impl AutoScalingPort for NoEstate {
    async fn auto_scaling_group(&self, _: &str) -> Result<Option<GroupMembership>, AwsError> {
        Ok(None)
    }
    async fn enter_standby(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn detach_from_group(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn exit_standby(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
    async fn attach_to_group(&self, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("not in a group")
    }
}

impl TargetGroupsPort for NoEstate {
    async fn registrations(
        &self,
        _: &str,
        _: &[String],
        _: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        Ok(vec![])
    }
    async fn deregister(&self, _: &Registration, _: &str) -> Result<(), AwsError> {
        unreachable!("no registration")
    }
    async fn register(&self, _: &Registration, _: &str) -> Result<(), AwsError> {
        unreachable!("no registration")
    }
}

impl AddressesPort for NoEstate {
    async fn addresses(&self, _: &str) -> Result<Vec<AddressFacts>, AwsError> {
        Ok(vec![])
    }
    async fn disassociate_address(&self, _: &str) -> Result<(), AwsError> {
        unreachable!("no address")
    }
    async fn associate_address(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("no address")
    }
}

fn throttled() -> AwsError {
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
struct FakeSns(Mutex<Vec<Notification>>);

impl Notifier for FakeSns {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        self.0.lock().unwrap().push(n.clone());
        Ok("m-1".into())
    }
}

fn incident() -> Incident {
    Incident {
        source: Source::GuardDuty,
        finding_id: "f-1".into(),
        finding_arn: None,
        finding_type: "Backdoor:EC2/C&CActivity.B".into(),
        title: None,
        severity: 8.0,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        partition: "aws".into(),
        sample: false,
        archived: false,
        resource_role: Some(ResourceRole::Actor),
        resource: Resource::Instance(InstanceRef {
            instance_id: "i-0123456789abcdef0".into(),
            network_interfaces: vec![InterfaceRef {
                network_interface_id: Some("eni-1".into()),
                vpc_id: Some("vpc-1".into()),
                security_groups: vec![],
            }],
            tags: vec![],
            instance_profile_arn: None,
        }),
        security_hub: None,
    }
}

/// The C&C incident with the test configuration, an instance in no Auto Scaling group or target
/// group, and no IAM work.
async fn respond_to(
    ec2: &FakeEc2,
    sns: &FakeSns,
) -> Result<firebreak::report::Report, FirebreakError> {
    firebreak::respond::respond(
        &incident(),
        &config(),
        ec2,
        &NoEstate,
        &FakeIam::default(),
        sns,
    )
    .await
}

/// `FbRelease` of the fake instance (no Auto Scaling, target group or Elastic IP), at a fixed time.
async fn release(ec2: &FakeEc2) -> firebreak::outcome::Execution {
    let plan = firebreak::plan::Plan {
        actions: vec![firebreak::plan::Action::on_instance(
            firebreak::actions::registry::ActionKind::ReleaseInstance,
            "i-0123456789abcdef0",
        )],
        ..firebreak::plan::Plan::notify_only("release", String::new())
    };
    let request = firebreak::execute::Request {
        incident: &incident(),
        plan: &plan,
        exempt_tag: "firebreak:exempt",
        protected: &[],
        clock: &FixedClock::at("2026-11-22T04:00:00Z"),
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        cap: None,
    };
    let ports = firebreak::ports::Ports {
        ec2,
        service: &NoEstate,
        iam: &(),
    };
    firebreak::execute::release::run(&ports, request).await
}

fn config() -> Config {
    Config::from_lookup(|k| {
        (k == "FIREBREAK_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".into())
    })
    .unwrap()
}

#[tokio::test]
async fn containment_goes_untracking_then_isolation_and_evidence_follows_it() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    let pos = |c: &str| {
        calls
            .iter()
            .position(|x| x == c)
            .unwrap_or_else(|| panic!("{c} not in {calls:?}"))
    };
    assert!(pos("set eni-1 sg-untrack") < pos("set eni-1 sg-iso"));
    assert!(
        pos("set eni-1 sg-iso") < pos("protect"),
        "evidence protection waits for containment"
    );
    assert!(pos("set eni-1 sg-iso") < pos("snapshot"));
    assert_eq!(report.original_groups["eni-1"], vec!["sg-app".to_string()]);
    assert_eq!(sns.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_already_isolated_interface_never_passes_through_the_allow_all_group_again() {
    let ec2 = FakeEc2::new(vec!["sg-iso".into()]);
    let sns = FakeSns::default();
    respond_to(&ec2, &sns).await.unwrap();
    assert!(
        !ec2.calls().iter().any(|c| c.starts_with("set eni-1")),
        "{:?}",
        ec2.calls()
    );
    // And its current (Firebreak) group is not recorded as the group to restore.
    assert!(!ec2
        .calls()
        .iter()
        .any(|c| c.contains("firebreak:original-groups")));
}

#[tokio::test]
async fn failed_isolation_notifies_then_returns_a_containment_error() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.fail_group = Some("sg-iso".into());
    let sns = FakeSns::default();
    let err = respond_to(&ec2, &sns).await.unwrap_err();
    assert!(
        matches!(err, FirebreakError::ContainmentFailed { .. }),
        "{err}"
    );
    assert_eq!(err.error_type(), "ContainmentFailed");
    // Tried twice before giving up, and said so loudly, with the AWS error code.
    assert_eq!(
        ec2.calls()
            .iter()
            .filter(|c| *c == "set eni-1 sg-iso")
            .count(),
        2
    );
    let sent = sns.0.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("CONTAINMENT FAILED"));
    assert!(
        sent[0].email().contains("RequestLimitExceeded")
            && sent[0].email().contains("NOT to the isolation group")
    );
    assert!(ec2.calls().iter().any(|c| c.contains("firebreak:status")));
}

#[tokio::test]
async fn a_vanished_instance_is_skipped_and_nothing_is_changed() {
    let mut ec2 = FakeEc2::new(vec![]);
    ec2.facts = None;
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "skipped");
    assert!(ec2
        .calls()
        .iter()
        .all(|c| c == "describe" || c.starts_with("find-groups") || c.starts_with("find-acls")));
}

/// Handles the incident with `ec2` in a VPC that has no quarantine groups yet; returns the calls made.
async fn calls_in_a_vpc_without_groups(mut ec2: FakeEc2) -> Vec<String> {
    ec2.groups_exist = false;
    firebreak::respond::respond(
        &incident(),
        &config(),
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &FakeSns::default(),
    )
    .await
    .unwrap();
    ec2.calls()
}

fn group_creations(calls: &[String]) -> usize {
    calls
        .iter()
        .filter(|c| c.starts_with("create-groups"))
        .count()
}

#[tokio::test]
async fn groups_are_created_only_for_an_instance_that_exists_and_is_not_exempt() {
    // A vanished instance: looked up, never created.
    let mut vanished = FakeEc2::new(vec![]);
    vanished.facts = None;
    let calls = calls_in_a_vpc_without_groups(vanished).await;
    assert_eq!(group_creations(&calls), 0, "{calls:?}");

    // An exempt one: the same.
    let mut exempt = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = exempt.facts.as_mut() {
        f.tags.push(("firebreak:exempt".into(), "true".into()));
    }
    let calls = calls_in_a_vpc_without_groups(exempt).await;
    assert_eq!(group_creations(&calls), 0, "{calls:?}");

    // A real one: created once, after the describe, and used.
    let calls = calls_in_a_vpc_without_groups(FakeEc2::new(vec!["sg-app".into()])).await;
    assert_eq!(group_creations(&calls), 1, "{calls:?}");
    assert!(calls.contains(&"set eni-1 sg-iso".to_string()));
}

// ---- credentials ----

/// IAM with one user (two keys, a console password) and one role, recording every call.
struct FakeIam {
    /// Reads of the user or role answer this error (the exemption cannot be read).
    read_error: Option<AwsError>,
    user_tags: Vec<(String, String)>,
    /// The keys of the user's and the role's forged `firebreak:*` tags.
    forged: Vec<String>,
    keys: Vec<AccessKeyFacts>,
    login: Option<LoginProfileFacts>,
    fail_deactivate: bool,
    /// The role's inline policies (name → document), held to IAM's quota: a write past it
    /// answers `LimitExceeded`.
    role_policies: Mutex<std::collections::BTreeMap<String, String>>,
    /// The user's.
    user_policies: Mutex<std::collections::BTreeMap<String, String>>,
    /// The next write of a role policy whose name starts with this is lost: a concurrent
    /// revocation that read the policy before it writes its own version right after it.
    clobber: Mutex<Option<String>>,
    /// Reads of the role's and the user's inline policies answer this error.
    policies_error: Option<AwsError>,
    calls: Mutex<Vec<String>>,
}

impl Default for FakeIam {
    fn default() -> FakeIam {
        FakeIam {
            read_error: None,
            user_tags: vec![],
            forged: vec![],
            keys: vec![
                AccessKeyFacts {
                    access_key_id: "AKIALEAKEDLEAKED0001".into(),
                    status: "Active".into(),
                },
                AccessKeyFacts {
                    access_key_id: "AKIAOTHEROTHER000002".into(),
                    status: "Active".into(),
                },
            ],
            login: Some(LoginProfileFacts {
                created: "2026-01-01T00:00:00Z".into(),
                password_reset_required: false,
            }),
            fail_deactivate: false,
            role_policies: Mutex::default(),
            user_policies: Mutex::default(),
            clobber: Mutex::new(None),
            policies_error: None,
            calls: Mutex::new(Vec::new()),
        }
    }
}

/// `held` with `name` written as `document`, unless IAM's quota forbids it.
fn put_held(
    held: &Mutex<std::collections::BTreeMap<String, String>>,
    name: &str,
    document: &str,
    quota: usize,
) -> Result<(), AwsError> {
    let mut held = held.lock().unwrap();
    let others: usize = held
        .iter()
        .filter(|(n, _)| *n != name)
        .map(|(_, d)| denies::iam_size(d))
        .sum();
    if others + denies::iam_size(document) > quota {
        return Err(AwsError {
            code: Some("LimitExceeded".into()),
            message: format!("Maximum policy size of {quota} bytes exceeded"),
        });
    }
    held.insert(name.to_string(), document.to_string());
    Ok(())
}

impl FakeIam {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl PrincipalsPort for FakeIam {
    async fn user(&self, name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        self.log(format!("get-user {name}"));
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(Some(PrincipalFacts {
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            tags: self.user_tags.clone(),
            legacy: vec![],
            forged: self.forged.clone(),
        }))
    }
    async fn role(&self, name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        self.log(format!("get-role {name}"));
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(Some(PrincipalFacts {
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            tags: vec![],
            legacy: vec![],
            forged: self.forged.clone(),
        }))
    }
    async fn put_user_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
        self.log(format!("put-user-policy {name} {doc}"));
        put_held(&self.user_policies, name, doc, denies::USER_QUOTA)
    }
    async fn put_role_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
        self.log(format!("put-role-policy {name} {doc}"));
        let before = self.role_policies.lock().unwrap().get(name).cloned();
        put_held(&self.role_policies, name, doc, denies::ROLE_QUOTA)?;
        let mut clobber = self.clobber.lock().unwrap();
        if clobber.as_deref().is_some_and(|p| name.starts_with(p)) {
            *clobber = None;
            let mut held = self.role_policies.lock().unwrap();
            match before {
                Some(d) => held.insert(name.to_string(), d),
                None => held.remove(name),
            };
        }
        Ok(())
    }
    async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
        self.log(format!("delete-role-policy {name}"));
        self.role_policies.lock().unwrap().remove(name);
        Ok(())
    }
    async fn tag_user(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.log(format!("tag-user {}", tags.join(",")));
        Ok(())
    }
    async fn tag_role(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.log(format!("tag-role {}", keys.join(",")));
        Ok(())
    }
}

impl InlinePoliciesPort for FakeIam {
    async fn role_policies(&self, _: &str) -> Result<Vec<(String, String)>, AwsError> {
        self.log("list-role-policies".into());
        if let Some(e) = &self.policies_error {
            return Err(e.clone());
        }
        Ok(self
            .role_policies
            .lock()
            .unwrap()
            .clone()
            .into_iter()
            .collect())
    }
    async fn user_policies(&self, _: &str) -> Result<Vec<(String, String)>, AwsError> {
        self.log("list-user-policies".into());
        if let Some(e) = &self.policies_error {
            return Err(e.clone());
        }
        Ok(self
            .user_policies
            .lock()
            .unwrap()
            .clone()
            .into_iter()
            .collect())
    }
}

impl UserCredentialsPort for FakeIam {
    async fn access_keys(&self, _: &str) -> Result<Vec<AccessKeyFacts>, AwsError> {
        self.log("list-keys".into());
        Ok(self.keys.clone())
    }
    async fn login_profile(&self, _: &str) -> Result<Option<LoginProfileFacts>, AwsError> {
        self.log("get-login".into());
        Ok(self.login.clone())
    }
    async fn deactivate_access_key(&self, _: &str, key: &str) -> Result<(), AwsError> {
        self.log(format!("deactivate {key}"));
        if self.fail_deactivate {
            return Err(throttled());
        }
        Ok(())
    }
    async fn delete_login_profile(&self, _: &str) -> Result<(), AwsError> {
        self.log("delete-login".into());
        Ok(())
    }
}

fn key_incident(finding_type: &str, key: AccessKeyRef) -> Incident {
    Incident {
        finding_type: finding_type.into(),
        resource_role: None,
        resource: Resource::AccessKey(key),
        ..incident()
    }
}

fn user_key(key: &str) -> AccessKeyRef {
    AccessKeyRef {
        access_key_id: Some(key.into()),
        principal_id: Some("AIDAEXAMPLE".into()),
        user_name: Some("alice".into()),
        user_type: Some("IAMUser".into()),
        instance_id: None,
        instance_profile_arn: None,
    }
}

fn position(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} not in {calls:?}"))
}

/// The `aws:TokenIssueTime` cutoff of a logged policy call.
fn cutoff(call: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(call.splitn(3, ' ').nth(2).unwrap()).unwrap();
    doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_leaked_user_key_is_cut_off_and_the_password_recorded_before_it_is_removed() {
    let iam = FakeIam::default();
    let ec2 = FakeEc2::new(vec![]);
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = iam.calls();
    // Exactly the leaked key.
    assert!(calls.contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(!calls.iter().any(|c| c.contains("AKIAOTHER")), "{calls:?}");
    // The password is recorded in a tag before it is deleted.
    assert!(
        position(&calls, "tag-user firebreak:removed-login-profile")
            < position(&calls, "delete-login")
    );
    // The cutoff is written at once, then moved past the deactivation and the deletion.
    let puts: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("put-user-policy FirebreakRevokeOlderSessions"))
        .collect();
    assert_eq!(puts.len(), 2, "{calls:?}");
    assert!(position(&calls, "put-user-policy") < position(&calls, "delete-login"));
    assert!(cutoff(puts[1]) >= cutoff(puts[0]));
    let last = calls
        .iter()
        .rposition(|c| c.starts_with("put-user-policy"))
        .unwrap();
    assert!(last > position(&calls, "delete-login"));
    // Nothing touched EC2, and the notification says how to undo each step.
    assert!(ec2.calls().is_empty(), "{:?}", ec2.calls());
    let body = &sns.0.lock().unwrap()[0].email();
    for undo in [
        "update-access-key --user-name alice --access-key-id AKIALEAKEDLEAKED0001 --status Active",
        "delete-user-policy --user-name alice --policy-name FirebreakRevokeOlderSessions",
        "create-login-profile --user-name alice",
    ] {
        assert!(body.contains(undo), "{undo} missing from\n{body}");
    }
}

#[tokio::test]
async fn forged_records_on_a_user_are_not_trusted_and_the_tampering_is_told() {
    // Someone wrote Firebreak's finding and password record on the user, with a seal that does
    // not verify: the adapter keeps them out of the tags (so the response records the finding
    // and the password itself, as for a user never answered) and reports them.
    let iam = FakeIam {
        forged: vec![
            "firebreak:finding-id".into(),
            "firebreak:removed-login-profile".into(),
        ],
        ..FakeIam::default()
    };
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let ec2 = FakeEc2::new(vec![]);
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = iam.calls();
    assert!(calls.contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(
        position(&calls, "tag-user firebreak:removed-login-profile")
            < position(&calls, "delete-login")
    );
    assert!(
        calls.iter().any(|c| c.starts_with("tag-user")
            && c.contains(&format!("firebreak:finding-id={}", i.finding_id))),
        "the finding recorded as if none were: {calls:?}"
    );
    let body = sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("TAMPERING: alice carries firebreak:* tags whose seal does not verify")
            && body.contains("\"firebreak:removed-login-profile\""),
        "{body}"
    );
}

#[tokio::test]
async fn a_key_that_is_not_the_users_or_that_cannot_be_deactivated_fails_containment() {
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIANOTHERSNOTHERS03"),
    );
    let iam = FakeIam::default();
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert!(!iam.calls().iter().any(|c| c.starts_with("deactivate")));
    // The sessions are still denied: one failed step does not stop the others.
    assert!(iam.calls().iter().any(|c| c.starts_with("put-user-policy")));

    let iam = FakeIam {
        fail_deactivate: true,
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    let calls = iam.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.contains("firebreak:status=revocation-failed")),
        "{calls:?}"
    );
    assert!(sns.0.lock().unwrap()[1]
        .subject
        .contains("CONTAINMENT FAILED"));
}

#[tokio::test]
async fn an_exempt_user_is_left_alone_and_an_inactive_key_is_already_done() {
    let iam = FakeIam {
        user_tags: vec![("firebreak:exempt".into(), "true".into())],
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "skipped");
    assert!(
        iam.calls()
            .iter()
            .all(|c| c.starts_with("get-") || c == "list-keys"),
        "{:?}",
        iam.calls()
    );

    let mut iam = FakeIam::default();
    iam.keys[0].status = "Inactive".into();
    iam.login = None;
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    assert!(!iam
        .calls()
        .iter()
        .any(|c| c.starts_with("deactivate") || c == "delete-login"));
    // Nothing new was closed, so the cutoff is written once.
    assert_eq!(
        iam.calls()
            .iter()
            .filter(|c| c.starts_with("put-user-policy"))
            .count(),
        1
    );
}

/// A GuardDuty finding that credentials of `role` from instance `id` were used outside AWS.
fn exfiltration(role: &str, id: &str) -> Incident {
    key_incident(
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        AccessKeyRef {
            access_key_id: Some("ASIAEXFILEXFIL000001".into()),
            principal_id: Some(format!("AROAEXAMPLE:{id}")),
            user_name: Some(role.into()),
            user_type: Some("AssumedRole".into()),
            instance_id: Some(id.into()),
            instance_profile_arn: None,
        },
    )
}

fn ec2_with_profile() -> FakeEc2 {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.profile = Some(ProfileAssociation {
        association_id: "iip-assoc-1".into(),
        instance_profile_arn: "arn:aws:iam::123456789012:instance-profile/web".into(),
    });
    ec2
}

/// Instance `n` of the fleet: (id, what a policy names).
fn fleet(n: u32) -> (String, Instance) {
    let id = format!("i-{n:017x}");
    let arn = format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
    let instance = Instance::new(&id, &arn).unwrap();
    (id, instance)
}

/// The role's policies as the fake holds them.
fn held(iam: &FakeIam) -> Vec<(String, String)> {
    iam.role_policies
        .lock()
        .unwrap()
        .clone()
        .into_iter()
        .collect()
}

/// Whether the role denies the instance's sessions issued up to now.
/// Whether a session of `i` issued just before the test's responses is denied: 30 s ago, not at
/// this instant, which on a loaded machine can be more than the one second the cutoff is rounded
/// up to after the response.
fn denied_now(iam: &FakeIam, i: &Instance) -> bool {
    let just_before = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
    denies::denies(&held(iam), &rfc3339(just_before), i)
}

fn rfc3339(t: std::time::SystemTime) -> String {
    firebreak::clock::Clock::rfc3339(&FixedClock(t))
}

#[tokio::test]
async fn instance_credentials_revoke_the_role_and_detach_the_profile_after_recording_it() {
    let iam = FakeIam::default();
    let ec2 = ec2_with_profile();
    let sns = FakeSns::default();
    let i = exfiltration("web-role", "i-0123456789abcdef0");
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = ec2.calls();
    assert!(
        position(&calls, "tag firebreak:removed-instance-profile")
            < position(&calls, "disassociate iip-assoc-1"),
        "{calls:?}"
    );
    // The instance itself is not quarantined by this finding.
    assert!(!calls.iter().any(|c| c.starts_with("set ")));
    // Only that instance's sessions, in the policy of the minute its cutoff rounds up to: read
    // first, written, read back.
    let role_calls = iam.calls();
    let first = position(
        &role_calls,
        "put-role-policy FirebreakRevokeInstanceSessions-",
    );
    assert!(position(&role_calls, "list-role-policies") < first);
    assert!(role_calls[first + 1..].contains(&"list-role-policies".to_string()));
    let held = held(&iam);
    assert_eq!(held.len(), 1, "{held:?}");
    let minute = denies::Minute::parse(&held[0].1).expect("a minute's policy");
    let instance = Instance::new(
        "i-0123456789abcdef0",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
    )
    .unwrap();
    assert!(minute.denies(&instance) && minute.len() == 1, "{minute:?}");
    assert!(held[0]
        .1
        .contains("\"aws:userId\":[\"*:i-0123456789abcdef0\"]"));
    assert!(denied_now(&iam, &instance));
    // The cutoff recorded on the role is the minute's.
    assert!(role_calls
        .iter()
        .any(|c| c.starts_with("tag-role") && c.contains("firebreak:sessions-revoked-before")));
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("WARNING") && body.contains("Only the sessions") && body.contains("FbRevoke"),
        "{body}"
    );
    assert!(body.contains(&format!(
        "delete-role-policy --role-name web-role --policy-name {}",
        held[0].0
    )));
    assert!(body.contains("associate-iam-instance-profile --region us-east-1 --instance-id i-0123456789abcdef0 --iam-instance-profile Arn=arn:aws:iam::123456789012:instance-profile/web"));
}

#[tokio::test]
async fn instance_revocations_share_a_minute_prune_what_expired_and_take_over_the_earlier_format() {
    let now = std::time::SystemTime::now();
    let hours = |h: u64| std::time::Duration::from_secs(h * 3600);
    let (old, recent) = (rfc3339(now - hours(37)), rfc3339(now - hours(2)));
    let (_, gone) = fleet(90);
    let (legacy_id, legacy) = fleet(91);
    let (_, expired_legacy) = fleet(92);
    let earlier = |i: &Instance, cutoff: &str| {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "ArnEquals": {"ec2:SourceInstanceARN": i.arn}}},
            {"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "StringEquals": {"aws:userId": format!("AROAEXAMPLE:{}", i.id)}}}]});
        (
            firebreak::tags::instance_revoke_policy(&i.id),
            doc.to_string(),
        )
    };
    let mut expired_minute = denies::Minute::new(&denies::minute_after(&old).unwrap());
    // (Minute::add is private: an expired minute policy as an earlier response wrote it.)
    expired_minute.arns.insert(gone.arn.clone());
    expired_minute.sessions.insert(gone.session());
    let customer = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let iam = FakeIam::default();
    iam.role_policies.lock().unwrap().extend([
        (expired_minute.name(), expired_minute.document()),
        earlier(&legacy, &recent),
        earlier(&expired_legacy, &old),
        ("Customer".to_string(), customer.to_string()),
    ]);

    for n in 0..3 {
        let (id, _) = fleet(n);
        let report = firebreak::respond::respond(
            &exfiltration("web-role", &id),
            &config(),
            &ec2_with_profile(),
            &NoEstate,
            &iam,
            &FakeSns::default(),
        )
        .await
        .unwrap();
        assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    }
    let held = held(&iam);
    let names: Vec<&str> = held.iter().map(|(n, _)| n.as_str()).collect();
    // What expired is gone; the earlier format's live policy was taken over, then removed; the
    // customer's policy is untouched.
    assert!(
        !names.contains(&expired_minute.name().as_str()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("FirebreakRevokeSessionsOf-")),
        "{names:?}"
    );
    assert_eq!(
        iam.role_policies
            .lock()
            .unwrap()
            .get("Customer")
            .map(String::as_str),
        Some(customer)
    );
    assert!(
        denies::denies(&held, &recent, &legacy),
        "{legacy_id} no longer denied: {held:?}"
    );
    for n in 0..3 {
        assert!(denied_now(&iam, &fleet(n).1), "{n}: {held:?}");
    }
    // One policy per minute (the three responses may straddle a minute), plus the taken-over one.
    let minutes = names
        .iter()
        .filter(|n| n.starts_with("FirebreakRevokeInstanceSessions-"));
    assert!((2..=3).contains(&minutes.count()), "{names:?}");
    let size: usize = held.iter().map(|(_, d)| denies::iam_size(d)).sum();
    assert!(size < denies::ROLE_QUOTA / 4, "{size}");
}

#[tokio::test]
async fn a_redelivery_keeps_the_deny_the_role_holds_unless_the_instance_has_a_profile_again() {
    let hour_ago = rfc3339(std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let (id, instance) = fleet(5);
    let (_, other) = fleet(6);
    let mut earlier = denies::Minute::new(&denies::minute_after(&hour_ago).unwrap());
    earlier.arns.insert(instance.arn.clone());
    earlier.sessions.insert(instance.session());
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert(earlier.name(), earlier.document());
    let respond = |ec2: FakeEc2| {
        let iam = &iam;
        let id = id.clone();
        async move {
            firebreak::respond::respond(
                &exfiltration("web-role", &id),
                &config(),
                &ec2,
                &NoEstate,
                iam,
                &FakeSns::default(),
            )
            .await
            .unwrap()
        }
    };

    // The instance has no profile any more (Firebreak took it off an hour ago): its stolen
    // sessions are denied already; nothing is written.
    let report = respond(FakeEc2::new(vec![])).await;
    let revoked = report
        .outcomes
        .iter()
        .find(|o| o.action == firebreak::actions::registry::ActionKind::RevokeInstanceSessions)
        .unwrap();
    assert_eq!(revoked.status, Status::AlreadyDone, "{revoked:?}");
    assert!(!iam.calls().iter().any(|c| c.starts_with("put-role-policy")));

    // It has a profile again (re-attached), so it may hold new credentials: it moves to this
    // minute's policy, and off the earlier one, which is deleted once it lists no instance.
    let report = respond(ec2_with_profile()).await;
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let held = held(&iam);
    assert!(denied_now(&iam, &instance), "{held:?}");
    assert!(!held.iter().any(|(n, _)| *n == earlier.name()), "{held:?}");
    assert!(!denied_now(&iam, &other));
    assert_eq!(held.len(), 1, "{held:?}");
}

#[tokio::test]
async fn a_write_a_concurrent_revocation_replaced_is_read_back_and_written_again() {
    let iam = FakeIam::default();
    *iam.clobber.lock().unwrap() = Some("FirebreakRevokeInstanceSessions-".into());
    let (id, instance) = fleet(7);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let puts = iam
        .calls()
        .iter()
        .filter(|c| c.starts_with("put-role-policy FirebreakRevokeInstanceSessions-"))
        .count();
    assert_eq!(puts, 2, "{:?}", iam.calls());
    assert!(denied_now(&iam, &instance), "{:?}", held(&iam));
}

#[tokio::test]
async fn an_instance_deny_with_no_room_denies_every_session_of_the_role_and_says_so() {
    // The role's own policies leave less room than an instance's deny takes, more than the
    // role-wide one does.
    let filler = |size: usize| format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(size));
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert("Customer".into(), filler(9_900));
    let sns = FakeSns::default();
    let (id, _) = fleet(8);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &sns,
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let names: Vec<String> = held(&iam).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["AWSRevokeOlderSessions", "Customer"]);
    // No write was refused by IAM: the sizes were counted before.
    assert!(!iam
        .calls()
        .iter()
        .any(|c| c.contains("FirebreakRevokeInstanceSessions-")));
    let body = &sns.0.lock().unwrap()[0].email();
    for needle in [
        "NOT ONLY THE INSTANCE'S SESSIONS",
        "AWSRevokeOlderSessions denies EVERY session of the role issued before",
        "delete-role-policy --role-name web-role --policy-name AWSRevokeOlderSessions",
    ] {
        assert!(body.contains(needle), "{needle} not in\n{body}");
    }

    // No room even for that: the response fails, says why, and is retried.
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert("Customer".into(), filler(10_200));
    let err = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &sns,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert_eq!(held(&iam).len(), 1);
    let body = &sns.0.lock().unwrap()[1].email();
    assert!(
        body.contains("no room for the deny") && body.contains("over IAM's 10240"),
        "{body}"
    );
}

#[tokio::test]
async fn policies_that_cannot_be_read_still_get_the_deny_as_earlier_versions_wrote_it() {
    // A member role of an earlier template, without ListRolePolicies: the instance's own policy
    // of earlier versions (no other revocation writes its name), the outcome says why.
    let denied = AwsError {
        code: Some("AccessDenied".into()),
        message: "not authorized to perform iam:ListRolePolicies".into(),
    };
    let iam = FakeIam {
        policies_error: Some(denied.clone()),
        ..FakeIam::default()
    };
    let (id, instance) = fleet(9);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let held = held(&iam);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].0, firebreak::tags::instance_revoke_policy(&id));
    assert!(denies::denied_by(&held, &instance, 0).is_some(), "{held:?}");
    let revoked = report
        .outcomes
        .iter()
        .find(|o| o.action == firebreak::actions::registry::ActionKind::RevokeInstanceSessions)
        .unwrap();
    assert!(
        revoked.detail.contains("could not be read (AccessDenied"),
        "{revoked:?}"
    );

    // A user's: the deny written as before.
    let iam = FakeIam {
        policies_error: Some(denied),
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert!(iam
        .user_policies
        .lock()
        .unwrap()
        .contains_key("FirebreakRevokeOlderSessions"));
}

#[tokio::test]
async fn a_user_s_deny_is_sized_and_never_moves_an_earlier_cutoff_back() {
    let iam = FakeIam::default();
    let far = "2099-01-01T00:00:00Z";
    iam.user_policies.lock().unwrap().insert(
        "FirebreakRevokeOlderSessions".into(),
        denies::older_sessions(far),
    );
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let ec2 = FakeEc2::new(vec![]);
    let sns = FakeSns::default();
    firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    let held = iam.user_policies.lock().unwrap().clone();
    assert_eq!(
        denies::cutoff_of(&held["FirebreakRevokeOlderSessions"]).as_deref(),
        Some(far)
    );

    // A user whose inline policies leave no room: the key is still deactivated, the deny fails
    // with the reason, not IAM's LimitExceeded.
    let iam = FakeIam::default();
    let filler = format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(1_950));
    iam.user_policies
        .lock()
        .unwrap()
        .insert("Own".into(), filler);
    let err = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert!(iam
        .calls()
        .contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(!iam.calls().iter().any(|c| c.starts_with("put-user-policy")));
    let body = &sns.0.lock().unwrap()[1].email();
    assert!(
        body.contains("could not deny the user's older sessions: no room for the deny"),
        "{body}"
    );
    assert!(body.contains("over IAM's 2048"), "{body}");
}

// ---- release ----

fn quarantined() -> FakeEc2 {
    let mut ec2 = FakeEc2::new(vec!["sg-iso".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.tags = [
            ("firebreak:original-groups:eni-1", "sg-app sg-db"),
            ("firebreak:set-termination-protection", "true"),
            (
                "firebreak:removed-instance-profile",
                "arn:aws:iam::123456789012:instance-profile/web",
            ),
            ("firebreak:status", "quarantined"),
            ("firebreak:finding-id", "f-1"),
            ("firebreak:shutdown-behaviour", "terminate"),
            ("firebreak:kept-volumes", "/dev/xvda"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    }
    ec2
}

#[tokio::test]
async fn release_restores_everything_recorded_then_removes_the_records() {
    let ec2 = quarantined();
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
    let calls = ec2.calls();
    assert!(
        calls.contains(&"set eni-1 sg-app sg-db".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"unprotect".to_string()));
    assert!(
        calls.contains(&"shutdown-terminate".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"delete-volumes".to_string()), "{calls:?}");
    assert!(calls.contains(&"associate arn:aws:iam::123456789012:instance-profile/web".to_string()));
    let untag = calls
        .iter()
        .find(|c| c.starts_with("untag "))
        .expect("records removed");
    for key in [
        "firebreak:original-groups:eni-1",
        "firebreak:set-termination-protection",
        "firebreak:removed-instance-profile",
        "firebreak:status",
        "firebreak:finding-id",
        "firebreak:shutdown-behaviour",
        "firebreak:kept-volumes",
    ] {
        assert!(untag.contains(key), "{key} not removed: {untag}");
    }
    // The records go only after what they record is restored.
    let pos = |p: &str| calls.iter().position(|c| c.starts_with(p)).unwrap();
    assert!(pos("set eni-1") < pos("untag") && pos("associate") < pos("untag"));
}

#[tokio::test]
async fn a_release_that_fails_keeps_the_records_for_a_retry() {
    let mut ec2 = quarantined();
    ec2.fail_group = Some("sg-app".into());
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(false));
    let calls = ec2.calls();
    let untag = calls
        .iter()
        .find(|c| c.starts_with("untag "))
        .cloned()
        .unwrap_or_default();
    assert!(
        !untag.contains("firebreak:original-groups:eni-1"),
        "{untag}"
    );
    assert!(!untag.contains("firebreak:status"), "{untag}");
    // What did succeed is no longer recorded as to-do.
    assert!(
        untag.contains("firebreak:set-termination-protection"),
        "{calls:?}"
    );
}

/// An instance InService in a group that refuses Standby (or, once detached, in no group), in one
/// target group, with one Elastic IP.
#[derive(Default)]
struct ServingEstate {
    detached: bool,
    calls: Mutex<Vec<String>>,
}

impl ServingEstate {
    fn log(&self, c: String) {
        self.calls.lock().unwrap().push(c);
    }
}

impl AutoScalingPort for ServingEstate {
    async fn auto_scaling_group(&self, _: &str) -> Result<Option<GroupMembership>, AwsError> {
        Ok((!self.detached).then(|| GroupMembership {
            group: "web".into(),
            lifecycle_state: "InService".into(),
        }))
    }
    async fn enter_standby(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("standby {g}"));
        Err(AwsError {
            code: Some("ValidationError".into()),
            message: "standby refused".into(),
        })
    }
    async fn detach_from_group(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("detach {g}"));
        Ok(())
    }
    async fn exit_standby(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("exit-standby {g}"));
        Ok(())
    }
    async fn attach_to_group(&self, g: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("attach {g}"));
        Ok(())
    }
}

impl TargetGroupsPort for ServingEstate {
    async fn registrations(
        &self,
        _: &str,
        _: &[String],
        _: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        Ok(vec![Registration {
            target_group_arn: "arn:tg/web".into(),
            port: Some(80),
            ip: None,
        }])
    }
    async fn deregister(&self, r: &Registration, _: &str) -> Result<(), AwsError> {
        self.log(format!("deregister {}", r.target_group_arn));
        Ok(())
    }
    async fn register(&self, r: &Registration, _: &str) -> Result<(), AwsError> {
        self.log(format!("register {} {:?}", r.target_group_arn, r.port));
        Ok(())
    }
}

impl AddressesPort for ServingEstate {
    async fn addresses(&self, _: &str) -> Result<Vec<AddressFacts>, AwsError> {
        Ok(vec![AddressFacts {
            allocation_id: "eipalloc-1".into(),
            association_id: "eipassoc-1".into(),
            public_ip: "198.51.100.7".into(),
            network_interface_id: "eni-1".into(),
            private_ip: "10.0.0.5".into(),
        }])
    }
    async fn disassociate_address(&self, a: &str) -> Result<(), AwsError> {
        self.log(format!("disassociate {a}"));
        Ok(())
    }
    async fn associate_address(&self, a: &str, eni: &str, ip: &str) -> Result<(), AwsError> {
        self.log(format!("associate {a} {eni} {ip}"));
        Ok(())
    }
}

#[tokio::test]
async fn out_of_service_records_first_falls_back_to_detach_and_release_reads_the_records_back() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let estate = ServingEstate::default();
    let facts = ec2.facts.clone().unwrap();
    let budget = Budget::new(facts.tags.len(), 0);
    let outcomes =
        firebreak::actions::out_of_service::take_out_of_service(&ec2, &estate, &facts, &budget)
            .await;
    assert!(
        outcomes.iter().all(|o| o.status == Status::Succeeded),
        "{outcomes:?}"
    );
    // The records (the group's, then the rest, each a write of its own) are written before any
    // change, and the fallback to detach is recorded after it.
    let tags: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("tag "))
        .collect();
    assert_eq!(
        tags,
        [
            "tag firebreak:auto-scaling",
            "tag firebreak:out-of-service",
            "tag firebreak:auto-scaling"
        ]
    );
    let calls = estate.calls.lock().unwrap().clone();
    for want in [
        "standby web",
        "detach web",
        "deregister arn:tg/web",
        "disassociate eipassoc-1",
    ] {
        assert!(calls.contains(&want.to_string()), "{calls:?}");
    }

    // Release, from the records as an earlier version wrote them (a tag per item), after the
    // fallback; the instance is out of the group.
    let mut recorded = facts.clone();
    recorded.tags = vec![
        ("firebreak:auto-scaling".into(), "web detached".into()),
        ("firebreak:target:0".into(), "arn:tg/web 80".into()),
        ("firebreak:eip:eipalloc-1".into(), "eni-1 10.0.0.5".into()),
    ];
    let detached = ServingEstate {
        detached: true,
        ..ServingEstate::default()
    };
    let (outcomes, restored) =
        firebreak::actions::out_of_service::put_back_in_service(&detached, &recorded).await;
    assert!(
        outcomes.iter().all(|o| o.status == Status::Succeeded),
        "{outcomes:?}"
    );
    assert_eq!(restored.len(), 3);
    let calls = detached.calls.lock().unwrap().clone();
    assert!(calls.contains(&"attach web".to_string()), "{calls:?}");
    assert!(calls.contains(&"register arn:tg/web Some(80)".to_string()));
    assert!(calls.contains(&"associate eipalloc-1 eni-1 10.0.0.5".to_string()));
}

// ---- isolation on real networks ----

#[tokio::test]
async fn an_interface_that_cannot_be_isolated_is_put_back_into_its_own_groups() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.fail_group = Some("sg-iso".into());
    let sns = FakeSns::default();
    let err = respond_to(&ec2, &sns).await.unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    let sets: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("set eni-1"))
        .collect();
    // Untracking, isolation twice, then back: never left in the allow-all group.
    assert_eq!(
        sets,
        [
            "set eni-1 sg-untrack",
            "set eni-1 sg-iso",
            "set eni-1 sg-iso",
            "set eni-1 sg-app"
        ]
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("put back into its own groups sg-app"),
        "{body}"
    );
}

#[tokio::test]
async fn a_stalled_isolation_ends_at_the_deadline_with_the_interface_put_back() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.stall = Some(("sg-iso".into(), std::time::Duration::from_secs(30)));
    let config = Config::from_lookup(|k| match k {
        "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        "FIREBREAK_INCIDENT_TIMEOUT_SECONDS" => Some("0.5".into()),
        _ => None,
    })
    .unwrap();
    let sns = FakeSns::default();
    let started = std::time::Instant::now();
    let err = firebreak::respond::respond(
        &incident(),
        &config,
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &sns,
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.error_type(), "ContainmentFailed");
    let sets: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("set eni-1"))
        .collect();
    assert_eq!(sets.last().map(String::as_str), Some("set eni-1 sg-app"));
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(body.contains("deadline"), "{body}");
}

#[tokio::test]
async fn groups_just_created_are_waited_for_and_the_first_incident_is_contained() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.not_yet_visible
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let calls = calls_in_a_vpc_without_groups(ec2).await;
    let not_yet = calls
        .iter()
        .filter(|c| c.starts_with("not-yet-visible"))
        .count();
    assert_eq!(not_yet, 2, "{calls:?}");
    assert!(calls.contains(&"set eni-1 sg-iso".to_string()), "{calls:?}");
}

#[tokio::test]
async fn the_network_acl_entries_are_recorded_before_they_are_added_and_released_after() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    let recorded = calls
        .iter()
        .position(|c| c.starts_with("tag ") && c.contains("firebreak:acl-denies"))
        .expect("the entries are recorded");
    assert!(recorded < position(&calls, "acl-deny"));
    let added = ec2.acl_entries.lock().unwrap().clone();
    for egress in [false, true] {
        let mine: Vec<&AclEntryFacts> = added.iter().filter(|e| e.egress == egress).collect();
        assert_eq!(mine.len(), 1, "{added:?}");
        assert!(!mine[0].allow && mine[0].cidr == "10.0.0.5/32" && mine[0].rule_number < 100);
    }
    let record = added
        .iter()
        .map(|e| {
            format!(
                "{}{}={}",
                if e.egress { "o" } else { "i" },
                e.rule_number,
                e.cidr
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        report.connections.as_deref(),
        Some(firebreak::report::CUT_BOTH)
    );
    assert!(sns.0.lock().unwrap()[0]
        .email()
        .contains("Connections: new and existing connections cut"));

    // A redelivery adds no entry, and release removes exactly those entries, then the record:
    // recorded as this version writes it, and as an earlier one did (a tag per ACL).
    let packed: String = record
        .split_whitespace()
        .map(|t| format!("acl-1:{t}"))
        .collect::<Vec<_>>()
        .join(" ");
    for (key, value) in [
        ("firebreak:acl-denies", packed),
        ("firebreak:network-acl:acl-1", record.clone()),
    ] {
        let mut again = FakeEc2::new(vec!["sg-iso".into()]);
        *again.acl_entries.lock().unwrap() = ec2.acl_entries.lock().unwrap().clone();
        if let Some(f) = again.facts.as_mut() {
            f.tags = vec![
                (key.into(), value),
                ("firebreak:original-groups:eni-1".into(), "sg-app".into()),
            ];
        }
        respond_to(&again, &FakeSns::default()).await.unwrap();
        assert!(!again.calls().iter().any(|c| c.starts_with("acl-deny")));
        let r = release(&again).await;
        assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
        let calls = again.calls();
        for e in &added {
            let delete = format!("acl-delete acl-1 {} {}", e.rule_number, e.egress);
            assert!(calls.contains(&delete), "{delete} not in {calls:?}");
        }
        let untag = calls.iter().find(|c| c.starts_with("untag")).unwrap();
        assert!(untag.contains(key), "{untag}");
        assert!(again.acl_entries.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_redelivery_after_a_lost_record_restores_the_groups_the_finding_names() {
    // The first delivery moved the interface and lost its record: it is in the untracking group.
    let ec2 = FakeEc2::new(vec!["sg-untrack".into()]);
    let mut i = incident();
    if let Resource::Instance(inst) = &mut i.resource {
        inst.network_interfaces[0].security_groups = vec!["sg-app".into()];
    }
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.original_groups["eni-1"], vec!["sg-app".to_string()]);
    let tag = ec2
        .calls()
        .into_iter()
        .find(|c| c.starts_with("tag ") && c.contains("firebreak:isolation"));
    assert!(tag.is_some(), "{:?}", ec2.calls());
}

#[tokio::test]
async fn a_terminated_instance_s_release_still_removes_its_network_acl_entries() {
    let mut ec2 = FakeEc2::new(vec![]);
    ec2.acl_entries.lock().unwrap().push(AclEntryFacts {
        rule_number: 90,
        egress: false,
        allow: false,
        cidr: "10.0.0.5/32".into(),
    });
    if let Some(f) = ec2.facts.as_mut() {
        f.state = "terminated".into();
        // EC2 lists no interface for a terminated instance: the ACLs are found by their ids.
        f.interfaces.clear();
        f.tags = vec![(
            "firebreak:network-acl:acl-1".into(),
            "i90=10.0.0.5/32".into(),
        )];
    }
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
    assert!(ec2
        .calls()
        .contains(&"acl-delete acl-1 90 false".to_string()));
    assert!(ec2.acl_entries.lock().unwrap().is_empty());
}

// ---- safe on real accounts ----

#[tokio::test]
async fn a_user_whose_exemption_cannot_be_read_is_not_touched_and_the_invocation_fails() {
    let iam = FakeIam {
        read_error: Some(throttled()),
        ..FakeIam::default()
    };
    let sns = FakeSns::default();
    let i = key_incident(
        "CredentialAccess:IAMUser/AnomalousBehavior",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    // Read, and nothing else: no key deactivated, no policy, no tag.
    assert!(
        iam.calls()
            .iter()
            .all(|c| c.starts_with("get-") || c.starts_with("list-")),
        "{:?}",
        iam.calls()
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("is exempt") && body.contains("NOT acted on"),
        "{body}"
    );
}

#[tokio::test]
async fn a_spot_instance_is_contained_without_termination_protection_and_succeeds() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.spot = true;
    }
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = ec2.calls();
    assert!(!calls.contains(&"protect".to_string()), "{calls:?}");
    assert!(!calls
        .iter()
        .any(|c| c.contains("firebreak:set-termination-protection")));
    assert!(
        calls.contains(&"snapshot".to_string()) && calls.contains(&"shutdown-stop".to_string())
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(body.contains("Spot instances"), "{body}");
}

// ---- EC2's 50-tag limit ----

#[tokio::test]
async fn an_instance_without_room_for_the_records_is_still_contained_and_protected_and_the_state_is_reported(
) {
    // 48 tags of its own: room for the status and the finding, none for a record.
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.tags = (0..48).map(|n| (format!("cost-{n}"), "x".into())).collect();
    }
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    for want in [
        "set eni-1 sg-iso",
        "protect",
        "shutdown-stop",
        "keep-volumes",
        "snapshot",
    ] {
        assert!(
            calls.iter().any(|c| c.starts_with(want)),
            "{want}: {calls:?}"
        );
    }
    let tagged: Vec<&String> = calls.iter().filter(|c| c.starts_with("tag ")).collect();
    // Then, once the message went out, the status is marked told (a key it carries: no new tag).
    assert_eq!(
        tagged,
        [
            "tag firebreak:finding-id,firebreak:status",
            "tag firebreak:status"
        ],
        "no record attempted, the markers kept their place"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("acl-deny")),
        "no network ACL entry without its record: {calls:?}"
    );
    assert_eq!(
        report.verdict,
        firebreak::report::verdict::Verdict::Contained
    );
    let body = &sns.0.lock().unwrap()[0].email();
    for want in [
        "NOT RECORDED on i-0123456789abcdef0 (isolate-instance): original groups: eni-1 was in sg-app",
        "termination protection was off",
        "DeleteOnTermination was true on /dev/xvda",
        "EC2 allows 50 per resource",
    ] {
        assert!(body.contains(want), "{want} not in\n{body}");
    }
}

/// An attack sequence over an instance and a user's key.
fn sequence() -> Incident {
    let member = incident().resource;
    let key = Resource::AccessKey(AccessKeyRef {
        access_key_id: Some("AKIALEAKEDLEAKED0001".into()),
        principal_id: Some("AIDAEXAMPLE".into()),
        user_name: Some("alice".into()),
        user_type: Some("IAMUser".into()),
        instance_id: None,
        instance_profile_arn: None,
    });
    Incident {
        finding_type: "AttackSequence:IAM/CompromisedCredentials".into(),
        severity: 9.0,
        resource: Resource::Sequence(SequenceRef {
            members: vec![member, key],
            others: vec!["EKS_CLUSTER arn:aws:eks:us-east-1:123456789012:cluster/c".into()],
        }),
        ..incident()
    }
}

#[tokio::test]
async fn a_sequence_contains_each_member_and_tells_once_and_one_out_of_time_fails_for_a_retry() {
    let (ec2, iam, sns) = (
        FakeEc2::new(vec!["sg-app".into()]),
        FakeIam::default(),
        FakeSns::default(),
    );
    let seq = sequence();
    let Resource::Sequence(members) = &seq.resource else {
        unreachable!()
    };
    let ports = (&ec2, &NoEstate, &iam);
    let report = firebreak::sequence::respond_sequence(&seq, members, &config(), ports, &sns)
        .await
        .unwrap();
    assert_eq!(
        report.verdict,
        firebreak::report::verdict::Verdict::Contained
    );
    assert!(ec2.calls().contains(&"set eni-1 sg-iso".to_string()));
    assert!(iam.calls().iter().any(|c| c.starts_with("put-user-policy")));
    let told = sns.0.lock().unwrap().clone();
    assert_eq!(told.len(), 1, "one notification for the sequence");
    assert!(told[0].body.contains("NOT ACTED ON"), "{}", told[0].body);

    // No time left in the invocation: nothing is started, the invocation fails to be retried.
    let (ec2, iam, sns) = (
        FakeEc2::new(vec!["sg-app".into()]),
        FakeIam::default(),
        FakeSns::default(),
    );
    let late = config().within(std::time::Duration::ZERO);
    let ports = (&ec2, &NoEstate, &iam);
    let got = firebreak::sequence::respond_sequence(&seq, members, &late, ports, &sns).await;
    assert!(
        matches!(got, Err(FirebreakError::ContainmentFailed { .. })),
        "{got:?}"
    );
    assert!(
        !ec2.calls().iter().any(|c| c.starts_with("set ")),
        "{:?}",
        ec2.calls()
    );
    assert!(iam.calls().is_empty(), "{:?}", iam.calls());
}

/// Times and per-minute names as `<time>` / `<minute>`: what differs between two runs of the
/// same scenario (the clock is the system's), and nothing else.
fn normalized(text: &str) -> String {
    let b = text.as_bytes();
    let shape = |i: usize, pat: &str| {
        pat.bytes().enumerate().all(|(k, p)| {
            b.get(i + k).is_some_and(|c| {
                if p == b'9' {
                    c.is_ascii_digit()
                } else {
                    *c == p
                }
            })
        })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if shape(i, "9999-99-99T99:99:99") {
            let mut j = i + 19;
            while j < b.len() && (b[j] == b'.' || b[j].is_ascii_digit()) {
                j += 1;
            }
            if b.get(j) == Some(&b'Z') {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
        } else if shape(i, "-99999999T999999Z") {
            out.push_str("-<minute>");
            i += 17;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// What a scenario leaves to compare: the report, every message, every call.
fn transcript(
    name: &str,
    report: &Result<firebreak::report::Report, FirebreakError>,
    sns: &FakeSns,
    calls: &[Vec<String>],
) -> String {
    let report = match report {
        Ok(r) => serde_json::to_string_pretty(r).unwrap(),
        Err(e) => format!("error {}: {e}", e.error_type()),
    };
    let messages: Vec<String> = (sns.0.lock().unwrap().iter())
        .map(|n| {
            format!(
                "{}\n{}\n{}\n{}\n{:?}",
                n.subject, n.body, n.report, n.chat, n.attributes
            )
        })
        .collect();
    let calls: Vec<String> = calls.iter().map(|c| c.join("\n")).collect();
    normalized(&format!(
        "=== {name}\n--- report\n{report}\n--- messages\n{}\n--- calls\n{}\n",
        messages.join("\n~~~\n"),
        calls.join("\n~~~\n")
    ))
}

/// Behaviour byte for byte (issue 23): each scenario's report, notification and calls, compared
/// with `shared/tests/golden/responses.txt` as the code before the redesign (98df2ae) produced it (times
/// normalized). `FIREBREAK_BLESS=1` rewrites the file: only for a change of behaviour meant as one.
#[tokio::test]
async fn responses_are_byte_for_byte_the_golden_ones() {
    let mut all = String::new();
    {
        let (ec2, sns) = (FakeEc2::new(vec!["sg-app".into()]), FakeSns::default());
        let report = respond_to(&ec2, &sns).await;
        all.push_str(&transcript(
            "contain an instance",
            &report,
            &sns,
            &[ec2.calls()],
        ));
        let again = respond_to(&ec2, &sns).await;
        all.push_str(&transcript("its redelivery", &again, &sns, &[ec2.calls()]));
        let released = release(&ec2).await;
        let text = format!("{released:?}\n{}", ec2.calls().join("\n"));
        all.push_str(&normalized(&format!("=== its release\n{text}\n")));
    }
    {
        let (ec2, sns) = (FakeEc2::new(vec!["sg-app".into()]), FakeSns::default());
        let dry = Config {
            mode: firebreak::config::Mode::DryRun,
            ..config()
        };
        let report = firebreak::respond::respond(
            &incident(),
            &dry,
            &ec2,
            &NoEstate,
            &FakeIam::default(),
            &sns,
        )
        .await;
        all.push_str(&transcript("dry run", &report, &sns, &[ec2.calls()]));
    }
    {
        let (iam, ec2, sns) = (FakeIam::default(), FakeEc2::new(vec![]), FakeSns::default());
        let i = key_incident(
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            user_key("AKIALEAKEDLEAKED0001"),
        );
        let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns).await;
        all.push_str(&transcript(
            "a leaked key",
            &report,
            &sns,
            &[iam.calls(), ec2.calls()],
        ));
    }
    {
        let (iam, ec2, sns) = (FakeIam::default(), ec2_with_profile(), FakeSns::default());
        let i = exfiltration("web-role", "i-0123456789abcdef0");
        let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns).await;
        all.push_str(&transcript(
            "exfiltrated credentials",
            &report,
            &sns,
            &[iam.calls(), ec2.calls()],
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/responses.txt");
    if std::env::var("FIREBREAK_BLESS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &all).unwrap();
    }
    let golden = std::fs::read_to_string(path).expect("tests/golden/responses.txt");
    if golden != all {
        let first = (golden.lines().zip(all.lines()))
            .position(|(a, b)| a != b)
            .unwrap_or(golden.lines().count().min(all.lines().count()));
        panic!(
            "responses differ from tests/golden/responses.txt from line {}:\n  golden: {:?}\n  now:    {:?}",
            first + 1,
            golden.lines().nth(first),
            all.lines().nth(first)
        );
    }
}
