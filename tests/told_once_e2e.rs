//! Told exactly once (issue 21), through the real binary against the local AWS: a first message
//! lost to a failed publish is sent by the retry, and a redelivery after a message that went out is
//! silent; an `ask` waiting for a human is not asked again by its redeliveries. Whether the team was
//! told is read from the resource's own record, not from another tag: an instance's, a function's
//! or a user's status (`quarantined told`, `stopped told`, `credentials-revoked told`), a bucket's
//! finding record (`<finding> told`).

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak::tags;
use firebreak_tests::fixtures::{credential_event, guardduty_event, unique, unsealed, Aws};
use firebreak_tests::{Function, Invocation};
use serde_json::{json, Value};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_lost_to_a_failed_publish_is_sent_by_the_retry_and_never_twice() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.126.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let enis = aws.eni_vpcs(&instance).await;
    let event = guardduty_event(&unique("told"), C2, 8.0, &instance, &enis, "ACTOR");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;

    // The topic is gone when the first delivery publishes: contained, the team not told.
    aws.sns
        .delete_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    match responder.invoke(&event).await {
        Invocation::Error { error_type, .. } => assert_eq!(error_type, "NotificationFailed"),
        other => panic!("the publish should have failed: {other:?}"),
    }
    assert_ne!(
        aws.groups_of(&instance).await,
        vec![app.clone()],
        "contained"
    );
    let status = tag(&aws.tags(&instance).await, "firebreak:status").map(String::from);
    assert_eq!(status.as_deref(), Some("quarantined"), "not marked told");

    // The topic is back; Lambda's retry changes nothing on the instance, and tells the team.
    let name = topic.rsplit(':').next().unwrap();
    aws.sns.create_topic().name(name).send().await.unwrap();
    aws.subscribe_queue(&topic, &queue).await;
    let retry = responder.invoke(&event).await.unwrap();
    assert_eq!(retry["verdict"], "contained", "{retry}");
    let messages = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "the retry tells: {messages:?}");
    let status = tag(&aws.tags(&instance).await, "firebreak:status").map(String::from);
    assert_eq!(status.as_deref(), Some("quarantined told"));

    // A redelivery after that: silent.
    responder.invoke(&event).await.unwrap();
    let more = aws.messages(&queue, 1, Duration::from_secs(2)).await;
    assert!(more.is_empty(), "told twice: {more:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_waiting_for_a_human_is_not_asked_again_by_its_redeliveries() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.127.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let enis = aws.eni_vpcs(&instance).await;
    // A playbook that asks first about cryptocurrency mining.
    let playbook = std::env::temp_dir().join(format!("{}.toml", unique("ask-playbook")));
    std::fs::write(
        &playbook,
        "version = 1\n[[rule]]\nname = \"crypto\"\nfinding_types = [\"CryptoCurrency:*\"]\n\
         response = \"ask\"\n",
    )
    .unwrap();
    let event = guardduty_event(
        &unique("ask"),
        "CryptoCurrency:EC2/BitcoinTool.B",
        8.0,
        &instance,
        &enis,
        "ACTOR",
    );
    let playbook = playbook.to_string_lossy().into_owned();
    let env = [
        ("FIREBREAK_TOPIC_ARN", topic.as_str()),
        ("FIREBREAK_PLAYBOOK_FILE", playbook.as_str()),
    ];
    let responder = Function::start("guardduty-responder", &env).await;
    for _ in 0..3 {
        let got = responder.invoke(&event).await.unwrap();
        assert_eq!(got["verdict"], "awaiting-approval", "{got}");
    }
    let messages = aws.messages(&queue, 2, Duration::from_secs(5)).await;
    assert_eq!(
        messages.len(),
        1,
        "one AWAITING APPROVAL message: {messages:?}"
    );
    assert_eq!(aws.groups_of(&instance).await, vec![app]);
}

