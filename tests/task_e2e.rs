//! ECS tasks on Fargate, through the real binary against the local AWS: a Runtime Monitoring
//! finding on a task only notifies by default (with the task and how to find its network
//! interface), and the task keeps running; a playbook rule that chooses `contain` for tasks stops
//! it (StopTask), once however often the finding is delivered.

use std::time::Duration;

use firebreak_tests::fixtures::{guardduty_envelope, readable, unique, Aws};
use firebreak_tests::Function;
use serde_json::{json, Value};

/// A Runtime Monitoring finding on a Fargate task (shape: GuardDuty API reference,
/// `EcsClusterDetails` / `EcsTaskDetails`; no instance).
fn finding_event(finding: &str, cluster: &str, task: &str) -> Value {
    let resource = json!({"resourceType": "ECSCluster", "ecsClusterDetails": {
        "name": cluster.rsplit('/').next().unwrap(), "arn": cluster, "status": "ACTIVE",
        "taskDetails": {"arn": task, "definitionArn": "td", "version": "1",
                        "launchType": "FARGATE", "containers": []}}});
    let service = json!({"serviceName": "guardduty", "count": 1, "archived": false,
                         "resourceRole": "ACTOR", "featureName": "RuntimeMonitoring",
                         "additionalInfo": {}});
    let miner = "CryptoCurrency:Runtime/BitcoinTool.B";
    guardduty_envelope(finding, miner, 8.0, "miner in a task", resource, service)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fargate_task_is_notified_by_default_and_stopped_only_when_the_playbook_says_so() {
    let aws = Aws::new().await;
    let ecs = aws.ecs.clone();
    let (topic, queue) = aws.topic_with_queue().await;
    let (cluster, task) = aws.fargate_task().await;
    let event = finding_event(&unique("task"), &cluster, &task);

    // The default playbook: told, with the task and how to find its interface; still running.
    let f = Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let report = f.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "notified-only", "{report}");
    let told = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    let text = readable(&told[0]);
    assert!(
        text.contains(&task) && text.contains("describe-tasks"),
        "{text}"
    );
    assert_eq!(aws.task_status(&cluster, &task).await, "RUNNING");

    // The team's choice: contain tasks.
    let path = std::env::temp_dir().join(format!("{}.toml", unique("playbook")));
    std::fs::write(
        &path,
        "version = 1\n\n[[rule]]\nname = \"miners in tasks\"\nresource = \"task\"\n\
         response = \"contain\"\n",
    )
    .unwrap();
    let f = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", &topic),
            ("FIREBREAK_PLAYBOOK_FILE", &path.to_string_lossy()),
        ],
    )
    .await;
    for delivery in 0..2 {
        let report = f.invoke(&event).await.unwrap();
        assert_eq!(
            report["verdict"], "contained",
            "delivery {delivery}: {report}"
        );
    }
    assert_eq!(aws.task_status(&cluster, &task).await, "STOPPED");
    let stopped = ecs
        .describe_tasks()
        .cluster(&cluster)
        .tasks(&task)
        .send()
        .await
        .unwrap();
    let reason = stopped.tasks()[0].stopped_reason().unwrap_or_default();
    assert!(
        reason.starts_with("Firebreak: GuardDuty finding"),
        "{reason}"
    );
}
