//! An S3 bucket's containment, one step per action, each with its undo beside it:
//! `block-public-access` (all four Block Public Access settings on, the previous ones recorded on
//! the bucket first) and `deny-malware-reads` (one bucket-policy statement denying every read of
//! the bucket's objects GuardDuty tagged `GuardDutyMalwareScanStatus=THREATS_FOUND`, except to the
//! security roles named; added once per bucket, recorded). The records are bucket tags.

use serde_json::{json, Value};

use crate::actions::spec::ActionSpec;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{BucketsPort, PublicAccessBlock};
use crate::tags;

type Tags = [(String, String)];

/// S3's limit on a bucket policy (S3 User Guide, bucket policies: 20 KB).
pub const POLICY_LIMIT: usize = 20 * 1024;

/// What `block-public-access` calls, writes and undoes.
pub const BLOCK_PUBLIC_ACCESS: ActionSpec = ActionSpec {
    kind: ActionKind::BlockPublicAccess,
    permissions: &[
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
    ],
    tags: &[tags::PUBLIC_ACCESS_BLOCK, tags::FINDING],
    // DeletePublicAccessBlock is authorized as s3:PutBucketPublicAccessBlock.
    undo_permissions: &["s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging"],
};

/// What `deny-malware-reads` calls, writes and undoes.
pub const DENY_MALWARE_READS: ActionSpec = ActionSpec {
    kind: ActionKind::DenyMalwareReads,
    permissions: &[
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:GetBucketTagging",
        "s3:PutBucketTagging",
    ],
    tags: &[tags::MALWARE_DENY, tags::FINDING],
    undo_permissions: &[
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutBucketTagging",
    ],
};

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

/// The statements (GuardDuty User Guide, Malware Protection for S3, "Using tag-based access
/// control"): no one but `readers` reads an object tagged `THREATS_FOUND`; and, whether or not
/// GuardDuty tags objects (tagging is optional, and a tag can be removed), no one but `readers`
/// reads the finding's own object.
pub fn malware_statements(
    partition: &str,
    bucket: &str,
    key: Option<&str>,
    readers: &[String],
    variables: bool,
) -> Vec<Value> {
    let deny = |sid: String, resource: String, tagged: bool| {
        let mut condition = serde_json::Map::new();
        if tagged {
            let tag = format!("s3:ExistingObjectTag/{}", tags::MALWARE_SCAN_TAG);
            condition.insert("StringEquals".into(), json!({ tag: tags::THREATS_FOUND }));
        }
        if !readers.is_empty() {
            condition.insert("ArnNotLike".into(), json!({"aws:PrincipalArn": readers}));
        }
        let mut st = json!({
            "Sid": sid,
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"],
            "Resource": resource,
        });
        if !condition.is_empty() {
            st["Condition"] = Value::Object(condition);
        }
        st
    };
    let mut out = vec![deny(
        tags::MALWARE_STATEMENT.to_string(),
        format!("arn:{partition}:s3:::{bucket}/*"),
        true,
    )];
    if let Some(key) = key {
        let escaped = escaped_key(key, variables);
        out.push(deny(
            format!("{}{:016x}", tags::MALWARE_OBJECT_STATEMENT, fnv1a(key)),
            format!("arn:{partition}:s3:::{bucket}/{escaped}"),
            false,
        ));
    }
    out
}

/// The object key (the attacker's) as a policy's `Resource` matches it. Under Version 2012-10-17
/// its wildcards and `$` are escaped as policy variables (`${*}`, `${?}`, `${$}`); under 2008-10-17
/// (and a policy without a Version, which means it) variables are literal text, so each `*` and `?`
/// becomes the one-character wildcard `?` — it matches the character itself, and denies at most a
/// few more objects of a bucket found serving malware, never fewer — and `$` stays as it is.
fn escaped_key(key: &str, variables: bool) -> String {
    match variables {
        true => key
            .replace('$', "${$}")
            .replace('*', "${*}")
            .replace('?', "${?}"),
        false => key.replace(['*', '?'], "?"),
    }
}

/// Whether the bucket's policy (Firebreak's statements are added to it) reads policy variables:
/// Version 2012-10-17, or no policy yet (Firebreak writes a 2012-10-17 one). A policy without a
/// Version element is 2008-10-17's (IAM JSON policy reference, "Version").
pub fn uses_variables(policy: Option<&str>) -> bool {
    let Some(policy) = policy else {
        return true;
    };
    serde_json::from_str::<Value>(policy)
        .ok()
        .is_some_and(|doc| doc["Version"] == "2012-10-17")
}

/// FNV-1a, 64 bits: a short, stable id of an object key for its statement's `Sid`.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn statements(policy: &Value) -> Vec<Value> {
    match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Object(_) => vec![policy["Statement"].clone()],
        _ => Vec::new(),
    }
}

