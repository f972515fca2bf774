//! An S3 bucket's containment, one step per action, each with its undo beside it:
//! `block-public-access` (all four Block Public Access settings on, the previous ones recorded on
//! the bucket first) and `deny-malware-reads` (one bucket-policy statement denying every read of
//! the bucket's objects GuardDuty tagged `GuardDutyMalwareScanStatus=THREATS_FOUND`, except to the
//! security roles named; added once per bucket, recorded). The records are bucket tags.

use serde_json::{json, Value};

use crate::actions::registry::ActionKind;
use crate::incident::tag_value;
use crate::outcome::{Outcome, Status};
use crate::ports::{BucketsPort, PublicAccessBlock};
use crate::tags;

type Tags = [(String, String)];

/// S3's limit on a bucket policy (S3 User Guide, bucket policies: 20 KB).
pub const POLICY_LIMIT: usize = 20 * 1024;

// ---- block-public-access ----

/// The record of a bucket's settings: `none`, or the four flags.
pub fn block_token(settings: Option<PublicAccessBlock>) -> String {
    match settings {
        None => "none".into(),
        Some(p) => format!(
            "acls={} ignore={} policy={} restrict={}",
            p.block_acls, p.ignore_acls, p.block_policy, p.restrict_buckets
        ),
    }
}

/// The settings a record holds: `Ok(None)` for `none`; `Err` when it cannot be read.
pub fn parse_block_token(token: &str) -> Result<Option<PublicAccessBlock>, String> {
    if token == "none" {
        return Ok(None);
    }
    let mut p = PublicAccessBlock::default();
    let mut seen = 0;
    for part in token.split_whitespace() {
        let (k, v) = part.split_once('=').ok_or_else(|| token.to_string())?;
        let v = v.parse::<bool>().map_err(|_| token.to_string())?;
        match k {
            "acls" => p.block_acls = v,
            "ignore" => p.ignore_acls = v,
            "policy" => p.block_policy = v,
            "restrict" => p.restrict_buckets = v,
            _ => return Err(token.to_string()),
        }
        seen += 1;
    }
    match seen {
        4 => Ok(Some(p)),
        _ => Err(token.to_string()),
    }
}

/// The record to write: the settings now, unless one is recorded already.
pub fn block_record(tags: &Tags, now: Option<PublicAccessBlock>) -> Vec<(String, String)> {
    match tag_value(tags, tags::PUBLIC_ACCESS_BLOCK) {
        Some(_) => Vec::new(),
        None => vec![(tags::PUBLIC_ACCESS_BLOCK.to_string(), block_token(now))],
    }
}

/// All four settings on: no ACL or policy can make the bucket or its objects public.
pub async fn block<S: BucketsPort>(s: &S, bucket: &str, now: Option<PublicAccessBlock>) -> Outcome {
    let kind = ActionKind::BlockPublicAccess;
    if now == Some(PublicAccessBlock::ALL) {
        return Outcome::new(
            kind,
            bucket,
            Status::AlreadyDone,
            "Block Public Access is all on",
        );
    }
    match s
        .set_public_access_block(bucket, Some(PublicAccessBlock::ALL))
        .await
    {
        Ok(()) => Outcome::new(
            kind,
            bucket,
            Status::Succeeded,
            format!(
                "Block Public Access all on (was {})",
                block_token(now).replace(' ', ", ")
            ),
        ),
        Err(e) => Outcome::failed(kind, bucket, "could not turn Block Public Access on", &e),
    }
}

/// The undo: the recorded settings back; `None` when nothing is recorded.
pub async fn restore_block<S: BucketsPort>(s: &S, bucket: &str, tags: &Tags) -> Option<Outcome> {
    let kind = ActionKind::BlockPublicAccess;
    let recorded = tag_value(tags, tags::PUBLIC_ACCESS_BLOCK)?;
    let before = match parse_block_token(recorded) {
        Ok(b) => b,
        Err(_) => {
            let why = format!("its record {recorded:?} is unreadable: Block Public Access left on");
            return Some(Outcome::refused(kind, bucket, why));
        }
    };
    Some(match s.set_public_access_block(bucket, before).await {
        Ok(()) => Outcome::new(
            kind,
            bucket,
            Status::Succeeded,
            format!("Block Public Access as before ({recorded})"),
        ),
        Err(e) => Outcome::failed(kind, bucket, "could not put Block Public Access back", &e),
    })
}

// ---- deny-malware-reads ----

