//! Every payload of the shared event corpus (78 real GuardDuty / Security Hub events from public
//! projects) is either parsed into an Incident or rejected with a typed error, never a panic; and
//! what parses, parses to what the corpus manifest says it is.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use firebreak::incident::{database, BucketRef, Resource};
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
    assert_eq!(manifest.len(), 78, "the corpus has 78 payloads");
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
                        (Resource::Bucket(b), "S3Bucket" | "S3Object") => {
                            assert!(BucketRef::valid_name(&b.name), "{name}")
                        }
                        (Resource::Function(f), "Lambda") => {
                            assert!(f.arn.contains(":function:"), "{name}")
                        }
                        (Resource::Database(d), "RDSDBInstance") => {
                            let id = &d.db_instance;
                            assert!(database::is_db_identifier(id), "{name}")
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
    assert!(!plan.changes_resources());

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
    assert_eq!(firebreak::playbook::plan(&tor, &config).rule, "notify-only");

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
    use firebreak::incident::asff::{incident_from_asff, CustomActionEvent};
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
        let a = firebreak::incident::asff::incident_from_asff(&read(asff), "us-east-1").unwrap();
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

/// Parser fuzzing: random structural and byte-level mutations of every corpus payload and of the
/// custom-action samples in `events/`, fed to both parsers (and, when they parse, to the playbook),
/// for a bounded time. Never a panic. `FIREBREAK_FUZZ_SECONDS` (default 10) bounds it and
/// `FIREBREAK_FUZZ_SEED` replays a run; a failure prints the seed and the mutated payload.
#[test]
fn mutated_payloads_never_panic_the_parsers_or_the_playbook() {
    use firebreak::incident::asff::CustomActionEvent;
    let seconds: u64 = std::env::var("FIREBREAK_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let seed: u64 = std::env::var("FIREBREAK_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let config = firebreak::Config::from_lookup(|k| match k {
        "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        "FIREBREAK_ACT_ON_SAMPLE_FINDINGS" => Some("true".into()),
        _ => None,
    })
    .unwrap();

    let mut seeds: Vec<String> = Vec::new();
    let root = corpus();
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        if file.ends_with(".ndjson") {
            seeds.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(String::from),
            );
        } else {
            seeds.push(text);
        }
    }
    let events = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    for entry in std::fs::read_dir(&events).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            seeds.push(std::fs::read_to_string(path).unwrap());
        }
    }
    let seeds: Vec<Value> = seeds
        .iter()
        .filter_map(|s| serde_json::from_str(s).ok())
        .collect();
    assert!(seeds.len() >= 70, "only {} seed payloads", seeds.len());

    let mut rng = Rng(seed);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    let (mut cases, mut incidents, mut actions) = (0u64, 0u64, 0u64);
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // the failure below names the payload instead
    while std::time::Instant::now() < deadline {
        let mut value = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(4) {
            mutate(&mut value, &mut rng);
        }
        let mut text = value.to_string();
        if rng.below(8) == 0 {
            mutate_bytes(&mut text, &mut rng);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                return (0, 0);
            };
            let mut found = (0, 0);
            if let Ok(incident) = Incident::from_event(&value) {
                let _ = firebreak::playbook::plan(&incident, &config);
                let _ = incident.resource_name();
                found.0 += 1;
            }
            if let Ok(event) = CustomActionEvent::from_event(&value) {
                for incident in event.findings.iter().flatten() {
                    let _ = firebreak::playbook::analyst::plan_for_action(
                        event.action,
                        incident,
                        &config,
                    );
                }
                found.1 += 1;
            }
            found
        }));
        match outcome {
            Ok((i, a)) => {
                incidents += i;
                actions += a;
            }
            Err(_) => {
                std::panic::set_hook(previous_hook);
                panic!("a parser panicked (FIREBREAK_FUZZ_SEED={seed}, case {cases}) on:\n{text}");
            }
        }
        cases += 1;
    }
    std::panic::set_hook(previous_hook);
    println!(
        "fuzz: seed {seed}, {cases} mutated payloads in {seconds} s: {incidents} became incidents, \
         {actions} custom-action events; no panic"
    );
    assert!(cases >= 1000, "only {cases} cases ran");
    assert!(incidents > 0 && actions > 0, "the mutations never parsed");
}

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that have broken parsers before: wrong types, extremes, ids that only look right.
fn odd_value(rng: &mut Rng) -> Value {
    use serde_json::json;
    let choices = [
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-0.5),
        json!(""),
        json!(" "),
        json!("i-"),
        json!("i-0123456789abcdef0"),
        json!("AKIA"),
        json!("ASIAXXXXXXXXXXXXXXXX"),
        json!("arn:aws:ec2:us-east-1:123456789012:instance/"),
        json!("arn:aws:securityhub:us-east-1:123456789012:action/custom/"),
        json!("arn:aws:securityhub:us-east-1:123456789012:action/custom/FbQuarantine"),
        json!("arn:"),
        json!("8.5"),
        json!("NaN"),
        json!("1970-01-01T00:00:00Z"),
        json!("not a date"),
        json!("\u{0}\u{202e}\u{1F525}é"),
        json!("x".repeat(70_000)),
        json!([]),
        json!({}),
        json!([{}]),
        json!([null, 1, "a"]),
    ];
    choices[rng.below(choices.len())].clone()
}

