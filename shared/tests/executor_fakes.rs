//! The executor and responder driven through recording fakes: ordering and failure semantics that
//! are hard to provoke in the emulator.

use std::sync::Mutex;

use firebreak::incident::{Incident, InstanceRef, InterfaceRef, Resource, ResourceRole, Source};
use firebreak::ports::{
    Ec2Port, FoundGroups, InstanceFacts, InterfaceFacts, Notification, Notifier, QuarantineGroups,
    SnapshotFacts, VolumeFacts,
};
use firebreak::{AwsError, Config, FirebreakError};

struct FakeEc2 {
    facts: Option<InstanceFacts>,
    fail_group: Option<String>,
    groups_exist: bool,
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
                }],
                volumes: vec![VolumeFacts {
                    volume_id: "vol-1".into(),
                    device_name: "/dev/xvda".into(),
                }],
                tags: vec![],
            }),
            fail_group: None,
            groups_exist: true,
            calls: Mutex::new(Vec::new()),
        }
    }

    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

fn throttled() -> AwsError {
    AwsError {
        code: Some("RequestLimitExceeded".into()),
        message: "slow down".into(),
    }
}

impl Ec2Port for FakeEc2 {
    async fn describe_instance(&self, _: &str) -> Result<Option<InstanceFacts>, AwsError> {
        self.log("describe".into());
        Ok(self.facts.clone())
    }
    async fn find_quarantine_groups(&self, vpc: &str) -> Result<FoundGroups, AwsError> {
        self.log(format!("find-groups {vpc}"));
        Ok(if self.groups_exist {
            FoundGroups {
                isolation: Some("sg-iso".into()),
                untracking: Some("sg-untrack".into()),
            }
        } else {
            FoundGroups::default()
        })
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
        })
    }
    async fn set_interface_groups(&self, eni: &str, groups: &[String]) -> Result<(), AwsError> {
        self.log(format!("set {eni} {}", groups.join(" ")));
        if self.fail_group.as_deref() == Some(groups[0].as_str()) {
            return Err(throttled());
        }
        Ok(())
    }
    async fn tag_instance(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.log(format!("tag {}", keys.join(",")));
        Ok(())
    }
    async fn termination_protection(&self, _: &str) -> Result<bool, AwsError> {
        Ok(false)
    }
    async fn enable_termination_protection(&self, _: &str) -> Result<(), AwsError> {
        self.log("protect".into());
        Ok(())
    }
    async fn set_shutdown_behaviour_stop(&self, _: &str) -> Result<(), AwsError> {
        self.log("shutdown-stop".into());
        Ok(())
    }
    async fn keep_volumes_on_termination(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
        self.log("keep-volumes".into());
        Ok(())
    }
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
    }
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
    let report = firebreak::responder::respond(&incident(), &config(), &ec2, &sns)
        .await
        .unwrap();
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
    firebreak::responder::respond(&incident(), &config(), &ec2, &sns)
        .await
        .unwrap();
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
    let err = firebreak::responder::respond(&incident(), &config(), &ec2, &sns)
        .await
        .unwrap_err();
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
        sent[0].body.contains("RequestLimitExceeded")
            && sent[0].body.contains("NOT to the isolation group")
    );
    assert!(ec2.calls().iter().any(|c| c.contains("firebreak:status")));
}

#[tokio::test]
async fn a_vanished_instance_is_skipped_and_nothing_is_changed() {
    let mut ec2 = FakeEc2::new(vec![]);
    ec2.facts = None;
    let sns = FakeSns::default();
    let report = firebreak::responder::respond(&incident(), &config(), &ec2, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "skipped");
    assert!(ec2
        .calls()
        .iter()
        .all(|c| c == "describe" || c.starts_with("find-groups")));
}

/// Handles the incident with `ec2` in a VPC that has no quarantine groups yet; returns the calls made.
async fn calls_in_a_vpc_without_groups(mut ec2: FakeEc2) -> Vec<String> {
    ec2.groups_exist = false;
    firebreak::responder::respond(&incident(), &config(), &ec2, &FakeSns::default())
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
