//! The report of one incident, and the notification a person reads at 3 a.m.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::actions::registry::ActionKind;
use crate::config::Mode;
use crate::incident::Incident;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Plan;
use crate::playbook::PROTECTED_RULE;
use crate::ports::Notification;
use crate::tags;

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
        }
    }

    /// True when something Firebreak attempted did not complete.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            Verdict::ContainmentFailed | Verdict::EvidenceFailed | Verdict::ReleaseFailed
        )
    }
}

/// What Firebreak did about one finding: the Lambda's response, the notification's JSON, the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The finding id.
    pub finding_id: String,
    /// The finding type.
    pub finding_type: String,
    /// Its severity.
    pub severity: f64,
    /// The resource's account.
    pub account: String,
    /// The resource's region.
    pub region: String,
    /// The resource (`i-…`).
    pub resource: String,
    /// apply or dry-run.
    pub mode: Mode,
    /// The overall result.
    pub verdict: Verdict,
    /// The playbook's plan.
    pub plan: Plan,
    /// Each step's outcome.
    pub outcomes: Vec<Outcome>,
    /// The groups each ENI had before quarantine.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub original_groups: BTreeMap<String, Vec<String>>,
    /// How to undo the credential actions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undo: Vec<String>,
    /// What the team must know beyond the outcomes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// For a contained instance: which connections are cut, and by what.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connections: Option<String>,
}

/// Security groups and network ACLs both held.
pub const CUT_BOTH: &str = "new and existing connections cut (security groups + network ACLs; \
    the few flows neither can cut are listed in the README)";
/// Only the security groups held.
pub const CUT_NEW: &str = "new connections blocked; connections through NAT gateways, load \
    balancers, endpoints and ICMP may survive until the network ACL entry is added";

/// What a contained instance's connections are, from the plan and the network ACL outcomes.
fn connections(plan: &Plan, verdict: Verdict, outcomes: &[Outcome]) -> Option<String> {
    if verdict != Verdict::Contained || !plan.has(ActionKind::IsolateInstance) {
        return None;
    }
    let acl: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.action == ActionKind::DenyNetworkAcl)
        .collect();
    Some(match plan.has(ActionKind::DenyNetworkAcl) {
        true if !acl.is_empty() && acl.iter().all(|o| o.is_ok()) => CUT_BOTH.to_string(),
        true => CUT_NEW.to_string(),
        false => format!("{CUT_NEW} (FIREBREAK_NETWORK_ACL_DENY is off)"),
    })
}

