//! Decisions from chat, through the real binaries against the local AWS: the template's AWS
//! Chatbot custom actions (Approve, Reject, Release) are clicked the way Chatbot runs them — each
//! attachment's `Variables` read from the chat notification Firebreak published, its `Criteria`
//! deciding whether the button is there, `$name` replaced in the `CommandText`, and the resulting
//! `lambda invoke --function-name … --region … --payload …` sent to `securityhub-action` — and the
//! instance's state is read back. What is refused (a decision the deployment did not turn on, a
//! payload naming an instance that waits for nothing) changes nothing.
//!
//! Chatbot's side as AWS documents it (Amazon Q Developer in chat applications, "Custom actions";
//! `AWS::Chatbot::CustomAction`): a command of at most 100 characters, variables prefixed with `$`,
//! at most 5 variables an attachment, criteria `HAS_VALUE` / `EQUALS`. The variable paths
//! (`event.metadata.additionalContext.<key>`) are the ones every published example uses; AWS's
//! pages do not spell the grammar out (LOCAL-AWS.md).

use std::path::PathBuf;
use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{guardduty_event_with, unique, Aws};
use firebreak_tests::{Function, Invocation};
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

const ASK: &str = r#"
version = 1

[[rule]]
name = "crypto asks"
finding_types = ["CryptoCurrency:EC2/*"]
response = "ask"
"#;

const FUNCTION: &str = "firebreak-securityhub-action";

fn template() -> Yaml {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// What a click on `action`'s button sends, if the notification has the button: the function,
/// the region and the payload.
fn click(template: &Yaml, action: &str, chat: &Value) -> Option<(String, String, Value)> {
    let props = &template["Resources"][action]["Properties"];
    let command = props["Definition"]["CommandText"].as_str().unwrap();
    assert!(
        command.len() <= 100,
        "{action}: {} characters",
        command.len()
    );
    let attachment = &props["Attachments"][0];
    assert_eq!(attachment["NotificationType"], "Custom");
    let variables = attachment["Variables"].as_mapping().unwrap();
    assert!(variables.len() <= 5);
    let mut values = Vec::new();
    for (name, path) in variables {
        let mut v = chat;
        for part in path.as_str().unwrap().strip_prefix("event.")?.split('.') {
            v = &v[part];
        }
        values.push((
            name.as_str().unwrap().to_string(),
            v.as_str().map(String::from),
        ));
    }
    for c in attachment["Criteria"].as_sequence().unwrap() {
        let name = c["VariableName"].as_str().unwrap();
        let value = values.iter().find(|(n, _)| n == name).unwrap().1.clone();
        match c["Operator"].as_str().unwrap() {
            "HAS_VALUE" if value.as_deref().is_none_or(str::is_empty) => return None,
            "EQUALS" if value.as_deref() != c["Value"].as_str() => return None,
            _ => {}
        }
    }
    // Longest names first, so `$ab` is not read as `$a` then `b`.
    values.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    let mut text = command.to_string();
    for (name, value) in &values {
        text = text.replace(&format!("${name}"), value.as_deref().unwrap_or(""));
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(
        words[..3],
        ["lambda", "invoke", "--function-name"],
        "{text}"
    );
    assert_eq!(words[4], "--region", "{text}");
    assert_eq!(words[6], "--payload", "{text}");
    assert_eq!(words.len(), 8, "one CLI word per argument: {text}");
    let payload = serde_json::from_str(words[7]).expect("the payload is JSON");
    Some((words[3].to_string(), words[5].to_string(), payload))
}

fn playbook_file() -> String {
    let path = std::env::temp_dir().join(format!("{}.toml", unique("playbook")));
    std::fs::write(&path, ASK).unwrap();
    path.to_string_lossy().into_owned()
}

async fn responder(topic: &str, decisions: &str) -> Function {
    Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic),
            ("FIREBREAK_PLAYBOOK_FILE", &playbook_file()),
            ("FIREBREAK_APPROVAL_FUNCTION", FUNCTION),
            ("FIREBREAK_CHAT_DECISIONS", decisions),
        ],
    )
    .await
}

async fn decider(topic: &str, decisions: &str) -> Function {
    Function::start(
        "securityhub-action",
        &[
            ("FIREBREAK_TOPIC_ARN", topic),
            ("FIREBREAK_APPROVAL_FUNCTION", FUNCTION),
            ("FIREBREAK_CHAT_DECISIONS", decisions),
        ],
    )
    .await
}

/// The chat notifications that arrived, oldest first.
async fn chats(aws: &Aws, queue: &str, at_least: usize) -> Vec<Value> {
    aws.messages(queue, at_least, Duration::from_secs(10))
        .await
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().unwrap()).unwrap())
        .collect()
}

struct Asked {
    id: String,
    app: String,
    finding: String,
}

