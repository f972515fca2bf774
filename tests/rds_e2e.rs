//! RDS databases, through the real binaries against the local AWS: an RDS Protection finding
//! (`CredentialAccess:RDS/*`, default `ask`) leaves a snapshot tagged with the finding and the
//! database `awaiting-approval`, its groups untouched, the team told once (the login's user and
//! source, the SQL that locks the user) for three deliveries; the approval command from the
//! response isolates it (its groups recorded first, sealed); a redelivery then changes nothing and
//! asks nothing; `FbRelease` gives its groups back exactly and removes the records. An Aurora
//! instance's cluster is snapshotted (a cluster snapshot) and isolated the same way when a playbook
//! says `contain`.

use std::time::Duration;

use firebreak_tests::fixtures::{guardduty_envelope, unique, unsealed, Aws};
use firebreak_tests::Function;
use serde_json::{json, Value};

/// A VPC with two subnets (two zones), a DB subnet group over them and an application group:
/// (vpc, subnet group, app group).
async fn network(aws: &Aws, second_octet: u8) -> (String, String, String) {
    let cidr = format!("10.{second_octet}.0.0/16");
    let vpc = aws.ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = Vec::new();
    for (i, zone) in ["a", "b"].iter().enumerate() {
        let s = aws
            .ec2
            .create_subnet()
            .vpc_id(&vpc)
            .cidr_block(format!("10.{second_octet}.{i}.0/24"))
            .availability_zone(format!("{}{zone}", aws.region))
            .send()
            .await
            .unwrap();
        subnets.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let group_name = unique("dbsubnets").to_lowercase();
    aws.rds
        .create_db_subnet_group()
        .db_subnet_group_name(&group_name)
        .db_subnet_group_description("databases")
        .set_subnet_ids(Some(subnets))
        .send()
        .await
        .unwrap();
    let app = aws.app_group(&vpc).await;
    (vpc, group_name, app)
}

/// A DB identifier of its own (RDS: letters, digits, single hyphens).
fn db_name(prefix: &str) -> String {
    unique(prefix).replace("--", "-")
}

/// A PostgreSQL DB instance in `subnets` with `group`: its ARN.
async fn postgres(aws: &Aws, id: &str, subnets: &str, group: &str) -> String {
    let out = aws
        .rds
        .create_db_instance()
        .db_instance_identifier(id)
        .engine("postgres")
        .db_instance_class("db.t3.micro")
        .allocated_storage(20)
        .master_username("admin1")
        .master_user_password("not-a-real-password-1")
        .db_subnet_group_name(subnets)
        .vpc_security_group_ids(group)
        .send()
        .await
        .unwrap();
    out.db_instance()
        .unwrap()
        .db_instance_arn()
        .unwrap()
        .to_string()
}

/// The RDS Protection finding, as EventBridge delivers it (GuardDuty API reference:
/// `RdsDbInstanceDetails`, `RdsDbUserDetails`, `RdsLoginAttemptAction`).
fn finding_event(
    finding: &str,
    id: &str,
    cluster: Option<&str>,
    engine: &str,
    user: &str,
) -> Value {
    let mut details = json!({"dbInstanceIdentifier": id, "engine": engine, "engineVersion": "15.4",
        "dbInstanceArn": format!("arn:aws:rds:us-east-1:123456789012:db:{id}"), "tags": []});
    if let Some(c) = cluster {
        details["dbClusterIdentifier"] = json!(c);
    }
    let resource = json!({"resourceType": "RDSDBInstance", "rdsDbInstanceDetails": details,
        "rdsDbUserDetails": {"user": user, "application": "psql", "database": "orders",
                             "authMethod": "PASSWORD", "ssl": "TLSv1.3"}});
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
        "resourceRole": "TARGET", "additionalInfo": {},
        "action": {"actionType": "RDS_LOGIN_ATTEMPT", "rdsLoginAttemptAction": {
            "remoteIpDetails": {"ipAddressV4": "198.51.100.7",
                "organization": {"asn": "64496", "asnOrg": "Example Hosting"}},
            "LoginAttributes": [{"user": user, "application": "psql",
                                 "successfulLoginAttempts": 1, "failedLoginAttempts": 0}]}}});
    let t = "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin";
    guardduty_envelope(
        finding,
        t,
        8.0,
        "login from a malicious IP",
        resource,
        service,
    )
}

/// The groups of a DB instance, or of a cluster.
async fn groups(aws: &Aws, id: &str, cluster: bool) -> Vec<String> {
    let list = match cluster {
        false => aws
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
            .unwrap()
            .db_instances()[0]
            .vpc_security_groups()
            .to_vec(),
        true => aws
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
            .unwrap()
            .db_clusters()[0]
            .vpc_security_groups()
            .to_vec(),
    };
    list.iter()
        .filter_map(|g| g.vpc_security_group_id().map(String::from))
        .collect()
}

