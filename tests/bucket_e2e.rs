//! S3 buckets and objects, through the real binaries against the local AWS: an S3 Protection
//! finding about exfiltration turns the bucket's Block Public Access all on (the settings before
//! recorded on the bucket first) and revokes the calling user's sessions; `FbRelease` puts the
//! recorded settings back. A Malware Protection for S3 finding adds one bucket-policy statement
//! that denies reading objects GuardDuty tagged `THREATS_FOUND`, once however often it is
//! delivered; `FbRelease` removes it and leaves the bucket's own policy as it was.

use std::time::Duration;

use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use firebreak_tests::fixtures::{guardduty_envelope, unique, unsealed, Aws};
use firebreak_tests::{Function, ACCOUNT};
use serde_json::{json, Value};

pub(crate) fn finding_event(finding: &str, finding_type: &str, resource: Value) -> Value {
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
                         "resourceRole": "TARGET", "additionalInfo": {}});
    guardduty_envelope(finding, finding_type, 8.0, "s3", resource, service)
}

pub(crate) async fn bucket(aws: &Aws) -> String {
    let name = unique("data").replace('_', "-").to_lowercase();
    aws.s3.create_bucket().bucket(&name).send().await.unwrap();
    name
}

async fn block(aws: &Aws, bucket: &str) -> Option<[bool; 4]> {
    match aws.s3.get_public_access_block().bucket(bucket).send().await {
        Ok(out) => out.public_access_block_configuration().map(|c| {
            [
                c.block_public_acls().unwrap_or(false),
                c.ignore_public_acls().unwrap_or(false),
                c.block_public_policy().unwrap_or(false),
                c.restrict_public_buckets().unwrap_or(false),
            ]
        }),
        Err(_) => None,
    }
}

