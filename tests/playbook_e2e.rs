//! The team's playbook through the real binaries, state read back from the local AWS: a custom
//! playbook (an account-scoped `ask`, a tag-scoped `ignore`, a glob `contain`) decides as written;
//! `ask` leaves the instance un-isolated, snapshotted, protected and `awaiting-approval`, and the
//! approval command from the response then contains it and records who decided; a rejection lifts
//! the protection; an invalid playbook stops the function at start-up naming the rule.

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{guardduty_event_with, unique, Aws};
use firebreak_tests::{Function, Invocation, ACCOUNT};
use serde_json::{json, Value};

const PLAYBOOK: &str = r#"
version = 1

[[rule]]
name = "crypto in prod accounts"
finding_types = ["CryptoCurrency:EC2/*"]
accounts = ["123456789012"]
response = "ask"

[[rule]]
name = "sandbox noise"
tags = { environment = "sandbox" }
response = "ignore"

[[rule]]
name = "any backdoor"
finding_types = ["Backdoor:*"]
min_severity = 5.0
response = "contain"

[[rule]]
name = "everything else"
response = "notify"
"#;

fn playbook_file(text: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}.toml", unique("playbook")));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

struct Instance {
    id: String,
    app: String,
}

async fn instance(aws: &Aws, cidr: &str, tags: &[(&str, &str)]) -> Instance {
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let id = aws
        .instance(&subnet, std::slice::from_ref(&app), tags)
        .await;
    Instance { id, app }
}

async fn event(
    aws: &Aws,
    i: &Instance,
    finding: &str,
    finding_type: &str,
    tags: &[(&str, &str)],
) -> Value {
    let interfaces = aws.finding_interfaces(&i.id).await;
    let mut e = guardduty_event_with(finding, finding_type, 8.0, &i.id, interfaces, "ACTOR");
    let tags: Vec<Value> = tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    e["detail"]["resource"]["instanceDetails"]["tags"] = json!(tags);
    e
}

/// `guardduty-responder` with this playbook, naming the approval function in its notifications.
async fn responder(topic: &str, playbook: &str) -> Function {
    Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic),
            ("FIREBREAK_PLAYBOOK_FILE", playbook),
            (
                "FIREBREAK_APPROVAL_FUNCTION",
                "firebreak-securityhub-action",
            ),
        ],
    )
    .await
}

