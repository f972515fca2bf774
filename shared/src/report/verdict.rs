//! The overall result of handling one incident: the verdict, its words, and how a plan carried out
//! comes to one.

use serde::Serialize;

use crate::config::Mode;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Plan;
use crate::playbook::credentials::PROTECTED_RULE;

/// The overall result of handling one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every interface is isolated / every credential revoked.
    Contained,
    /// Containment was attempted and did not complete.
    ContainmentFailed,
    /// Containment was planned but deliberately not done (instance gone, exempt).
    Skipped,
    /// The playbook asked only for a notification.
    NotifiedOnly,
    /// Dry run: nothing was changed.
    DryRun,
    /// Evidence preserved (snapshots, protection) without containment.
    EvidencePreserved,
    /// Evidence preservation was attempted and did not complete.
    EvidenceFailed,
    /// A quarantine was undone.
    Released,
    /// A release was attempted and did not complete.
    ReleaseFailed,
    /// The blast-radius cap held containment back: evidence only, a human must decide.
    NeedsHuman,
    /// The playbook said `ask`: evidence preserved, containment waits for a human's approval.
    AwaitingApproval,
}

impl Verdict {
    /// Upper-case word for subjects.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Contained => "CONTAINED",
            Verdict::ContainmentFailed => "CONTAINMENT FAILED",
            Verdict::Skipped => "SKIPPED",
            Verdict::NotifiedOnly => "NOTICE",
            Verdict::DryRun => "DRY RUN",
            Verdict::EvidencePreserved => "EVIDENCE PRESERVED",
            Verdict::EvidenceFailed => "EVIDENCE FAILED",
            Verdict::Released => "RELEASED",
            Verdict::ReleaseFailed => "RELEASE FAILED",
            Verdict::NeedsHuman => "NEEDS A HUMAN",
            Verdict::AwaitingApproval => "AWAITING APPROVAL",
        }
    }

    /// True when something Firebreak attempted did not complete.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Verdict::ContainmentFailed | Verdict::EvidenceFailed | Verdict::ReleaseFailed
        )
    }

    /// The kebab-case name (as serialized): `contained`, `needs-human`, …; the one name of a verdict,
    /// in the report, the SNS `outcome` attribute, the chat's context and the metrics' dimension.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    }

    /// The chat title's mark: something to act on, done, rehearsed, or for information.
    pub fn emoji(self) -> &'static str {
        match self {
            v if v.is_failure() => "🚨",
            Verdict::NeedsHuman => "🚨",
            Verdict::Contained | Verdict::Released | Verdict::EvidencePreserved => "✅",
            Verdict::DryRun => "🧪",
            _ => "ℹ️",
        }
    }
}

/// The overall result of a plan carried out.
pub(super) fn verdict(plan: &Plan, mode: Mode, execution: &Execution) -> Verdict {
    let outcomes = &execution.outcomes;
    if mode == Mode::DryRun && plan.changes_resources() {
        Verdict::DryRun
    } else if execution.held_by_cap.is_some() || plan.rule == PROTECTED_RULE {
        Verdict::NeedsHuman
    } else if plan.actions.is_empty() {
        Verdict::Skipped
    } else if plan.has(ActionKind::ReleaseInstance)
        || plan.has(ActionKind::ReleaseFunction)
        || plan.has(ActionKind::ReleaseBucket)
        || plan.has(ActionKind::ReleaseDatabase)
        || plan.has(ActionKind::RestoreSharing)
    {
        match execution.completed {
            Some(true) => Verdict::Released,
            Some(false) => Verdict::ReleaseFailed,
            None => Verdict::Skipped,
        }
    } else if plan.changes_resources() && !plan.has_containment() {
        let asked = |o: &Outcome| o.action == ActionKind::AwaitApproval && o.is_ok();
        if outcomes.iter().any(|o| o.status == Status::Failed) {
            Verdict::EvidenceFailed
        } else if outcomes.iter().all(|o| o.status == Status::Skipped) {
            Verdict::Skipped
        } else if outcomes.iter().any(asked) {
            Verdict::AwaitingApproval
        } else {
            Verdict::EvidencePreserved
        }
    } else if !plan.has_containment() {
        Verdict::NotifiedOnly
    } else {
        match execution.completed {
            Some(true) => Verdict::Contained,
            Some(false) => Verdict::ContainmentFailed,
            None => Verdict::Skipped,
        }
    }
}
