//! Told exactly once (issue 21), through the real binary against the local AWS: a first message
//! lost to a failed publish is sent by the retry, and a redelivery after a message that went out is
//! silent; an `ask` waiting for a human is not asked again by its redeliveries. Whether the team was
//! told is read from the instance's status (`quarantined told`), not from another tag.

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{guardduty_event, unique, Aws};
use firebreak_tests::{Function, Invocation};

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
