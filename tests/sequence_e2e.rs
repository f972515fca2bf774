//! Attack sequences (GuardDuty Extended Threat Detection), through the real binary against the
//! local AWS: a sequence over an instance, an access key and a resource Firebreak has no response
//! for quarantines the instance and revokes the key, each by its own response, and tells the team
//! once: one message that lists what was done to which resource and what was not acted on.

use std::time::Duration;

use firebreak_tests::fixtures::{guardduty_envelope, unique, Aws};
use firebreak_tests::{Function, ACCOUNT};
use serde_json::{json, Value};

/// The sequence finding, as EventBridge delivers it (shape: GuardDuty API reference, `Sequence`
/// and `ResourceV2`; the header as in public samples of `AttackSequence:IAM/...`).
pub(crate) fn sequence_event(finding: &str, instance: &str, user: &str, key: &str) -> Value {
    let resources = json!([
        {"uid": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{instance}"),
         "resourceType": "EC2_INSTANCE", "accountId": ACCOUNT, "region": "us-east-1",
         "service": "ec2"},
        {"uid": key, "resourceType": "ACCESS_KEY", "accountId": ACCOUNT, "region": "us-east-1",
         "service": "iam",
         "data": {"accessKey": {"principalId": "AIDAEXAMPLEEXAMPLE", "userName": user,
                                "userType": "IAMUser"}}},
        {"uid": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/payments"),
         "resourceType": "EKS_CLUSTER", "accountId": ACCOUNT, "region": "us-east-1"}
    ]);
    let signal = json!({"uid": "s1", "type": "FINDING", "name": "Recon:IAMUser/TorIPCaller",
        "createdAt": 1764471540, "updatedAt": 1764471540, "firstSeenAt": 1764471540,
        "lastSeenAt": 1764471540, "count": 1});
    let sequence = json!({"uid": unique("seq"), "description": "sequence", "signals": [signal],
        "resources": resources});
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
        "featureName": "Correlation", "resourceRole": "TARGET", "additionalInfo": {},
        "detection": {"sequence": sequence}});
    guardduty_envelope(
        finding,
        "AttackSequence:IAM/CompromisedCredentials",
        9.0,
        "Potential credential compromise",
        json!({"resourceType": "AttackSequence"}),
        service,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attack_sequence_contains_each_resource_and_tells_the_team_once() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.170.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let (user, keys) = aws.user_with_keys().await;
    let finding = unique("sequence");
    let event = sequence_event(&finding, &instance, &user, &keys[0]);

    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    for delivery in 0..2 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }

    // The instance: quarantined by the instance response.
    let isolation = aws.isolation_group(&vpc).await;
    assert_eq!(aws.groups_of(&instance).await, vec![isolation]);
    let tags = aws.tags(&instance).await;
    let status = tags.iter().find(|(k, _)| k == "firebreak:status");
    assert_eq!(status.map(|(_, v)| v.as_str()), Some("quarantined told"));

    // The key: deactivated (the user's other key stays active), the user's sessions denied.
    let state = aws.user_state(&user).await;
    let status_of = |k: &str| {
        state
            .keys
            .iter()
            .find(|(id, _)| id == k)
            .map(|(_, s)| s.clone())
    };
    assert_eq!(status_of(&keys[0]).as_deref(), Some("Inactive"));
    assert_eq!(status_of(&keys[1]).as_deref(), Some("Active"));
    assert!(
        state
            .policies
            .iter()
            .any(|(n, _)| n == "FirebreakRevokeOlderSessions"),
        "{:?}",
        state.policies
    );

    // One message for the whole sequence, naming both resources and what was not acted on.
    let messages = aws.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(
        messages.len(),
        1,
        "one notification for the sequence, told once"
    );
    let chat: Value = serde_json::from_str(messages[0]["Message"].as_str().unwrap()).unwrap();
    let text = chat.to_string();
    assert!(text.contains(&instance), "{text}");
    assert!(text.contains(&keys[0]), "{text}");
}

/// A sequence over `instances` (all in `region`).
fn fleet_sequence(finding: &str, region: &str, instances: &[String]) -> Value {
    let resources: Vec<Value> = (instances.iter())
        .map(|i| {
            json!({"uid": format!("arn:aws:ec2:{region}:{ACCOUNT}:instance/{i}"),
                   "resourceType": "EC2_INSTANCE", "accountId": ACCOUNT, "region": region,
                   "service": "ec2"})
        })
        .collect();
    let mut event = sequence_event(finding, "i-00000000000000000", "u", "AKIAEXAMPLEEXAMPLE01");
    event["detail"]["service"]["detection"]["sequence"]["resources"] = json!(resources);
    event["region"] = json!(region);
    event["detail"]["region"] = json!(region);
    event
}

/// At scale: a sequence over 30 instances is answered in one invocation, its members together,
/// and the blast-radius cap (here 10 an hour) counts the sequence once: all 30 are isolated. When
/// the cap is already reached, the sequence is held back whole: no member isolated, each asked of
/// a human.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sequence_over_thirty_instances_is_answered_at_once_and_counts_once_against_the_cap() {
    // A region of its own: the cap counts every quarantine of the account and region.
    let region = "eu-north-1";
    let aws = Aws::in_region(region).await;
    let home = Aws::new().await;
    let (topic, queue) = home.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.190.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 30)
        .await;
    let ids: Vec<String> = made.iter().map(|(i, _)| i.clone()).collect();
    // A rerun within the hour on the same emulator finds the earlier run's quarantines.
    let earlier = aws
        .ec2
        .describe_instances()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag-key")
                .values("firebreak:isolation")
                .build(),
        )
        .send()
        .await
        .unwrap()
        .reservations()
        .iter()
        .map(|r| r.instances().len())
        .sum::<usize>();
    let cap = (10 + earlier).to_string();
    let f = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic.as_str()),
            ("FIREBREAK_MAX_QUARANTINES_PER_HOUR", cap.as_str()),
        ],
    )
    .await;
    let report = f
        .invoke(&fleet_sequence(&unique("fleet"), region, &ids))
        .await
        .unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    for id in &ids {
        let groups = aws.groups_of(id).await;
        assert_ne!(groups, vec![app.clone()], "{id} isolated");
        assert_eq!(aws.group_rules(&groups[0]).await.1, 0, "{id}: no inbound");
    }
    let messages = home.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "told once: {messages:?}");

    // The cap is reached now (30 quarantines this hour, cap 10 + earlier): a second sequence over
    // five more instances is held back whole.
    let more = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 5)
        .await;
    let more: Vec<String> = more.into_iter().map(|(i, _)| i).collect();
    let held = f
        .invoke(&fleet_sequence(&unique("fleet-held"), region, &more))
        .await
        .unwrap();
    assert_eq!(held["verdict"], "needs-human", "{held}");
    for id in &more {
        assert_eq!(
            aws.groups_of(id).await,
            vec![app.clone()],
            "{id} not isolated"
        );
    }
}