/// The first delivery of `event` with the topic gone (the publish fails: `NotificationFailed`),
/// `before_retry` read then; the topic back for Lambda's retry, which tells the team once; and a
/// redelivery after that, which is silent.
async fn lost_then_told_once<T>(
    aws: &Aws,
    event: &Value,
    before_retry: impl AsyncFnOnce() -> T,
) -> T {
    let (topic, queue) = aws.topic_with_queue().await;
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    aws.sns
        .delete_topic()
        .topic_arn(&topic)
        .send()
        .await
        .unwrap();
    match responder.invoke(event).await {
        Invocation::Error { error_type, .. } => assert_eq!(error_type, "NotificationFailed"),
        other => panic!("the publish should have failed: {other:?}"),
    }
    let before = before_retry().await;
    let name = topic.rsplit(':').next().unwrap();
    aws.sns.create_topic().name(name).send().await.unwrap();
    aws.subscribe_queue(&topic, &queue).await;
    responder.invoke(event).await.unwrap();
    let messages = aws.messages(&queue, 2, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "the retry tells, once: {messages:?}");
    responder.invoke(event).await.unwrap();
    let more = aws.messages(&queue, 1, Duration::from_secs(2)).await;
    assert!(more.is_empty(), "told twice: {more:?}");
    before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_s_lost_message_is_sent_by_the_retry_and_never_twice() {
    let aws = Aws::new().await;
    let (_role, role_arn) = aws.lambda_role().await;
    let name = unique("told-fn");
    let arn = crate::function_e2e::plain_function(&aws, &name, &role_arn).await;
    let event = crate::function_e2e::finding_event(&unique("told-fn"), &arn, &name, &role_arn, "");
    let status = async || {
        let (_, _, raw) = crate::function_e2e::state(&aws, &name).await;
        tag(&unsealed(&arn, raw), "firebreak:status").map(String::from)
    };
    let first = lost_then_told_once(&aws, &event, status).await;
    assert_eq!(
        first.as_deref(),
        Some("stopped"),
        "stopped, not marked told"
    );
    assert_eq!(status().await.as_deref(), Some("stopped told"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_s_lost_message_is_sent_by_the_retry_and_never_twice() {
    let aws = Aws::new().await;
    let name = crate::bucket_e2e::bucket(&aws).await;
    let (user, keys) = aws.user_with_keys().await;
    let finding = unique("told-s3");
    let event = crate::bucket_e2e::finding_event(
        &finding,
        "Exfiltration:S3/AnomalousBehavior",
        json!({"resourceType": "S3Bucket",
            "s3BucketDetails": [{"name": name, "arn": format!("arn:aws:s3:::{name}"),
                                 "type": "Destination"}],
            "accessKeyDetails": {"accessKeyId": keys[0], "principalId": "AIDAEXAMPLE",
                                 "userName": user, "userType": "IAMUser"}}),
    );
    let record = async || crate::bucket_e2e::bucket_tag(&aws, &name, tags::FINDING).await;
    let first = lost_then_told_once(&aws, &event, record).await;
    assert_eq!(
        first.as_deref(),
        Some(finding.as_str()),
        "recorded, not marked told"
    );
    assert_eq!(record().await, Some(format!("{finding} told")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_key_s_lost_message_is_sent_by_the_retry_and_never_twice() {
    let _turn = crate::credential_e2e::IAM.lock().await;
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    let event = credential_event(
        &unique("told-key"),
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        8.0,
        &crate::credential_e2e::user_key(&keys[0], &user),
        None,
    );
    let status = async || {
        let tags = aws.user_state(&user).await.tags;
        tag(&tags, "firebreak:status").map(String::from)
    };
    let first = lost_then_told_once(&aws, &event, status).await;
    assert_eq!(
        first.as_deref(),
        Some("credentials-revoked"),
        "not marked told"
    );
    assert_eq!(status().await.as_deref(), Some("credentials-revoked told"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attack_sequence_s_lost_message_is_sent_by_the_retry_and_never_twice() {
    let _turn = crate::credential_e2e::IAM.lock().await;
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.128.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let (user, keys) = aws.user_with_keys().await;
    let event =
        crate::sequence_e2e::sequence_event(&unique("told-seq"), &instance, &user, &keys[0]);
    let status = async || tag(&aws.tags(&instance).await, "firebreak:status").map(String::from);
    let first = lost_then_told_once(&aws, &event, status).await;
    // The members were not marked told while the sequence's message was lost.
    assert_eq!(first.as_deref(), Some("quarantined"), "not marked told");
    assert_eq!(status().await.as_deref(), Some("quarantined told"));
    let user_status = tag(&aws.user_state(&user).await.tags, "firebreak:status").map(String::from);
    assert_eq!(user_status.as_deref(), Some("credentials-revoked told"));
}
