//! Every region from one deployment, through the real binary against the local AWS: a GuardDuty
//! finding of another region, imported by Security Hub's cross-region aggregation, is contained in
//! its own region; the same finding arriving natively as well, and Security Hub's re-imports of it,
//! change nothing and send no second message; a finding of the function's own region is left to
//! its native event.

use std::time::Duration;

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{asff_instance, guardduty_asff, guardduty_event, unique, Aws};
use firebreak_tests::{Function, ACCOUNT};
use serde_json::{json, Value};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// Security Hub's event for findings it imported, in the aggregation region (us-east-1).
fn imported_event(findings: &[Value]) -> Value {
    json!({
        "version": "0",
        "id": unique("event"),
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": ACCOUNT,
        "time": "2026-11-30T03:05:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"findings": findings}
    })
}

/// The ASFF of a GuardDuty finding about `instance` in `region`, as the aggregation region has it.
fn asff_in(region: &str, finding: &str, instance: &str, vpc: &str) -> Value {
    let mut f = guardduty_asff(finding, C2, 8.0, asff_instance(instance, vpc));
    f["Id"] = json!(format!(
        "arn:aws:guardduty:{region}:{ACCOUNT}:detector/d0e2e/finding/{finding}"
    ));
    f["ProductArn"] = json!(format!(
        "arn:aws:securityhub:{region}::product/aws/guardduty"
    ));
    f["Region"] = json!(region);
    f["Resources"][0]["Region"] = json!(region);
    f["Resources"][0]["Id"] = json!(format!(
        "arn:aws:ec2:{region}:{ACCOUNT}:instance/{instance}"
    ));
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_finding_of_another_region_is_contained_there_once_and_told_once() {
    let region = "eu-west-1";
    let aws = Aws::in_region(region).await;
    let home = Aws::new().await;
    let (topic, queue) = home.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.140.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let finding = unique("imported");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;

    // The import: contained in eu-west-1, from the us-east-1 deployment.
    let event = imported_event(&[asff_in(region, &finding, &instance, &vpc)]);
    let got = responder.invoke(&event).await.unwrap();
    assert_eq!(
        got["findings"][0]["result"]["outcome"], "responded",
        "{got}"
    );
    assert_eq!(
        got["findings"][0]["result"]["verdict"], "contained",
        "{got}"
    );
    let groups = aws.groups_of(&instance).await;
    assert_eq!(groups.len(), 1);
    assert_ne!(groups, vec![app.clone()], "isolated in its own region");
    let tags = aws.tags(&instance).await;
    assert_eq!(tag(&tags, "firebreak:finding-id"), Some(finding.as_str()));
    let volumes = aws.describe(&instance).await.block_device_mappings().len();
    assert_eq!(aws.finding_snapshots(&finding).await.len(), volumes);

    // Security Hub re-imports it (an update), and it arrives natively as well: nothing changes.
    let again = responder.invoke(&event).await.unwrap();
    assert_eq!(
        again["findings"][0]["result"]["outcome"], "already-handled",
        "{again}"
    );
    let enis: Vec<(String, String)> = aws
        .interfaces(&instance)
        .await
        .into_iter()
        .map(|(eni, vpc, _)| (eni, vpc))
        .collect();
    let mut native = guardduty_event(&finding, C2, 8.0, &instance, &enis, "ACTOR");
    native["region"] = json!(region);
    native["detail"]["region"] = json!(region);
    let report = responder.invoke(&native).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    assert_eq!(
        aws.finding_snapshots(&finding).await.len(),
        volumes,
        "one snapshot per volume"
    );

    // One message for the three deliveries.
    let messages = home.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(serde_json::to_string(&messages[0])
        .unwrap()
        .contains(&instance));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_finding_of_the_function_s_own_region_is_left_to_its_native_event() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.141.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let finding = unique("home");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let event = imported_event(&[asff_in("us-east-1", &finding, &instance, &vpc)]);
    let got = responder.invoke(&event).await.unwrap();
    assert_eq!(
        got["findings"][0]["result"]["outcome"], "left-to-the-native-event",
        "{got}"
    );
    let groups = aws.groups_of(&instance).await;
    assert_eq!(groups, vec![app.clone()], "untouched");

    // A finding of another region that a human resolved (an FbRelease's note re-imports it) is
    // not contained again.
    let mut resolved = asff_in("eu-west-2", &unique("resolved"), &instance, &vpc);
    resolved["Workflow"] = json!({"Status": "RESOLVED"});
    let got = responder
        .invoke(&imported_event(&[resolved]))
        .await
        .unwrap();
    assert_eq!(got["findings"][0]["result"]["outcome"], "rejected", "{got}");
    assert!(aws
        .messages(&queue, 1, Duration::from_secs(2))
        .await
        .is_empty());
}

/// An imported finding of another product (`product`: `inspector`, `macie`) in the home region.
fn other_product(product: &str, name: &str, types: &[&str], label: &str, resource: Value) -> Value {
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:{product}:us-east-1:{ACCOUNT}:finding/{}", unique(product)),
        // AWS's own product ARN (Inspector's is `inspector` for Amazon Inspector v2's findings too).
        "ProductArn": format!(
            "arn:aws:securityhub:us-east-1::product/aws/{}",
            product.trim_end_matches('2')
        ),
        "ProductName": name, "CompanyName": "Amazon", "Region": "us-east-1",
        "GeneratorId": product, "AwsAccountId": ACCOUNT, "Types": types,
        "CreatedAt": "2026-11-30T02:00:00.000Z", "UpdatedAt": "2026-11-30T03:00:00.000Z",
        "Severity": {"Label": label}, "Title": "finding", "Description": "finding",
        "ProductFields": {"aws/securityhub/ProductName": name},
        "Resources": [resource], "RecordState": "ACTIVE", "Workflow": {"Status": "NEW"}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_s_exploitable_critical_vulnerability_asks_and_macie_s_public_bucket_is_blocked()
{
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.190.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let mut inspector = other_product(
        "inspector2",
        "Inspector",
        &["Software and Configuration Checks/Vulnerabilities/CVE"],
        "CRITICAL",
        json!({"Type": "AwsEc2Instance", "Region": "us-east-1", "Partition": "aws",
               "Id": format!("arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{instance}")}),
    );
    inspector["Vulnerabilities"] = json!([{"Id": "CVE-2021-44228", "ExploitAvailable": "YES",
        "Cvss": [{"Version": "3.1", "BaseScore": 10.0,
                  "BaseVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}]}]);
    let bucket = unique("public").to_lowercase();
    aws.s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let macie = other_product(
        "macie",
        "Macie",
        &["Software and Configuration Checks/AWS Security Best Practices/Policy:IAMUser-S3BucketPublic"],
        "HIGH",
        json!({"Type": "AwsS3Bucket", "Region": "us-east-1", "Partition": "aws",
               "Id": format!("arn:aws:s3:::{bucket}")}),
    );
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let got = responder
        .invoke(&imported_event(&[inspector, macie]))
        .await
        .unwrap();
    assert_eq!(
        got["findings"][0]["result"]["verdict"], "awaiting-approval",
        "{got}"
    );
    assert_eq!(
        got["findings"][1]["result"]["verdict"], "contained",
        "{got}"
    );

    // Inspector: evidence kept, the instance waiting for a human, not isolated.
    let tags = aws.tags(&instance).await;
    assert_eq!(
        tag(&tags, "firebreak:status"),
        Some("awaiting-approval told")
    );
    assert_eq!(aws.groups_of(&instance).await, vec![app]);
    assert!(aws.protection(&instance).await.termination_protection);
    // Macie: the bucket's Block Public Access all on.
    let block = aws
        .s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let c = block.public_access_block_configuration().unwrap();
    assert_eq!(
        [
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ],
        [Some(true); 4]
    );
}

/// Issue 20: an integration may name itself GuardDuty in `ProductName`, never in `ProductArn`: a
/// finding under a third party's product ARN is rejected, and its instance left untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_that_only_calls_itself_guardduty_is_not_acted_on() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.146.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let mut spoof = asff_in("eu-west-2", &unique("spoof"), &instance, &vpc);
    spoof["ProductArn"] = json!(format!(
        "arn:aws:securityhub:eu-west-2:{ACCOUNT}:product/{ACCOUNT}/default"
    ));
    spoof["ProductName"] = json!("GuardDuty");
    spoof["ProductFields"]["aws/securityhub/ProductName"] = json!("GuardDuty");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let got = responder.invoke(&imported_event(&[spoof])).await.unwrap();
    assert_eq!(got["findings"][0]["result"]["outcome"], "rejected", "{got}");
    assert_eq!(aws.groups_of(&instance).await, vec![app], "untouched");
    assert!(aws
        .messages(&queue, 1, Duration::from_secs(2))
        .await
        .is_empty());
}
