//! The replayable samples in `events/` parse, and the playbook decides about them what
//! `events/README.md` says it does.

use std::path::PathBuf;

use firebreak::{Config, Incident};

fn decide(file: &str) -> (firebreak::Plan, Incident) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let incident = Incident::from_event(&serde_json::from_str(&text).unwrap())
        .unwrap_or_else(|e| panic!("{file}: {e}"));
    let config = Config::from_lookup(|k| {
        (k == "FIREBREAK_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".into())
    })
    .unwrap();
    (firebreak::playbook::plan(&incident, &config), incident)
}

fn actions(plan: &firebreak::Plan) -> Vec<&'static str> {
    plan.actions.iter().map(firebreak::Action::name).collect()
}

#[test]
fn every_sample_event_gets_the_documented_response() {
    let (p, _) = decide("guardduty-backdoor-c2-instance.json");
    assert_eq!(p.rule, "quarantine-compromised-instance");
    let (p, _) = decide("guardduty-recon-portprobe-low.json");
    assert_eq!(actions(&p), ["notify"]);
    let (p, i) = decide("guardduty-iam-user-key-malicious-ip.json");
    assert_eq!(i.resource_name(), "AKIAIOSFODNN7EXAMPLE");
    assert_eq!(
        actions(&p),
        [
            "deactivate-access-key",
            "revoke-user-sessions",
            "remove-login-profile",
            "notify"
        ]
    );
    let (p, _) = decide("guardduty-instance-credential-exfiltration.json");
    assert_eq!(
        actions(&p),
        [
            "revoke-instance-sessions",
            "detach-instance-profile",
            "notify"
        ]
    );
    let (p, _) = decide("guardduty-root-credential-usage.json");
    assert_eq!(p.rule, "root-credentials");
    assert_eq!(actions(&p), ["notify"]);
    // Beyond instances and keys (issue 15).
    let (p, _) = decide("guardduty-lambda-backdoor.json");
    assert_eq!(
        actions(&p),
        [
            "stop-function",
            "disable-event-sources",
            "isolate-function",
            "revoke-function-sessions",
            "notify"
        ]
    );
    let (p, i) = decide("guardduty-s3-exfiltration.json");
    assert_eq!(i.resource_name(), "s3://example-data-bucket");
    assert_eq!(
        actions(&p),
        ["block-public-access", "revoke-user-sessions", "notify"]
    );
    let (p, _) = decide("guardduty-s3-malicious-object.json");
    assert_eq!(actions(&p), ["deny-malware-reads", "notify"]);
    let (p, i) = decide("guardduty-attack-sequence.json");
    assert_eq!(p.rule, "attack-sequence");
    assert_eq!(i.resource_name(), "attack sequence over 4 resource(s)");
    assert_eq!(
        actions(&p),
        [
            "isolate-instance",
            "deny-network-acl",
            "take-out-of-service",
            "protect-evidence",
            "snapshot-volumes",
            "tag-instance",
            "deactivate-access-key",
            "revoke-user-sessions",
            "remove-login-profile",
            "block-public-access",
            "notify"
        ]
    );
    let (p, i) = decide("guardduty-eks-node-runtime.json");
    assert_eq!(i.resource_name(), "i-0123456789abcdef0");
    assert_eq!(p.rule, "quarantine-compromised-instance");
    let (p, i) = decide("guardduty-rds-malicious-login.json");
    assert_eq!(
        i.resource_name(),
        "orders-demo",
        "the Aurora cluster carries its groups"
    );
    assert_eq!(p.rule, "ask-approval");
    assert_eq!(
        actions(&p),
        ["await-approval", "snapshot-database", "notify"]
    );
    // Nothing in events/ is left untested.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    let count = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(count, 16, "a new sample in events/ needs a line here");
}

#[test]
fn every_custom_action_sample_parses_into_the_documented_plan() {
    use firebreak::incident::asff::{CustomAction, CustomActionEvent};
    let config = Config::from_lookup(|k| {
        (k == "FIREBREAK_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".into())
    })
    .unwrap();
    let cases: [(&str, CustomAction, &[&[&str]]); 5] = [
        (
            "securityhub-fbquarantine.json",
            CustomAction::FbQuarantine,
            &[&[
                "isolate-instance",
                "deny-network-acl",
                "take-out-of-service",
                "protect-evidence",
                "snapshot-volumes",
                "tag-instance",
                "notify",
            ]],
        ),
        (
            "securityhub-fbsnapshot.json",
            CustomAction::FbSnapshot,
            &[&[
                "protect-evidence",
                "snapshot-volumes",
                "tag-instance",
                "notify",
            ]],
        ),
        (
            "securityhub-fbrevoke.json",
            CustomAction::FbRevoke,
            &[&["deactivate-access-key", "revoke-user-sessions", "notify"]],
        ),
        (
            "securityhub-fbrelease.json",
            CustomAction::FbRelease,
            &[&["release-instance", "notify"]],
        ),
        (
            "securityhub-fbnotify.json",
            CustomAction::FbNotify,
            &[&["notify"], &["notify"]],
        ),
    ];
    for (file, action, want) in cases {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../events")
            .join(file);
        let event = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let parsed =
            CustomActionEvent::from_event(&event).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(parsed.action, action, "{file}");
        assert_eq!(parsed.findings.len(), want.len(), "{file}");
        for (finding, want) in parsed.findings.iter().zip(want) {
            let incident = finding.as_ref().unwrap_or_else(|e| panic!("{file}: {e:?}"));
            let plan = firebreak::playbook::analyst::plan_for_action(action, incident, &config);
            assert_eq!(actions(&plan), *want, "{file}");
        }
    }
}