/// The value of the bucket's tag `key` as Firebreak reads it (its seal, for the bucket, taken off).
pub(crate) async fn bucket_tag(aws: &Aws, bucket: &str, key: &str) -> Option<String> {
    let out = aws
        .s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    let tags = out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    unsealed(bucket, tags)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

async fn policy(aws: &Aws, bucket: &str) -> Option<Value> {
    let out = aws
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .ok()?;
    serde_json::from_str(out.policy()?).ok()
}

/// FbRelease on the finding as Security Hub has it.
async fn release(aws: &Aws, topic: &str, finding: &str, finding_type: &str, resource: Value) {
    let got = aws.fb_release(topic, finding, finding_type, resource).await;
    assert_eq!(got["verdict"], "released", "{got}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exfiltrated_bucket_is_blocked_its_caller_revoked_and_release_restores_its_settings() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let name = bucket(&aws).await;
    let before = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(false)
        .block_public_policy(false)
        .restrict_public_buckets(false)
        .build();
    aws.s3
        .put_public_access_block()
        .bucket(&name)
        .public_access_block_configuration(before)
        .send()
        .await
        .unwrap();
    let (user, keys) = aws.user_with_keys().await;
    let finding = unique("s3");
    let finding_type = "Exfiltration:S3/AnomalousBehavior";
    let event = finding_event(
        &finding,
        finding_type,
        json!({"resourceType": "S3Bucket",
            "s3BucketDetails": [{"name": name, "arn": format!("arn:aws:s3:::{name}"),
                                 "type": "Destination"}],
            "accessKeyDetails": {"accessKeyId": keys[0], "principalId": "AIDAEXAMPLE",
                                 "userName": user, "userType": "IAMUser"}}),
    );
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    for delivery in 0..2 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }
    assert_eq!(block(&aws, &name).await, Some([true; 4]), "all on");
    let raw = aws
        .s3
        .get_bucket_tagging()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    for t in raw.tag_set() {
        assert!(t.value().contains(" fb="), "{t:?} is not sealed");
    }
    assert_eq!(
        bucket_tag(&aws, &name, "firebreak:public-access-block")
            .await
            .as_deref(),
        Some("acls=true ignore=false policy=false restrict=false"),
        "the settings before, recorded once (not overwritten by the redelivery)"
    );
    let state = aws.user_state(&user).await;
    let revoked = state
        .policies
        .iter()
        .find(|(n, _)| n == "FirebreakRevokeOlderSessions")
        .map(|(_, doc)| doc.clone());
    assert!(
        revoked.is_some(),
        "the caller's older sessions denied: {:?}",
        state.policies
    );

    release(
        &aws,
        &topic,
        &finding,
        finding_type,
        json!({"Type": "AwsS3Bucket", "Id": format!("arn:aws:s3:::{name}"),
               "Region": "us-east-1", "Partition": "aws"}),
    )
    .await;
    assert_eq!(block(&aws, &name).await, Some([true, false, false, false]));
    assert_eq!(
        bucket_tag(&aws, &name, "firebreak:public-access-block").await,
        None
    );
    assert!(bucket_tag(&aws, &name, "firebreak:released-at")
        .await
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malicious_object_s_bucket_gets_the_tag_based_deny_once_and_release_removes_it() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let name = bucket(&aws).await;
    let own = json!({"Version": "2012-10-17", "Statement": [{"Sid": "Logs", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{name}/logs/*")}]});
    aws.s3
        .put_bucket_policy()
        .bucket(&name)
        .policy(own.to_string())
        .send()
        .await
        .unwrap();
    let key = "uploads/invoice.pdf.exe";
    let finding = unique("malware");
    let finding_type = "Object:S3/MaliciousFile";
    let event = finding_event(
        &finding,
        finding_type,
        json!({"resourceType": "S3Object",
            "s3BucketDetails": [{"name": name, "arn": format!("arn:aws:s3:::{name}"),
                "s3ObjectDetails": [{"key": key, "objectArn": format!("arn:aws:s3:::{name}/{key}"),
                                     "eTag": "abc", "versionId": "null"}]}]}),
    );
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    for delivery in 0..3 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }
    let doc = policy(&aws, &name).await.expect("a policy");
    let statements = doc["Statement"].as_array().unwrap();
    let ours: Vec<&Value> = statements
        .iter()
        .filter(|s| s["Sid"] == "FirebreakDenyThreatsFound")
        .collect();
    assert_eq!(ours.len(), 1, "once after three deliveries: {doc}");
    // And the finding's own object, whether or not GuardDuty tags it.
    let object: Vec<&Value> = statements
        .iter()
        .filter(|s| {
            s["Sid"]
                .as_str()
                .is_some_and(|sid| sid.starts_with("FirebreakDenyObject"))
        })
        .collect();
    assert_eq!(object.len(), 1, "once after three deliveries: {doc}");
    assert_eq!(object[0]["Resource"], format!("arn:aws:s3:::{name}/{key}"));
    assert_eq!(object[0]["Effect"], "Deny");
    assert_eq!(
        statements.len(),
        3,
        "the bucket's own statement kept: {doc}"
    );
    let deny = ours[0];
    assert_eq!(deny["Effect"], "Deny");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(deny["Resource"], format!("arn:aws:s3:::{name}/*"));
    assert_eq!(
        deny["Condition"]["StringEquals"]["s3:ExistingObjectTag/GuardDutyMalwareScanStatus"],
        "THREATS_FOUND"
    );
    assert!(bucket_tag(&aws, &name, "firebreak:malware-deny")
        .await
        .is_some());
    let messages = aws.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "told once");

    release(
        &aws,
        &topic,
        &finding,
        finding_type,
        json!({"Type": "AwsS3Object", "Id": format!("arn:aws:s3:::{name}/{key}"),
               "Region": "us-east-1", "Partition": "aws"}),
    )
    .await;
    assert_eq!(
        policy(&aws, &name).await,
        Some(own),
        "the bucket's own policy, as it was"
    );
    assert_eq!(
        bucket_tag(&aws, &name, "firebreak:malware-deny").await,
        None
    );
}

/// Under a bucket policy of Version 2008-10-17 (still common) policy variables are literal text:
/// the finding's object is denied with the one-character wildcard in place of its `*` and `?`, the
/// policy's Version and own statement unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_an_old_policy_version_the_malicious_object_is_denied_without_variables() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let name = bucket(&aws).await;
    let own = json!({"Version": "2008-10-17", "Statement": [{"Sid": "Logs", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "s3:PutObject",
        "Resource": format!("arn:aws:s3:::{name}/logs/*")}]});
    aws.s3
        .put_bucket_policy()
        .bucket(&name)
        .policy(own.to_string())
        .send()
        .await
        .unwrap();
    let key = "uploads/a*b?$c.exe";
    let event = finding_event(
        &unique("malware-old-policy"),
        "Object:S3/MaliciousFile",
        json!({"resourceType": "S3Object",
            "s3BucketDetails": [{"name": name, "arn": format!("arn:aws:s3:::{name}"),
                "s3ObjectDetails": [{"key": key, "objectArn": format!("arn:aws:s3:::{name}/{key}"),
                                     "eTag": "abc", "versionId": "null"}]}]}),
    );
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    let doc = policy(&aws, &name).await.expect("a policy");
    assert_eq!(doc["Version"], "2008-10-17", "{doc}");
    let object = doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["Sid"]
                .as_str()
                .is_some_and(|sid| sid.starts_with("FirebreakDenyObject"))
        })
        .cloned()
        .expect("the object's statement");
    assert_eq!(
        object["Resource"],
        format!("arn:aws:s3:::{name}/uploads/a?b?$c.exe"),
        "{doc}"
    );
    assert!(doc["Statement"]
        .as_array()
        .unwrap()
        .contains(&own["Statement"][0]));
}

/// Issue 20: a forged Block Public Access record (unsealed, and with a made-up seal) on a bucket
/// Firebreak never touched: `FbRelease` never deletes the owner's Block Public Access, and the team
/// is told what was found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_block_record_never_unblocks_a_bucket_firebreak_never_touched() {
    use aws_sdk_s3::types::{Tag, Tagging};
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let name = bucket(&aws).await;
    let all_on = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    aws.s3
        .put_public_access_block()
        .bucket(&name)
        .public_access_block_configuration(all_on)
        .send()
        .await
        .unwrap();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let forged = Tagging::builder()
        .tag_set(tag("firebreak:public-access-block", "none"))
        .tag_set(tag(
            "firebreak:status",
            "stopped fb=AAAA.BBBBBB.CCCCCCCCCCCCCCCCCCCCCC",
        ))
        .build()
        .unwrap();
    aws.s3
        .put_bucket_tagging()
        .bucket(&name)
        .tagging(forged)
        .send()
        .await
        .unwrap();
    let resource = json!({"Type": "AwsS3Bucket", "Id": format!("arn:aws:s3:::{name}"),
                          "Region": "us-east-1", "Partition": "aws"});
    let got = aws
        .fb_release(
            &topic,
            &unique("forged-bucket"),
            "Exfiltration:S3/AnomalousBehavior",
            resource,
        )
        .await;
    assert_eq!(block(&aws, &name).await, Some([true; 4]), "{got}");
    let messages = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    let told = serde_json::to_string(&messages).unwrap();
    assert!(
        told.contains("TAMPERING") && told.contains("NOT RESTORED") && told.contains(&name),
        "{told}"
    );
}
