//! Memory capture through the real binary against the local AWS: a playbook rule's
//! `capture_memory = true` sends the capture document by Run Command once the instance is
//! isolated, through the VPC's endpoints (the isolation group's HTTPS rules read back), with
//! presigned URLs that really reach the evidence bucket (the image uploaded through the URL is read
//! back locked and encrypted); a redelivery sends nothing more; without the opt-in, nothing is
//! sent and the report says why. The command is read back from Systems Manager (`ListCommands`):
//! its document, instance and parameters. The document is the template's own `CaptureDocument`,
//! created from `infra/template.yaml`, and the local AWS checks each parameter against its
//! `allowedPattern` as Systems Manager does (`scripts/localaws/ssm.py`).

use std::path::PathBuf;
use std::process::Command;

use aws_sdk_ec2::types::VpcEndpointType;
use aws_sdk_s3::types::{
    BucketVersioningStatus, DefaultRetention, ObjectLockConfiguration, ObjectLockEnabled,
    ObjectLockRetentionMode, ObjectLockRule, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use firebreak_tests::fixtures::{filter, guardduty_event, unique, Aws};
use firebreak_tests::{sdk_config, Function};
use serde_json::Value;

const TOOL: &[u8] = b"#!/bin/sh\necho not really avml\n";
const TOOL_SHA256: &str = "72b078ab6cead1adffbd10871155d6c5e9f89e5f63a1f39a82141e3360126f95";

/// The template's capture document, as the stack creates it (its `Content`, as JSON).
fn capture_document_content() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    let text = std::fs::read_to_string(path).unwrap();
    // The document's Content is plain YAML (no CloudFormation tags): cut it out of the template.
    let start = text.find("  CaptureDocument:\n").expect("CaptureDocument");
    let rest = &text[start..];
    let content = rest.find("      Content:\n").unwrap() + "      Content:\n".len();
    let body: Vec<&str> = rest[content..]
        .lines()
        .take_while(|l| l.starts_with("        ") || l.trim().is_empty())
        .collect();
    let yaml = body
        .iter()
        .map(|l| l.get(8..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    yaml
}

/// A running Linux instance (the local AWS's first image is a Windows one, which is not captured).
pub(crate) async fn linux_instance(aws: &Aws, subnet: &str, groups: &[String]) -> String {
    let images = aws.ec2.describe_images().send().await.unwrap();
    let linux = images
        .images()
        .iter()
        .find(|i| i.platform().is_none())
        .and_then(|i| i.image_id())
        .unwrap()
        .to_string();
    let out = aws
        .ec2
        .run_instances()
        .image_id(linux)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .subnet_id(subnet)
        .set_security_group_ids(Some(groups.to_vec()))
        .send()
        .await
        .unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

struct Setup {
    aws: Aws,
    ssm: aws_sdk_ssm::Client,
    vpc: String,
    instance: String,
    enis: Vec<(String, String)>,
    bucket: String,
    document: String,
    endpoint_addresses: Vec<String>,
    s3_prefix_list: String,
}

/// An instance with an instance profile (its SSM Agent online), in a VPC with the three agent
/// interface endpoints and the S3 gateway endpoint; the evidence bucket as the template declares
/// it, with the tool; the template's capture document.
async fn setup(cidr: &str) -> Setup {
    let aws = Aws::new().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let instance = linux_instance(&aws, &subnet, &[app]).await;
    let (_, profile) = aws.role_with_profile().await;
    aws.associate_profile(&instance, &profile).await;
    let enis = aws.eni_vpcs(&instance).await;
    let mut endpoint_enis = Vec::new();
    for service in ["ssm", "ssmmessages", "ec2messages"] {
        let out = aws
            .ec2
            .create_vpc_endpoint()
            .vpc_id(&vpc)
            .service_name(format!("com.amazonaws.us-east-1.{service}"))
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .subnet_ids(&subnet)
            .private_dns_enabled(true)
            .send()
            .await
            .unwrap();
        let e = out.vpc_endpoint().unwrap();
        endpoint_enis.extend(e.network_interface_ids().iter().cloned());
    }
    aws.ec2
        .create_vpc_endpoint()
        .vpc_id(&vpc)
        .service_name("com.amazonaws.us-east-1.s3")
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .send()
        .await
        .unwrap();
    let addresses = aws
        .ec2
        .describe_network_interfaces()
        .set_network_interface_ids(Some(endpoint_enis))
        .send()
        .await
        .unwrap()
        .network_interfaces()
        .iter()
        .map(|n| format!("{}/32", n.private_ip_address().unwrap()))
        .collect();
    let s3_prefix_list = aws
        .ec2
        .describe_prefix_lists()
        .filters(filter("prefix-list-name", "com.amazonaws.us-east-1.s3"))
        .send()
        .await
        .unwrap()
        .prefix_lists()[0]
        .prefix_list_id()
        .unwrap()
        .to_string();
    let bucket = evidence_bucket(&aws).await;
    let document = unique("FirebreakCapture");
    ssm.create_document()
        .name(&document)
        .content(capture_document_content())
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Yaml)
        .send()
        .await
        .unwrap();
    Setup {
        aws,
        ssm,
        vpc,
        instance,
        enis,
        bucket,
        document,
        endpoint_addresses: addresses,
        s3_prefix_list,
    }
}

/// The evidence bucket as `infra/template.yaml` declares it (`template_capture.rs` pins those
/// properties): Object Lock in governance mode, versioned, KMS-encrypted; the tool uploaded.
async fn evidence_bucket(aws: &Aws) -> String {
    let bucket = unique("evidence").to_lowercase();
    let key = aws_sdk_kms_key(aws).await;
    aws.s3
        .create_bucket()
        .bucket(&bucket)
        .object_lock_enabled_for_bucket(true)
        .send()
        .await
        .unwrap();
    aws.s3
        .put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .kms_master_key_id(key)
        .build()
        .unwrap();
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(by_default)
        .bucket_key_enabled(true)
        .build();
    aws.s3
        .put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let retention = DefaultRetention::builder()
        .mode(ObjectLockRetentionMode::Governance)
        .days(90)
        .build();
    aws.s3
        .put_object_lock_configuration()
        .bucket(&bucket)
        .object_lock_configuration(
            ObjectLockConfiguration::builder()
                .object_lock_enabled(ObjectLockEnabled::Enabled)
                .rule(
                    ObjectLockRule::builder()
                        .default_retention(retention)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    aws.s3
        .put_object()
        .bucket(&bucket)
        .key("tools/avml")
        .body(TOOL.to_vec().into())
        .send()
        .await
        .unwrap();
    bucket
}

/// A KMS key for the bucket (the template's `EvidenceKey`).
async fn aws_sdk_kms_key(_aws: &Aws) -> String {
    // The local AWS does not check the key of a bucket's default encryption: any ARN of the
    // account's form names it.
    format!(
        "arn:aws:kms:us-east-1:{}:key/{}",
        firebreak_tests::ACCOUNT,
        "0f0e0d0c-0b0a-4090-8070-605040302010"
    )
}

fn playbook_file() -> String {
    let path = std::env::temp_dir().join(format!("{}.toml", unique("capture-playbook")));
    std::fs::write(
        &path,
        "version = 1\n[[rule]]\nname = \"backdoors\"\nfinding_types = [\"Backdoor:*\"]\n\
         response = \"contain\"\ncapture_memory = true\n",
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

async fn responder(s: &Setup, through_endpoints: bool, topic: &str) -> Function {
    let playbook = playbook_file();
    let opt_in = through_endpoints.to_string();
    Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic),
            ("FIREBREAK_PLAYBOOK_FILE", &playbook),
            ("FIREBREAK_EVIDENCE_BUCKET", &s.bucket),
            ("FIREBREAK_CAPTURE_DOCUMENT", &s.document),
            ("FIREBREAK_CAPTURE_TOOL_SHA256", TOOL_SHA256),
            ("FIREBREAK_CAPTURE_THROUGH_ENDPOINTS", &opt_in),
            // The endpoints are in the instance's subnet; the ACL deny is another test's subject.
            ("FIREBREAK_NETWORK_ACL_DENY", "false"),
        ],
    )
    .await
}

fn step<'a>(report: &'a Value, action: &str) -> &'a Value {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["action"] == action)
        .unwrap_or_else(|| panic!("no {action} outcome: {report}"))
}

/// The commands Systems Manager holds for the instance: (command id, document, instances,
/// parameters).
async fn commands(s: &Setup) -> Vec<aws_sdk_ssm::types::Command> {
    s.ssm
        .list_commands()
        .instance_id(&s.instance)
        .send()
        .await
        .unwrap()
        .commands()
        .to_vec()
}

fn parameter(c: &aws_sdk_ssm::types::Command, name: &str) -> String {
    c.parameters().unwrap()[name][0].clone()
}

/// The isolation group's egress rules: (CIDR or prefix list, description), HTTPS only.
async fn egress(s: &Setup) -> Vec<(String, String)> {
    let group = s.aws.isolation_group(&s.vpc).await;
    let out = s
        .aws
        .ec2
        .describe_security_groups()
        .group_ids(&group)
        .send()
        .await
        .unwrap();
    let mut rules = Vec::new();
    for p in out.security_groups()[0].ip_permissions_egress() {
        assert_eq!(p.ip_protocol(), Some("tcp"), "{p:?}");
        assert_eq!(
            (p.from_port(), p.to_port()),
            (Some(443), Some(443)),
            "{p:?}"
        );
        for r in p.ip_ranges() {
            let d = r.description().unwrap_or_default().to_string();
            rules.push((r.cidr_ip().unwrap().to_string(), d));
        }
        for l in p.prefix_list_ids() {
            let d = l.description().unwrap_or_default().to_string();
            rules.push((l.prefix_list_id().unwrap().to_string(), d));
        }
    }
    rules.sort();
    rules
}

fn curl(args: &[&str]) -> std::process::Output {
    Command::new("curl")
        .args(["--silent", "--show-error", "--fail"])
        .args(args)
        .output()
        .expect("curl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_instance_is_captured_through_the_vpc_endpoints_once_per_finding() {
    let s = setup("10.190.0.0/16").await;
    let (topic, queue) = s.aws.topic_with_queue().await;
    let f = responder(&s, true, &topic).await;
    let finding = unique("capture");
    let event = guardduty_event(
        &finding,
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        &s.instance,
        &s.enis,
        "ACTOR",
    );
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");

    // Isolated first: the interface is in the isolation group.
    let group = s.aws.isolation_group(&s.vpc).await;
    for (eni, _, groups) in s.aws.interfaces(&s.instance).await {
        assert!(groups.contains(&group), "{eni}: {groups:?}");
    }
    // One command: the template's document, on this instance, with the pinned hash and two URLs
    // of the evidence bucket.
    let sent = commands(&s).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let c = &sent[0];
    assert_eq!(c.document_name(), Some(s.document.as_str()));
    assert_eq!(c.instance_ids(), std::slice::from_ref(&s.instance));
    assert_eq!(parameter(c, "ToolSha256"), TOOL_SHA256);
    let tool_url = parameter(c, "ToolUrl");
    let upload_url = parameter(c, "UploadUrl");
    assert!(
        tool_url.contains(&format!("/{}/tools/avml?", s.bucket)),
        "{tool_url}"
    );
    let key_prefix = format!("/{}/memory/{}/", s.bucket, s.instance);
    assert!(upload_url.contains(&key_prefix), "{upload_url}");
    let key = upload_url
        .split(&format!("/{}/", s.bucket))
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(key.ends_with(".lime"), "{key}");
    let command_id = c.command_id().unwrap().to_string();

    // The isolation group allows HTTPS to exactly the endpoints' addresses and S3's prefix list.
    let mut want: Vec<(String, String)> = s
        .endpoint_addresses
        .iter()
        .chain(std::iter::once(&s.s3_prefix_list))
        .map(|d| (d.clone(), firebreak::tags::CAPTURE_EGRESS.to_string()))
        .collect();
    want.sort();
    assert_eq!(egress(&s).await, want);

    // Recorded on the instance (sealed), and told: the command id and the object key.
    let tags = s.aws.tags(&s.instance).await;
    let record = tags
        .iter()
        .find(|(k, _)| k == "firebreak:memory")
        .map(|(_, v)| v.clone());
    assert_eq!(record, Some(format!("{key} {command_id}")));
    let capture = step(&report, "capture-memory");
    assert_eq!(capture["status"], "succeeded", "{capture}");
    let messages = s
        .aws
        .messages(&queue, 1, std::time::Duration::from_secs(5))
        .await;
    let text = serde_json::to_string(&messages).unwrap();
    assert!(text.contains(&command_id) && text.contains(&key), "{text}");

    // The URLs reach the bucket: the tool comes back as uploaded; an image put through the
    // upload URL is stored, encrypted with KMS and locked in governance mode.
    let tool = curl(&[&tool_url]);
    assert_eq!(
        tool.stdout,
        TOOL,
        "{}",
        String::from_utf8_lossy(&tool.stderr)
    );
    let image = std::env::temp_dir().join(unique("image"));
    std::fs::write(&image, b"LiME image").unwrap();
    // As the capture document uploads it: with Content-MD5, which S3 requires in a bucket with
    // Object Lock.
    let md5 = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl dgst -md5 -binary '{}' | base64",
            image.display()
        ))
        .output()
        .unwrap();
    let md5 = format!(
        "Content-MD5: {}",
        String::from_utf8(md5.stdout).unwrap().trim()
    );
    let file = image.to_str().unwrap();
    let put = curl(&["--upload-file", file, "--header", &md5, &upload_url]);
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let head = s
        .aws
        .s3
        .head_object()
        .bucket(&s.bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption(),
        Some(&ServerSideEncryption::AwsKms)
    );
    assert_eq!(
        head.object_lock_mode().map(|m| m.as_str()),
        Some("GOVERNANCE")
    );

    // A redelivery: already done, nothing sent, the endpoint rules kept by the reconciliation.
    let again = f.invoke(&event).await.unwrap();
    let capture = step(&again, "capture-memory");
    assert_eq!(capture["status"], "already-done", "{capture}");
    assert!(
        capture["detail"].as_str().unwrap().contains(&command_id),
        "{capture}"
    );
    assert_eq!(commands(&s).await.len(), 1);
    assert_eq!(egress(&s).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_opt_in_an_isolated_instance_is_not_captured_and_the_report_says_why() {
    let s = setup("10.191.0.0/16").await;
    let (topic, queue) = s.aws.topic_with_queue().await;
    let f = responder(&s, false, &topic).await;
    let finding = unique("no-capture");
    let event = guardduty_event(
        &finding,
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        &s.instance,
        &s.enis,
        "ACTOR",
    );
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    let capture = step(&report, "capture-memory");
    assert_eq!(capture["status"], "skipped", "{capture}");
    let why = capture["detail"].as_str().unwrap();
    assert!(why.contains("CaptureThroughEndpoints"), "{why}");
    assert!(commands(&s).await.is_empty(), "nothing sent");
    assert!(
        egress(&s).await.is_empty(),
        "the isolation group keeps no egress"
    );
    let tags = s.aws.tags(&s.instance).await;
    assert!(
        tags.iter().all(|(k, _)| k != "firebreak:memory"),
        "{tags:?}"
    );
    let messages = s
        .aws
        .messages(&queue, 1, std::time::Duration::from_secs(5))
        .await;
    let text = serde_json::to_string(&messages).unwrap();
    assert!(text.contains("CaptureThroughEndpoints"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_without_its_agent_online_is_not_captured() {
    let s = setup("10.192.0.0/16").await;
    // Its instance profile removed (as detach-instance-profile does): the agent has no
    // credentials.
    for (association, _) in s.aws.profile_associations(&s.instance).await {
        s.aws
            .ec2
            .disassociate_iam_instance_profile()
            .association_id(association)
            .send()
            .await
            .unwrap();
    }
    let (topic, _queue) = s.aws.topic_with_queue().await;
    let f = responder(&s, true, &topic).await;
    let event = guardduty_event(
        &unique("offline"),
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        &s.instance,
        &s.enis,
        "ACTOR",
    );
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    let capture = step(&report, "capture-memory");
    assert_eq!(capture["status"], "skipped", "{capture}");
    let why = capture["detail"].as_str().unwrap();
    assert!(
        why.contains("SSM Agent") || why.contains("does not manage"),
        "{why}"
    );
    assert!(commands(&s).await.is_empty(), "nothing sent");
}
