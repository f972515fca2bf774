//! `guardduty-responder`, the real binary, through the Lambda Runtime API, against the local AWS.
//! Every assertion reads state back from the emulator.

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{filter, guardduty_event, readable, unique, Aws};
use firebreak_tests::{Function, Invocation};
use serde_json::json;

const C2: &str = "Backdoor:EC2/C&CActivity.B";

async fn responder(topic_arn: &str, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![("FIREBREAK_TOPIC_ARN", topic_arn)];
    env.extend_from_slice(extra);
    Function::start("guardduty-responder", &env).await
}

/// One instance with an application group in a fresh VPC, a topic with a queue, and a running responder.
struct Scene {
    aws: Aws,
    vpc: String,
    instance: String,
    before: Vec<(String, String, Vec<String>)>,
    queue: String,
    function: Function,
    finding: String,
}

impl Scene {
    async fn new(cidr: &str, tags: &[(&str, &str)], env: &[(&str, &str)]) -> Scene {
        let aws = Aws::new().await;
        let (vpc, subnet) = aws.vpc(cidr).await;
        let app = aws.app_group(&vpc).await;
        let instance = aws
            .instance(&subnet, std::slice::from_ref(&app), tags)
            .await;
        let before = aws.interfaces(&instance).await;
        let (topic, queue) = aws.topic_with_queue().await;
        let function = responder(&topic, env).await;
        Scene {
            aws,
            vpc,
            instance,
            before,
            queue,
            function,
            finding: unique("finding"),
        }
    }

    /// Delivers a finding of this type and severity about the scene's instance.
    async fn deliver(&self, finding_type: &str, severity: f64, role: &str) {
        let enis: Vec<(String, String)> = self
            .before
            .iter()
            .map(|(e, v, _)| (e.clone(), v.clone()))
            .collect();
        self.function
            .invoke(&guardduty_event(
                &self.finding,
                finding_type,
                severity,
                &self.instance,
                &enis,
                role,
            ))
            .await
            .unwrap();
    }

