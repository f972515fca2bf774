//! ECS: a task runs until it is stopped.

use firebreak_tests::fixtures::Aws;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_until_it_is_stopped() {
    let aws = Aws::new().await;
    let (cluster, task) = aws.fargate_task().await;
    let status = || aws.task_status(&cluster, &task);
    // Plain moto moves the task on at every read: STOPPED after four.
    for read in 0..6 {
        assert_eq!(status().await, "RUNNING", "read {read}");
    }
    aws.ecs
        .stop_task()
        .cluster(&cluster)
        .task(&task)
        .reason("test")
        .send()
        .await
        .unwrap();
    assert_eq!(status().await, "STOPPED");
}