/// One warning per change a release cannot undo because its record could not be written.
fn unrecorded(outcomes: &[Outcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter_map(|o| Some((o, o.unrecorded.as_ref()?)))
        .map(|(o, what)| {
            format!(
                "NOT RECORDED on {} ({}): {what}. FbRelease cannot undo this; restore it by hand \
                 after the investigation.",
                o.resource, o.action
            )
        })
        .collect()
}

impl Report {
    /// Builds the report of a handled incident.
    pub fn new(incident: &Incident, plan: Plan, mode: Mode, execution: Execution) -> Report {
        let releasing = plan.has(ActionKind::ReleaseInstance);
        let verdict = if mode == Mode::DryRun && plan.changes_resources() {
            Verdict::DryRun
        } else if execution.held_by_cap.is_some() || plan.rule == PROTECTED_RULE {
            Verdict::NeedsHuman
        } else if plan.actions.is_empty() {
            Verdict::Skipped
        } else if releasing {
            match execution.completed {
                Some(true) => Verdict::Released,
                Some(false) => Verdict::ReleaseFailed,
                None => Verdict::Skipped,
            }
        } else if plan.changes_resources() && !plan.has_containment() {
            if execution
                .outcomes
                .iter()
                .any(|o| o.status == Status::Failed)
            {
                Verdict::EvidenceFailed
            } else if execution
                .outcomes
                .iter()
                .all(|o| o.status == Status::Skipped)
            {
                Verdict::Skipped
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
        };
        let connections = connections(&plan, verdict, &execution.outcomes);
        let unrecorded = unrecorded(&execution.outcomes);
        Report {
            connections,
            finding_id: incident.finding_id.clone(),
            finding_type: incident.finding_type.clone(),
            severity: incident.severity,
            account: incident.account.clone(),
            region: incident.region.clone(),
            resource: incident.resource_name(),
            mode,
            verdict,
            plan,
            outcomes: execution.outcomes,
            original_groups: execution.original_groups,
            undo: execution.undo,
            warnings: execution
                .held_by_cap
                .into_iter()
                .chain(execution.warnings)
                .chain(unrecorded)
                .collect(),
        }
    }

    /// The failed steps, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Failed)
            .map(|o| format!("{} {}: {}", o.action, o.resource, o.detail))
            .collect()
    }

    /// The SNS message.
    pub fn notification(&self, incident: &Incident) -> Notification {
        let subject = subject(&format!(
            "Firebreak {}: {} on {} (severity {})",
            self.verdict.word(),
            self.finding_type,
            self.resource,
            self.severity
        ));
        let mut b = String::new();
        self.write_found(&mut b, incident);
        self.write_outcomes(&mut b);
        self.write_undo(&mut b);
        let _ = writeln!(b, "\n--- structured report ---");
        let _ = writeln!(
            b,
            "{}",
            serde_json::to_string_pretty(self).unwrap_or_default()
        );
        Notification {
            subject,
            body: b,
            attributes: vec![
                ("severity".into(), format!("{}", self.severity), true),
                ("finding_type".into(), self.finding_type.clone(), false),
                ("account".into(), self.account.clone(), false),
                (
                    "outcome".into(),
                    serde_json::to_value(self.verdict)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    false,
                ),
            ],
        }
    }

    /// The headline, WHAT WAS FOUND and DECISION.
    fn write_found(&self, b: &mut String, incident: &Incident) {
        let _ = writeln!(
            b,
            "Firebreak {} {} in account {} ({}).\n",
            self.verdict.word(),
            self.resource,
            self.account,
            self.region
        );
        if let Some(c) = &self.connections {
            let _ = writeln!(b, "Connections: {c}.\n");
        }
        let _ = writeln!(b, "WHAT WAS FOUND");
        let _ = writeln!(
            b,
            "  {} (severity {}){}",
            self.finding_type,
            self.severity,
            incident
                .title
                .as_deref()
                .map(|t| format!(": {t}"))
                .unwrap_or_default()
        );
        let _ = writeln!(b, "  finding {}", self.finding_id);
        if let Some(arn) = &incident.finding_arn {
            let _ = writeln!(b, "  {arn}");
        }
        let _ = writeln!(
            b,
            "\nDECISION\n  {} ({}), mode {}",
            self.plan.reason,
            self.plan.rule,
            self.mode.as_str()
        );
    }

    /// WHAT WAS DONE, WHAT FAILED, WARNING.
    fn write_outcomes(&self, b: &mut String) {
        let _ = writeln!(b, "\nWHAT WAS DONE");
        let done: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|o| o.status != Status::Failed)
            .collect();
        if done.is_empty() {
            let _ = writeln!(b, "  nothing was changed");
        }
        for o in done {
            let _ = writeln!(
                b,
                "  [{:?}] {} {}: {}",
                o.status, o.action, o.resource, o.detail
            );
        }
        let _ = writeln!(b, "\nWHAT FAILED");
        let failures = self.failures();
        if failures.is_empty() {
            let _ = writeln!(b, "  nothing");
        }
        for f in failures {
            let _ = writeln!(b, "  {f}");
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(b, "\nWARNING");
            for w in &self.warnings {
                let _ = writeln!(b, "  {w}");
            }
        }
    }

    /// HOW TO UNDO (credentials) or HOW TO RELEASE (a quarantine).
    fn write_undo(&self, b: &mut String) {
        if !self.undo.is_empty() {
            let _ = writeln!(b, "\nHOW TO UNDO (after the investigation)");
            for u in &self.undo {
                let _ = writeln!(b, "  {u}");
            }
        }
        if !self.undo.is_empty()
            || !matches!(
                self.verdict,
                Verdict::Contained | Verdict::ContainmentFailed
            )
        {
            return;
        }
        let _ = writeln!(b, "\nHOW TO RELEASE (after the investigation)");
        let _ = writeln!(
            b,
            "  Restore each interface's groups (recorded on the instance in {}):",
            tags::ISOLATION
        );
        for (eni, groups) in &self.original_groups {
            let _ = writeln!(
                b,
                "    aws ec2 modify-network-interface-attribute --region {} --network-interface-id {eni} --groups {}",
                self.region,
                groups.join(" ")
            );
        }
        let _ = writeln!(
            b,
            "  then remove the instance's firebreak:* tags, and turn termination protection off only if\n  \
             {} says termination-protection. Evidence snapshots are kept.",
            tags::EVIDENCE
        );
        let acl_denied = self.outcomes.iter().any(|o| {
            o.action == ActionKind::DenyNetworkAcl
                && matches!(
                    o.status,
                    Status::Succeeded | Status::AlreadyDone | Status::Skipped
                )
        });
        if acl_denied {
            let _ = writeln!(
                b,
                "  Its addresses are denied in the network ACLs of its VPC (the {} lines above;\n  \
                 recorded in {}): delete those entries too, or let FbRelease do it.",
                ActionKind::DenyNetworkAcl,
                tags::ACL_DENIES
            );
        }
        let out_of_service = self
            .outcomes
            .iter()
            .any(|o| o.action == ActionKind::TakeOutOfService && o.status == Status::Succeeded);
        if out_of_service {
            let _ = writeln!(
                b,
                "  It was also taken out of service (the {} lines above; recorded as\n  \
                 {} and {}).\n  \
                 The Security Hub custom action FbRelease puts all of it back (ExitStandby or\n  \
                 AttachInstances, RegisterTargets, AssociateAddress) along with the groups.",
                ActionKind::TakeOutOfService,
                tags::AUTO_SCALING,
                tags::OUT_OF_SERVICE
            );
        }
    }
}

/// SNS subjects: ASCII, one line, under 100 characters.
fn subject(s: &str) -> String {
    let clean: String = s
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                ' '
            }
        })
        .collect();
    if clean.len() < 100 {
        clean
    } else {
        format!("{}...", &clean[..96])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_short_ascii_single_lines() {
        let s = subject(&format!("Firebreak CONTAINED: {}\n é", "x".repeat(200)));
        assert!(s.len() < 100);
        assert!(s.is_ascii() && !s.contains('\n'));
        assert_eq!(subject("short"), "short");
    }
}
