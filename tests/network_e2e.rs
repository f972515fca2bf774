//! Isolation that holds on real networks, through the real binaries against the local AWS: the
//! network ACL deny entries (once, ahead of the allow entries, removed by FbRelease); an interface
//! never left in the allow-all group when isolation fails or stalls; and the first incident in a new
//! VPC contained in one invocation while EC2 does not yet know the groups it just created. The
//! failures and the eventual consistency are the launcher's (`scripts/local_aws.py`, controlled
//! through `firebreak_tests::faults`), on moto's own state.

use std::time::{Duration, Instant};

use firebreak_tests::faults;
use firebreak_tests::fixtures::{
    asff_instance, custom_action_event, guardduty_asff, guardduty_event_with, readable, unique, Aws,
};
use firebreak_tests::{Function, Invocation};
use serde_json::Value;

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// An instance with an application group in a VPC of its own, and its C&C finding as GuardDuty
/// sends it (interfaces with subnet, addresses and groups).
struct Scene {
    aws: Aws,
    topic: String,
    vpc: String,
    app: String,
    instance: String,
    eni: String,
    cidr: String,
    /// Its other address (a secondary private IPv4 of the same interface), `/32`.
    secondary: String,
    finding: String,
    event: Value,
}

async fn scene(cidr: &str) -> Scene {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();
    aws.ec2
        .assign_private_ip_addresses()
        .network_interface_id(&eni)
        .secondary_private_ip_address_count(1)
        .send()
        .await
        .unwrap();
    let described = aws.describe(&instance).await;
    let ip = described.private_ip_address().unwrap().to_string();
    let secondary = described.network_interfaces()[0]
        .private_ip_addresses()
        .iter()
        .filter_map(|a| a.private_ip_address())
        .find(|a| *a != ip)
        .map(|a| format!("{a}/32"))
        .expect("a secondary address");
    let finding = unique("finding");
    let interfaces = aws.finding_interfaces(&instance).await;
    let event = guardduty_event_with(&finding, C2, 8.0, &instance, interfaces, "ACTOR");
    Scene {
        aws,
        topic,
        vpc,
        app,
        instance,
        eni,
        cidr: format!("{ip}/32"),
        secondary,
        finding,
        event,
    }
}

impl Scene {
    async fn responder(&self, extra: &[(&str, &str)]) -> Function {
        let mut env = vec![("FIREBREAK_TOPIC_ARN", self.topic.as_str())];
        env.extend_from_slice(extra);
        Function::start("guardduty-responder", &env).await
    }

    async fn groups(&self) -> Vec<String> {
        self.aws.interfaces(&self.instance).await[0].2.clone()
    }

    /// The role tag of the interface's only group (`isolation`, `untracking`), or `None` for a
    /// group of the instance's own.
    async fn role(&self) -> Option<String> {
        let groups = self.groups().await;
        assert_eq!(groups.len(), 1, "{groups:?}");
        let out = self
            .aws
            .ec2
            .describe_security_groups()
            .group_ids(&groups[0])
            .send()
            .await
            .unwrap();
        out.security_groups()[0]
            .tags()
            .iter()
            .find(|t| t.key() == Some("firebreak:quarantine-role"))
            .and_then(|t| t.value().map(String::from))
    }
}

