//! Carries out `stop-task`: an ECS task on Fargate stopped, the one containment ECS offers for a
//! task (tasks are immutable: a running task cannot be moved to other security groups). No undo — a stopped
//! task is not started again; a service it belongs to starts a new one, from its (trusted) task
//! definition. Only when the team's playbook chooses `contain` for tasks.

use crate::execute::Request;
use crate::incident::{tag_value, Resource, TaskRef};
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::ports::{Ports, TasksPort};

fn one(outcome: Outcome) -> Execution {
    let completed = match outcome.status {
        Status::Succeeded | Status::AlreadyDone => Some(true),
        Status::Failed => Some(false),
        _ => None,
    };
    Execution {
        outcomes: vec![outcome],
        completed,
        ..Execution::default()
    }
}

/// Stops the incident's task (read first: gone, exempt, already stopped).
pub async fn run<E, T: TasksPort, I>(p: &Ports<'_, E, T, I>, r: Request<'_>) -> Execution {
    match &r.incident.resource {
        Resource::Task(t) => stop(p.service, &r, t).await,
        _ => Execution::default(),
    }
}

/// Stops the task (read first: gone, exempt, already stopped).
async fn stop<T: TasksPort>(ecs: &T, r: &Request<'_>, t: &TaskRef) -> Execution {
    let kind = ActionKind::StopTask;
    let id = t.task_arn.as_str();
    let facts = match ecs.task(&t.cluster, id).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            return one(Outcome::new(
                kind,
                id,
                Status::Skipped,
                "ECS no longer knows it",
            ))
        }
        Err(e) => return one(Outcome::failed(kind, id, "could not read the task", &e)),
    };
    if tag_value(&facts.tags, r.exempt_tag) == Some("true") {
        let why = format!("the task is tagged {}=true", r.exempt_tag);
        return one(Outcome::new(kind, id, Status::Skipped, why));
    }
    let eni = facts
        .network_interface_id
        .as_deref()
        .map(|e| format!(" (its network interface was {e})"))
        .unwrap_or_default();
    if facts.last_status == "STOPPED" {
        return one(Outcome::new(
            kind,
            id,
            Status::AlreadyDone,
            format!("stopped{eni}"),
        ));
    }
    let reason = format!("Firebreak: GuardDuty finding {}", r.incident.finding_id);
    let reason: String = reason.chars().take(255).collect();
    match ecs.stop_task(&t.cluster, id, &reason).await {
        Ok(()) => one(Outcome::new(
            kind,
            id,
            Status::Succeeded,
            format!("stopped{eni}; a service it belongs to starts a new task"),
        )),
        Err(e) => one(Outcome::failed(kind, id, "could not stop the task", &e)),
    }
}
