//! Tickets (issue 22), through the real binaries against the local AWS and a local ticket server
//! that answers as Jira Cloud, ServiceNow's Table API and a webhook receiver do
//! (`harness/tickets.rs`): one ticket per finding, found again rather than duplicated; the key in
//! the notification and the finding's note; updated and resolved on a release; the webhook's
//! signature verified with the secret's key; a ticket system that is down, throttling (429 with
//! `Retry-After`) or failing (5xx) never holds containment back, is reported, and is retried.

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{
    asff_instance, custom_action_event, guardduty_asff, guardduty_event, readable, unique, Aws,
};
use firebreak_tests::tickets::TicketServer;
use firebreak_tests::{sdk_config, Function, Invocation};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// The ticket id a finding's ticket carries, computed here as a receiver would (not by the code).
fn ticket_id(finding: &str) -> String {
    let hex: String = Sha256::digest(finding.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("firebreak-{}", &hex[..24])
}

/// A Secrets Manager secret holding `value` (a JSON object); its name.
async fn secret(value: Value) -> String {
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let name = unique("firebreak-tickets");
    (sm.create_secret().name(&name))
        .secret_string(value.to_string())
        .send()
        .await
        .unwrap();
    name
}

/// The environment of a function that keeps tickets in `system` at `url`.
fn env<'a>(
    topic: &'a str,
    system: &'a str,
    url: &'a str,
    secret: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("FIREBREAK_TOPIC_ARN", topic),
        ("FIREBREAK_TICKETS", system),
        ("FIREBREAK_TICKETS_URL", url),
        ("FIREBREAK_TICKETS_SECRET", secret),
        ("FIREBREAK_TICKETS_PROJECT", "SEC"),
    ]
}

/// An instance about to be contained, its finding's event and its ASFF resource.
struct Case {
    instance: String,
    app: String,
    finding: String,
    event: Value,
    resource: Value,
}

async fn case(aws: &Aws, cidr: &str, prefix: &str) -> Case {
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let enis = aws.eni_vpcs(&instance).await;
    // A finding id with what a query would have to escape: it is never put in one.
    let finding = format!("{}\"-OR-^x", unique(prefix));
    let event = guardduty_event(&finding, C2, 8.0, &instance, &enis, "ACTOR");
    let resource = asff_instance(&instance, &vpc);
    Case {
        instance,
        app,
        finding,
        event,
        resource,
    }
}

