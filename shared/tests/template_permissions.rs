//! `infra/template.yaml` grants each function exactly what its responders declare
//! (`firebreak::permissions`): every declared action is granted, no mutating action is granted that
//! no responder declares, and nothing is granted by wildcard (`*`, `iam:*`, `ec2:*`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!Ref X` → `X`.
fn reference(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!Ref" => t.value.as_str().map(String::from),
        Value::Mapping(m) => m.get("Ref").and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

fn actions_of(statements: &Value, out: &mut BTreeSet<String>) {
    for s in statements.as_sequence().into_iter().flatten() {
        assert_eq!(
            s["Effect"].as_str(),
            Some("Allow"),
            "only Allow statements: {s:?}"
        );
        match &s["Action"] {
            Value::String(a) => {
                out.insert(a.clone());
            }
            Value::Sequence(list) => {
                out.extend(list.iter().filter_map(|a| a.as_str().map(String::from)));
            }
            other => panic!("unexpected Action {other:?}"),
        }
    }
}

/// Every action a function's role is granted by the template's `Policies`.
fn granted(t: &Value, function: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for policy in function["Properties"]["Policies"].as_sequence().unwrap() {
        if let Some(name) = reference(policy) {
            let managed = &t["Resources"][name.as_str()];
            assert_eq!(
                managed["Type"].as_str(),
                Some("AWS::IAM::ManagedPolicy"),
                "{name}"
            );
            actions_of(
                &managed["Properties"]["PolicyDocument"]["Statement"],
                &mut out,
            );
        } else if policy.get("Statement").is_some() {
            actions_of(&policy["Statement"], &mut out);
        } else {
            panic!("use explicit statements, not SAM policy templates: {policy:?}");
        }
    }
    out
}

/// `who` is granted every declared action, no mutating action that is not declared, and no wildcard.
fn assert_grants_exactly(who: &str, granted: &BTreeSet<String>, declared: &[&str]) {
    let declared: BTreeSet<String> = declared.iter().map(|a| a.to_string()).collect();
    let missing: Vec<&String> = declared.difference(granted).collect();
    assert!(missing.is_empty(), "{who} is not granted {missing:?}");
    let undeclared: Vec<&String> = granted
        .difference(&declared)
        .filter(|a| !firebreak::permissions::is_read_only(a))
        .collect();
    assert!(
        undeclared.is_empty(),
        "{who} is granted mutating actions no responder calls: {undeclared:?}"
    );
    for a in granted {
        assert!(!a.contains('*'), "{who} is granted a wildcard action {a}");
    }
}

#[test]
fn every_function_is_granted_exactly_what_its_responders_call() {
    let t = template();
    let mut checked = 0;
    for (name, resource) in t["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let name = name.as_str().unwrap();
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} names no binary"));
        let declared = firebreak::permissions::for_function(binary)
            .unwrap_or_else(|| panic!("{binary} declares no permissions"));
        assert_grants_exactly(
            &format!("{name} ({binary})"),
            &granted(&t, resource),
            &declared,
        );
        checked += 1;
    }
    assert_eq!(checked, 2, "both functions are checked");
}

#[test]
fn the_check_itself_catches_a_missing_and_an_extra_grant() {
    // The same comparison on a doctored template: it must find both defects.
    let mut t = template();
    let policy = &mut t["Resources"]["NotifyPolicy"]["Properties"]["PolicyDocument"]["Statement"];
    policy.as_sequence_mut().unwrap()[0]["Action"] = Value::String("sns:CreateTopic".into());
    let function = t["Resources"]["GuardDutyResponder"].clone();
    let granted = granted(&t, &function);
    assert!(!granted.contains("sns:Publish"));
    assert!(granted.contains("sns:CreateTopic"));
    let declared = firebreak::permissions::for_function("guardduty-responder").unwrap();
    assert!(declared.contains(&"sns:Publish"));
    assert!(!declared.contains(&"sns:CreateTopic"));
}

#[test]
fn the_member_role_grants_exactly_what_the_responders_do_in_a_member_account() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/member-role.yaml");
    let t: Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let role = &t["Resources"]["FirebreakResponderRole"]["Properties"];
    let mut granted = BTreeSet::new();
    for policy in role["Policies"].as_sequence().unwrap() {
        actions_of(&policy["PolicyDocument"]["Statement"], &mut granted);
    }
    assert_grants_exactly(
        "the member role",
        &granted,
        &firebreak::permissions::for_member_role(),
    );
    // Trusted: only the security account's Firebreak function roles.
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Action"].as_str(), Some("sts:AssumeRole"));
    let text = serde_yaml::to_string(&trust["Condition"]).unwrap();
    assert!(
        text.contains("GuardDutyResponderRole-*") && text.contains("SecurityHubActionRole-*"),
        "{text}"
    );
}
