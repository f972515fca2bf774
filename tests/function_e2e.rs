//! Lambda functions, through the real binaries against the local AWS: a Lambda Protection finding
//! leaves the function with reserved concurrency 0 (its provisioned concurrency removed first), its
//! event source mappings (its aliases' too) disabled, its execution role denying the sessions issued
//! to it (and only to it: same-named functions in two regions keep their own deny), and its VPC
//! configuration in the isolation group once Lambda has applied it — each recorded on the function
//! first; three deliveries change nothing more and tell the team once; `FbRelease` gives all of it
//! back. A function outside a VPC is contained (its isolation is not applicable); a VPC change
//! Lambda gives up is containment failed, with Lambda's reason, until a redelivery applies it.

use std::time::Duration;

use firebreak::tags;
use firebreak_tests::faults;
use firebreak_tests::fixtures::{guardduty_envelope, unique, unsealed, Aws};
use firebreak_tests::{Function, Invocation, ACCOUNT};
use serde_json::{json, Value};

/// Waits until Lambda has created these mappings (none is `Creating` any more): a function's
/// mappings exist well before the incident.
async fn created(aws: &Aws, uuids: &[&str]) {
    for _ in 0..50 {
        let mut creating = false;
        for uuid in uuids {
            creating |= mapping_state(aws, uuid).await == "Creating";
        }
        if !creating {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the mappings {uuids:?} are still being created");
}

/// An SQS queue's ARN, for a mapping.
async fn queue_arn(aws: &Aws) -> String {
    let queue = aws
        .sqs
        .create_queue()
        .queue_name(unique("orders-q"))
        .send()
        .await
        .unwrap();
    aws.sqs
        .get_queue_attributes()
        .queue_url(queue.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone()
}

/// A mapping from a new queue to `function` (a name or an alias's ARN): its UUID.
async fn mapping(aws: &Aws, function: &str, enabled: bool) -> String {
    let m = aws
        .lambda
        .create_event_source_mapping()
        .function_name(function)
        .event_source_arn(queue_arn(aws).await)
        .enabled(enabled)
        .send()
        .await
        .unwrap();
    m.uuid().unwrap().to_string()
}

/// A function named `name` attached to no VPC, running as `role_arn`, in `aws`'s region: its ARN.
pub(crate) async fn plain_function(aws: &Aws, name: &str, role_arn: &str) -> String {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
    aws.lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role_arn)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(EMPTY_ZIP))
                .build(),
        )
        .send()
        .await
        .unwrap()
        .function_arn()
        .unwrap()
        .to_string()
}

/// A function in `subnet` with `group`, reserved concurrency 5, its role, and two SQS mappings
/// (one enabled, one disabled by its owner), created: (name, arn, role, enabled uuid, disabled uuid).
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
    let enabled = mapping(aws, &name, true).await;
    let disabled = mapping(aws, &name, false).await;
    created(aws, &[&enabled, &disabled]).await;
    (name, arn, role, enabled, disabled)
}

