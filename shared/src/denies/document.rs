//! The policy documents' statements: the role-wide deny of older sessions written, and any deny
//! read for its cutoff.

use serde_json::{json, Value};

use crate::denies::cutoff::later;

pub(super) const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";
pub(super) const SOURCE_INSTANCE_ARN: &str = "ec2:SourceInstanceARN";
pub(super) const USER_ID: &str = "aws:userId";

/// The deny of every session issued before `cutoff` (the shape the IAM console writes for a role).
pub fn older_sessions(cutoff: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {TOKEN_ISSUE_TIME: cutoff}}
        }]
    })
    .to_string()
}

/// The values of one condition key: a string or a list of strings.
pub(super) fn values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// A document's statements (a list, or one statement).
pub(super) fn statements(document: &str) -> Vec<Value> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The latest `aws:TokenIssueTime` cutoff of a document's deny statements.
pub fn cutoff_of(document: &str) -> Option<String> {
    statements(document)
        .iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Deny"))
        .filter_map(|s| {
            s.pointer("/Condition/DateLessThan")?
                .get(TOKEN_ISSUE_TIME)?
                .as_str()
        })
        .map(String::from)
        .reduce(|a, b| later(&a, &b).to_string())
}
