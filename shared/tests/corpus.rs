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
    let (mut parsed, mut rejected, mut access_keys) = (0, 0, 0);
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
                        (Resource::AccessKey(k), "AccessKey") => {
                            // The key and principal are carried over exactly as the finding has them.
                            let raw = access_key_details(payload);
                            for (field, got) in [
                                ("accesskeyid", &k.access_key_id),
                                ("principalid", &k.principal_id),
                                ("username", &k.user_name),
                                ("usertype", &k.user_type),
                            ] {
                                assert_eq!(
                                    got.as_deref(),
                                    raw.get(field).map(String::as_str),
                                    "{name}: {field}"
                                );
                            }
                            assert!(k.access_key_id.is_some() && k.principal_id.is_some());
                            access_keys += 1;
                        }
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
    println!(
        "corpus: {parsed} parsed ({access_keys} IAM credential findings), {rejected} rejected with a typed error"
    );
    assert!(parsed >= 30, "only {parsed} payloads parsed");
    assert!(
        access_keys >= 10,
        "only {access_keys} IAM findings parsed with their key"
    );
}

/// `accessKeyDetails` of a payload, found anywhere, with lower-cased field names.
fn access_key_details(payload: &str) -> std::collections::HashMap<String, String> {
    fn find(v: &Value) -> Option<&serde_json::Map<String, Value>> {
        match v {
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("accessKeyDetails"))
                .and_then(|(_, v)| v.as_object())
                .or_else(|| m.values().find_map(find)),
            Value::Array(a) => a.iter().find_map(find),
            _ => None,
        }
    }
    let v: Value = serde_json::from_str(payload).unwrap();
    find(&v)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn credential_findings_name_their_principal_and_get_the_playbook_row_for_it() {
    use firebreak::incident::Principal;
    let config = firebreak::Config::from_lookup(|k| match k {
        "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        // These corpus findings are console samples: judge them as if they were real.
        "FIREBREAK_ACT_ON_SAMPLE_FINDINGS" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    let load = |file: &str| {
        let text = std::fs::read_to_string(corpus().join(file)).unwrap();
        Incident::from_event(&serde_json::from_str(&text).unwrap()).unwrap()
    };
    let key = |i: &Incident| match &i.resource {
        Resource::AccessKey(k) => k.clone(),
        other => panic!("not a credential finding: {other:?}"),
    };

    let root = load("guardduty/policy-iamuser-rootcredentialusage__foxsec.json");
    assert_eq!(key(&root).principal(), Principal::Root);
    let plan = firebreak::playbook::plan(&root, &config);
    assert_eq!(plan.rule, "root-credentials");
    assert!(!plan.contains_resource());

    let tor = load("guardduty/unauthorizedaccess-iamuser-toripcaller__c7n.json");
    assert_eq!(
        key(&tor).principal(),
        Principal::IamUser {
            user_name: "GeneratedFindingUserName".into(),
            // A sample's placeholder is not a key id: nothing to deactivate.
            access_key_id: None,
        }
    );
    // Medium severity (5): notify only under the default threshold of 7.
    assert_eq!(
        firebreak::playbook::plan(&tor, &config).rule,
        "below-threshold"
    );

    let anomalous =
        load("guardduty/pascalcase/credentialaccess-iamuser-anomalousbehavior__gdsoar.json");
    assert!(matches!(
        key(&anomalous).principal(),
        Principal::Unusable { .. }
    ));
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

#[test]
fn every_security_hub_payload_parses_or_is_rejected_with_a_typed_error() {
    use firebreak::asff::{incident_from_asff, CustomActionEvent};
    let root = corpus();
    let mut files = Vec::new();
    for dir in [
        "securityhub/custom-action",
        "securityhub/imported",
        "securityhub/raw-asff",
    ] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            files.push(e.unwrap().path());
        }
    }
    files.sort();
    assert!(files.len() >= 15, "{files:?}");
    let (mut incidents, mut rejected) = (0, 0);
    let (mut asff_parsed, mut asff_rejected) = (0, 0);
    for path in &files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        let event = catch_unwind(AssertUnwindSafe(|| CustomActionEvent::from_event(&value)))
            .unwrap_or_else(|_| panic!("the custom-action parser panicked on {name}"));
        match event {
            Ok(e) => {
                for f in &e.findings {
                    match f {
                        Ok(_) => incidents += 1,
                        Err(r) => {
                            assert!(r.error_type.starts_with("InvalidEvent."), "{name}: {r:?}");
                            rejected += 1
                        }
                    }
                }
            }
            Err(err) => {
                assert!(err.error_type().starts_with("InvalidEvent."), "{name}");
                // Imported findings and bare ASFF are not custom actions; custom actions of other
                // tools (their own action ids) are unknown to Firebreak.
                assert!(
                    matches!(
                        err.error_type(),
                        "InvalidEvent.Unsupported" | "InvalidEvent.UnknownAction"
                    ),
                    "{name}: {err}"
                );
                rejected += 1;
            }
        }
        // Every finding inside, whatever the action, parses alone or is rejected with a typed error.
        let findings: Vec<Value> = match value.get("detail").and_then(|d| d.get("findings")) {
            Some(Value::Array(f)) => f.clone(),
            _ if value.get("SchemaVersion").is_some() => vec![value.clone()],
            _ => vec![],
        };
        for f in findings {
            let parsed = catch_unwind(AssertUnwindSafe(|| incident_from_asff(&f, "us-east-1")))
                .unwrap_or_else(|_| panic!("the ASFF parser panicked on a finding of {name}"));
            match parsed {
                Ok(i) => {
                    assert!(
                        !i.finding_id.is_empty() && i.security_hub.is_some(),
                        "{name}"
                    );
                    asff_parsed += 1;
                }
                Err(e) => {
                    assert!(e.error_type().starts_with("InvalidEvent."), "{name}");
                    asff_rejected += 1;
                }
            }
        }
    }
    println!(
        "security hub corpus: {} files: as events {incidents} incidents, {rejected} rejected; \
         their findings alone: {asff_parsed} parsed, {asff_rejected} rejected",
        files.len()
    );
    assert!(asff_parsed >= 10, "only {asff_parsed} ASFF findings parsed");
}

#[test]
fn guardduty_findings_rewritten_as_asff_meet_the_same_playbook_rows_as_the_native_events() {
    let config = firebreak::Config::from_lookup(|k| match k {
        "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        "FIREBREAK_ACT_ON_SAMPLE_FINDINGS" => Some("true".into()),
        _ => None,
    })
    .unwrap();
    for (asff, native) in [
        (
            "securityhub/raw-asff/recon-iamuser-userpermissions__c7n__f2.json",
            "guardduty/recon-iamuser-userpermissions__foxsec.json",
        ),
        (
            "securityhub/raw-asff/recon-iamuser-resourcepermissions__c7n__f0.json",
            "guardduty/recon-iamuser-resourcepermissions__foxsec.json",
        ),
    ] {
        let read = |f: &str| -> Value {
            serde_json::from_str(&std::fs::read_to_string(corpus().join(f)).unwrap()).unwrap()
        };
        let a = firebreak::asff::incident_from_asff(&read(asff), "us-east-1").unwrap();
        let n = Incident::from_event(&read(native)).unwrap();
        assert_eq!(a.finding_type, n.finding_type, "{asff}");
        assert!(matches!(a.resource, Resource::AccessKey(_)), "{asff}");
        assert_eq!(
            firebreak::playbook::plan(&a, &config).rule,
            firebreak::playbook::plan(&n, &config).rule,
            "{asff}"
        );
    }
}
