//! Faults on the way to AWS: the real `guardduty-responder` behind `aws-latency-proxy.py`, which
//! fails every 5th call (HTTP 500) and throttles every 7th. The first delivery succeeds, and its end
//! state equals the fault-free one (one snapshot per volume). A snapshot call that answers an error
//! after EC2 took the snapshots is not taken again.
//! The proxy's log also shows every call the function made: each must be one its responders declare
//! (`firebreak::permissions`), i.e. one the template grants.

use std::collections::BTreeMap;

use firebreak_tests::fixtures::{guardduty_event_with, unique, Aws};
use firebreak_tests::{binary, faults, Function, Invocation, LatencyProxy};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// Everything about an instance that the response decides, with times and ids abstracted.
#[derive(Debug, PartialEq)]
struct EndState {
    /// Per interface: (number of groups, the group's role tag, ingress rules, egress rules).
    interfaces: Vec<(usize, Option<String>, usize, usize)>,
    /// Snapshots tagged with the finding, per volume device.
    snapshots_per_volume: BTreeMap<String, usize>,
    /// The firebreak tags present (keys, with ENI ids abstracted) and the status value.
    tag_keys: Vec<String>,
    /// What each ENI's record of its original groups names, per group: its Firebreak role, or
    /// "application" for a group of the instance's own (a record of the quarantine is wrong).
    recorded_groups: Vec<Vec<String>>,
    status: Option<String>,
    /// The network ACL deny entries for the instance's address that take effect: (inbound,
    /// outbound) — never doubled by a redelivery.
    acl_denies: (usize, usize),
    termination_protection: bool,
    shutdown_behaviour: String,
    delete_on_termination: Vec<bool>,
}

async fn end_state(aws: &Aws, instance: &str, finding: &str) -> EndState {
    let mut interfaces = Vec::new();
    for (_, _, groups) in aws.interfaces(instance).await {
        let g = aws
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(groups.clone()))
            .send()
            .await
            .unwrap();
        let first = &g.security_groups()[0];
        interfaces.push((
            groups.len(),
            first
                .tags()
                .iter()
                .find(|t| t.key() == Some("firebreak:quarantine-role"))
                .and_then(|t| t.value().map(String::from)),
            first.ip_permissions().len(),
            first.ip_permissions_egress().len(),
        ));
    }
    let described = aws.describe(instance).await;
    let devices: BTreeMap<String, String> = described
        .block_device_mappings()
        .iter()
        .map(|b| {
            (
                b.ebs().unwrap().volume_id().unwrap().to_string(),
                b.device_name().unwrap().to_string(),
            )
        })
        .collect();
    let mut snapshots_per_volume = BTreeMap::new();
    for (_, volume) in aws.finding_snapshots(finding).await {
        *snapshots_per_volume
            .entry(devices[&volume].clone())
            .or_insert(0) += 1;
    }
    let tags = aws.tags(instance).await;
    let mut tag_keys: Vec<String> = tags
        .iter()
        .filter(|(k, _)| k.starts_with("firebreak:"))
        .map(|(k, _)| k.clone())
        .collect();
    tag_keys.sort();
    let mut recorded_groups = Vec::new();
    for ids in firebreak::records::Isolation::read(&tags)
        .groups
        .into_values()
    {
        let described = aws
            .ec2
            .describe_security_groups()
            .set_group_ids(Some(ids))
            .send()
            .await
            .unwrap();
        recorded_groups.push(
            described
                .security_groups()
                .iter()
                .map(|g| {
                    g.tags()
                        .iter()
                        .find(|t| t.key() == Some("firebreak:quarantine-role"))
                        .and_then(|t| t.value().map(String::from))
                        .unwrap_or_else(|| "application".to_string())
                })
                .collect(),
        );
    }
    let attr = |name| {
        aws.ec2
            .describe_instance_attribute()
            .instance_id(instance)
            .attribute(name)
            .send()
    };
    let termination = attr(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        .await
        .unwrap();
    let shutdown =
        attr(aws_sdk_ec2::types::InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .await
            .unwrap();
    let vpc = described.vpc_id().unwrap_or_default();
    let cidr = format!("{}/32", described.private_ip_address().unwrap_or_default());
    let denies = aws.effective_denies(vpc, &cidr).await;
    let acl_denies = (
        denies.iter().filter(|d| !d.2).count(),
        denies.iter().filter(|d| d.2).count(),
    );
    EndState {
        acl_denies,
        interfaces,
        snapshots_per_volume,
        status: tags
            .iter()
            .find(|(k, _)| k == "firebreak:status")
            .map(|(_, v)| v.clone()),
        tag_keys,
        recorded_groups,
        termination_protection: termination
            .disable_api_termination()
            .and_then(|v| v.value())
            .unwrap_or(false),
        shutdown_behaviour: shutdown
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value())
            .unwrap_or_default()
            .to_string(),
        delete_on_termination: described
            .block_device_mappings()
            .iter()
            .map(|b| b.ebs().unwrap().delete_on_termination().unwrap_or(true))
            .collect(),
    }
}