/// The statement (GuardDuty User Guide, Malware Protection for S3, "Using tag-based access
/// control"): no one but `readers` reads an object tagged `THREATS_FOUND`.
pub fn malware_statement(partition: &str, bucket: &str, readers: &[String]) -> Value {
    let mut condition = json!({
        "StringEquals": {format!("s3:ExistingObjectTag/{}", tags::MALWARE_SCAN_TAG): tags::THREATS_FOUND}
    });
    if !readers.is_empty() {
        condition["ArnNotLike"] = json!({"aws:PrincipalArn": readers});
    }
    json!({
        "Sid": tags::MALWARE_STATEMENT,
        "Effect": "Deny",
        "Principal": "*",
        "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
        "Resource": format!("arn:{partition}:s3:::{bucket}/*"),
        "Condition": condition
    })
}

fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Object(_) => vec![policy["Statement"].clone()],
        _ => Vec::new(),
    }
}

fn is_ours(statement: &Value) -> bool {
    statement["Sid"] == tags::MALWARE_STATEMENT
}

/// The policy with the statement added: `Ok(None)` when it is there already; `Err` when the
/// policy cannot be read or would exceed S3's limit (nothing is written then).
pub fn with_statement(policy: Option<&str>, statement: Value) -> Result<Option<String>, String> {
    let mut doc = match policy {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(p) => serde_json::from_str::<Value>(p)
            .map_err(|e| format!("its bucket policy is not JSON Firebreak can read ({e})"))?,
    };
    let mut list = statements(&doc);
    if list.iter().any(is_ours) {
        return Ok(None);
    }
    list.push(statement);
    doc["Statement"] = Value::Array(list);
    let text = doc.to_string();
    match text.len() > POLICY_LIMIT {
        true => Err(format!(
            "the policy with the statement would be {} bytes, over S3's {POLICY_LIMIT}",
            text.len()
        )),
        false => Ok(Some(text)),
    }
}

/// The statement added to the bucket policy (once).
pub async fn deny<S: BucketsPort>(
    s: &S,
    bucket: &str,
    policy: Option<&str>,
    statement: Value,
) -> Outcome {
    let kind = ActionKind::DenyMalwareReads;
    let what = format!(
        "objects tagged {}={} unreadable (statement {})",
        tags::MALWARE_SCAN_TAG,
        tags::THREATS_FOUND,
        tags::MALWARE_STATEMENT
    );
    match with_statement(policy, statement) {
        Ok(None) => Outcome::new(kind, bucket, Status::AlreadyDone, what),
        Err(why) => Outcome::refused(kind, bucket, why),
        Ok(Some(doc)) => match s.set_bucket_policy(bucket, Some(&doc)).await {
            Ok(()) => Outcome::new(kind, bucket, Status::Succeeded, what),
            Err(e) => Outcome::failed(kind, bucket, "could not add the statement", &e),
        },
    }
}

/// The undo: the statement removed (the policy deleted when nothing else is left in it);
/// `None` when nothing is recorded.
pub async fn remove_statement<S: BucketsPort>(s: &S, bucket: &str, tags: &Tags) -> Option<Outcome> {
    let kind = ActionKind::DenyMalwareReads;
    tag_value(tags, tags::MALWARE_DENY)?;
    let policy = match s.bucket_policy(bucket).await {
        Ok(p) => p,
        Err(e) => {
            return Some(Outcome::failed(
                kind,
                bucket,
                "could not read its policy",
                &e,
            ))
        }
    };
    let Some(doc) = policy.and_then(|p| serde_json::from_str::<Value>(&p).ok()) else {
        return Some(Outcome::new(
            kind,
            bucket,
            Status::AlreadyDone,
            "no statement to remove",
        ));
    };
    let all = statements(&doc);
    let kept: Vec<Value> = all.iter().filter(|st| !is_ours(st)).cloned().collect();
    if kept.len() == all.len() {
        return Some(Outcome::new(
            kind,
            bucket,
            Status::AlreadyDone,
            "no statement to remove",
        ));
    }
    let mut doc = doc;
    doc["Statement"] = Value::Array(kept.clone());
    let text = doc.to_string();
    let written = match kept.is_empty() {
        true => s.set_bucket_policy(bucket, None).await,
        false => s.set_bucket_policy(bucket, Some(&text)).await,
    };
    Some(match written {
        Ok(()) => Outcome::new(
            kind,
            bucket,
            Status::Succeeded,
            format!("statement {} removed", tags::MALWARE_STATEMENT),
        ),
        Err(e) => Outcome::failed(kind, bucket, "could not remove the statement", &e),
    })
}
