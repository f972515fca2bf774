//! Lambda: concurrency, VPC configuration, update outcomes, event source mapping states.

use std::time::Duration;

use firebreak_tests::faults;
use firebreak_tests::fixtures::{unique, Aws};

use super::code;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_s_zero_concurrency_its_vpc_and_an_update_in_progress_are_as_lambda_reports_them(
) {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.161.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let other = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    aws.lambda
        .put_function_concurrency()
        .function_name(&name)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let got = aws
        .lambda
        .get_function()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    // Plain moto leaves Concurrency out when it is 0 (it tests the number for truth).
    assert_eq!(
        got.concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        Some(0)
    );
    // Plain moto answers a hard-coded vpc-123abc.
    let config = got.configuration().unwrap().vpc_config().unwrap();
    assert_eq!(config.vpc_id(), Some(vpc.as_str()));

    let update = |groups: Vec<String>| {
        let vpc_config = aws_sdk_lambda::types::VpcConfig::builder()
            .subnet_ids(&subnet)
            .set_security_group_ids(Some(groups))
            .build();
        aws.lambda
            .update_function_configuration()
            .function_name(&name)
            .vpc_config(vpc_config)
            .send()
    };
    let first = update(vec![other.clone()]).await.unwrap();
    assert_eq!(
        first.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    // Plain moto takes a second update at once; Lambda refuses it while the first is applied.
    let second = update(vec![app.clone()]).await.unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&second),
        Some("ResourceConflictException")
    );
    // And a group that does not exist is refused, as Lambda's check with EC2 does.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let unknown = update(vec!["sg-0123456789abcdef0".into()])
        .await
        .unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&unknown),
        Some("InvalidParameterValueException")
    );
}

/// The function's `LastUpdateStatus`, its reason code, and its groups, as
/// `GetFunctionConfiguration` reports them.
async fn last_update(aws: &Aws, name: &str) -> (String, Option<String>, Vec<String>) {
    let c = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let groups = c
        .vpc_config()
        .map(|v| v.security_group_ids().to_vec())
        .unwrap_or_default();
    (
        c.last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        c.last_update_status_reason_code()
            .map(|r| r.as_str().to_string()),
        groups,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_update_is_in_progress_then_successful_or_failed_with_its_reason() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.163.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let other = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let update = |group: &String| {
        let vpc_config = aws_sdk_lambda::types::VpcConfig::builder()
            .subnet_ids(&subnet)
            .security_group_ids(group)
            .build();
        aws.lambda
            .update_function_configuration()
            .function_name(&name)
            .vpc_config(vpc_config)
            .send()
    };
    let settle = || tokio::time::sleep(Duration::from_millis(1100));
    // Plain moto reports Successful at once; Lambda applies a VPC change asynchronously.
    update(&other).await.unwrap();
    assert_eq!(last_update(&aws, &name).await.0, "InProgress");
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        ("Successful".to_string(), None, vec![other.clone()])
    );

    // A change Lambda gives up: Failed, with its reason code; the previous groups stay.
    let id = unique("no-ips");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::fail_function_update(&id, &name, "SubnetOutOfIPAddresses").await;
    let accepted = update(&app).await.unwrap();
    assert_eq!(
        accepted.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    assert_eq!(last_update(&aws, &name).await.0, "InProgress");
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        (
            "Failed".to_string(),
            Some("SubnetOutOfIPAddresses".to_string()),
            vec![other.clone()]
        )
    );
    // The next change, the rule gone, succeeds.
    faults::clear(&id).await;
    update(&app).await.unwrap();
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        ("Successful".to_string(), None, vec![app])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_counts_towards_reserved_concurrency() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.164.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let version = aws
        .lambda
        .publish_version()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    aws.lambda
        .create_alias()
        .function_name(&name)
        .name("live")
        .function_version(version.version().unwrap())
        .send()
        .await
        .unwrap();
    let provision = |qualifier: &str, n: i32| {
        aws.lambda
            .put_provisioned_concurrency_config()
            .function_name(&name)
            .qualifier(qualifier)
            .provisioned_concurrent_executions(n)
            .send()
    };
    let reserve = |n: i32| {
        aws.lambda
            .put_function_concurrency()
            .function_name(&name)
            .reserved_concurrent_executions(n)
            .send()
    };
    // Plain moto has no provisioned concurrency at all (HTTP 404).
    provision("live", 3).await.unwrap();
    let listed = aws
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    let configs = listed.provisioned_concurrency_configs();
    assert_eq!(configs.len(), 1);
    assert!(configs[0].function_arn().unwrap().ends_with(":live"));
    assert_eq!(
        configs[0].requested_provisioned_concurrent_executions(),
        Some(3)
    );
    // Never on $LATEST.
    assert_eq!(
        code(provision("$LATEST", 1).await),
        "InvalidParameterValueException"
    );
    // Reserved concurrency below the provisioned concurrency is refused, 0 included...
    assert_eq!(code(reserve(0).await), "InvalidParameterValueException");
    assert_eq!(code(reserve(2).await), "InvalidParameterValueException");
    reserve(3).await.unwrap();
    // ...and provisioned concurrency above the reserved concurrency.
    assert_eq!(
        code(provision("live", 4).await),
        "InvalidParameterValueException"
    );
    // Once it is removed, 0 is accepted.
    aws.lambda
        .delete_provisioned_concurrency_config()
        .function_name(&name)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    reserve(0).await.unwrap();
    assert!(aws
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(&name)
        .send()
        .await
        .unwrap()
        .provisioned_concurrency_configs()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_source_mapping_is_creating_and_cannot_be_updated_yet() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.165.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let queue = aws
        .sqs
        .create_queue()
        .queue_name(unique("mapped"))
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
    let created = aws
        .lambda
        .create_event_source_mapping()
        .function_name(&name)
        .event_source_arn(queue_arn)
        .send()
        .await
        .unwrap();
    let uuid = created.uuid().unwrap().to_string();
    // Plain moto reports it Enabled at once and updates it at once.
    assert_eq!(created.state(), Some("Creating"));
    let disable = || {
        aws.lambda
            .update_event_source_mapping()
            .uuid(&uuid)
            .enabled(false)
            .send()
    };
    assert_eq!(code(disable().await), "ResourceInUseException");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    disable().await.unwrap();
    let state = aws
        .lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(state.state(), Some("Disabled"));
}
