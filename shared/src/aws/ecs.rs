//! ECS through the SDK: a task's state and network interface, and stopping it ([`TasksPort`]).

use aws_sdk_ecs::types::TaskField;

use crate::error::AwsError;
use crate::ports::{TaskFacts, TasksPort};

/// ECS of one account and region.
#[derive(Clone)]
pub struct Ecs {
    /// The client.
    pub ecs: aws_sdk_ecs::Client,
}

impl TasksPort for Ecs {
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskFacts>, AwsError> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task_arn)
            .include(TaskField::Tags)
            .send()
            .await?;
        let Some(task) = out.tasks().first() else {
            return Ok(None);
        };
        let eni = task
            .attachments()
            .iter()
            .flat_map(|a| a.details())
            .find(|d| d.name() == Some("networkInterfaceId"))
            .and_then(|d| d.value())
            .map(String::from);
        Ok(Some(TaskFacts {
            last_status: task.last_status().unwrap_or_default().to_string(),
            network_interface_id: eni,
            tags: task
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
                .collect(),
        }))
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        self.ecs
            .stop_task()
            .cluster(cluster)
            .task(task_arn)
            .reason(reason)
            .send()
            .await?;
        Ok(())
    }
}