/// What the test reads back of a function: reserved concurrency, its groups, its tags.
pub(crate) async fn state(
    aws: &Aws,
    name: &str,
) -> (Option<i32>, Vec<String>, Vec<(String, String)>) {
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
/// reference, `LambdaDetails`; no `vpcConfig` for a function outside a VPC: `vpc` empty).
pub(crate) fn finding_event(
    finding: &str,
    arn: &str,
    name: &str,
    role_arn: &str,
    vpc: &str,
) -> Value {
    let mut details = json!({
        "functionArn": arn, "functionName": name, "functionVersion": "$LATEST",
        "revisionId": "r1", "role": role_arn, "tags": []});
    if !vpc.is_empty() {
        details["vpcConfig"] = json!({"vpcId": vpc, "subnetIds": [], "securityGroups": []});
    }
    let resource = json!({"resourceType": "Lambda", "lambdaDetails": details});
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
        let holds = report["holds"].as_str().unwrap_or_default();
        for part in [
            "reserved concurrency 0 stops every version and alias",
            "isolation group",
        ] {
            assert!(holds.contains(part), "{part:?} not in {holds:?}");
        }
    }
    let isolation = aws.isolation_group(&vpc).await;
    let (concurrency, groups, raw) = state(&aws, &name).await;
    // The records as Firebreak reads them: each sealed for the function's ARN.
    let tags = unsealed(&arn, raw.clone());
    for ((key, raw), (_, read)) in raw.iter().zip(&tags) {
        let seal = raw.strip_prefix(read.as_str()).unwrap_or_default();
        assert!(seal.starts_with(" fb="), "{key}={raw:?} is not sealed");
    }
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
    assert_eq!(tag("firebreak:status").as_deref(), Some("stopped told"));
    assert_eq!(tag("firebreak:finding-id"), Some(finding.clone()));
    let policy_name = tags::function_revoke_policy(&arn);
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

    // FbRelease on the finding as Security Hub has it: its VPC change confirmed as the
    // containment's was (Lambda applies it asynchronously; the local AWS for a moment).
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

/// The function's provisioned concurrency configurations: (alias or version, requested).
async fn provisioned(aws: &Aws, name: &str) -> Vec<(String, i32)> {
    let out = aws
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let mut got: Vec<(String, i32)> = out
        .provisioned_concurrency_configs()
        .iter()
        .map(|c| {
            let arn = c.function_arn().unwrap_or_default();
            let qualifier = arn.rsplit(':').next().unwrap_or_default().to_string();
            (
                qualifier,
                c.requested_provisioned_concurrent_executions()
                    .unwrap_or_default(),
            )
        })
        .collect();
    got.sort();
    got
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
async fn a_function_outside_a_vpc_is_contained_its_isolation_not_applicable() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (role, role_arn) = aws.lambda_role().await;
    let name = unique("orders");
    let arn = plain_function(&aws, &name, &role_arn).await;
    let finding = unique("lambda-novpc");
    let event = finding_event(&finding, &arn, &name, &role_arn, "");

    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    // Not a failure: the invocation succeeds, and a redelivery does too (nothing to retry).
    for delivery in 0..2 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
        let isolate = report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["action"] == "isolate-function")
            .cloned()
            .unwrap_or_else(|| panic!("no isolate-function outcome: {report}"));
        assert_eq!(isolate["status"], "skipped", "{isolate}");
        let detail = isolate["detail"].as_str().unwrap();
        assert!(
            detail.starts_with("not applicable") && detail.contains("no network"),
            "{detail}"
        );
        let holds = report["holds"].as_str().unwrap_or_default();
        assert!(
            holds.contains("reserved concurrency 0 stops every version and alias")
                && holds.contains("network: none to isolate"),
            "{holds}"
        );
    }
    let (concurrency, groups, raw) = state(&aws, &name).await;
    assert_eq!(concurrency, Some(0));
    assert!(groups.is_empty());
    let tags = unsealed(&arn, raw);
    assert!(
        tags.contains(&("firebreak:status".into(), "stopped told".into())),
        "{tags:?}"
    );
    assert_eq!(aws.role_state(&role).await.policies.len(), 1);
    let messages = aws.messages(&queue, 2, Duration::from_secs(5)).await;
    assert_eq!(messages.len(), 1, "told once");
    let text = text_of(&messages[0]);
    assert!(text.contains("Firebreak CONTAINED"), "{text}");
    assert!(text.contains("so it has no network to isolate"), "{text}");
    assert!(text.contains("What holds:"), "{text}");
    assert!(
        text.contains("FbRelease") && !text.contains("interface's groups"),
        "a function's release, not an instance's: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_change_lambda_gives_up_is_containment_failed_with_its_reason_until_the_retry_applies_it(
) {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.162.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, arn, role) = aws.lambda_function(&subnet, &app).await;
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let finding = unique("lambda-failed");
    let event = finding_event(&finding, &arn, &name, &role_arn, &vpc);
    let id = unique("no-ips");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::fail_function_update(&id, &name, "SubnetOutOfIPAddresses").await;

    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    match f.invoke(&event).await {
        Invocation::Error { message, .. } => assert!(
            message.contains("isolate-function")
                && message.contains("LastUpdateStatus Failed")
                && message.contains("SubnetOutOfIPAddresses"),
            "{message}"
        ),
        other => panic!("a failed isolation must fail the invocation: {other:?}"),
    }
    // Lambda kept the function's groups; what did hold, held.
    let (concurrency, groups, raw) = state(&aws, &name).await;
    assert_eq!(groups, vec![app.clone()], "Lambda kept its previous groups");
    assert_eq!(concurrency, Some(0));
    let tags = unsealed(&arn, raw);
    assert!(
        tags.contains(&("firebreak:status".into(), "containment-failed told".into())),
        "{tags:?}"
    );
    let messages = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    let text = text_of(&messages[0]);
    assert!(text.contains("CONTAINMENT FAILED"), "{text}");
    assert!(text.contains("SubnetOutOfIPAddresses"), "{text}");

    // The subnet has addresses again: the retry applies it.
    faults::clear(&id).await;
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    let (_, groups, _) = state(&aws, &name).await;
    assert_eq!(groups, vec![aws.isolation_group(&vpc).await]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_and_an_alias_s_mappings_are_stopped_too_and_release_gives_them_back(
) {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let (_role, role_arn) = aws.lambda_role().await;
    let name = unique("orders");
    let arn = plain_function(&aws, &name, &role_arn).await;
    let version = aws
        .lambda
        .publish_version()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    let alias = aws
        .lambda
        .create_alias()
        .function_name(&name)
        .name("live")
        .function_version(version.version().unwrap())
        .send()
        .await
        .unwrap();
    let alias_arn = alias.alias_arn().unwrap().to_string();
    aws.lambda
        .put_function_concurrency()
        .function_name(&name)
        .reserved_concurrent_executions(10)
        .send()
        .await
        .unwrap();
    aws.lambda
        .put_provisioned_concurrency_config()
        .function_name(&name)
        .qualifier("live")
        .provisioned_concurrent_executions(3)
        .send()
        .await
        .unwrap();
    let own = mapping(&aws, &name, true).await;
    created(&aws, &[&own]).await;
    let finding = unique("lambda-provisioned");
    let event = finding_event(&finding, &arn, &name, &role_arn, "");
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    // The alias's mapping is still being created when the finding arrives: Lambda refuses to
    // update it for a moment.
    let on_alias = mapping(&aws, &alias_arn, true).await;
    assert_eq!(mapping_state(&aws, &on_alias).await, "Creating");
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    let stop = report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["action"] == "stop-function")
        .cloned()
        .unwrap();
    assert!(
        stop["detail"]
            .as_str()
            .unwrap()
            .contains("provisioned concurrency removed from live (3)"),
        "{stop}"
    );
    let (concurrency, _, raw) = state(&aws, &name).await;
    assert_eq!(concurrency, Some(0), "every version and alias stopped");
    assert!(provisioned(&aws, &name).await.is_empty());
    assert_eq!(mapping_state(&aws, &own).await, "Disabled");
    assert_eq!(
        mapping_state(&aws, &on_alias).await,
        "Disabled",
        "the alias's too"
    );
    let tags = unsealed(&arn, raw);
    let tag = |k: &str| {
        tags.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        tag("firebreak:provisioned-concurrency").as_deref(),
        Some("live=3")
    );
    let mut recorded: Vec<String> = tag("firebreak:event-sources")
        .unwrap_or_default()
        .split(' ')
        .map(String::from)
        .collect();
    recorded.sort();
    let mut want = vec![own.clone(), on_alias.clone()];
    want.sort();
    assert_eq!(recorded, want);

    let resource = json!({"Type": "AwsLambdaFunction", "Id": arn, "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsLambdaFunction": {"Role": role_arn}}});
    let got = aws
        .fb_release(&topic, &finding, "Backdoor:Lambda/C&CActivity.B", resource)
        .await;
    assert_eq!(got["verdict"], "released", "{got}");
    let (concurrency, _, tags) = state(&aws, &name).await;
    assert_eq!(concurrency, Some(10));
    assert_eq!(
        provisioned(&aws, &name).await,
        vec![("live".to_string(), 3)]
    );
    assert_eq!(mapping_state(&aws, &own).await, "Enabled");
    assert_eq!(mapping_state(&aws, &on_alias).await, "Enabled");
    let left: Vec<&String> = tags.iter().map(|(k, _)| k).collect();
    assert_eq!(left, vec!["firebreak:released-at"], "records removed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_named_functions_in_two_regions_sharing_a_role_each_keep_their_own_deny() {
    let east = Aws::new().await;
    let west = Aws::in_region("us-west-2").await;
    let (topic, _queue) = east.topic_with_queue().await;
    let (role, role_arn) = east.lambda_role().await;
    let name = unique("orders");
    let east_arn = plain_function(&east, &name, &role_arn).await;
    let west_arn = plain_function(&west, &name, &role_arn).await;
    assert_ne!(east_arn, west_arn);
    // The deny an earlier version wrote for the west function, named by the function's name alone.
    let legacy = tags::legacy_function_revoke_policy(&name);
    let document =
        firebreak::actions::function::function_revoke_policy("2026-11-01T00:00:00Z", &west_arn);
    east.iam
        .put_role_policy()
        .role_name(&role)
        .policy_name(&legacy)
        .policy_document(document)
        .send()
        .await
        .unwrap();

    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let east_finding = unique("lambda-east");
    let east_event = finding_event(&east_finding, &east_arn, &name, &role_arn, "");
    let mut west_event = finding_event(&unique("lambda-west"), &west_arn, &name, &role_arn, "");
    west_event["region"] = json!("us-west-2");
    west_event["detail"]["region"] = json!("us-west-2");
    for event in [&east_event, &west_event] {
        let report = f.invoke(event).await.unwrap();
        assert_eq!(report["verdict"], "contained", "{report}");
    }
    let names = |policies: Vec<(String, Value)>| {
        let mut n: Vec<String> = policies.into_iter().map(|(n, _)| n).collect();
        n.sort();
        n
    };
    let (east_policy, west_policy) = (
        tags::function_revoke_policy(&east_arn),
        tags::function_revoke_policy(&west_arn),
    );
    assert_ne!(east_policy, west_policy);
    let mut want = vec![east_policy.clone(), west_policy.clone(), legacy.clone()];
    want.sort();
    assert_eq!(
        names(east.role_state(&role).await.policies),
        want,
        "both denies"
    );

    // Releasing the east function leaves the west function's denies, the earlier-named one too.
    let resource = json!({"Type": "AwsLambdaFunction", "Id": east_arn, "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsLambdaFunction": {"Role": role_arn}}});
    let got = east
        .fb_release(
            &topic,
            &east_finding,
            "Backdoor:Lambda/C&CActivity.B",
            resource,
        )
        .await;
    assert_eq!(got["verdict"], "released", "{got}");
    let mut want = vec![west_policy, legacy];
    want.sort();
    assert_eq!(names(east.role_state(&role).await.policies), want);
}

