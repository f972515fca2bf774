//! ECS tasks.

use crate::error::AwsError;

/// An ECS task as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFacts {
    /// `RUNNING`, `STOPPED`, …
    pub last_status: String,
    /// Its network interface (awsvpc), when it has one.
    pub network_interface_id: Option<String>,
    /// Its tags.
    pub tags: Vec<(String, String)>,
}

/// ECS tasks.
pub trait TasksPort: Sync {
    /// The task now; `None` when ECS no longer knows it.
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskFacts>, AwsError>;
    /// Stops it, with `reason` (shown in the console and DescribeTasks).
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError>;
}