/// One of Firebreak's malware statements (by `Sid`).
fn is_ours(statement: &Value) -> bool {
    statement["Sid"].as_str().is_some_and(|sid| {
        sid == tags::MALWARE_STATEMENT || sid.starts_with(tags::MALWARE_OBJECT_STATEMENT)
    })
}

/// The policy with the statements added (each once, by `Sid`): `Ok(None)` when all are there
/// already; `Err` when the policy cannot be read or would exceed S3's limit (nothing is written).
pub fn with_statement(policy: Option<&str>, add: Vec<Value>) -> Result<Option<String>, String> {
    let mut doc = match policy {
        None => json!({"Version": "2012-10-17", "Statement": []}),
        Some(p) => serde_json::from_str::<Value>(p)
            .map_err(|e| format!("its bucket policy is not JSON Firebreak can read ({e})"))?,
    };
    if !doc.is_object() {
        return Err("its bucket policy is not a JSON object".into());
    }
    let mut list = statements(&doc);
    let before = list.len();
    for st in add {
        if !list.iter().any(|s| s["Sid"] == st["Sid"]) {
            list.push(st);
        }
    }
    if list.len() == before {
        return Ok(None);
    }
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

/// The statements added to the bucket policy (each once).
pub async fn deny<S: BucketsPort>(
    s: &S,
    bucket: &str,
    policy: Option<&str>,
    statement: Vec<Value>,
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

/// The undo: Firebreak's statements removed, found by `Sid` whether or not their record is
/// there (the policy deleted when nothing else is left in it); `None` when there are none.
pub async fn remove_statement<S: BucketsPort>(s: &S, bucket: &str) -> Option<Outcome> {
    let kind = ActionKind::DenyMalwareReads;
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
    let mut doc = policy
        .and_then(|p| serde_json::from_str::<Value>(&p).ok())
        .filter(Value::is_object)?;
    let all = statements(&doc);
    let kept: Vec<Value> = all.iter().filter(|st| !is_ours(st)).cloned().collect();
    if kept.len() == all.len() {
        return None;
    }
    let removed = all.len() - kept.len();
    let written = match kept.is_empty() {
        true => s.set_bucket_policy(bucket, None).await,
        false => {
            doc["Statement"] = Value::Array(kept);
            s.set_bucket_policy(bucket, Some(&doc.to_string())).await
        }
    };
    Some(match written {
        Ok(()) => Outcome::new(
            kind,
            bucket,
            Status::Succeeded,
            format!("{removed} statement(s) of Firebreak's removed"),
        ),
        Err(e) => Outcome::failed(kind, bucket, "could not remove its statements", &e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_an_old_policy_version_the_object_key_is_matched_without_variables() {
        let old = r#"{"Version":"2008-10-17","Statement":[]}"#;
        let unversioned = r#"{"Statement":[]}"#;
        let current = r#"{"Version":"2012-10-17","Statement":[]}"#;
        assert!(!uses_variables(Some(old)) && !uses_variables(Some(unversioned)));
        assert!(uses_variables(Some(current)) && uses_variables(None));
        let add = malware_statements("aws", "b", Some("in/*$x?.exe"), &[], false);
        // `?` matches the `*` and the `?` themselves; `$` is literal text there.
        assert_eq!(add[1]["Resource"], "arn:aws:s3:::b/in/?$x?.exe");
        let doc = with_statement(Some(old), add).unwrap().unwrap();
        assert!(!doc.contains("${"), "no variable under 2008-10-17: {doc}");
        assert!(doc.contains("\"Version\":\"2008-10-17\""), "{doc}");
    }

    #[test]
    fn statements_are_added_once_escaped_and_never_to_a_policy_firebreak_cannot_read() {
        let add = malware_statements("aws", "b", Some("in/*$x?.exe"), &[], true);
        assert_eq!(add.len(), 2);
        assert_eq!(add[1]["Resource"], "arn:aws:s3:::b/in/${*}${$}x${?}.exe");
        assert!(
            add[1].get("Condition").is_none(),
            "the object itself, unconditionally"
        );
        let once = with_statement(None, add.clone()).unwrap().unwrap();
        assert_eq!(with_statement(Some(&once), add.clone()), Ok(None));
        assert!(with_statement(Some("[1, 2]"), add.clone()).is_err());
        assert!(with_statement(Some("not json"), add.clone()).is_err());
        let huge = json!({"Statement": [{"Sid": "x".repeat(POLICY_LIMIT)}]}).to_string();
        assert!(with_statement(Some(&huge), add).is_err());
    }

    #[test]
    fn block_records_round_trip_and_an_odd_one_is_refused() {
        let some = Some(PublicAccessBlock {
            block_acls: true,
            ..PublicAccessBlock::default()
        });
        for settings in [None, some, Some(PublicAccessBlock::ALL)] {
            assert_eq!(parse_block_token(&block_token(settings)), Ok(settings));
        }
        assert!(parse_block_token("acls=true").is_err());
        assert!(parse_block_token("acls=maybe ignore=true policy=true restrict=true").is_err());
    }
}