/// Issue 20: a forged event-sources record (unsealed, as an earlier version wrote it) naming
/// another function's disabled mapping, on a function Firebreak never touched: `FbRelease` never
/// re-enables another function's mappings, and the team is told what was found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_event_sources_record_never_enables_another_function_s_mapping() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.168.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (_, arn, role) = aws.lambda_function(&subnet, &app).await;
    let (other, _, _) = aws.lambda_function(&subnet, &app).await;
    let theirs = mapping(&aws, &other, false).await;
    // A new mapping is Creating for a moment, as Lambda's are.
    let since = std::time::Instant::now();
    while mapping_state(&aws, &theirs).await != "Disabled" && since.elapsed().as_secs() < 15 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(mapping_state(&aws, &theirs).await, "Disabled");
    aws.lambda
        .tag_resource()
        .resource(&arn)
        .tags("firebreak:event-sources", &theirs)
        .tags(
            "firebreak:status",
            "stopped fb=AAAA.BBBBBB.CCCCCCCCCCCCCCCCCCCCCC",
        )
        .send()
        .await
        .unwrap();
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let resource = json!({"Type": "AwsLambdaFunction", "Id": arn, "Region": "us-east-1",
        "Partition": "aws", "Details": {"AwsLambdaFunction": {"Role": role_arn}}});
    let got = aws
        .fb_release(
            &topic,
            &unique("forged-fn"),
            "Backdoor:Lambda/C&CActivity.B",
            resource,
        )
        .await;
    assert_eq!(mapping_state(&aws, &theirs).await, "Disabled", "{got}");
    let messages = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    let told = serde_json::to_string(&messages).unwrap();
    assert!(told.contains("TAMPERING"), "{told}");
}