/// An instance with an application group in a VPC of its own, and its C&C finding.
async fn scene(aws: &Aws, cidr: &str) -> (String, serde_json::Value, String) {
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let interfaces = aws.finding_interfaces(&instance).await;
    let finding = unique("finding");
    let event = guardduty_event_with(&finding, C2, 8.0, &instance, interfaces, "ACTOR");
    (instance, event, finding)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_call_that_fails_after_ec2_took_the_snapshots_is_not_taken_again() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (instance, event, finding) = scene(&aws, "10.62.0.0/16").await;
    let rule = unique("snapshots-fail-after");
    let _rule = faults::ClearOnDrop::new(&rule);
    faults::fail_after_snapshots(&rule, &instance, "InternalError", 500).await;
    let f = Function::start(
        "guardduty-responder",
        &[("FIREBREAK_TOPIC_ARN", topic.as_str())],
    )
    .await;
    let got = f.invoke(&event).await.unwrap();
    assert_eq!(got["verdict"], "contained", "{got}");
    let state = end_state(&aws, &instance, &finding).await;
    assert!(!state.snapshots_per_volume.is_empty(), "{state:?}");
    assert!(
        state.snapshots_per_volume.values().all(|n| *n == 1),
        "one snapshot per volume: {state:?}"
    );
    let steps = got["outcomes"].to_string();
    assert!(
        steps.contains("though the call answered an error"),
        "{steps}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_500s_and_throttling_the_first_delivery_ends_in_the_fault_free_state() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let env = [("FIREBREAK_TOPIC_ARN", topic.as_str())];

    // The fault-free reference.
    let (clean_instance, clean_event, clean_finding) = scene(&aws, "10.60.0.0/16").await;
    let clean = Function::start("guardduty-responder", &env).await;
    clean.invoke(&clean_event).await.unwrap();
    let want = end_state(&aws, &clean_instance, &clean_finding).await;
    assert_eq!(want.status.as_deref(), Some("quarantined told"), "{want:?}");
    assert_eq!(want.acl_denies, (1, 1), "{want:?}");

    // The same incident with every 5th call failing and every 7th throttled.
    let (instance, event, finding) = scene(&aws, "10.61.0.0/16").await;
    let proxy = LatencyProxy::start(&[
        "--delay-ms",
        "0",
        "--fail-every",
        "5",
        "--throttle-every",
        "7",
    ]);
    let faulty = Function::start_binary(&binary("guardduty-responder"), &proxy.url, &env).await;
    // The first delivery succeeds: every call is retried, a snapshot call (one SDK attempt, so as
    // not to take two) after looking for what the failed call may have taken.
    match faulty.invoke(&event).await {
        Invocation::Response(_) => {}
        other => panic!("the first delivery failed: {other:?}"),
    }
    let calls = proxy.calls();
    let injected = calls.iter().filter(|(_, _, s)| *s >= 400).count();
    assert!(
        injected >= 2,
        "the proxy injected only {injected} faults in {} calls",
        calls.len()
    );
    let got = end_state(&aws, &instance, &finding).await;
    if got != want {
        for l in faulty.logs() {
            if l.contains("\"failed\"") || l.contains("error") {
                eprintln!("{l}");
            }
        }
    }
    assert_eq!(got, want);

    // Every call the function made is one its responders declare (and so the template grants).
    let declared = firebreak::permissions::for_function("guardduty-responder").unwrap();
    for (service, action, _) in &calls {
        let name = format!("{service}:{action}");
        assert!(
            declared.contains(&name.as_str()),
            "the function called {name}, which firebreak::permissions does not declare"
        );
    }
}

/// The path to AWS cut mid-incident: the proxy exits at its k-th call (for several k across the
/// whole incident) and comes back; moto keeps its state, as AWS would. The delivery during the cut
/// fails; the redelivery after it completes containment, and the end state equals the fault-free
/// one (one snapshot per volume: nothing doubled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_path_to_aws_cut_at_the_kth_call_a_redelivery_completes_without_duplicates() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    // Two attempts per call: a refused connection is not worth five here, and the cut is long.
    let env = [
        ("FIREBREAK_TOPIC_ARN", topic.as_str()),
        ("AWS_MAX_ATTEMPTS", "2"),
    ];
    let mut proxy = LatencyProxy::start(&["--delay-ms", "0"]);
    let function = Function::start_binary(&binary("guardduty-responder"), &proxy.url, &env).await;

    // The fault-free reference, through the same proxy: how many calls one incident of a warm
    // function takes (the first one also reads the record key).
    let (_, warm_up, _) = scene(&aws, "10.69.0.0/16").await;
    function.invoke(&warm_up).await.unwrap();
    let before = proxy.calls().len();
    let (clean_instance, clean_event, clean_finding) = scene(&aws, "10.70.0.0/16").await;
    function.invoke(&clean_event).await.unwrap();
    let want = end_state(&aws, &clean_instance, &clean_finding).await;
    assert_eq!(want.status.as_deref(), Some("quarantined told"), "{want:?}");
    assert_eq!(want.acl_denies, (1, 1), "{want:?}");
    // The last call marks that the team was told: cut there, the delivery still succeeds (the next
    // one tells again), so the cuts stop before it.
    let first = proxy.calls()[before..].to_vec();
    // A second fault-free incident: the count is the smaller of the two. One incident in a CI run
    // made one call more than the other (29, not 28; not reproduced, the list is printed when it
    // happens), which moved the last cut past the publish onto the told mark.
    let (_, second_event, _) = scene(&aws, "10.68.0.0/16").await;
    let before_second = proxy.calls().len();
    function.invoke(&second_event).await.unwrap();
    let second = proxy.calls()[before_second..].to_vec();
    if first.len() != second.len() {
        eprintln!("two fault-free incidents made different calls:\n{first:?}\n{second:?}");
    }
    let total = first.len().min(second.len());
    assert!(total >= 8, "a containment took only {total} calls");

    // FIREBREAK_CUT_EVERY_CALL=1 cuts at every call of the incident, not only at these.
    let mut cuts = match std::env::var_os("FIREBREAK_CUT_EVERY_CALL") {
        Some(_) => (1..total).collect(),
        None => vec![
            1,
            2,
            total / 4,
            total / 2,
            total / 2 + 1,
            total * 3 / 4,
            total - 1,
        ],
    };
    cuts.dedup();
    eprintln!("{total} calls in a fault-free incident; cutting at {cuts:?}");
    for (i, k) in cuts.into_iter().enumerate() {
        let (instance, event, finding) = scene(&aws, &format!("10.{}.0.0/16", 71 + i)).await;
        proxy.restart(Some(k));
        let during = function.invoke(&event).await;
        assert!(
            proxy.has_stopped(),
            "cut at call {k} of {total}: the proxy never reached it"
        );
        assert!(
            matches!(during, Invocation::Error { .. }),
            "cut at call {k} of {total}: the delivery during the cut reported success: {during:?}"
        );
        proxy.restart(None);
        let mut deliveries = 1;
        loop {
            deliveries += 1;
            match function.invoke(&event).await {
                Invocation::Response(_) => break,
                other if deliveries < 3 => eprintln!("cut at {k}: redelivery failed: {other:?}"),
                other => {
                    panic!("cut at {k}: still failing after {deliveries} deliveries: {other:?}")
                }
            }
        }
        let got = end_state(&aws, &instance, &finding).await;
        assert_eq!(got, want, "cut at call {k} of {total}");
    }
}
