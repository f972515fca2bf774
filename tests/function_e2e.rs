//! Lambda functions, through the real binaries against the local AWS: a Lambda Protection finding
//! leaves the function with reserved concurrency 0, its event source mappings disabled, its
//! execution role denying the sessions issued to it (and only to it), and its VPC configuration in
//! the isolation group — each recorded on the function first; three deliveries change nothing
//! more and tell the team once; `FbRelease` gives all of it back.

use std::time::Duration;

use firebreak_tests::fixtures::{guardduty_envelope, unique, Aws};
use firebreak_tests::{Function, ACCOUNT};
use serde_json::{json, Value};

/// A function in `subnet` with `group`, reserved concurrency 5, its role, and two SQS mappings
/// (one enabled, one disabled by its owner): (name, arn, role, enabled uuid, disabled uuid).
async fn function(
    aws: &Aws,
    subnet: &str,
    group: &str,
) -> (String, String, String, String, String) {
    let (name, arn, role) = aws.lambda_function(subnet, group).await;
    aws.lambda
        .put_function_concurrency()
        .function_name(&name)
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    let mut uuids = Vec::new();
    for enabled in [true, false] {
        let queue = aws
            .sqs
            .create_queue()
            .queue_name(unique("orders-q"))
            .send()
            .await
            .unwrap();
        let queue_arn = aws
            .sqs
            .get_queue_attributes()
            .queue_url(queue.queue_url().unwrap())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        let m = aws
            .lambda
            .create_event_source_mapping()
            .function_name(&name)
            .event_source_arn(queue_arn)
            .enabled(enabled)
            .send()
            .await
            .unwrap();
        uuids.push(m.uuid().unwrap().to_string());
    }
    let disabled = uuids.pop().unwrap();
    let enabled = uuids.pop().unwrap();
    (name, arn, role, enabled, disabled)
}

/// What the test reads back of a function: reserved concurrency, its groups, its tags.
async fn state(aws: &Aws, name: &str) -> (Option<i32>, Vec<String>, Vec<(String, String)>) {
    let f = aws
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let concurrency = aws
        .lambda
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
        .unwrap()
        .reserved_concurrent_executions();
    let groups = f
        .configuration()
        .and_then(|c| c.vpc_config())
        .map(|v| v.security_group_ids().to_vec())
        .unwrap_or_default();
    let mut tags: Vec<(String, String)> = f
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    tags.sort();
    (concurrency, groups, tags)
}

async fn mapping_state(aws: &Aws, uuid: &str) -> String {
    aws.lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .unwrap()
        .state()
        .unwrap_or_default()
        .to_string()
}

/// The Lambda Protection finding, as EventBridge delivers it (resource shape: GuardDuty API
/// reference, `LambdaDetails`).
fn finding_event(finding: &str, arn: &str, name: &str, role_arn: &str, vpc: &str) -> Value {
    let resource = json!({"resourceType": "Lambda", "lambdaDetails": {
        "functionArn": arn, "functionName": name, "functionVersion": "$LATEST",
        "revisionId": "r1", "role": role_arn,
        "vpcConfig": {"vpcId": vpc, "subnetIds": [], "securityGroups": []}, "tags": []}});
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
                         "resourceRole": "ACTOR", "additionalInfo": {}});
    let c2 = "Backdoor:Lambda/C&CActivity.B";
    guardduty_envelope(finding, c2, 8.0, "C&C from a function", resource, service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compromised_function_is_stopped_cut_off_and_isolated_and_release_restores_it() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.160.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, arn, role, enabled, disabled) = function(&aws, &subnet, &app).await;
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let finding = unique("lambda");
    let event = finding_event(&finding, &arn, &name, &role_arn, &vpc);

    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    for delivery in 0..3 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }
    let isolation = aws.isolation_group(&vpc).await;
    let (concurrency, groups, tags) = state(&aws, &name).await;
    assert_eq!(concurrency, Some(0), "no new executions");
    assert_eq!(groups, vec![isolation], "in the isolation group");
    assert_eq!(mapping_state(&aws, &enabled).await, "Disabled");
    assert_eq!(mapping_state(&aws, &disabled).await, "Disabled");
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(tag("firebreak:concurrency").as_deref(), Some("5"));
    assert_eq!(
        tag("firebreak:event-sources"),
        Some(enabled.clone()),
        "only the enabled one"
    );
    assert_eq!(tag("firebreak:vpc-groups"), Some(app.clone()));
    assert_eq!(tag("firebreak:status").as_deref(), Some("stopped"));
    assert_eq!(tag("firebreak:finding-id"), Some(finding.clone()));
    let policy_name = format!("FirebreakRevokeSessionsOfFunction-{name}");
    let policies = aws.role_state(&role).await.policies;
    assert_eq!(policies.len(), 1, "{policies:?}");
    let (got_name, doc) = &policies[0];
    assert_eq!(got_name, &policy_name);
    let condition = &doc["Statement"][0]["Condition"];
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(
        condition["ArnLike"]["lambda:SourceFunctionArn"],
        json!([arn, format!("{arn}:*")]),
        "scoped to this function: {doc}"
    );
    assert!(
        condition["DateLessThan"]["aws:TokenIssueTime"].is_string(),
        "{doc}"
    );
    let messages = aws.messages(&queue, 3, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "told once for three deliveries");

    // FbRelease on the finding as Security Hub has it: right away, while Lambda is still applying
    // the VPC change (the local AWS answers ResourceConflictException for a moment, as Lambda does).
    let resource = json!({"Type": "AwsLambdaFunction", "Id": arn, "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsLambdaFunction": {"Role": role_arn}}});
    let c2 = "Backdoor:Lambda/C&CActivity.B";
    let got = aws.fb_release(&topic, &finding, c2, resource).await;
    assert_eq!(got["verdict"], "released", "{got}");
    let (concurrency, groups, tags) = state(&aws, &name).await;
    assert_eq!(concurrency, Some(5));
    assert_eq!(groups, vec![app]);
    assert_eq!(mapping_state(&aws, &enabled).await, "Enabled");
    assert_eq!(
        mapping_state(&aws, &disabled).await,
        "Disabled",
        "its owner's choice kept"
    );
    assert!(aws.role_state(&role).await.policies.is_empty());
    let left: Vec<&String> = tags.iter().map(|(k, _)| k).collect();
    assert_eq!(left, vec!["firebreak:released-at"], "records removed");
}
