//! The project's local-AWS launcher fixes moto where Firebreak depends on real EC2 behaviour.
//! Without `scripts/local_aws.py`'s patch these tests fail against plain moto 5.2.5.

use firebreak_tests::fixtures::{filter, Aws};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_primary_eni_s_groups_replaces_them() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.50.0.0/16").await;
    let old = aws.app_group(&vpc).await;
    let new = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&old), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();

    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(&eni)
        .groups(&new)
        .send()
        .await
        .unwrap();

    // Real EC2: exactly the new group, on the ENI and on the instance.
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![new.clone()]);
    let described = aws.describe(&instance).await;
    let primary: Vec<String> = described.network_interfaces()[0]
        .groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    assert_eq!(primary, vec![new.clone()]);
    let top: Vec<String> = described
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    assert_eq!(top, vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_an_instance_s_groups_changes_its_primary_eni() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.51.0.0/16").await;
    let old = aws.app_group(&vpc).await;
    let new = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&old), &[]).await;

    aws.ec2
        .modify_instance_attribute()
        .instance_id(&instance)
        .groups(&new)
        .send()
        .await
        .unwrap();

    assert_eq!(aws.interfaces(&instance).await[0].2, vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_shutdown_behaviour_sets_it_and_keeps_the_groups() {
    use aws_sdk_ec2::types::{AttributeValue, InstanceAttributeName};
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.52.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let read = || async {
        aws.ec2
            .describe_instance_attribute()
            .instance_id(&instance)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await
            .unwrap()
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value())
            .map(String::from)
    };
    assert_eq!(read().await.as_deref(), Some("terminate"));

    aws.ec2
        .modify_instance_attribute()
        .instance_id(&instance)
        .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
        .send()
        .await
        .unwrap();

    assert_eq!(read().await.as_deref(), Some("stop"));
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![app]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_update_findings_changes_what_get_findings_returns() {
    use aws_sdk_securityhub::types::{
        AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
    };
    use firebreak_tests::fixtures::{asff_instance, guardduty_asff, unique, GUARDDUTY_PRODUCT};
    let aws = Aws::new().await;
    let finding = guardduty_asff(
        &unique("fidelity"),
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        asff_instance("i-0123456789abcdef0", "vpc-1"),
    );
    let id = finding["Id"].as_str().unwrap().to_string();
    aws.import_findings(std::slice::from_ref(&finding)).await;
    assert_eq!(
        aws.finding_state(&id).await,
        ("NEW".to_string(), None, None)
    );

    let ident = |id: &str| {
        AwsSecurityFindingIdentifier::builder()
            .id(id)
            .product_arn(GUARDDUTY_PRODUCT)
            .build()
    };
    let out = aws
        .securityhub
        .batch_update_findings()
        .finding_identifiers(ident(&id))
        .finding_identifiers(ident("no-such-finding"))
        .note(
            NoteUpdate::builder()
                .text("contained")
                .updated_by("firebreak")
                .build(),
        )
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::Notified)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // As in Security Hub: the known finding processed, the unknown one reported, not an error.
    assert_eq!(out.processed_findings().len(), 1);
    assert_eq!(out.unprocessed_findings().len(), 1);
    assert_eq!(
        out.unprocessed_findings()[0].error_code(),
        Some("FindingNotFound")
    );
    assert_eq!(
        aws.finding_state(&id).await,
        (
            "NOTIFIED".to_string(),
            Some("contained".to_string()),
            Some("firebreak".to_string())
        )
    );
    // A note over Security Hub's 512 characters is refused.
    let long = aws
        .securityhub
        .batch_update_findings()
        .finding_identifiers(ident(&id))
        .note(
            NoteUpdate::builder()
                .text("x".repeat(513))
                .updated_by("firebreak")
                .build(),
        )
        .send()
        .await;
    assert!(long.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_action_targets_can_be_created_once_and_described() {
    use firebreak_tests::fixtures::unique;
    let aws = Aws::new().await;
    let id: String = unique("Fb")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    let arn = aws
        .securityhub
        .create_action_target()
        .name("Quarantine")
        .description("Firebreak: quarantine the instance")
        .id(&id)
        .send()
        .await
        .unwrap()
        .action_target_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        arn,
        format!("arn:aws:securityhub:us-east-1:123456789012:action/custom/{id}")
    );
    let described = aws
        .securityhub
        .describe_action_targets()
        .action_target_arns(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.action_targets().len(), 1);
    assert_eq!(described.action_targets()[0].name(), Some("Quarantine"));
    let again = aws
        .securityhub
        .create_action_target()
        .name("Quarantine")
        .description("again")
        .id(&id)
        .send()
        .await;
    assert!(
        again.is_err(),
        "a second target with the same id is a conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_associated_with_an_attached_eni_belongs_to_its_instance() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.53.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, &[app], &[]).await;
    let (eni, _, _) = aws.interfaces(&instance).await.remove(0);
    let allocation = aws.elastic_ip().await;
    aws.ec2
        .associate_address()
        .allocation_id(&allocation)
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    let found = aws
        .ec2
        .describe_addresses()
        .filters(filter("instance-id", &instance))
        .send()
        .await
        .unwrap();
    let ids: Vec<(Option<&str>, Option<&str>)> = found
        .addresses()
        .iter()
        .map(|a| (a.allocation_id(), a.instance_id()))
        .collect();
    assert_eq!(
        ids,
        vec![(Some(allocation.as_str()), Some(instance.as_str()))],
        "moto 5.2.5 records no instance for an address associated by ENI"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_in_standby_is_not_registered_in_its_group_s_target_groups() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.54.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let tg = aws.target_group(&vpc, 80).await;
    let (group, instance) = aws.auto_scaled_instance(&subnet, &[app], &tg).await;
    aws.asg
        .enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&instance)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .unwrap();
    let health = aws
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .unwrap();
    let targets: Vec<&str> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()))
        .collect();
    assert_eq!(targets.len(), 1, "the replacement only: {targets:?}");
    assert!(
        !targets.contains(&instance.as_str()),
        "moto 5.2.5 keeps (and re-registers) Standby instances in the group's target groups"
    );
}
