//! The project's local-AWS launcher fixes moto where Firebreak depends on real EC2 behaviour.
//! Without `scripts/local_aws.py`'s patch these tests fail against plain moto 5.2.5.

use firebreak_tests::fixtures::Aws;

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