async fn ask(aws: &Aws, responder: &Function, cidr: &str) -> Asked {
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let id = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let finding = unique("chat");
    let interfaces = aws.finding_interfaces(&id).await;
    let e = guardduty_event_with(
        &finding,
        "CryptoCurrency:EC2/BitcoinTool.B",
        8.0,
        &id,
        interfaces,
        "ACTOR",
    );
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(report["verdict"], "awaiting-approval", "{report}");
    Asked { id, app, finding }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approve_then_release_from_chat_buttons_contains_then_restores_and_records_the_request() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let region = topic.split(':').nth(3).unwrap().to_string();
    let template = template();
    let responder = responder(&topic, "approve-reject-release").await;
    let asked = ask(&aws, &responder, "10.131.0.0/16").await;

    let chat = chats(&aws, &queue, 1)
        .await
        .pop()
        .expect("the ask's notification");
    assert!(
        click(&template, "ChatReleaseAction", &chat).is_none(),
        "no release on an ask"
    );
    assert!(click(&template, "ChatRejectAction", &chat).is_some());
    let (function, at, payload) =
        click(&template, "ChatApproveAction", &chat).expect("an Approve button");
    assert_eq!(
        (function.as_str(), at.as_str()),
        (FUNCTION, region.as_str())
    );

    let decider = decider(&topic, "approve-reject-release").await;
    let approved = decider.invoke(&payload).await.unwrap();
    assert_eq!(approved["verdict"], "contained", "{approved}");
    let groups = aws.groups_of(&asked.id).await;
    assert_eq!(groups.len(), 1);
    assert_ne!(
        groups,
        vec![asked.app.clone()],
        "isolated after the approval"
    );
    let tags = aws.tags(&asked.id).await;
    assert_eq!(tag(&tags, "firebreak:status"), Some("quarantined told"));
    let decision = tag(&tags, "firebreak:decision").unwrap_or_default();
    assert!(
        decision.starts_with("approved ") && decision.contains("by chat-request-"),
        "{decision}"
    );

    // The approval's own notification (same thread) carries Release.
    let chat = chats(&aws, &queue, 1)
        .await
        .pop()
        .expect("the approval's notification");
    assert_eq!(chat["metadata"]["threadId"], asked.finding.as_str());
    assert!(click(&template, "ChatApproveAction", &chat).is_none());
    let (_, _, payload) = click(&template, "ChatReleaseAction", &chat).expect("a Release button");
    let released = decider.invoke(&payload).await.unwrap();
    assert_eq!(released["verdict"], "released", "{released}");
    assert_eq!(aws.groups_of(&asked.id).await, vec![asked.app.clone()]);
    assert_eq!(
        tag(&aws.tags(&asked.id).await, "firebreak:status"),
        None,
        "released"
    );

    // The same click again: nothing waits for it any more.
    let again = decider.invoke(&payload).await;
    assert!(
        matches!(&again, Invocation::Error { error_type, .. } if error_type == "InvalidEvent.InvalidField"),
        "{again:?}"
    );
    assert_eq!(aws.groups_of(&asked.id).await, vec![asked.app.clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_deployment_did_not_turn_on_or_nothing_waits_for_is_refused_and_changes_nothing() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let template = template();

    // Off (the default): no button, and a typed-in decision is refused.
    let off = responder(&topic, "off").await;
    let asked = ask(&aws, &off, "10.132.0.0/16").await;
    let chat = chats(&aws, &queue, 1).await.pop().unwrap();
    for action in ["ChatApproveAction", "ChatRejectAction", "ChatReleaseAction"] {
        assert!(
            click(&template, action, &chat).is_none(),
            "{action} on {chat}"
        );
    }
    let account = firebreak_tests::ACCOUNT;
    let x = format!("{account}/us-east-1/{}/{}", asked.id, asked.finding);
    let typed = json!({"fb-chat": "approve", "x": x});
    let refused = decider(&topic, "off").await.invoke(&typed).await;
    assert!(matches!(&refused, Invocation::Error { .. }), "{refused:?}");
    assert_eq!(aws.groups_of(&asked.id).await, vec![asked.app.clone()]);

    // Approve and reject only: a release typed by hand is refused on a contained instance.
    let decider = decider(&topic, "approve-reject").await;
    let approved = decider.invoke(&typed).await.unwrap();
    assert_eq!(approved["verdict"], "contained", "{approved}");
    let isolated = aws.groups_of(&asked.id).await;
    let chat = chats(&aws, &queue, 1).await.pop().unwrap();
    assert!(click(&template, "ChatReleaseAction", &chat).is_none());
    let release = json!({"fb-chat": "release", "x": x});
    let refused = decider.invoke(&release).await;
    assert!(matches!(&refused, Invocation::Error { .. }), "{refused:?}");
    assert_eq!(aws.groups_of(&asked.id).await, isolated, "still isolated");

    // A payload naming an instance that waits for nothing, or another finding: refused.
    let (vpc, subnet) = aws.vpc("10.133.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let bystander = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    for x in [
        format!("{account}/us-east-1/{bystander}/{}", asked.finding),
        format!("{account}/us-east-1/{}/another-finding", asked.id),
    ] {
        let refused = decider.invoke(&json!({"fb-chat": "reject", "x": x})).await;
        assert!(matches!(&refused, Invocation::Error { .. }), "{refused:?}");
    }
    assert_eq!(aws.groups_of(&bystander).await, vec![app]);
    assert_eq!(aws.groups_of(&asked.id).await, isolated);
    assert_eq!(
        tag(&aws.tags(&asked.id).await, "firebreak:status"),
        Some("quarantined told")
    );
}
