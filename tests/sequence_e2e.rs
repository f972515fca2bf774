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
fn sequence_event(finding: &str, instance: &str, user: &str, key: &str) -> Value {
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
