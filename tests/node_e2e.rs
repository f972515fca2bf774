//! Runtime Monitoring findings on container nodes, through the real binary against the local AWS:
//! a finding on an EKS cluster that names the node instance contains the node with the instance
//! response, its node group's Auto Scaling group included (AWS's runtime remediation guide: the
//! node is an EC2 instance). A node with security groups for pods (a trunk interface) is isolated
//! the same, and the team is told that its pods with their own groups are not.

use firebreak_tests::fixtures::{guardduty_envelope, unique, Aws};
use firebreak_tests::{Function, ACCOUNT};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_finding_on_an_eks_node_isolates_the_node_and_takes_it_out_of_its_node_group() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.180.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let target_group = aws.target_group(&vpc, 80).await;
    // The node group: an Auto Scaling group of one node.
    let (group, node) = aws
        .auto_scaled_instance(&subnet, std::slice::from_ref(&app), &target_group)
        .await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let finding = unique("eks");
    let enis: Vec<serde_json::Value> = aws
        .eni_vpcs(&node)
        .await
        .into_iter()
        .map(|(eni, vpc)| {
            json!({"networkInterfaceId": eni, "vpcId": vpc,
            "securityGroups": [{"groupId": app}]})
        })
        .collect();
    // Shape: GuardDuty API reference (`EksClusterDetails`, `KubernetesDetails`, `RuntimeDetails`)
    // with the node in `instanceDetails`.
    let resource = json!({
        "resourceType": "EKSCluster",
        "eksClusterDetails": {"name": "payments", "vpcId": vpc, "status": "ACTIVE",
            "arn": format!("arn:aws:eks:us-east-1:{ACCOUNT}:cluster/payments")},
        "kubernetesDetails": {"kubernetesWorkloadDetails": {"name": "web-7d4b9",
            "type": "pods", "namespace": "default"}},
        "instanceDetails": {"instanceId": node, "networkInterfaces": enis,
            "tags": [{"key": "eks:nodegroup-name", "value": group}]}
    });
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
                         "resourceRole": "ACTOR", "featureName": "RuntimeMonitoring",
                         "runtimeDetails": {"process": {"name": "bash"}}, "additionalInfo": {}});
    let shell = "Execution:Runtime/ReverseShell";
    let event = guardduty_envelope(
        &finding,
        shell,
        8.0,
        "reverse shell in a pod",
        resource,
        service,
    );
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");

    for (eni, vpc, groups) in aws.interfaces(&node).await {
        assert_eq!(groups.len(), 1, "{eni}: {groups:?}");
        assert_eq!(
            aws.group_rules(&groups[0]).await,
            (vpc, 0, 0),
            "{eni} isolated"
        );
    }
    let state = aws
        .asg
        .describe_auto_scaling_instances()
        .instance_ids(&node)
        .send()
        .await
        .unwrap()
        .auto_scaling_instances()
        .first()
        .and_then(|i| i.lifecycle_state().map(String::from));
    assert_ne!(
        state.as_deref(),
        Some("InService"),
        "out of its node group's service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_security_groups_for_pods_says_its_pods_are_not_isolated_with_it() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.181.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let node = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let trunk = aws.attach_trunk(&node, &subnet).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let enis = aws.eni_vpcs(&node).await;
    let event = firebreak_tests::fixtures::guardduty_event(
        &unique("eks-trunk"),
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        &node,
        &enis,
        "ACTOR",
    );
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    // The node's own interfaces, the trunk among them, are isolated.
    let interfaces = aws.interfaces(&node).await;
    assert_eq!(interfaces.len(), 2);
    for (eni, vpc, groups) in interfaces {
        assert_eq!(aws.group_rules(&groups[0]).await, (vpc, 0, 0), "{eni}");
    }
    // The team is told, with the command that lists the pods' branch interfaces.
    let messages = aws
        .messages(&queue, 1, std::time::Duration::from_secs(5))
        .await;
    let text = serde_json::to_string(&messages).unwrap();
    let command = format!(
        "aws ec2 describe-network-interfaces --region us-east-1 --filters \
         Name=tag:vpcresources.k8s.aws/trunk-eni-id,Values={trunk}"
    );
    assert!(text.contains("EKS NODE"), "{text}");
    assert!(text.contains(&command), "{command} not in {text}");
}
