//! Every payload of the shared event corpus (71 real GuardDuty / Security Hub events from public
//! projects) is either parsed into an Incident or rejected with a typed error, never a panic; and
//! what parses, parses to what the corpus manifest says it is.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use firebreak::incident::Resource;
use firebreak::{Incident, ParseError};
use serde_json::Value;

fn corpus() -> PathBuf {
    std::env::var_os("FIREBREAK_EVENTS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/events-corpus")
        })
}

/// Parses one payload; a panic becomes a test failure naming the payload.
fn parse(name: &str, text: &str) -> Result<Incident, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        Incident::from_event(&value).map_err(|e: ParseError| format!("{}: {e}", e.error_type()))
    }));
    outcome.unwrap_or_else(|_| panic!("the parser panicked on {name}"))
}

#[test]
fn every_corpus_payload_parses_or_is_rejected_with_a_typed_error() {
    let root = corpus();
    let manifest: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json"))
            .unwrap_or_else(|e| panic!("corpus manifest at {}: {e}", root.display())),
    )
    .unwrap();
    assert_eq!(manifest.len(), 71, "the corpus has 71 payloads");
    let (mut parsed, mut rejected) = (0, 0);
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let kind = entry["kind"].as_str().unwrap();
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let payloads: Vec<&str> = if file.ends_with(".ndjson") {
            text.lines().filter(|l| !l.trim().is_empty()).collect()
        } else {
            vec![text.as_str()]
        };
        for (i, payload) in payloads.iter().enumerate() {
            let name = format!("{file}#{i}");
            match parse(&name, payload) {
                Ok(incident) => {
                    parsed += 1;
                    // Only real GuardDuty envelopes may become incidents.
                    assert!(
                        kind.contains("GuardDuty Finding")
                            || kind.starts_with("WRAPPED")
                            || kind.starts_with("NDJSON"),
                        "{name} ({kind}) should have been rejected"
                    );
                    let want_type = entry["finding_type"].as_str().unwrap();
                    // An NDJSON stream mixes finding types; its manifest row names one of them.
                    if kind.starts_with("NDJSON") {
                        continue;
                    }
                    assert_eq!(incident.finding_type, want_type, "{name}");
                    let resource = entry["resource_type"].as_str().unwrap();
                    match (&incident.resource, resource) {
                        (Resource::Instance(i), "Instance") => {
                            assert!(i.instance_id.starts_with("i-"), "{name}")
                        }
                        (Resource::AccessKey(_), "AccessKey") => {}
                        (Resource::Other { resource_type }, other) => {
                            assert_eq!(resource_type, other, "{name}")
                        }
                        (got, want) => panic!("{name}: parsed as {got:?}, manifest says {want}"),
                    }
                    assert!(
                        !incident.finding_id.is_empty() && !incident.region.is_empty(),
                        "{name}"
                    );
                }
                Err(reason) => {
                    rejected += 1;
                    assert!(!reason.is_empty(), "{name}");
                    // Every camelCase EventBridge GuardDuty envelope in the corpus is well-formed.
                    assert!(
                        kind != "EventBridge GuardDuty Finding (camelCase)"
                            || file.starts_with("edge/"),
                        "{name} was rejected: {reason}"
                    );
                }
            }
        }
    }
    println!("corpus: {parsed} parsed, {rejected} rejected with a typed error");
    assert!(parsed >= 30, "only {parsed} payloads parsed");
}

#[test]
fn instance_findings_carry_their_network_interfaces() {
    let text = std::fs::read_to_string(
        corpus().join("guardduty/backdoor-ec2-c-cactivity-b-dns__gdsentinel.json"),
    )
    .unwrap();
    let incident = Incident::from_event(&serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(incident.severity, 8.7);
    assert!(incident.sample);
    let instance = incident.instance().unwrap();
    assert_eq!(instance.instance_id, "i-0123456789abcdef0");
    assert_eq!(
        instance.vpc_ids(),
        vec!["vpc-0123456789abcdef0".to_string()]
    );
}

#[test]
fn specific_edge_cases_are_rejected_for_the_right_reason() {
    let root = corpus();
    let cases = [
        (
            "edge/cloudtrail-createsamplefindings-not-a-finding__sumo.json",
            "InvalidEvent.Unsupported",
        ),
        (
            "edge/empty-detail-in-test-harness__streamalert.json",
            "InvalidEvent.NotAnObject",
        ),
        (
            "edge/detail-only-no-severity__discovery-s3-anomalousbehavior__gdsoar.json",
            "InvalidEvent.Unsupported",
        ),
        (
            "edge/insight-results-no-findings__c7n.json",
            "InvalidEvent.Unsupported",
        ),
    ];
    for (file, want) in cases {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        let got = parse(file, &text).unwrap_err();
        assert!(got.starts_with(want), "{file}: {got}");
    }
}
