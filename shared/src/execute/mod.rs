//! The schedulers: each carries out one shape of plan as concurrent rounds of actions (the actions
//! themselves are in `actions/`). `instance` quarantines an instance, `credentials` revokes a user's
//! or a role's credentials, `release` runs the undos of an instance's quarantine, `artifact` unshares
//! an EBS snapshot or AMI (and gives its sharing back), `function` stops a Lambda function,
//! `bucket` locks an S3 bucket or object and `database` snapshots and isolates an RDS DB instance
//! (each with its release); `capture` captures an instance's memory once its plan is carried out.

pub mod artifact;
pub mod bucket;
pub mod capture;
pub mod credentials;
pub mod database;
pub mod function;
pub mod instance;
pub mod release;
pub mod task;
pub mod vet;

use tokio::time::Instant;

use crate::clock::Clock;
use crate::error::AwsError;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Plan;

/// What every scheduler is given besides the ports.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// The playbook's plan for it.
    pub plan: &'a Plan,
    /// The exemption tag (`FIREBREAK_EXEMPT_TAG`), read live on the resource.
    pub exempt_tag: &'a str,
    /// The users and roles Firebreak never acts on (its own, `FIREBREAK_PROTECTED_PRINCIPALS`),
    /// checked live where the resource names its role (a Lambda function's execution role).
    pub protected: &'a [String],
    /// Where "now" comes from.
    pub clock: &'a dyn Clock,
    /// When to stop waiting for AWS, put back what is half done, and report.
    pub deadline: Instant,
    /// The blast-radius cap on quarantines (an automatic response's; `None` for a human's).
    pub cap: Option<usize>,
}

/// A release that ends at its first read: the resource is gone (`None`) or could not be read.
pub fn not_released(kind: ActionKind, name: &str, error: Option<AwsError>) -> Execution {
    match error {
        None => Execution {
            outcomes: vec![Outcome::new(
                kind,
                name,
                Status::Skipped,
                "it no longer exists",
            )],
            ..Execution::default()
        },
        Some(e) => Execution {
            outcomes: vec![Outcome::failed(kind, name, "could not read it", &e)],
            completed: Some(false),
            ..Execution::default()
        },
    }
}

/// The plan's actions that `mine` selects, each answered the same way on `resource`: a response
/// that ends at its first read (gone, unreadable, exempt).
pub fn each_planned(
    r: &Request<'_>,
    resource: &str,
    mine: impl Fn(ActionKind) -> bool,
    status: Status,
    why: &str,
) -> Execution {
    let outcomes = r
        .plan
        .actions
        .iter()
        .filter(|a| mine(a.kind))
        .map(|a| Outcome::new(a.kind, resource, status, why))
        .collect();
    Execution {
        outcomes,
        completed: (status == Status::Failed).then_some(false),
        ..Execution::default()
    }
}

/// A release's conclusion: `outcomes` of its undos, then its own step — the records removed
/// (`records`: how that went) only when every undo succeeded; otherwise they stay, for a retry.
pub fn released(
    kind: ActionKind,
    name: &str,
    mut outcomes: Vec<Outcome>,
    records: Result<(), AwsError>,
) -> Execution {
    let undone = outcomes.iter().all(Outcome::is_ok);
    outcomes.push(match (undone, records) {
        (true, Ok(())) => Outcome::new(kind, name, Status::Succeeded, "released; records removed"),
        (false, _) => Outcome::refused(
            kind,
            name,
            "not all of it could be given back: its records stay",
        ),
        (true, Err(e)) => Outcome::failed(kind, name, "given back, but its records stay", &e),
    });
    Execution {
        completed: Some(outcomes.iter().all(Outcome::is_ok)),
        outcomes,
        ..Execution::default()
    }
}