/// The tags of an RDS resource, as stored (sealed values included).
async fn raw_tags(aws: &Aws, arn: &str) -> Vec<(String, String)> {
    let out = aws
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = out
        .tag_list()
        .iter()
        .map(|t| {
            let (k, v) = (t.key().unwrap_or_default(), t.value().unwrap_or_default());
            (k.to_string(), v.to_string())
        })
        .collect();
    tags.sort();
    tags
}

fn tag<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The DB snapshots of an instance: (identifier, ARN).
async fn snapshots(aws: &Aws, id: &str) -> Vec<(String, String)> {
    let out = aws
        .rds
        .describe_db_snapshots()
        .db_instance_identifier(id)
        .send()
        .await
        .unwrap();
    out.db_snapshots()
        .iter()
        .filter(|s| s.snapshot_type() == Some("manual"))
        .map(|s| {
            let name = s.db_snapshot_identifier().unwrap_or_default().to_string();
            (name, s.db_snapshot_arn().unwrap_or_default().to_string())
        })
        .collect()
}

/// The approval event inside the ready command (`--payload '…'`), with a name in `by`.
fn approval_event(report: &Value, decision: &str, by: &str) -> Value {
    let lines = report["approval"].as_array().expect("approval lines");
    let command = lines
        .iter()
        .filter_map(Value::as_str)
        .find(|l| l.contains(&format!("\"decision\":\"{decision}\"")))
        .expect("a ready command");
    let payload = command.split("--payload '").nth(1).unwrap();
    let payload = payload.split("' ").next().unwrap();
    let mut event: Value = serde_json::from_str(payload).unwrap();
    event["firebreak-approval"]["by"] = json!(by);
    event
}

