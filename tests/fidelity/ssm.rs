//! Systems Manager: moto 5.2.5 has no `DescribeInstanceInformation` and sends any document to any
//! instance with any parameters. AWS: a managed node's agent is `Online` only with credentials
//! (an instance profile, or Default Host Management Configuration); `SendCommand` answers
//! `InvalidDocument` for a document that does not exist, `InvalidParameters` for a parameter the
//! document does not declare or whose value its `allowedPattern` refuses, and `InvalidInstanceId`
//! for an instance that is not a managed node online.

use firebreak_tests::fixtures::{unique, Aws};
use firebreak_tests::sdk_config;

const DOCUMENT: &str = r#"schemaVersion: "2.2"
description: fidelity
parameters:
  Word:
    type: String
    allowedPattern: "^[a-z]+$"
mainSteps:
  - action: aws:runShellScript
    name: run
    inputs:
      runCommand:
        - echo '{{ Word }}'
"#;

async fn managed_instance(aws: &Aws, cidr: &str, profile: bool) -> String {
    let (vpc, subnet) = aws.vpc(cidr).await;
    let app = aws.app_group(&vpc).await;
    let instance = crate::capture_e2e::linux_instance(aws, &subnet, &[app]).await;
    if profile {
        let (_, arn) = aws.role_with_profile().await;
        aws.associate_profile(&instance, &arn).await;
    }
    instance
}

async fn ping(ssm: &aws_sdk_ssm::Client, instance: &str) -> Option<String> {
    let filter = aws_sdk_ssm::types::InstanceInformationStringFilter::builder()
        .key("InstanceIds")
        .values(instance)
        .build()
        .unwrap();
    let out = ssm
        .describe_instance_information()
        .filters(filter)
        .send()
        .await
        .expect("DescribeInstanceInformation");
    out.instance_information_list().first().map(|i| {
        format!(
            "{} {}",
            i.ping_status().unwrap().as_str(),
            i.platform_type().unwrap().as_str()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_a_profile_is_an_online_managed_node_and_one_without_is_not() {
    let aws = Aws::new().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let with = managed_instance(&aws, "10.193.0.0/16", true).await;
    let without = managed_instance(&aws, "10.194.0.0/16", false).await;
    assert_eq!(ping(&ssm, &with).await.as_deref(), Some("Online Linux"));
    assert_eq!(ping(&ssm, &without).await, None);
    // The profile taken away: the agent loses its connection.
    for (association, _) in aws.profile_associations(&with).await {
        aws.ec2
            .disassociate_iam_instance_profile()
            .association_id(association)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(
        ping(&ssm, &with).await.as_deref(),
        Some("ConnectionLost Linux")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_command_checks_the_document_its_parameters_and_the_node() {
    let aws = Aws::new().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let online = managed_instance(&aws, "10.195.0.0/16", true).await;
    let unmanaged = managed_instance(&aws, "10.196.0.0/16", false).await;
    let name = unique("Fidelity");
    ssm.create_document()
        .name(&name)
        .content(DOCUMENT)
        .document_type(aws_sdk_ssm::types::DocumentType::Command)
        .document_format(aws_sdk_ssm::types::DocumentFormat::Yaml)
        .send()
        .await
        .unwrap();
    let send = |document: String, instance: String, word: &'static str| {
        let ssm = ssm.clone();
        async move {
            ssm.send_command()
                .document_name(document)
                .instance_ids(instance)
                .parameters("Word", vec![word.to_string()])
                .send()
                .await
                .map_err(|e| aws_sdk_ssm::error::ProvideErrorMetadata::code(&e).map(String::from))
        }
    };
    let sent = ssm
        .send_command()
        .document_name(&name)
        .instance_ids(&online)
        .parameters("Word", vec!["hello".to_string()])
        .send()
        .await
        .unwrap();
    // For the instance named only (plain moto: every instance of the region).
    assert_eq!(
        sent.command().unwrap().instance_ids(),
        std::slice::from_ref(&online)
    );
    let code = |r: Result<_, Option<String>>| r.err().flatten();
    assert_eq!(
        code(send(name.clone(), online.clone(), "x'; rm -rf /; '").await).as_deref(),
        Some("InvalidParameters")
    );
    assert_eq!(
        code(send(unique("Missing"), online.clone(), "hello").await).as_deref(),
        Some("InvalidDocument")
    );
    assert_eq!(
        code(send(name.clone(), unmanaged, "hello").await).as_deref(),
        Some("InvalidInstanceId")
    );
}