/// The approval event inside the ready command (`--payload '…'`), with a name in `by`.
fn approval_event(report: &Value, decision: &str, by: &str) -> Value {
    let lines = report["approval"].as_array().expect("approval lines");
    let command = lines
        .iter()
        .filter_map(Value::as_str)
        .find(|l| {
            l.contains("aws lambda invoke") && l.contains(&format!("\"decision\":\"{decision}\""))
        })
        .expect("a ready command");
    let payload = command
        .split("--payload '")
        .nth(1)
        .unwrap()
        .split("' ")
        .next()
        .unwrap();
    let mut event: Value = serde_json::from_str(payload).unwrap();
    event["firebreak-approval"]["by"] = json!(by);
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_playbook_decides_as_written_and_an_approval_then_contains() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let file = playbook_file(PLAYBOOK);
    let responder = responder(&topic, &file).await;
    let crypto = instance(&aws, "10.120.0.0/16", &[]).await;
    let sandbox = instance(&aws, "10.121.0.0/16", &[("environment", "sandbox")]).await;
    let backdoor = instance(&aws, "10.122.0.0/16", &[]).await;

    // Account-scoped ask: evidence, no isolation, awaiting approval.
    let asked = unique("crypto");
    let e = event(
        &aws,
        &crypto,
        &asked,
        "CryptoCurrency:EC2/BitcoinTool.B",
        &[],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(report["verdict"], "awaiting-approval", "{report}");
    assert_eq!(
        report["plan"]["decided_by"],
        "rule 1: crypto in prod accounts → ask"
    );
    assert_eq!(
        aws.groups_of(&crypto.id).await,
        vec![crypto.app.clone()],
        "not isolated"
    );
    assert!(aws.protection(&crypto.id).await.termination_protection);
    assert!(
        !aws.finding_snapshots(&asked).await.is_empty(),
        "snapshotted"
    );
    let tags = aws.tags(&crypto.id).await;
    assert_eq!(
        tag(&tags, "firebreak:status"),
        Some("awaiting-approval told")
    );

    // Tag-scoped ignore: nothing touched, nothing sent.
    let ignored = unique("sandbox");
    let e = event(
        &aws,
        &sandbox,
        &ignored,
        "Backdoor:EC2/C&CActivity.B",
        &[("environment", "sandbox")],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(
        report["plan"]["decided_by"],
        "rule 2: sandbox noise → ignore"
    );
    assert_eq!(aws.groups_of(&sandbox.id).await, vec![sandbox.app.clone()]);
    assert!(aws.finding_snapshots(&ignored).await.is_empty());
    assert!(!aws
        .tags(&sandbox.id)
        .await
        .iter()
        .any(|(k, _)| k.starts_with("firebreak:")));

    // Glob contain.
    let contained = unique("backdoor");
    let e = event(&aws, &backdoor, &contained, "Backdoor:EC2/Spambot", &[]).await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    assert_eq!(
        report["plan"]["decided_by"],
        "rule 3: any backdoor → contain"
    );
    assert_ne!(
        aws.groups_of(&backdoor.id).await,
        vec![backdoor.app.clone()]
    );

    // Two messages (ask, contain), none for the ignored finding; the ask names the rule.
    let messages = aws.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 2, "{messages:?}");
    let all = serde_json::to_string(&messages).unwrap();
    assert!(
        all.contains("crypto in prod accounts") && all.contains(&asked),
        "{all}"
    );
    assert!(!all.contains(&ignored), "the ignored finding was notified");

    // The approval, with the command from the response: contained, and who decided is recorded.
    let e = event(
        &aws,
        &crypto,
        &asked,
        "CryptoCurrency:EC2/BitcoinTool.B",
        &[],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(
        report["verdict"], "awaiting-approval",
        "a redelivery still waits: {report}"
    );
    let approver = Function::start("securityhub-action", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let approved = approver
        .invoke(&approval_event(&report, "approve", "alice"))
        .await
        .unwrap();
    assert_eq!(approved["verdict"], "contained", "{approved}");
    let after = aws.groups_of(&crypto.id).await;
    assert_eq!(after.len(), 1);
    assert_ne!(
        after,
        vec![crypto.app.clone()],
        "isolated after the approval"
    );
    let tags = aws.tags(&crypto.id).await;
    assert_eq!(tag(&tags, "firebreak:status"), Some("quarantined told"));
    let decision = tag(&tags, "firebreak:decision").unwrap_or_default();
    assert!(
        decision.starts_with("approved ") && decision.contains("by alice"),
        "{decision}"
    );

    // A second decision is refused: the command decides only what is awaiting approval.
    let again_decided = approver
        .invoke(&approval_event(&report, "reject", "mallory"))
        .await;
    assert!(
        matches!(&again_decided, Invocation::Error { error_type, .. } if error_type == "InvalidEvent.InvalidField"),
        "{again_decided:?}"
    );
    assert_eq!(
        tag(&aws.tags(&crypto.id).await, "firebreak:status"),
        Some("quarantined told")
    );

    // A redelivery of the finding after the approval does not ask again.
    let again = responder.invoke(&e).await.unwrap();
    assert_ne!(again["verdict"], "awaiting-approval", "{again}");
    assert_eq!(
        tag(&aws.tags(&crypto.id).await, "firebreak:status"),
        Some("quarantined told")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejection_lifts_the_evidence_protection_and_records_who_decided() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let file = playbook_file(PLAYBOOK);
    let responder = responder(&topic, &file).await;
    let crypto = instance(&aws, "10.123.0.0/16", &[]).await;
    let finding = unique("crypto");
    let e = event(
        &aws,
        &crypto,
        &finding,
        "CryptoCurrency:EC2/BitcoinTool.B",
        &[],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert!(aws.protection(&crypto.id).await.termination_protection);
    let decider = Function::start("securityhub-action", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let rejected = decider
        .invoke(&approval_event(&report, "reject", "bob"))
        .await
        .unwrap();
    assert_eq!(rejected["verdict"], "released", "{rejected}");
    assert!(
        !aws.protection(&crypto.id).await.termination_protection,
        "protection lifted"
    );
    assert_eq!(aws.groups_of(&crypto.id).await, vec![crypto.app.clone()]);
    let tags = aws.tags(&crypto.id).await;
    assert_eq!(tag(&tags, "firebreak:status"), None);
    let decision = tag(&tags, "firebreak:decision").unwrap_or_default();
    assert!(
        decision.starts_with("rejected ") && decision.contains("by bob"),
        "{decision}"
    );
    assert!(
        !aws.finding_snapshots(&finding).await.is_empty(),
        "evidence is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_playbook_stops_the_function_at_start_up_naming_the_rule() {
    let broken = PLAYBOOK.replace("response = \"ignore\"", "response = \"shrug\"");
    let file = playbook_file(&broken);
    let mut f = Function::start(
        "guardduty-responder",
        &[
            (
                "FIREBREAK_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:t",
            ),
            ("FIREBREAK_PLAYBOOK_FILE", &file),
        ],
    )
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while f.is_alive() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !f.is_alive(),
        "the function must not start with an invalid playbook"
    );
    let logs = f.logs().join("\n");
    assert!(
        logs.contains("rule 2 (\\\"sandbox noise\\\")")
            || logs.contains("rule 2 (\"sandbox noise\")"),
        "{logs}"
    );
    assert!(
        logs.contains("unknown response") && logs.contains("shrug"),
        "{logs}"
    );
    let _ = ACCOUNT;
}

/// Reminder runs scan every instance waiting in their places: one at a time, so that one test's run
/// never reminds another's instance first.
static REMINDERS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_that_never_comes_is_reminded_once() {
    let _turn = REMINDERS.lock().await;
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let file = playbook_file(PLAYBOOK);
    let responder = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", &topic),
            ("FIREBREAK_PLAYBOOK_FILE", &file),
        ],
    )
    .await;
    let waiting = instance(&aws, "10.124.0.0/16", &[]).await;
    let fresh = instance(&aws, "10.125.0.0/16", &[]).await;
    for (i, name) in [(&waiting, "old-ask"), (&fresh, "new-ask")] {
        let e = event(
            &aws,
            i,
            &unique(name),
            "CryptoCurrency:EC2/BitcoinTool.B",
            &[],
        )
        .await;
        assert_eq!(
            responder.invoke(&e).await.unwrap()["verdict"],
            "awaiting-approval"
        );
    }
    let tags = aws.tags(&waiting.id).await;
    assert!(tag(&tags, "firebreak:awaiting-since").is_some(), "{tags:?}");
    // Two hours pass for the first one (its clock is its tag).
    aws.ec2
        .create_tags()
        .resources(&waiting.id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("firebreak:awaiting-since")
                .value(firebreak_tests::fixtures::sealed(
                    &waiting.id,
                    "old-ask",
                    "firebreak:awaiting-since",
                    "2020-01-01T00:00:00Z",
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let before = aws.messages(&queue, 2, Duration::from_secs(5)).await.len();
    assert_eq!(before, 2);

    let schedule = Function::start(
        "securityhub-action",
        &[
            ("FIREBREAK_TOPIC_ARN", &topic),
            ("FIREBREAK_REMIND_AFTER_MINUTES", "60"),
        ],
    )
    .await;
    for run in 0..2 {
        let got = schedule
            .invoke(&json!({"firebreak-reminders": {}}))
            .await
            .unwrap();
        let mine: Vec<&Value> = got["reminded"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["resource"] == waiting.id.as_str() || o["resource"] == fresh.id.as_str())
            .collect();
        match run {
            0 => assert_eq!(mine.len(), 1, "only the overdue one, once: {got}"),
            _ => assert!(mine.is_empty(), "never twice: {got}"),
        }
    }
    let reminded = |tags: &[(String, String)]| {
        tag(tags, "firebreak:awaiting-since").is_some_and(|v| v.ends_with(" reminded"))
    };
    assert!(reminded(&aws.tags(&waiting.id).await));
    assert!(!reminded(&aws.tags(&fresh.id).await));
    let messages = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "one reminder: {messages:?}");
    let text = serde_json::to_string(&messages[0]).unwrap();
    assert!(
        text.contains("REMINDER") && text.contains(&waiting.id),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_rules_match_the_instance_s_live_tags_not_the_finding_s_copy() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let file = playbook_file(PLAYBOOK);
    let responder = responder(&topic, &file).await;
    // The finding's copy says "sandbox" (an integration wrote it, or it is hours old); EC2 says
    // "prod": the backdoor is contained, not ignored.
    let prod = instance(&aws, "10.124.0.0/16", &[("environment", "prod")]).await;
    let e = event(
        &aws,
        &prod,
        &unique("claimed-sandbox"),
        "Backdoor:EC2/Spambot",
        &[("environment", "sandbox")],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(
        report["plan"]["decided_by"], "rule 3: any backdoor → contain",
        "{report}"
    );
    assert_eq!(report["verdict"], "contained", "{report}");
    assert_ne!(aws.groups_of(&prod.id).await, vec![prod.app.clone()]);
    // And the other way: the finding lists no tags, EC2 says "sandbox": the rule applies.
    let sandbox = instance(&aws, "10.125.0.0/16", &[("environment", "sandbox")]).await;
    let e = event(
        &aws,
        &sandbox,
        &unique("live-sandbox"),
        "Backdoor:EC2/Spambot",
        &[],
    )
    .await;
    let report = responder.invoke(&e).await.unwrap();
    assert_eq!(
        report["plan"]["decided_by"], "rule 2: sandbox noise → ignore",
        "{report}"
    );
    assert_eq!(aws.groups_of(&sandbox.id).await, vec![sandbox.app]);
}

/// An instance in `aws`'s account and region that has waited for approval since 2020 (its records
/// sealed as Firebreak writes them).
async fn waiting_since_2020(aws: &Aws, cidr: &str) -> String {
    let i = instance(aws, cidr, &[]).await;
    let seal = |key: &str, value: &str| {
        aws_sdk_ec2::types::Tag::builder()
            .key(key)
            .value(firebreak_tests::fixtures::sealed(
                &i.id, "old-ask", key, value,
            ))
            .build()
    };
    aws.ec2
        .create_tags()
        .resources(&i.id)
        .tags(seal("firebreak:status", "awaiting-approval"))
        .tags(seal("firebreak:awaiting-since", "2020-01-01T00:00:00Z"))
        .send()
        .await
        .unwrap();
    i.id
}

/// Reminders reach every account and region Firebreak acts in: an instance waiting in another
/// region of this account, and in a member account (through the member role) in two regions, is
/// reminded once each when those places are configured, and not when they are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_reach_the_member_accounts_and_regions_firebreak_acts_in() {
    let _turn = REMINDERS.lock().await;
    let member_account = "111111111111";
    let home = Aws::new().await;
    let (topic, queue) = home.topic_with_queue().await;
    let places = [
        Aws::in_region("us-west-2").await,
        Aws::in_account(member_account, "FirebreakResponder").await,
        Aws::in_account_and_region(member_account, "FirebreakResponder", "us-west-2").await,
    ];
    let mut waiting = Vec::new();
    for (n, aws) in places.iter().enumerate() {
        waiting.push(waiting_since_2020(aws, &format!("10.{}.0.0/16", 140 + n)).await);
    }
    let reminded = async |run: &Value| -> Vec<String> {
        let all = run["reminded"].as_array().unwrap();
        (all.iter())
            .filter_map(|o| o["resource"].as_str().map(String::from))
            .filter(|r| waiting.contains(r))
            .collect()
    };
    let schedule = |extra: &'static [(&'static str, &'static str)]| {
        let topic = topic.clone();
        async move {
            let mut env = vec![
                ("FIREBREAK_TOPIC_ARN", topic.as_str()),
                ("FIREBREAK_REMIND_AFTER_MINUTES", "60"),
                ("FIREBREAK_MEMBER_EXTERNAL_ID", "e2e-external-id"),
            ];
            env.extend_from_slice(extra);
            Function::start("securityhub-action", &env).await
        }
    };
    let event = json!({"firebreak-reminders": {}});

    // Only the function's own account and region: none of them.
    let own = schedule(&[]).await;
    let run = own.invoke(&event).await.unwrap();
    assert!(reminded(&run).await.is_empty(), "{run}");

    // Every place Firebreak acts in: each once, then never again.
    let everywhere = schedule(&[
        ("FIREBREAK_REMIND_ACCOUNTS", "111111111111"),
        ("FIREBREAK_REMIND_REGIONS", "us-west-2"),
    ])
    .await;
    let run = everywhere.invoke(&event).await.unwrap();
    let mut got = reminded(&run).await;
    got.sort();
    let mut want = waiting.clone();
    want.sort();
    assert_eq!(got, want, "{run}");
    let again = everywhere.invoke(&event).await.unwrap();
    assert!(reminded(&again).await.is_empty(), "{again}");
    for (aws, id) in places.iter().zip(&waiting) {
        let since = tag(&aws.tags(id).await, "firebreak:awaiting-since").map(String::from);
        assert_eq!(
            since.as_deref(),
            Some("2020-01-01T00:00:00Z reminded"),
            "{id}"
        );
    }
    let messages = home.messages(&queue, 4, Duration::from_secs(5)).await;
    let mine = (messages.iter())
        .map(|m| serde_json::to_string(m).unwrap())
        .filter(|m| waiting.iter().any(|id| m.contains(id.as_str())))
        .count();
    assert_eq!(mine, 3, "one reminder each: {messages:?}");
}