/// `action` on the finding as Security Hub has it, through `securityhub-action`: the finding's
/// result.
async fn custom_action(aws: &Aws, env: &[(&str, &str)], action: &str, c: &Case) -> Value {
    let mut asff = guardduty_asff(&c.finding, C2, 8.0, json!({}));
    asff["Resources"] = json!([c.resource]);
    aws.import_findings(std::slice::from_ref(&asff)).await;
    let f = Function::start("securityhub-action", env).await;
    let got = f
        .invoke(&custom_action_event(action, &[asff]))
        .await
        .unwrap();
    got["results"][0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_an_outage_never_holds_containment_and_one_issue_is_opened_updated_and_resolved() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let c = case(&aws, "10.140.0.0/16", "jira").await;
    let jira = TicketServer::start("soc@example.com:api-token").await;
    let secret = secret(json!({"email": "soc@example.com", "token": "api-token"})).await;
    let env = env(&topic, "jira", &jira.url, &secret);
    let responder = Function::start("guardduty-responder", &env).await;

    // Jira is down: the instance is contained all the same, the team told the ticket failed, and
    // the invocation fails so that Lambda's retry tries the ticket again.
    jira.set_down(true);
    match responder.invoke(&c.event).await {
        Invocation::Error { error_type, .. } => assert_eq!(error_type, "TicketFailed"),
        other => panic!("the ticket should have failed: {other:?}"),
    }
    assert_ne!(
        aws.groups_of(&c.instance).await,
        vec![c.app.clone()],
        "contained"
    );
    let status = tag(&aws.tags(&c.instance).await, "firebreak:status").map(String::from);
    assert_eq!(status.as_deref(), Some("quarantined"), "not marked told");
    let told = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        readable(&told[0]).contains("TICKET FAILED (jira)"),
        "{}",
        readable(&told[0])
    );
    assert!(jira.issues().is_empty());
    assert!(jira.log().iter().all(|(_, _, s)| *s == 503));

    // Lambda's retry: Jira is back, throttles once (Retry-After: 1) and fails once more (500);
    // the retries within the budget open one issue, and the message names it.
    jira.set_down(false);
    jira.fail_next(&[(429, Some(1)), (500, None)]);
    let retry = responder.invoke(&c.event).await.unwrap();
    assert_eq!(retry["ticket"]["key"], "SEC-1", "{retry}");
    let issues = jira.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(
        issues[0].labels.contains(&ticket_id(&c.finding)),
        "{issues:?}"
    );
    assert!(!issues[0].summary.contains('\n'));
    let answered: Vec<u16> = jira.log().iter().map(|(_, _, s)| *s).collect();
    assert!(
        answered.contains(&429) && answered.contains(&500),
        "{answered:?}"
    );
    let told = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(readable(&told[0]).contains("TICKET: SEC-1 (jira opened)"));
    let status = tag(&aws.tags(&c.instance).await, "firebreak:status").map(String::from);
    assert_eq!(status.as_deref(), Some("quarantined told"));

    // A redelivery that changes nothing: silent, and no second issue or comment.
    responder.invoke(&c.event).await.unwrap();
    assert_eq!(jira.issues().len(), 1);
    assert!(jira.issues()[0].comments.is_empty());

    // An analyst's quarantine of the same finding (told always): the issue is found again and
    // commented on; the note on the finding names it.
    let quarantined = custom_action(&aws, &env, "FbQuarantine", &c).await;
    assert!(!quarantined["failed"].as_bool().unwrap(), "{quarantined}");
    let issues = jira.issues();
    assert_eq!(
        (issues.len(), issues[0].comments.len()),
        (1, 1),
        "{issues:?}"
    );

    // The release: commented on and moved to a Done-category status.
    let released = custom_action(&aws, &env, "FbRelease", &c).await;
    assert_eq!(released["verdict"], "released", "{released}");
    assert_eq!(aws.groups_of(&c.instance).await, vec![c.app.clone()]);
    let issues = jira.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert_eq!(issues[0].comments.len(), 2);
    assert_eq!(issues[0].category, "done");
    let asff_id = guardduty_asff(&c.finding, C2, 8.0, json!({}))["Id"].clone();
    let (_, note, _) = aws.finding_state(asff_id.as_str().unwrap()).await;
    assert!(note.unwrap_or_default().contains("Ticket SEC-1."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_one_incident_by_correlation_id_resolved_on_release() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let c = case(&aws, "10.141.0.0/16", "snow").await;
    let snow = TicketServer::start("firebreak:pw").await;
    let secret = secret(json!({"user": "firebreak", "password": "pw"})).await;
    let env = env(&topic, "servicenow", &snow.url, &secret);
    let responder = Function::start("guardduty-responder", &env).await;

    snow.fail_next(&[(503, None)]);
    let got = responder.invoke(&c.event).await.unwrap();
    assert_eq!(got["ticket"]["key"], "INC0000001", "{got}");
    let incidents = snow.incidents();
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    let fields = &incidents[0].fields;
    assert_eq!(fields["correlation_id"], json!(ticket_id(&c.finding)));
    assert_eq!(
        (&fields["impact"], &fields["urgency"]),
        (&json!("1"), &json!("1"))
    );
    assert!(fields["description"]
        .as_str()
        .unwrap()
        .contains(&c.instance));
    let told = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert!(readable(&told[0]).contains("TICKET: INC0000001 (servicenow opened)"));

    let released = custom_action(&aws, &env, "FbRelease", &c).await;
    assert_eq!(released["verdict"], "released", "{released}");
    let incidents = snow.incidents();
    assert_eq!(
        incidents.len(),
        1,
        "found again, not opened twice: {incidents:?}"
    );
    let fields = &incidents[0].fields;
    assert_eq!(fields["state"], "6", "{fields:?}");
    assert_eq!(fields["close_code"], "Solution provided");
    assert!(fields["close_notes"]
        .as_str()
        .is_some_and(|n| !n.is_empty()));
    assert_eq!(incidents[0].work_notes.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_messages_are_signed_with_the_secret_key_and_keyed_by_finding() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let c = case(&aws, "10.142.0.0/16", "hook").await;
    let hook = TicketServer::start("unused:unused").await;
    let key = "whsec-0123456789abcdef";
    let secret = secret(json!({ "hmac_key": key })).await;
    let url = format!("{}/hook", hook.url);
    let env = env(&topic, "webhook", &url, &secret);
    let responder = Function::start("guardduty-responder", &env).await;

    let got = responder.invoke(&c.event).await.unwrap();
    assert_eq!(got["ticket"]["key"], "HOOK-1", "{got}");
    let told = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert!(readable(&told[0]).contains("TICKET: HOOK-1 (webhook opened)"));
    let deliveries = hook.deliveries();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    let d = &deliveries[0];
    assert_eq!(d.headers["x-firebreak-ticket"], ticket_id(&c.finding));
    assert_eq!(d.headers["idempotency-key"].len(), 32);
    // The signature, verified as a receiver does: HMAC-SHA-256 over "<t>.<body>".
    let sig = &d.headers["x-firebreak-signature"];
    let (t, v1) = sig
        .strip_prefix("t=")
        .and_then(|s| s.split_once(",v1="))
        .unwrap_or_else(|| panic!("{sig}"));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(now.abs_diff(t.parse::<u64>().unwrap()) < 300);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", d.body).as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(v1, want, "the signature verifies with the secret's key");
    let body: Value = serde_json::from_str(&d.body).unwrap();
    assert_eq!(body["finding_id"], json!(c.finding));
    assert_eq!(body["event"], "raise");
    assert_eq!(body["report"]["finding_id"], json!(c.finding));
}
