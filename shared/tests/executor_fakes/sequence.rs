//! An attack sequence: each member contained, one notification.

use firebreak::error::FirebreakError;
use firebreak::incident::{AccessKeyRef, Incident, Resource, SequenceRef};

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{FakeEc2, FakeSns};
use crate::scenarios::*;

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