    /// Groups, snapshots and firebreak tags are exactly as before (tags other than `allowed`), and
    /// no quarantine group was created in the VPC.
    async fn assert_untouched(&self, allowed: &str) {
        assert_eq!(self.aws.interfaces(&self.instance).await, self.before);
        assert!(self.aws.finding_snapshots(&self.finding).await.is_empty());
        let tags = self.aws.tags(&self.instance).await;
        assert!(
            tags.iter()
                .all(|(k, _)| !k.starts_with("firebreak:") || k == allowed),
            "{tags:?}"
        );
        let groups = self
            .aws
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", &self.vpc))
            .send()
            .await
            .unwrap();
        let names: Vec<&str> = groups
            .security_groups()
            .iter()
            .filter_map(|g| g.group_name())
            .collect();
        assert!(
            names.iter().all(|n| !n.starts_with("firebreak-")),
            "quarantine groups created: {names:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c2_finding_isolates_every_eni_in_its_own_vpc_and_snapshots_each_volume_once() {
    // GIVEN an instance in VPC A whose second ENI lives in VPC B, each ENI with an application group
    let aws = Aws::new().await;
    let (vpc_a, subnet_a) = aws.vpc("10.1.0.0/16").await;
    let (vpc_b, subnet_b) = aws.vpc("10.2.0.0/16").await;
    let app_a = aws.app_group(&vpc_a).await;
    let app_b = aws.app_group(&vpc_b).await;
    let instance = aws
        .instance(
            &subnet_a,
            std::slice::from_ref(&app_a),
            &[("Name", "web-1")],
        )
        .await;
    let eni_b = aws
        .attach_eni(&instance, &subnet_b, std::slice::from_ref(&app_b), 1)
        .await;
    let before = aws.interfaces(&instance).await;
    assert_eq!(before.len(), 2);
    let eni_a = before
        .iter()
        .find(|(id, _, _)| *id != eni_b)
        .unwrap()
        .0
        .clone();
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;
    let finding = unique("finding");
    let event = guardduty_event(
        &finding,
        C2,
        8.0,
        &instance,
        &[
            (eni_a.clone(), vpc_a.clone()),
            (eni_b.clone(), vpc_b.clone()),
        ],
        "ACTOR",
    );

    // WHEN the same high-severity C&C finding is delivered three times
    let first_delivery = std::time::SystemTime::now();
    for _ in 0..3 {
        function.invoke(&event).await.unwrap();
    }

    // THEN every ENI has only groups with zero rules, in its own VPC, different from the originals
    let after = aws.interfaces(&instance).await;
    assert_eq!(after.len(), 2);
    for (eni, vpc, groups) in &after {
        assert_eq!(
            groups.len(),
            1,
            "{eni} should be in exactly the isolation group: {groups:?}"
        );
        for g in groups {
            assert!(
                *g != app_a && *g != app_b,
                "{eni} still in its application group"
            );
            let (group_vpc, ingress, egress) = aws.group_rules(g).await;
            assert_eq!(&group_vpc, vpc, "{eni}'s group {g} is in another VPC");
            assert_eq!((ingress, egress), (0, 0), "{eni}'s group {g} has rules");
        }
    }
    let vpcs: Vec<&String> = after.iter().map(|(_, v, _)| v).collect();
    assert!(vpcs.contains(&&vpc_a) && vpcs.contains(&&vpc_b));

    // AND one snapshot per volume, after three deliveries
    let snaps = aws.finding_snapshots(&finding).await;
    let described = aws.describe(&instance).await;
    let mut volumes: Vec<String> = described
        .block_device_mappings()
        .iter()
        .map(|b| b.ebs().unwrap().volume_id().unwrap().to_string())
        .collect();
    volumes.sort();
    let mut snapped: Vec<String> = snaps.iter().map(|(_, v)| v.clone()).collect();
    snapped.sort();
    assert_eq!(volumes.len(), 2);
    assert_eq!(
        snapped, volumes,
        "exactly one snapshot per volume: {snaps:?}"
    );

    // AND the evidence is protected and the instance says what happened
    assert!(described.block_device_mappings().iter().all(|b| b
        .ebs()
        .unwrap()
        .delete_on_termination()
        == Some(false)));
    let attr = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(&instance)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .send()
        .await
        .unwrap();
    assert_eq!(attr.disable_api_termination().unwrap().value(), Some(true));
    let attr = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(&instance)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::InstanceInitiatedShutdownBehavior)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attr.instance_initiated_shutdown_behavior().unwrap().value(),
        Some("stop")
    );
    let terminate = aws
        .ec2
        .terminate_instances()
        .instance_ids(&instance)
        .send()
        .await;
    assert!(
        terminate.is_err(),
        "termination protection must refuse a terminate"
    );
    let tags = aws.tags(&instance).await;
    assert_eq!(tag(&tags, "firebreak:finding-id"), Some(finding.as_str()));
    assert_eq!(tag(&tags, "firebreak:status"), Some("quarantined told"));
    let contained_at = aws_sdk_ec2::primitives::DateTime::from_str(
        tag(&tags, "firebreak:contained-at").expect("contained-at tag"),
        aws_sdk_ec2::primitives::DateTimeFormat::DateTime,
    )
    .expect("contained-at is an RFC 3339 time");
    assert!(
        std::time::SystemTime::try_from(contained_at).unwrap() >= first_delivery,
        "contained-at {contained_at} is before the finding was delivered"
    );
    let evidence = tag(&tags, "firebreak:evidence").unwrap_or_default();
    assert!(
        evidence
            .split_whitespace()
            .any(|t| t == "termination-protection"),
        "{evidence}"
    );
    let isolation = tag(&tags, "firebreak:isolation").unwrap_or_default();
    for want in [format!("{eni_a}={app_a}"), format!("{eni_b}={app_b}")] {
        assert!(
            isolation.split_whitespace().any(|t| t == want),
            "{want} not in {isolation}"
        );
    }
    assert!(isolation.starts_with("started="), "{isolation}");

    // AND a message naming the instance arrived, with attributes for subscription filters
    let messages = aws.messages(&queue, 3, Duration::from_secs(10)).await;
    assert_eq!(
        messages.len(),
        1,
        "told once: the two redeliveries changed nothing"
    );
    let first = &messages[0];
    assert!(first["Subject"].as_str().unwrap().contains(&instance));
    assert!(first["Subject"].as_str().unwrap().len() < 100);
    let body = &readable(first);
    assert!(body.contains(&instance) && body.contains("HOW TO RELEASE") && body.contains(&app_a));
    assert_eq!(first["MessageAttributes"]["outcome"]["Value"], "contained");
    assert_eq!(first["MessageAttributes"]["finding_type"]["Value"], C2);

