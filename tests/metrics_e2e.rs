//! The metrics through the real binary: `guardduty-responder` prints CloudWatch Embedded Metric
//! Format (EMF) documents among its logs, each a JSON object alone on its line. Every one parses
//! against the EMF specification, and a finding delivered twice counts one incident, with its time
//! to containment, and one redelivery.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use firebreak_tests::fixtures::{guardduty_event_with, unique, Aws};
use firebreak_tests::Function;
use serde_json::Value;

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// CloudWatch's units (`MetricDatum.Unit`), as the EMF specification's schema lists them.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Checks one EMF document against the specification: `_aws` holds a `Timestamp` (milliseconds
/// since the epoch, here within the test's run) and `CloudWatchMetrics`, an array of directives,
/// each with exactly `Namespace`, `Dimensions` (an array of dimension sets, each at most 30 keys,
/// each key a string member of the root of at most 1024 characters) and `Metrics` (at most 100,
/// each a `Name` referring to a numeric member of the root, and a CloudWatch `Unit`).
fn assert_emf(doc: &Value, since_ms: u64) {
    let aws = doc["_aws"].as_object().unwrap_or_else(|| panic!("{doc}"));
    let mut keys: Vec<&str> = aws.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["CloudWatchMetrics", "Timestamp"], "{doc}");
    let at = aws["Timestamp"].as_u64().unwrap_or_else(|| panic!("{doc}"));
    assert!(since_ms <= at && at <= now_ms(), "Timestamp {at}: {doc}");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty(), "{doc}");
    for d in directives {
        let mut members: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        members.sort();
        assert_eq!(members, ["Dimensions", "Metrics", "Namespace"], "{doc}");
        assert_eq!(d["Namespace"], "Firebreak", "{doc}");
        let sets = d["Dimensions"].as_array().unwrap();
        assert!(!sets.is_empty(), "{doc}");
        for set in sets {
            let set = set
                .as_array()
                .unwrap_or_else(|| panic!("an array of arrays: {doc}"));
            assert!(set.len() <= 30, "{doc}");
            for key in set {
                let value = doc[key.as_str().unwrap()].as_str();
                let value =
                    value.unwrap_or_else(|| panic!("dimension {key} not a string member: {doc}"));
                assert!(!value.is_empty() && value.len() <= 1024, "{doc}");
            }
        }
        let metrics = d["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100, "{doc}");
        for m in metrics {
            let name = m["Name"].as_str().unwrap();
            assert!(
                doc[name].is_number(),
                "metric {name} not a number member: {doc}"
            );
            assert!(UNITS.contains(&m["Unit"].as_str().unwrap()), "{doc}");
        }
    }
}

/// Every line of the function's logs that is a JSON object with `_aws`, parsed whole (a line with
/// anything before or after the object would not parse).
fn emf_documents(function: &Function) -> Vec<Value> {
    let logs = function.logs();
    let parsed = logs
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok());
    parsed.filter(|v| v.get("_aws").is_some()).collect()
}

/// Waits until the function has logged the end (`done`) of `deliveries` responses to `finding`:
/// its EMF lines come before, on the same stdout.
async fn wait_for_done(function: &Function, finding: &str, deliveries: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logs = function.logs();
        let done = logs
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "done" && v["fields"]["finding_id"] == finding)
            .count();
        if done >= deliveries {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no end of response {deliveries}: {logs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn of_finding<'a>(docs: &'a [Value], finding: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["finding_id"] == finding).collect()
}

/// The `Actions` count of one (action, outcome) among `docs`.
fn actions(docs: &[&Value], action: &str, outcome: &str) -> Option<u64> {
    docs.iter()
        .find(|d| d["Action"] == action && d["Outcome"] == outcome)
        .and_then(|d| d["Actions"].as_u64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emf_lines_parse_and_a_redelivered_finding_counts_one_incident() {
    // GIVEN a running instance, its C&C finding, and the responder
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.95.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let finding = unique("metrics");
    let interfaces = aws.finding_interfaces(&instance).await;
    let event = guardduty_event_with(&finding, C2, 8.0, &instance, interfaces, "ACTOR");
    let function = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let since = now_ms();

    // WHEN the finding is delivered
    let started = Instant::now();
    let first = function.invoke(&event).await.unwrap();
    let took = started.elapsed();
    assert_eq!(first["verdict"], "contained", "{first}");
    wait_for_done(&function, &finding, 1).await;
    let after_first = emf_documents(&function);

    // THEN its EMF lines count one contained incident, with its time to containment
    let firsts = of_finding(&after_first, &finding);
    let incidents: Vec<&&Value> = firsts
        .iter()
        .filter(|d| d.get("Incidents").is_some())
        .collect();
    assert_eq!(incidents.len(), 1, "{firsts:#?}");
    let incident = incidents[0];
    assert_eq!(incident["Incidents"], 1);
    assert_eq!(incident["Function"], "guardduty-responder");
    assert_eq!(incident["Verdict"], "contained");
    assert_eq!(incident["Response"], "contain");
    assert_eq!(incident["ResourceKind"], "instance");
    let ttc = incident["TimeToContainment"].as_u64().unwrap();
    assert!(
        ttc as u128 <= took.as_millis(),
        "{ttc} ms within a {took:?} invocation"
    );
    assert!(firsts.iter().all(|d| d.get("Redeliveries").is_none()));
    let isolated = actions(&firsts, "isolate-instance", "succeeded");
    assert!(isolated.is_some_and(|n| n >= 1), "{firsts:#?}");

    // WHEN it is delivered again (EventBridge's retry, GuardDuty's update)
    let again = function.invoke(&event).await.unwrap();
    assert_eq!(again["verdict"], "contained", "{again}");
    wait_for_done(&function, &finding, 2).await;
    let all = emf_documents(&function);

    // THEN the redelivery counts as one, and adds no incident and no time to containment
    let seconds: Vec<&Value> = all[after_first.len()..]
        .iter()
        .filter(|d| d["finding_id"] == finding)
        .collect();
    let repeats: Vec<&&Value> = seconds
        .iter()
        .filter(|d| d.get("Redeliveries").is_some())
        .collect();
    assert_eq!(repeats.len(), 1, "{seconds:#?}");
    assert_eq!(repeats[0]["Redeliveries"], 1);
    for d in &seconds {
        assert!(
            d.get("Incidents").is_none() && d.get("TimeToContainment").is_none(),
            "{d}"
        );
    }
    let isolated = actions(&seconds, "isolate-instance", "already-done");
    assert!(isolated.is_some_and(|n| n >= 1), "{seconds:#?}");
    assert_eq!(
        actions(&seconds, "isolate-instance", "succeeded"),
        None,
        "{seconds:#?}"
    );
    let counted: u64 = of_finding(&all, &finding)
        .iter()
        .filter_map(|d| d["Incidents"].as_u64())
        .sum();
    assert_eq!(counted, 1, "one incident over both deliveries");

    // AND every EMF line the function printed follows the specification
    assert!(all.len() >= firsts.len() + seconds.len());
    for doc in &all {
        assert_emf(doc, since);
    }
}