fn error_type(i: &Invocation) -> Option<String> {
    match i {
        Invocation::Error { error_type, .. } => Some(error_type.clone()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_is_denied_both_ways_once_ahead_of_the_allows_and_release_removes_exactly_that(
) {
    let s = scene("10.90.0.0/16").await;
    // A second ACL in the VPC whose first allow entry is rule 50 (the default ACL's is 100).
    let custom = s
        .aws
        .ec2
        .create_network_acl()
        .vpc_id(&s.vpc)
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string();
    for (rule, egress, cidr) in [
        (50, false, "10.0.0.0/8"),
        (200, false, "0.0.0.0/0"),
        (100, true, "0.0.0.0/0"),
    ] {
        s.aws
            .ec2
            .create_network_acl_entry()
            .network_acl_id(&custom)
            .rule_number(rule)
            .egress(egress)
            .protocol("-1")
            .rule_action(aws_sdk_ec2::types::RuleAction::Allow)
            .cidr_block(cidr)
            .send()
            .await
            .unwrap();
    }
    let before = s.aws.acl_entries(&s.vpc).await;
    let acls: std::collections::BTreeSet<String> = before.iter().map(|e| e.0.clone()).collect();
    assert_eq!(acls.len(), 2, "{before:?}");

    let function = s.responder(&[]).await;
    for delivery in 0..3 {
        let got = function.invoke(&s.event).await;
        assert!(
            matches!(got, Invocation::Response(_)),
            "delivery {delivery}: {got:?}"
        );
    }
    assert_eq!(s.role().await.as_deref(), Some("isolation"));

    // For each address, exactly one inbound and one outbound deny per ACL, each ahead of that ACL's
    // allow entries.
    for cidr in [&s.cidr, &s.secondary] {
        let denies = s.aws.effective_denies(&s.vpc, cidr).await;
        for acl in &acls {
            let mine: Vec<&(String, i32, bool)> = denies.iter().filter(|d| &d.0 == acl).collect();
            assert_eq!(
                mine.iter().filter(|d| !d.2).count(),
                1,
                "{acl} inbound: {denies:?}"
            );
            assert_eq!(
                mine.iter().filter(|d| d.2).count(),
                1,
                "{acl} outbound: {denies:?}"
            );
            if acl == &custom {
                // Its first inbound allow is rule 50, its first outbound allow rule 100.
                assert!(
                    mine.iter().all(|d| d.1 < if d.2 { 100 } else { 50 }),
                    "{mine:?}"
                );
            }
        }
    }
    let after = s.aws.acl_entries(&s.vpc).await;
    assert_eq!(
        after.len(),
        before.len() + 4 * acls.len(),
        "three deliveries, no duplicate"
    );
    let tags = s.aws.tags(&s.instance).await;
    let recorded = firebreak::records::AclDenies::read(&tags);
    for acl in &acls {
        let cidrs: Vec<&str> = recorded.0[acl].0.iter().map(|e| e.cidr.as_str()).collect();
        assert!(
            cidrs.contains(&s.cidr.as_str()) && cidrs.contains(&s.secondary.as_str()),
            "{acl} in {tags:?}"
        );
    }

    // FbRelease removes exactly those entries, and the records.
    let asff = guardduty_asff(&s.finding, C2, 8.0, asff_instance(&s.instance, &s.vpc));
    s.aws.import_findings(std::slice::from_ref(&asff)).await;
    let release = Function::start(
        "securityhub-action",
        &[("FIREBREAK_TOPIC_ARN", s.topic.as_str())],
    )
    .await;
    let got = release
        .invoke(&custom_action_event("FbRelease", &[asff]))
        .await;
    assert!(matches!(got, Invocation::Response(_)), "{got:?}");
    assert_eq!(s.aws.acl_entries(&s.vpc).await, before);
    assert_eq!(s.groups().await, vec![s.app.clone()]);
    let tags = s.aws.tags(&s.instance).await;
    assert!(
        !tags
            .iter()
            .any(|(k, _)| k.starts_with("firebreak:acl-denies")),
        "{tags:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_isolation_failure_leaves_no_interface_open_and_fails_the_invocation() {
    let s = scene("10.91.0.0/16").await;
    let id = unique("fail");
    faults::fail_isolation(&id, &s.eni, "UnauthorizedOperation", 403).await;
    let function = s.responder(&[]).await;
    let got = function.invoke(&s.event).await;
    faults::clear(&id).await;
    assert_eq!(
        error_type(&got).as_deref(),
        Some("ContainmentFailed"),
        "{got:?}"
    );
    // Back in its own group: not in the allow-all untracking group, no more exposed than before.
    assert_eq!(s.groups().await, vec![s.app.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_isolation_ends_within_the_deadline_with_the_interface_back_in_its_groups() {
    let s = scene("10.92.0.0/16").await;
    // Groups exist already (a first incident in the VPC, unstalled), so only the stall is timed.
    let warm = s.responder(&[]).await;
    let other = scene_in(&s, "10.92.0.0/16").await;
    assert!(matches!(warm.invoke(&other).await, Invocation::Response(_)));

    let id = unique("stall");
    faults::stall_isolation(&id, &s.eni, 60.0).await;
    let function = s
        .responder(&[
            ("FIREBREAK_CALL_TIMEOUT_SECONDS", "1"),
            ("FIREBREAK_OPERATION_TIMEOUT_SECONDS", "2"),
            ("FIREBREAK_INCIDENT_TIMEOUT_SECONDS", "4"),
        ])
        .await;
    let started = Instant::now();
    let got = function.invoke(&s.event).await;
    let took = started.elapsed();
    faults::clear(&id).await;
    assert_eq!(
        error_type(&got).as_deref(),
        Some("ContainmentFailed"),
        "{got:?}"
    );
    assert!(
        took < Duration::from_secs(15),
        "took {took:?}: the deadline is 4 s"
    );
    // Its own group again (the stalled change may still land later: into isolation, also safe).
    let role = s.role().await;
    assert!(
        role.is_none() || role.as_deref() == Some("isolation"),
        "{role:?}: left in an allow-all group"
    );
    assert_eq!(s.groups().await, vec![s.app.clone()]);
}

/// A second instance and finding in the scene's VPC (its subnet), for warming the VPC's groups.
async fn scene_in(s: &Scene, _cidr: &str) -> Value {
    let described = s.aws.describe(&s.instance).await;
    let subnet = described.subnet_id().unwrap().to_string();
    let app = s.aws.app_group(&s.vpc).await;
    let instance = s
        .aws
        .instance(&subnet, std::slice::from_ref(&app), &[])
        .await;
    let interfaces = s.aws.finding_interfaces(&instance).await;
    guardduty_event_with(&unique("finding"), C2, 8.0, &instance, interfaces, "ACTOR")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_incident_in_a_new_vpc_is_contained_in_one_invocation_under_eventual_consistency()
{
    let s = scene("10.93.0.0/16").await;
    let id = unique("ec");
    faults::eventual_consistency(&id, &s.vpc, 1.0).await;
    let function = s.responder(&[]).await;
    let got = function.invoke(&s.event).await;
    faults::clear(&id).await;
    assert!(matches!(got, Invocation::Response(_)), "{got:?}");
    assert_eq!(s.role().await.as_deref(), Some("isolation"));
    let groups = s.groups().await;
    assert_eq!(s.aws.group_rules(&groups[0]).await, (s.vpc.clone(), 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_44_tags_of_its_own_and_two_interfaces_is_contained_within_50_and_fully_released(
) {
    // GIVEN an instance carrying 44 tags of its own (cost and compliance tagging), with two
    // interfaces, in a VPC whose network ACL allows everything
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.94.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let own: Vec<(String, String)> = (0..44)
        .map(|n| (format!("cost-centre-{n:02}"), format!("value-{n}")))
        .collect();
    let own_refs: Vec<(&str, &str)> = own.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let instance = aws
        .instance(&subnet, std::slice::from_ref(&app), &own_refs)
        .await;
    aws.attach_eni(&instance, &subnet, std::slice::from_ref(&app), 1)
        .await;
    let interfaces = aws.interfaces(&instance).await;
    assert_eq!(interfaces.len(), 2);
    let acls_before = aws.acl_entries(&vpc).await;
    let protection_before = aws.protection(&instance).await;
    assert!(
        !protection_before.termination_protection,
        "termination protection starts off"
    );
    // The local AWS refuses a 51st tag, as EC2 does.
    let too_many: Vec<aws_sdk_ec2::types::Tag> = (0..7)
        .map(|n| {
            aws_sdk_ec2::types::Tag::builder()
                .key(format!("extra-{n}"))
                .value("x")
                .build()
        })
        .collect();
    let refused = aws
        .ec2
        .create_tags()
        .resources(&instance)
        .set_tags(Some(too_many))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "the emulator must enforce EC2's 50-tag limit"
    );

    // WHEN its C&C finding is delivered twice
    let finding = unique("finding");
    let event = guardduty_event_with(
        &finding,
        C2,
        8.0,
        &instance,
        aws.finding_interfaces(&instance).await,
        "ACTOR",
    );
    let function = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    for delivery in 0..2 {
        let got = function.invoke(&event).await;
        assert!(
            matches!(got, Invocation::Response(_)),
            "{delivery}: {got:?}"
        );
    }

    // THEN both interfaces are isolated, their addresses denied in the network ACL, the evidence
    // protected and snapshotted, every record written, and the instance has at most 50 tags
    for (eni, _, groups) in aws.interfaces(&instance).await {
        assert_eq!(groups.len(), 1, "{eni}: {groups:?}");
        assert_ne!(groups[0], app, "{eni} still in its own group");
    }
    let protected = aws.protection(&instance).await;
    assert!(
        protected.termination_protection,
        "termination protection on"
    );
    assert!(
        protected.deleted_on_termination.iter().all(|d| !d),
        "volumes kept: {protected:?}"
    );
    assert_eq!(protected.shutdown_behaviour, "stop");
    let volumes = aws.describe(&instance).await.block_device_mappings().len();
    assert_eq!(aws.finding_snapshots(&finding).await.len(), volumes);
    assert!(aws.acl_entries(&vpc).await.len() > acls_before.len());
    let tags = aws.tags(&instance).await;
    assert!(tags.len() <= 50, "{} tags", tags.len());
    for (k, v) in &own {
        assert!(tags.contains(&(k.clone(), v.clone())), "{k} lost");
    }
    let recorded = firebreak::records::Isolation::read(&tags);
    for (eni, _, _) in &interfaces {
        assert_eq!(
            recorded.groups.get(eni),
            Some(&vec![app.clone()]),
            "{tags:?}"
        );
    }
    let value = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        value("firebreak:status").as_deref(),
        Some("quarantined told")
    );
    let messages = aws.messages(&queue, 2, Duration::from_secs(10)).await;
    for m in &messages {
        let body = &readable(m);
        assert!(!body.contains("NOT RECORDED"), "{body}");
    }

    // AND FbRelease puts everything back: groups, network ACL, protection; only its mark is left
    let asff = guardduty_asff(&finding, C2, 8.0, asff_instance(&instance, &vpc));
    aws.import_findings(std::slice::from_ref(&asff)).await;
    let release = Function::start("securityhub-action", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let got = release
        .invoke(&custom_action_event("FbRelease", &[asff]))
        .await;
    assert!(matches!(got, Invocation::Response(_)), "{got:?}");
    assert_eq!(aws.interfaces(&instance).await, interfaces);
    assert_eq!(aws.acl_entries(&vpc).await, acls_before);
    assert_eq!(aws.protection(&instance).await, protection_before);
    let mut left: Vec<String> = aws
        .tags(&instance)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with("firebreak:"))
        .map(|(k, _)| k)
        .collect();
    left.sort();
    assert_eq!(left, ["firebreak:released-at"]);
}