/// The text a person reads, from the chat notification the queue received.
fn text_of(envelope: &Value) -> String {
    let message = envelope["Message"].as_str().unwrap_or_default();
    let chat: Value = serde_json::from_str(message).unwrap_or_default();
    chat["content"]["description"]
        .as_str()
        .map(String::from)
        .unwrap_or_else(|| message.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspicious_login_snapshots_the_database_and_an_approval_isolates_it_until_release() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnets, app) = network(&aws, 171).await;
    let id = db_name("orders");
    let arn = postgres(&aws, &id, &subnets, &app).await;
    let finding = unique("rds");
    let event = finding_event(&finding, &id, None, "postgres", "report'ing");
    let responder = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", &topic),
            (
                "FIREBREAK_APPROVAL_FUNCTION",
                "firebreak-securityhub-action",
            ),
        ],
    )
    .await;

    // The default playbook asks: a snapshot now, the groups untouched; three deliveries, one of
    // everything.
    let mut report = Value::Null;
    for delivery in 0..3 {
        report = responder.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "awaiting-approval",
            "delivery {delivery}: {report}"
        );
    }
    assert_eq!(groups(&aws, &id, false).await, vec![app.clone()]);
    let snaps = snapshots(&aws, &id).await;
    assert_eq!(
        snaps.len(),
        1,
        "one snapshot for three deliveries: {snaps:?}"
    );
    let (snap_name, snap_arn) = &snaps[0];
    let snap_tags = unsealed(snap_name, raw_tags(&aws, snap_arn).await);
    assert_eq!(
        tag(&snap_tags, "firebreak:finding-id"),
        Some(finding.as_str())
    );
    let tags = unsealed(&arn, raw_tags(&aws, &arn).await);
    assert_eq!(
        tag(&tags, "firebreak:status"),
        Some("awaiting-approval told")
    );
    assert_eq!(tag(&tags, "firebreak:finding-id"), Some(finding.as_str()));
    let messages = aws.messages(&queue, 2, Duration::from_secs(4)).await;
    assert_eq!(messages.len(), 1, "told once for three deliveries");
    let text = text_of(&messages[0]);
    for part in [
        "\"report'ing\"",
        "198.51.100.7",
        "64496",
        "ALTER ROLE \"report'ing\" NOLOGIN;",
        "usename = 'report''ing';",
        "NOT cut",
        "FbQuarantine",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }

    // The approval command from the response: isolated, its groups recorded (sealed) first.
    let approver = Function::start("securityhub-action", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let approved = approver
        .invoke(&approval_event(&report, "approve", "alice"))
        .await
        .unwrap();
    assert_eq!(approved["verdict"], "contained", "{approved}");
    let isolation = aws.isolation_group(&vpc).await;
    assert_eq!(groups(&aws, &id, false).await, vec![isolation.clone()]);
    let raw = raw_tags(&aws, &arn).await;
    let tags = unsealed(&arn, raw.clone());
    for ((key, raw), (_, read)) in raw.iter().zip(&tags) {
        if key.starts_with("firebreak:") {
            let seal = raw.strip_prefix(read.as_str()).unwrap_or_default();
            assert!(seal.starts_with(" fb="), "{key}={raw:?} is not sealed");
        }
    }
    assert_eq!(tag(&tags, "firebreak:vpc-groups"), Some(app.as_str()));
    assert!(
        tag(&tags, "firebreak:status").is_some_and(|s| s.starts_with("quarantined")),
        "{tags:?}"
    );
    assert_eq!(snapshots(&aws, &id).await.len(), 1, "no second snapshot");

    // A redelivery of the finding changes nothing, asks nothing, tells nothing.
    let again = responder.invoke(&event).await.unwrap();
    assert_ne!(again["verdict"], "awaiting-approval", "{again}");
    assert_eq!(groups(&aws, &id, false).await, vec![isolation]);
    assert_eq!(snapshots(&aws, &id).await.len(), 1);

    // FbRelease on the finding as Security Hub has it: the groups exactly as they were, the
    // records removed; the snapshot is evidence, kept.
    let resource = json!({"Type": "AwsRdsDbInstance", "Id": arn, "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsRdsDbInstance": {"DbInstanceIdentifier": id,
        "Engine": "postgres"}}});
    let t = "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin";
    let got = aws.fb_release(&topic, &finding, t, resource).await;
    assert_eq!(got["verdict"], "released", "{got}");
    assert_eq!(groups(&aws, &id, false).await, vec![app]);
    let left: Vec<String> = raw_tags(&aws, &arn)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("firebreak:"))
        .collect();
    assert_eq!(left, vec!["firebreak:released-at"], "records removed");
    assert_eq!(snapshots(&aws, &id).await.len(), 1, "the snapshot is kept");
    // Approval (the approve, then the release) and the first message: nothing from the redelivery.
    let all = aws.messages(&queue, 4, Duration::from_secs(4)).await;
    assert_eq!(
        all.len(),
        2,
        "the approval and the release told, the redelivery not"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_instance_s_cluster_is_snapshotted_and_isolated_and_released() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (vpc, subnets, app) = network(&aws, 172).await;
    let cluster = db_name("ledger");
    let out = aws
        .rds
        .create_db_cluster()
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .master_username("admin1")
        .master_user_password("not-a-real-password-1")
        .db_subnet_group_name(&subnets)
        .vpc_security_group_ids(&app)
        .send()
        .await
        .unwrap();
    let cluster_arn = out
        .db_cluster()
        .unwrap()
        .db_cluster_arn()
        .unwrap()
        .to_string();
    let id = format!("{cluster}-1");
    aws.rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_cluster_identifier(&cluster)
        .engine("aurora-postgresql")
        .db_instance_class("db.r6g.large")
        .db_subnet_group_name(&subnets)
        .send()
        .await
        .unwrap();
    let playbook = std::env::temp_dir().join(format!("{}.toml", unique("playbook")));
    std::fs::write(
        &playbook,
        "version = 1\n[[rule]]\nname = \"databases\"\nresource = \"database\"\nresponse = \"contain\"\n",
    )
    .unwrap();
    let finding = unique("aurora");
    let event = finding_event(&finding, &id, Some(&cluster), "aurora-postgresql", "app");
    let responder = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", &topic),
            ("FIREBREAK_PLAYBOOK_FILE", &playbook.to_string_lossy()),
        ],
    )
    .await;
    for delivery in 0..2 {
        let report = responder.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }
    let isolation = aws.isolation_group(&vpc).await;
    assert_eq!(groups(&aws, &cluster, true).await, vec![isolation]);
    let snaps = aws
        .rds
        .describe_db_cluster_snapshots()
        .db_cluster_identifier(&cluster)
        .send()
        .await
        .unwrap();
    let manual: Vec<_> = snaps
        .db_cluster_snapshots()
        .iter()
        .filter(|s| s.snapshot_type() == Some("manual"))
        .collect();
    assert_eq!(manual.len(), 1, "one cluster snapshot: {manual:?}");
    let name = manual[0].db_cluster_snapshot_identifier().unwrap();
    let snap_tags = unsealed(
        name,
        raw_tags(&aws, manual[0].db_cluster_snapshot_arn().unwrap()).await,
    );
    assert_eq!(
        tag(&snap_tags, "firebreak:finding-id"),
        Some(finding.as_str())
    );
    let tags = unsealed(&cluster_arn, raw_tags(&aws, &cluster_arn).await);
    assert_eq!(tag(&tags, "firebreak:vpc-groups"), Some(app.as_str()));

    let resource = json!({"Type": "AwsRdsDbInstance",
        "Id": format!("arn:aws:rds:us-east-1:123456789012:db:{id}"), "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsRdsDbInstance": {"DbInstanceIdentifier": id,
        "DbClusterIdentifier": cluster, "Engine": "aurora-postgresql"}}});
    let t = "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin";
    let got = aws.fb_release(&topic, &finding, t, resource).await;
    assert_eq!(got["verdict"], "released", "{got}");
    assert_eq!(groups(&aws, &cluster, true).await, vec![app]);
    let tags = raw_tags(&aws, &cluster_arn).await;
    assert_eq!(tag(&tags, "firebreak:vpc-groups"), None, "record removed");
}
