//! Chat-ready notifications, through the real binaries against the local AWS: what each kind of
//! SNS subscriber gets. A queue (standing in for AWS Chatbot's HTTPS subscription, which gets the
//! same `default` key) reads an AWS Chatbot custom notification in the finding's thread; an e-mail
//! subscriber reads the plain text; a custom action on 100 findings sends one digest.
//!
//! The schema checked is the one AWS documents for custom notifications (Amazon Q Developer in
//! chat applications, "Custom notifications": event schema and parameter details).

use std::time::Duration;

use firebreak_tests::faults::email_deliveries;
use firebreak_tests::fixtures::{
    asff_instance, custom_action_event, guardduty_asff, guardduty_event, readable, unique, Aws,
};
use firebreak_tests::Function;
use serde_json::Value;

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// Fails unless `v` is a custom notification as Chatbot's schema has it: `version` "1.0" and
/// `source` "custom" (required), `content` with a `description` (required) and only the
/// documented fields, each of its documented type; `metadata` likewise.
fn assert_chatbot_custom_notification(v: &Value) {
    let top = v.as_object().expect("a JSON object");
    for key in top.keys() {
        assert!(
            ["version", "source", "id", "content", "metadata"].contains(&key.as_str()),
            "undocumented field {key} in {v}"
        );
    }
    assert_eq!(v["version"], "1.0", "{v}");
    assert_eq!(v["source"], "custom", "{v}");
    let content = v["content"].as_object().expect("content");
    for (key, value) in content {
        match key.as_str() {
            "textType" => assert_eq!(value, "client-markdown"),
            "title" | "description" => assert!(value.is_string(), "{key}: {value}"),
            "nextSteps" | "keywords" => assert!(
                value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)),
                "{key}: {value}"
            ),
            other => panic!("undocumented content field {other} in {v}"),
        }
    }
    let description = content["description"].as_str().expect("a description");
    assert!(!description.trim().is_empty());
    let metadata = v["metadata"].as_object().expect("metadata");
    for (key, value) in metadata {
        match key.as_str() {
            "threadId" | "summary" | "eventType" => assert!(value.is_string(), "{key}: {value}"),
            "relatedResources" => assert!(
                value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string)),
                "{key}: {value}"
            ),
            "additionalContext" => assert!(
                value
                    .as_object()
                    .is_some_and(|o| o.values().all(Value::is_string)),
                "{key}: {value}"
            ),
            "enableCustomActions" => assert!(value.is_boolean(), "{key}: {value}"),
            other => panic!("undocumented metadata field {other} in {v}"),
        }
    }
}

