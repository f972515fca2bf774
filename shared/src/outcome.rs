//! What carrying out a plan did: each step's [`Outcome`], and the [`Execution`] of a whole plan.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::AwsError;
use crate::kind::ActionKind;

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Done now.
    Succeeded,
    /// Already in the wanted state (redelivery, second click).
    AlreadyDone,
    /// Deliberately not done (instance gone, exempt, dry run).
    Skipped,
    /// Attempted and failed.
    Failed,
    /// Dry run: would be done.
    Planned,
}

impl Status {
    /// The kebab-case word used in logs and notes (its serde name).
    pub fn name(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::AlreadyDone => "already-done",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Planned => "planned",
        }
    }
}

/// The outcome of one step on one resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The kind of step (serialised as its name, `isolate-instance`, …).
    pub action: ActionKind,
    /// The resource acted on (`i-…`, `eni-…`, `vol-…`, topic).
    pub resource: String,
    /// How it ended.
    pub status: Status,
    /// What happened, in a few words.
    pub detail: String,
    /// The AWS error code, when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// What was changed but could not be recorded for a release (EC2's tag limit, a failed
    /// `CreateTags`): the state before, for a human to restore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<String>,
}

impl Outcome {
    pub fn new(
        action: ActionKind,
        resource: &str,
        status: Status,
        detail: impl Into<String>,
    ) -> Outcome {
        Outcome {
            action,
            resource: resource.to_string(),
            status,
            detail: detail.into(),
            error_code: None,
            unrecorded: None,
        }
    }

    pub fn failed(action: ActionKind, resource: &str, what: &str, e: &AwsError) -> Outcome {
        Outcome {
            action,
            resource: resource.to_string(),
            status: Status::Failed,
            detail: format!("{what}: {e}"),
            error_code: e.code.clone(),
            unrecorded: None,
        }
    }
}

/// What carrying out a plan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Execution {
    /// Every step's outcome.
    pub outcomes: Vec<Outcome>,
    /// Whether the plan's decisive steps completed (`None` when none was attempted): for a
    /// containment, every interface isolated and every credential revoked; for a release, everything
    /// recorded restored.
    pub completed: Option<bool>,
    /// The groups each ENI had before quarantine, for release.
    pub original_groups: BTreeMap<String, Vec<String>>,
    /// How to undo what was done, one command or instruction per line (credential plans).
    pub undo: Vec<String>,
    /// What the team must know beyond the outcomes (e.g. other users of a revoked role).
    pub warnings: Vec<String>,
    /// Set when the blast-radius cap held containment back: why, in words.
    pub held_by_cap: Option<String>,
    /// The mark the response leaves on its resource once the team is told of it, and whether the
    /// team was told already (`None`: nothing to mark, e.g. a dry run or an artifact).
    #[serde(skip)]
    pub told: Option<Told>,
}

/// Where the mark that the team was told goes: the resource's own record of its state.
#[derive(Debug, Clone, PartialEq)]
pub enum Marked {
    /// An instance (its status: `quarantined told`).
    Instance(String),
    /// A Lambda function, by ARN (its status: `stopped told`).
    Function(String),
    /// An S3 bucket, by name (its finding record: `<finding id> told`).
    Bucket(String),
    /// An RDS DB instance or Aurora cluster, by ARN (its status: `quarantined told`).
    Database(String),
    /// An IAM user (its status: `credentials-revoked told`).
    User(String),
    /// An IAM role (its status: `sessions-revoked told`).
    Role(String),
}

/// A resource's state after a response, for the mark that the team was told of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Told {
    /// The resource.
    pub on: Marked,
    /// The tag to write once the team is told (its value carries the mark).
    pub mark: (String, String),
    /// The resource carries the mark already: a delivery that changes nothing is silent.
    pub already: bool,
}

impl Told {
    /// The mark for `key`'s value `value` on `on` (`<value> told`), there already when the value
    /// the resource `had` is `value` told and the response changed nothing (`unchanged`): the
    /// mark stays only while nothing changes.
    pub fn kept(on: Marked, key: &str, value: &str, had: Option<&str>, unchanged: bool) -> Told {
        use crate::tags::status::{is_told, told, word};
        Told {
            on,
            already: unchanged && had.is_some_and(|v| word(v) == word(value) && is_told(v)),
            mark: crate::tags::pair(key, told(value)),
        }
    }

    /// The value to write now: with the mark when it stays, else without.
    pub fn written(&self) -> String {
        match self.already {
            true => self.mark.1.clone(),
            false => crate::tags::status::word(&self.mark.1).to_string(),
        }
    }

    /// The resource's name, for the log.
    pub fn resource(&self) -> &str {
        match &self.on {
            Marked::Instance(n)
            | Marked::Function(n)
            | Marked::Bucket(n)
            | Marked::Database(n)
            | Marked::User(n)
            | Marked::Role(n) => n,
        }
    }
}

/// Whether outcomes changed nothing: each already done, skipped, or a step that rewrites its own
/// earlier work on every delivery (a session revocation's later cutoff) and held. A resource's
/// mark that the team was told is kept only then: any other change is told again.
pub fn quiet(outcomes: &[Outcome]) -> bool {
    outcomes.iter().all(|o| match o.status {
        Status::Failed => false,
        Status::Succeeded => o.action.rewrites_each_time(),
        _ => true,
    })
}

impl Outcome {
    /// Failed, with no AWS error behind it.
    pub fn refused(action: ActionKind, resource: &str, detail: impl Into<String>) -> Outcome {
        Outcome::new(action, resource, Status::Failed, detail)
    }

    /// With what a release cannot restore, for a human: `what` (the state before) and `why`.
    pub fn unrecorded(mut self, what: impl Into<String>, why: impl std::fmt::Display) -> Outcome {
        let what = what.into();
        self.detail = format!("{}; NOT RECORDED ({why}): {what}", self.detail);
        self.unrecorded = Some(what);
        self
    }

    /// Done now, or already in the wanted state.
    pub fn is_ok(&self) -> bool {
        matches!(self.status, Status::Succeeded | Status::AlreadyDone)
    }
}