/// One structural mutation somewhere in the tree.
fn mutate(value: &mut Value, rng: &mut Rng) {
    // Pick a random path (a JSON pointer), stopping at a random depth.
    let mut pointer = String::new();
    let mut at = &*value;
    while rng.below(4) != 0 {
        let step = match at {
            Value::Object(m) if !m.is_empty() => {
                let (k, v) = m.iter().nth(rng.below(m.len())).unwrap();
                Some((k.replace('~', "~0").replace('/', "~1"), v))
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.below(a.len());
                Some((i.to_string(), &a[i]))
            }
            _ => None,
        };
        let Some((segment, next)) = step else { break };
        pointer.push('/');
        pointer.push_str(&segment);
        at = next;
    }
    let node = value
        .pointer_mut(&pointer)
        .expect("the path was just walked");
    match rng.below(7) {
        0 => *node = odd_value(rng),
        1 => {
            if let Value::Object(m) = node {
                if !m.is_empty() {
                    let key = m.keys().nth(rng.below(m.len())).unwrap().clone();
                    m.remove(&key);
                }
            }
        }
        2 => {
            if let Value::Array(a) = node {
                match a.len() {
                    0 => a.push(odd_value(rng)),
                    n => {
                        let copy = a[rng.below(n)].clone();
                        for _ in 0..rng.below(120) {
                            a.push(copy.clone());
                        }
                    }
                }
            }
        }
        3 => {
            // Same value, other type: "8" for 8, 8 for "8", [x] for x.
            *node = match node.take() {
                Value::String(s) => s
                    .parse::<f64>()
                    .ok()
                    .and_then(|f| serde_json::Number::from_f64(f).map(Value::Number))
                    .unwrap_or(Value::Array(vec![Value::String(s)])),
                Value::Number(n) => Value::String(n.to_string()),
                other => Value::Array(vec![other]),
            }
        }
        4 => {
            if let Value::String(s) = node {
                let cut = rng.below(s.len() + 1);
                let cut = (0..=cut)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                s.truncate(cut);
            }
        }
        5 => {
            // Keys differ only in case between GuardDuty's two spellings: swap one's case.
            if let Value::Object(m) = node {
                if let Some(key) = m.keys().nth(rng.below(m.len().max(1))).cloned() {
                    let v = m.remove(&key).unwrap();
                    let mut chars = key.chars();
                    let flipped: String = match chars.next() {
                        Some(c) if c.is_uppercase() => c.to_lowercase().chain(chars).collect(),
                        Some(c) => c.to_uppercase().chain(chars).collect(),
                        None => key.clone(),
                    };
                    m.insert(flipped, v);
                }
            }
        }
        _ => {
            if let Value::Object(m) = node {
                m.insert("Injected".into(), odd_value(rng));
            }
        }
    }
}

/// A byte-level mutation of the serialised payload: truncate, or overwrite one byte.
fn mutate_bytes(text: &mut String, rng: &mut Rng) {
    let mut bytes = std::mem::take(text).into_bytes();
    if bytes.is_empty() {
        return;
    }
    if rng.below(2) == 0 {
        bytes.truncate(rng.below(bytes.len()));
    } else {
        let i = rng.below(bytes.len());
        bytes[i] = b"{}[]\",:0\\ae-"[rng.below(12)];
    }
    *text = String::from_utf8_lossy(&bytes).into_owned();
}

#[test]
fn s3_protection_findings_name_their_bucket_and_caller() {
    // The corpus' other S3 payloads are GetFindings arrays, rejected as not an event.
    let files = ["wrapped/pentest-s3-parrotlinux__gdars.json"];
    for file in files {
        let text = std::fs::read_to_string(corpus().join(file)).unwrap();
        let incident = parse(file, &text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let Resource::Bucket(b) = &incident.resource else {
            panic!("{file}: not a bucket: {:?}", incident.resource)
        };
        // GuardDuty's sample findings name the bucket `bucketName` (a legacy-style name).
        assert_eq!(b.name, "bucketName", "{file}");
        assert_eq!(b.object_key, None, "{file}");
        let caller = b
            .caller
            .as_ref()
            .unwrap_or_else(|| panic!("{file}: no caller"));
        assert_eq!(
            caller.user_name.as_deref(),
            Some("GeneratedFindingUserName"),
            "{file}"
        );
    }
}