    // AND the log is structured JSON naming finding, resource, action and outcome
    let logs = function.logs();
    let action_lines: Vec<serde_json::Value> = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["action"].is_string())
        .collect();
    assert!(
        action_lines
            .iter()
            .any(|v| v["fields"]["action"] == "isolate-instance"
                && v["fields"]["outcome"] == "succeeded"
                && v["fields"]["finding_id"] == finding.as_str()
                && v["fields"]["resource"] == eni_b.as_str()),
        "no structured isolate-instance log line for {eni_b}: {logs:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exempt_instance_is_untouched_and_the_team_is_told() {
    // GIVEN an instance tagged firebreak:exempt=true (the finding does not carry the tag)
    let scene = Scene::new("10.3.0.0/16", &[("firebreak:exempt", "true")], &[]).await;

    // WHEN a high-severity C&C finding arrives
    scene.deliver(C2, 8.0, "ACTOR").await;

    // THEN nothing changed: groups, snapshots, tags; and the team is told why
    scene.assert_untouched("firebreak:exempt").await;
    let messages = scene
        .aws
        .messages(&scene.queue, 1, Duration::from_secs(10))
        .await;
    assert_eq!(messages.len(), 1);
    assert!(readable(&messages[0]).contains("firebreak:exempt=true"));
    assert_eq!(
        messages[0]["MessageAttributes"]["outcome"]["Value"],
        "skipped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_severity_port_probe_only_notifies() {
    let scene = Scene::new("10.4.0.0/16", &[], &[]).await;

    scene
        .deliver("Recon:EC2/PortProbeUnprotectedPort", 2.0, "TARGET")
        .await;

    scene.assert_untouched("").await;
    let messages = scene
        .aws
        .messages(&scene.queue, 1, Duration::from_secs(10))
        .await;
    assert_eq!(messages.len(), 1);
    assert!(readable(&messages[0]).contains(&scene.instance));
    assert_eq!(
        messages[0]["MessageAttributes"]["outcome"]["Value"],
        "notified-only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_are_rejected_and_the_next_valid_one_is_handled() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.5.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let mut function = responder(&topic, &[]).await;

    let mut no_instance = guardduty_event("f-bad", C2, 8.0, &instance, &[], "ACTOR");
    no_instance["detail"]["resource"]["instanceDetails"] = json!({});
    let mut bad_severity = guardduty_event("f-bad2", C2, 8.0, &instance, &[], "ACTOR");
    bad_severity["detail"]["severity"] = json!("critical!");
    let cases = [
        (json!("just a string"), "InvalidEvent.NotAnObject"),
        (
            json!({"detail-type": "AWS API Call via CloudTrail", "source": "aws.guardduty", "detail": {}}),
            "InvalidEvent.Unsupported",
        ),
        (no_instance, "InvalidEvent.MissingInstanceId"),
        (bad_severity, "InvalidEvent.InvalidField"),
    ];
    for (event, want) in cases {
        match function.invoke(&event).await {
            Invocation::Error { error_type, .. } => assert_eq!(error_type, want),
            Invocation::Response(r) => panic!("accepted a malformed event: {r}"),
        }
    }
    assert!(function.is_alive());

    // The next valid event is still handled, for real.
    let enis = aws.eni_vpcs(&instance).await;
    function
        .invoke(&guardduty_event(
            &unique("finding"),
            C2,
            9.0,
            &instance,
            &enis,
            "ACTOR",
        ))
        .await
        .unwrap();
    for (_, _, groups) in aws.interfaces(&instance).await {
        assert_eq!(groups.len(), 1);
        assert_eq!(aws.group_rules(&groups[0]).await.1, 0);
        assert_eq!(aws.group_rules(&groups[0]).await.2, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_no_longer_exists_is_skipped_not_a_crash() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;
    let finding = unique("finding");
    let report = function
        .invoke(&guardduty_event(
            &finding,
            C2,
            8.0,
            "i-0fffffffffffffff0",
            &[],
            "ACTOR",
        ))
        .await
        .unwrap();
    assert_eq!(report["verdict"], "skipped");
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    assert!(readable(&messages[0]).contains("no longer exists"));
    // Read back from the emulator: the message's filterable outcome, and no evidence was attempted.
    assert_eq!(
        messages[0]["MessageAttributes"]["outcome"]["Value"],
        "skipped"
    );
    assert!(aws.finding_snapshots(&finding).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_notifies_the_plan_and_changes_nothing() {
    let scene = Scene::new("10.6.0.0/16", &[], &[("FIREBREAK_MODE", "dry-run")]).await;

    scene.deliver(C2, 8.0, "ACTOR").await;

    scene.assert_untouched("").await;
    let messages = scene
        .aws
        .messages(&scene.queue, 1, Duration::from_secs(10))
        .await;
    let body = &readable(&messages[0]);
    assert!(body.contains("DRY RUN") && body.contains("isolate-instance"));
}

/// The blast-radius cap: with FIREBREAK_MAX_QUARANTINES_PER_HOUR=2, three high-severity findings on
/// three instances within the hour → the first two isolated, the third not isolated but
/// snapshotted, tagged and reported as needing a human (and which custom action to click); the
/// invocation succeeds. A redelivery of the third is still held back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_blast_radius_cap_the_third_instance_gets_evidence_only_and_a_human_is_asked() {
    // A region of its own: the cap counts every quarantine of the account and region, and the
    // other tests quarantine in us-east-1.
    let region = "eu-west-3";
    let aws = Aws::in_region(region).await;
    let home = Aws::new().await;
    let (topic, queue) = home.topic_with_queue().await;
    // On a fresh emulator (CI) the cap is 2; a rerun within the hour on the same emulator finds
    // the earlier run's quarantines, and raises the cap by as many.
    let earlier = aws
        .ec2
        .describe_instances()
        .filters(filter("tag-key", "firebreak:isolation"))
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum::<usize>();
    let cap = (2 + earlier).to_string();
    let f = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic.as_str()),
            ("FIREBREAK_MAX_QUARANTINES_PER_HOUR", cap.as_str()),
        ],
    )
    .await;
    let (vpc, subnet) = aws.vpc("10.80.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 3)
        .await;
    let mut events = Vec::new();
    let mut verdicts = Vec::new();
    for (instance, enis) in &made {
        let finding = unique("cap");
        let mut event = guardduty_event(&finding, C2, 8.0, instance, enis, "ACTOR");
        event["region"] = json!(region);
        event["detail"]["region"] = json!(region);
        let report = f.invoke(&event).await.unwrap();
        verdicts.push(report["verdict"].as_str().unwrap().to_string());
        events.push((finding, event));
    }
    assert_eq!(verdicts, ["contained", "contained", "needs-human"]);
    // A redelivery of the third finding: still over the cap, still not isolated.
    let again = f.invoke(&events[2].1).await.unwrap();
    assert_eq!(again["verdict"], "needs-human", "{again}");

    // Read back from the emulator.
    for (i, (instance, _)) in made.iter().enumerate() {
        let groups: Vec<String> = aws
            .interfaces(instance)
            .await
            .into_iter()
            .flat_map(|(_, _, g)| g)
            .collect();
        let tags = aws.tags(instance).await;
        let snapshots = aws.finding_snapshots(&events[i].0).await;
        if i < 2 {
            assert_ne!(groups, vec![app.clone()], "instance {i} was not isolated");
            assert_eq!(tag(&tags, "firebreak:status"), Some("quarantined told"));
        } else {
            assert_eq!(groups, vec![app.clone()], "the third instance was isolated");
            assert_eq!(tag(&tags, "firebreak:status"), Some("needs-human told"));
            assert!(tag(&tags, "firebreak:isolation").is_none());
        }
        assert_eq!(snapshots.len(), 2, "instance {i}: one snapshot per volume");
    }
    // Told once: the redelivery of the held finding changes nothing and is silent (the instance's
    // status says the team was told; the reminder tells again if nobody decides).
    let messages = home.messages(&queue, 4, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 3);
    let held: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["MessageAttributes"]["outcome"]["Value"] == "needs-human")
        .collect();
    assert_eq!(held.len(), 1, "the third finding, once");
    let held = held[0];
    let subject = held["Subject"].as_str().unwrap();
    assert!(
        subject.contains("NEEDS A HUMAN") && subject.contains(&made[2].0),
        "{subject}"
    );
    let body = &readable(held);
    assert!(
        body.contains("blast-radius cap") && body.contains("FbQuarantine"),
        "{body}"
    );
}

/// Many accounts: a finding from account 111111111111 is contained in that account, through the
/// member role (`FirebreakResponder`, with the external id, session named after the function);
/// the role's credentials are assumed once and reused for the next finding of that account; and
/// nothing changes in the function's own account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_account_finding_is_contained_in_that_account_and_nowhere_else() {
    let member_account = "111111111111";
    let member = Aws::in_account(member_account, "FirebreakResponder").await;
    let home = Aws::new().await;
    let (topic, _queue) = home.topic_with_queue().await;
    let proxy = firebreak_tests::LatencyProxy::start(&["--delay-ms", "0", "--log-params"]);
    let f = Function::start_binary(
        &firebreak_tests::binary("guardduty-responder"),
        &proxy.url,
        &[
            ("FIREBREAK_TOPIC_ARN", topic.as_str()),
            ("FIREBREAK_MEMBER_EXTERNAL_ID", "e2e-external-id"),
        ],
    )
    .await;

    let (vpc, subnet) = member.vpc("10.82.0.0/16").await;
    let app = member.app_group(&vpc).await;
    let made = member
        .instances(&subnet, std::slice::from_ref(&app), &[], 2)
        .await;
    // The member's instance does not exist in the function's own account.
    assert!(home
        .ec2
        .describe_instances()
        .instance_ids(&made[0].0)
        .send()
        .await
        .map(|o| o.reservations().is_empty())
        .unwrap_or(true));
    let mut findings = Vec::new();
    for (instance, enis) in &made {
        let finding = unique("member");
        let mut event = guardduty_event(&finding, C2, 8.0, instance, enis, "ACTOR");
        event["account"] = json!(member_account);
        event["detail"]["accountId"] = json!(member_account);
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(report["verdict"], "contained", "{report}");
        assert_eq!(report["account"], member_account);
        findings.push(finding);
    }

    // In the member account: isolated, snapshotted, tagged.
    for ((instance, _), finding) in made.iter().zip(&findings) {
        let groups: Vec<String> = member
            .interfaces(instance)
            .await
            .into_iter()
            .flat_map(|(_, _, g)| g)
            .collect();
        assert_eq!(groups.len(), 1);
        assert_ne!(groups[0], app, "{instance} still in its application group");
        let (group_vpc, ingress, egress) = member.group_rules(&groups[0]).await;
        assert_eq!((group_vpc.as_str(), ingress, egress), (vpc.as_str(), 0, 0));
        assert_eq!(member.finding_snapshots(finding).await.len(), 2);
        assert_eq!(
            tag(&member.tags(instance).await, "firebreak:status"),
            Some("quarantined told")
        );
    }
    // In the function's own account: no snapshot of these findings, no group in the member's VPC.
    for finding in &findings {
        assert!(home.finding_snapshots(finding).await.is_empty());
    }
    let in_home = home
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc))
        .send()
        .await
        .unwrap();
    assert!(in_home.security_groups().is_empty());

    // One AssumeRole for both findings, into the member role, with the external id and a session
    // named after the function.
    let log = std::fs::read_to_string(&proxy.log).unwrap();
    let assumed: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|c| c["action"] == "AssumeRole")
        .collect();
    assert_eq!(assumed.len(), 1, "credentials are cached per account");
    let params = &assumed[0]["params"];
    assert_eq!(
        params["RoleArn"],
        "arn:aws:iam::111111111111:role/FirebreakResponder"
    );
    assert_eq!(params["ExternalId"], "e2e-external-id");
    assert_eq!(params["RoleSessionName"], "guardduty-responder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_instance_is_contained_and_snapshotted_and_the_invocation_succeeds() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.94.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.spot_instance(&subnet, std::slice::from_ref(&app)).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;
    let finding = unique("finding");
    let enis = aws.eni_vpcs(&instance).await;
    let event = guardduty_event(&finding, C2, 8.0, &instance, &enis, "ACTOR");

    let answer = function.invoke(&event).await;
    assert!(matches!(answer, Invocation::Response(_)), "{answer:?}");
    for (eni, vpc, groups) in aws.interfaces(&instance).await {
        assert_eq!(groups.len(), 1, "{eni}: {groups:?}");
        assert_eq!(aws.group_rules(&groups[0]).await, (vpc, 0, 0), "{eni}");
    }
    assert_eq!(aws.finding_snapshots(&finding).await.len(), 2);
    let tags = aws.tags(&instance).await;
    assert!(
        !tags
            .iter()
            .any(|(k, v)| k == "firebreak:evidence" && v.contains("termination-protection")),
        "{tags:?}"
    );
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    let body = &readable(&messages[0]);
    assert!(body.contains("not support it for Spot instances"), "{body}");
}
