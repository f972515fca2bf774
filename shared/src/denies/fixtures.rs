//! What the tests of the deny policies share: a fixed now, instances, an earlier version's policy,
//! and changes applied as IAM would.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::clock::epoch_seconds;
use crate::denies::change::Changes;
use crate::denies::document::{SOURCE_INSTANCE_ARN, TOKEN_ISSUE_TIME, USER_ID};
use crate::denies::instance::Instance;
use crate::denies::size::iam_size;
use crate::tags;

pub(super) const NOW: &str = "2026-11-30T03:00:20Z";

pub(super) fn now() -> i64 {
    epoch_seconds(NOW).unwrap()
}

pub(super) fn instance(n: u32) -> Instance {
    let id = format!("i-{n:017x}");
    let arn = format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
    Instance::new(&id, &arn).unwrap()
}

/// An earlier version's per-instance policy (`instance_revoke_policy` of those versions).
pub(super) fn single(i: &Instance, cutoff: &str) -> (String, String) {
    let deny = |condition: Value| json!({"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": condition});
    let doc = json!({"Version": "2012-10-17", "Statement": [
        deny(json!({"DateLessThan": {TOKEN_ISSUE_TIME: cutoff},
                    "ArnEquals": {SOURCE_INSTANCE_ARN: i.arn}})),
        deny(json!({"DateLessThan": {TOKEN_ISSUE_TIME: cutoff},
                    "StringEquals": {USER_ID: format!("AROAEXAMPLE:{}", i.id)}})),
    ]});
    (tags::instance_revoke_policy(&i.id), doc.to_string())
}

/// `policies` with `changes` applied, as IAM would then hold them.
pub(super) fn applied(policies: &[(String, String)], c: &Changes) -> Vec<(String, String)> {
    let mut held: BTreeMap<String, String> = policies.iter().cloned().collect();
    for n in &c.prune {
        held.remove(n);
    }
    held.extend(c.put.iter().cloned());
    for (n, ..) in &c.retire {
        held.remove(n);
    }
    held.into_iter().collect()
}

pub(super) fn total(policies: &[(String, String)]) -> usize {
    policies.iter().map(|(_, d)| iam_size(d)).sum()
}
