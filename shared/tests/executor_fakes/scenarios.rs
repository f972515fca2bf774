//! The scenarios the tests share: the incidents, the configuration, responding and releasing,
//! and what to read back from the fakes.

use firebreak::clock::FixedClock;
use firebreak::config::Config;
use firebreak::denies::{self, Instance};
use firebreak::error::FirebreakError;
use firebreak::incident::{
    AccessKeyRef, Incident, InstanceRef, InterfaceRef, Resource, ResourceRole, Source,
};
use firebreak::ports::ProfileAssociation;

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{FakeEc2, FakeSns};

pub(crate) fn incident() -> Incident {
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
pub(crate) async fn respond_to(
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
pub(crate) async fn release(ec2: &FakeEc2) -> firebreak::outcome::Execution {
    let plan = firebreak::plan::Plan {
        actions: vec![firebreak::plan::Action::on_instance(
            firebreak::kind::ActionKind::ReleaseInstance,
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

pub(crate) fn config() -> Config {
    Config::from_lookup(|k| {
        (k == "FIREBREAK_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".into())
    })
    .unwrap()
}

pub(crate) fn key_incident(finding_type: &str, key: AccessKeyRef) -> Incident {
    Incident {
        finding_type: finding_type.into(),
        resource_role: None,
        resource: Resource::AccessKey(key),
        ..incident()
    }
}

pub(crate) fn user_key(key: &str) -> AccessKeyRef {
    AccessKeyRef {
        access_key_id: Some(key.into()),
        principal_id: Some("AIDAEXAMPLE".into()),
        user_name: Some("alice".into()),
        user_type: Some("IAMUser".into()),
        instance_id: None,
        instance_profile_arn: None,
    }
}

pub(crate) fn position(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} not in {calls:?}"))
}

/// The `aws:TokenIssueTime` cutoff of a logged policy call.
pub(crate) fn cutoff(call: &str) -> String {
    let doc: serde_json::Value = serde_json::from_str(call.splitn(3, ' ').nth(2).unwrap()).unwrap();
    doc["Statement"][0]["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A GuardDuty finding that credentials of `role` from instance `id` were used outside AWS.
pub(crate) fn exfiltration(role: &str, id: &str) -> Incident {
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

pub(crate) fn ec2_with_profile() -> FakeEc2 {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.profile = Some(ProfileAssociation {
        association_id: "iip-assoc-1".into(),
        instance_profile_arn: "arn:aws:iam::123456789012:instance-profile/web".into(),
    });
    ec2
}

/// Instance `n` of the fleet: (id, what a policy names).
pub(crate) fn fleet(n: u32) -> (String, Instance) {
    let id = format!("i-{n:017x}");
    let arn = format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
    let instance = Instance::new(&id, &arn).unwrap();
    (id, instance)
}

/// The role's policies as the fake holds them.
pub(crate) fn held(iam: &FakeIam) -> Vec<(String, String)> {
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
pub(crate) fn denied_now(iam: &FakeIam, i: &Instance) -> bool {
    let just_before = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
    denies::denies(&held(iam), &rfc3339(just_before), i)
}

pub(crate) fn rfc3339(t: std::time::SystemTime) -> String {
    firebreak::clock::Clock::rfc3339(&FixedClock(t))
}
