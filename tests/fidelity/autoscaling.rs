//! Auto Scaling: Standby instances out of the group's target groups.

use firebreak_tests::fixtures::Aws;

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
