//! SNS: Publish checks, e-mail deliveries.

use std::time::Duration;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use firebreak_tests::faults;
use firebreak_tests::fixtures::{unique, Aws};

/// SNS Publish with `MessageStructure=json` (Publish API reference): the message must be a JSON
/// object with a top-level "default" key whose value is a string, whoever subscribes. Plain moto
/// checks only while delivering, so with no subscriber it accepts anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_structure_needs_a_default_string_even_with_no_subscriber() {
    let aws = Aws::new().await;
    let topic = aws
        .sns
        .create_topic()
        .name(unique("fidelity"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let publish = |message: &str| {
        aws.sns
            .publish()
            .topic_arn(&topic)
            .message_structure("json")
            .message(message)
            .send()
    };
    for refused in [
        r#"{"email": "only for e-mail"}"#,
        r#"{"default": {"not": "a string"}}"#,
        "not JSON",
    ] {
        let e = publish(refused).await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameter"), "{refused}: {e:?}");
    }
    publish(r#"{"default": "for everyone", "email": "for people"}"#)
        .await
        .unwrap();
}

/// SNS's message size limit counts bytes ("262,144 bytes, not 262,144 characters"); plain moto
/// counts characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_size_limit_counts_bytes() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let publish = |message: String| aws.sns.publish().topic_arn(&topic).message(message).send();
    // 200,000 characters of two bytes each: 400,000 bytes.
    let e = publish("é".repeat(200_000)).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameter"), "{e:?}");
    publish("a".repeat(262_144)).await.unwrap();
}

/// An e-mail subscriber gets the structure's "email" key (else "default") as its body, and an
/// email-json subscriber the JSON envelope; plain moto delivers (and records) nothing for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mail_subscribers_get_their_key_of_the_message_structure() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let email = aws.email_subscription(&topic, "email").await;
    let email_json = aws.email_subscription(&topic, "email-json").await;

    aws.sns
        .publish()
        .topic_arn(&topic)
        .subject("the subject")
        .message_structure("json")
        .message(r#"{"default": "for everyone", "email": "for people"}"#)
        .send()
        .await
        .unwrap();

    let mails = faults::email_deliveries(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "the subject");
    assert_eq!(mails[0]["message"], "for people");
    let programs = faults::email_deliveries(&email_json).await;
    assert_eq!(programs.len(), 1, "{programs:?}");
    let envelope: serde_json::Value =
        serde_json::from_str(programs[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Message"], "for everyone");
    assert_eq!(envelope["Subject"], "the subject");
    let queued = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(queued[0]["Message"], "for everyone");
}
