//! An ECS task on Fargate: stopped only when the playbook chose `contain`; otherwise the team is
//! told how to find it.

use crate::incident::{Incident, TaskRef};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, not_acted_on, NOTIFY_RULE};
use crate::shell::{self, Command};

/// An ECS task on Fargate: `contain` stops it (a team's explicit choice: the default playbook
/// only notifies); anything else notifies with the task, how to find its network interface, and
/// AWS's guidance.
pub(super) fn plan_task(incident: &Incident, t: &TaskRef, response: Response) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on ECS task {} (cluster {})",
        incident.severity,
        shell::shown(&t.task_arn),
        shell::shown(&t.cluster)
    );
    match response {
        Response::Contain => Plan {
            rule: STOP_TASK_RULE,
            reason: format!("{about}: stopped (the playbook chose to contain tasks)"),
            actions: vec![
                Action::new(
                    ActionKind::StopTask,
                    Target::task(t.cluster.clone(), t.task_arn.clone()),
                ),
                Action::notify(),
            ],
            decided_by: None,
        },
        _ => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}. Its network interface: {}. {} To stop it, choose FbQuarantine on the \
                 finding in Security Hub, or a playbook rule with resource = \"task\" and \
                 response = \"contain\"",
                Command::new("aws ecs describe-tasks")
                    .arg("--cluster", shell::ECS_CLUSTER, &t.cluster)
                    .arg("--tasks", shell::ECS_TASK, &t.task_arn)
                    .words("--query 'tasks[].attachments[].details'")
                    .or_note(|c| c),
                not_acted_on("ECSCluster")
            ),
        ),
    }
}

/// The rule of an ECS task that is stopped.
pub const STOP_TASK_RULE: &str = "stop-compromised-task";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Resource;
    use crate::playbook::tests::incident;
    #[test]
    fn the_task_command_prints_only_a_valid_cluster_and_task() {
        use crate::shell::testing::{assert_pasteable, HOSTILE};
        let reason = |cluster: &str, task_arn: &str| {
            let t = TaskRef {
                cluster: cluster.into(),
                task_arn: task_arn.into(),
            };
            let i = Incident {
                resource: Resource::Task(t.clone()),
                ..incident("CryptoCurrency:Runtime/BitcoinTool.B", 8.0, None)
            };
            plan_task(&i, &t, Response::Notify).reason
        };
        let (cluster, task) = (
            "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef",
        );
        let ordinary = reason(cluster, task);
        assert!(
            ordinary.contains(&format!(
                "Its network interface: aws ecs describe-tasks --cluster {cluster} --tasks {task} \
                 --query 'tasks[].attachments[].details'. Firebreak"
            )),
            "{ordinary}"
        );
        for hostile in HOSTILE {
            for text in [reason(hostile, task), reason(cluster, hostile)] {
                assert!(
                    text.contains("Its network interface: (not printed: "),
                    "{text}"
                );
                assert_pasteable(&text, &ordinary);
            }
        }
    }
}