/// The chat notification an SQS envelope carries.
fn chat_of(envelope: &Value) -> Value {
    let message = envelope["Message"].as_str().expect("an SNS envelope");
    serde_json::from_str(message).unwrap_or_else(|e| panic!("not JSON ({e}): {message}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guardduty_response_is_a_chat_notification_in_the_finding_s_thread_and_plain_text_by_email(
) {
    // GIVEN an instance, and a topic with a queue, an e-mail and an email-json subscriber
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.61.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let email = aws.email_subscription(&topic, "email").await;
    let email_json = aws.email_subscription(&topic, "email-json").await;
    let responder = Function::start(
        "guardduty-responder",
        &[("FIREBREAK_TOPIC_ARN", topic.as_str())],
    )
    .await;

    // WHEN GuardDuty reports it
    let finding_id = unique("gd");
    let enis = aws.eni_vpcs(&instance).await;
    let event = guardduty_event(&finding_id, C2, 8.0, &instance, &enis, "ACTOR");
    let report = responder.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");

    // THEN the queue reads a Chatbot custom notification in the finding's thread, with the
    // filterable attributes and subject as before
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1);
    let envelope = &messages[0];
    let chat = chat_of(envelope);
    assert_chatbot_custom_notification(&chat);
    assert_eq!(chat["metadata"]["threadId"], finding_id.as_str(), "{chat}");
    assert_eq!(chat["metadata"]["eventType"], "firebreak-contained");
    assert_eq!(
        chat["metadata"]["additionalContext"]["resource"],
        instance.as_str()
    );
    assert!(chat["content"]["title"]
        .as_str()
        .unwrap()
        .contains("CONTAINED"));
    assert_eq!(
        envelope["MessageAttributes"]["outcome"]["Value"],
        "contained"
    );
    let subject = envelope["Subject"].as_str().unwrap();
    assert!(subject.contains(&instance));

    // AND the e-mail subscriber reads plain text: the same text, then the structured report
    let mails = email_deliveries(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], subject);
    let mail = mails[0]["message"].as_str().unwrap();
    assert!(
        serde_json::from_str::<Value>(mail).is_err(),
        "not JSON: {mail}"
    );
    assert!(
        mail.starts_with(&format!("Firebreak CONTAINED {instance}")),
        "{mail}"
    );
    let (text, structured) = mail.split_once("\n--- structured report ---\n").unwrap();
    assert!(
        text.contains("HOW TO RELEASE") && text.contains(&app),
        "{text}"
    );
    assert_eq!(text.trim_end(), readable(envelope).trim_end());
    let structured: Value = serde_json::from_str(structured).unwrap();
    assert_eq!(structured["finding_id"], finding_id.as_str());

    // AND an email-json subscriber (a program) gets the chat notification in SNS's envelope
    let programs = email_deliveries(&email_json).await;
    assert_eq!(programs.len(), 1, "{programs:?}");
    let wrapped: Value = serde_json::from_str(programs[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(wrapped["Type"], "Notification");
    assert_eq!(chat_of(&wrapped), chat);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_action_on_a_hundred_findings_sends_one_digest() {
    // GIVEN 100 GuardDuty findings in Security Hub
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let email = aws.email_subscription(&topic, "email").await;
    let ids: Vec<String> = (0..100).map(|i| unique(&format!("gd{i:03}"))).collect();
    let findings: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let instance = format!("i-0{i:016x}");
            guardduty_asff(id, C2, 8.0, asff_instance(&instance, "vpc-0e2e"))
        })
        .collect();
    aws.import_findings(&findings).await;
    let function = Function::start(
        "securityhub-action",
        &[("FIREBREAK_TOPIC_ARN", topic.as_str())],
    )
    .await;

    // WHEN an analyst selects all of them and escalates (FbNotify)
    let answer = function
        .invoke(&custom_action_event("FbNotify", &findings))
        .await
        .unwrap();

    // THEN every finding was handled, and the team is told once: one digest
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert!(
        results.iter().all(|r| r["verdict"] == "notified-only"),
        "{answer}"
    );
    let messages = aws.messages(&queue, 2, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "one digest, not one message per finding");
    let chat = chat_of(&messages[0]);
    assert_chatbot_custom_notification(&chat);
    let thread = chat["metadata"]["threadId"].as_str().unwrap();
    assert!(thread.starts_with("firebreak-batch-"), "{thread}");
    assert_eq!(chat["metadata"]["eventType"], "firebreak-digest");
    assert_eq!(chat["metadata"]["additionalContext"]["findings"], "100");
    let lines = readable(&messages[0]);
    for id in &ids {
        let line = format!("finding {id}");
        let once = lines.lines().filter(|l| l.ends_with(&line)).count();
        assert_eq!(once, 1, "{id} in\n{lines}");
    }
    assert_eq!(messages[0]["MessageAttributes"]["findings"]["Value"], "100");
    assert!(messages[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("100 findings, 100 NOTICE"));

    // AND the e-mail is the one digest too, with each finding's line
    let mails = email_deliveries(&email).await;
    assert_eq!(mails.len(), 1);
    let mail = mails[0]["message"].as_str().unwrap();
    assert!(
        mail.starts_with("Firebreak FbNotify (apply) on 100 findings: 100 NOTICE."),
        "{mail}"
    );

    // AND each finding says the team was told (once the digest was out)
    for finding in [&findings[0], &findings[50], &findings[99]] {
        let (workflow, note, _) = aws.finding_state(finding["Id"].as_str().unwrap()).await;
        assert_eq!(workflow, "NOTIFIED");
        assert!(note.unwrap().contains("Team notified."));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_action_on_one_finding_is_one_message_in_the_finding_s_thread() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let id = unique("gd");
    let finding = guardduty_asff(
        &id,
        C2,
        8.0,
        asff_instance("i-0123456789abcdef0", "vpc-0e2e"),
    );
    aws.import_findings(std::slice::from_ref(&finding)).await;
    let function = Function::start(
        "securityhub-action",
        &[("FIREBREAK_TOPIC_ARN", topic.as_str())],
    )
    .await;

    function
        .invoke(&custom_action_event(
            "FbNotify",
            std::slice::from_ref(&finding),
        ))
        .await
        .unwrap();

    // The GuardDuty finding's own id: the same thread as GuardDuty's automatic response to it.
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    let chat = chat_of(&messages[0]);
    assert_chatbot_custom_notification(&chat);
    assert_eq!(chat["metadata"]["threadId"], id.as_str(), "{chat}");
    assert_eq!(chat["metadata"]["eventType"], "firebreak-notified-only");
}
