//! Security Hub: BatchUpdateFindings, custom action targets.

use firebreak_tests::fixtures::{unique, Aws};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_update_findings_changes_what_get_findings_returns() {
    use aws_sdk_securityhub::types::{
        AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
    };
    use firebreak_tests::fixtures::{asff_instance, guardduty_asff, GUARDDUTY_PRODUCT};
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
