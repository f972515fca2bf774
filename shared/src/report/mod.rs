//! The report of one incident, and the notification a person reads at 3 a.m.
//!
//! `verdict.rs` is the overall result; this file the report built from a plan carried out;
//! `text.rs` the notification (the text, the structured report, the chat notification, the
//! subject); `release.rs` how the text says to undo or release.

pub mod release;
pub mod text;
pub mod verdict;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::approval::{chat, Approval, Decision};
use crate::config::{Config, Mode};
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Plan;
use crate::report::verdict::{verdict, Verdict};

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
    /// For a contained Lambda function: what holds, for every version and alias.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<String>,
    /// Awaiting approval: how to approve or reject, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approval: Vec<String>,
    /// The chat buttons' values (`approval/chat.rs`), in the chat notification's
    /// `additionalContext` only.
    #[serde(skip)]
    pub chat_buttons: BTreeMap<String, String>,
    /// The finding's ticket (`ticketing.rs`), when a ticket system is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<crate::ports::TicketOutcome>,
}

/// Security groups and network ACLs both held.
pub const CUT_BOTH: &str = "new and existing connections cut (security groups + network ACLs; \
    the few flows neither can cut are listed in docs/actions.md)";
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

/// What holds for a contained Lambda function, step by step (a version's configuration is fixed
/// when it is published: only concurrency, mappings and sessions reach every version and alias).
fn function_holds(plan: &Plan, verdict: Verdict, outcomes: &[Outcome]) -> Option<String> {
    if verdict != Verdict::Contained || !plan.has(ActionKind::StopFunction) {
        return None;
    }
    let step = |k: ActionKind| outcomes.iter().find(|o| o.action == k);
    let ok = |k: ActionKind| step(k).is_some_and(Outcome::is_ok);
    let mut holds = Vec::new();
    if ok(ActionKind::StopFunction) {
        holds.push("reserved concurrency 0 stops every version and alias");
    }
    if ok(ActionKind::DisableEventSources) {
        holds.push("its event source mappings (its aliases' too) are off");
    }
    if ok(ActionKind::RevokeFunctionSessions) {
        holds.push("its execution role denies the sessions issued to it before the response");
    }
    match step(ActionKind::IsolateFunction) {
        Some(o) if o.is_ok() => holds.push(
            "network: $LATEST and versions published from now on in the isolation group \
             (published versions keep their groups)",
        ),
        Some(o) if o.status == Status::Skipped => {
            holds.push("network: none to isolate (not attached to a VPC)")
        }
        _ => {}
    }
    Some(holds.join("; "))
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
        let verdict = verdict(&plan, mode, &execution);
        let connections = connections(&plan, verdict, &execution.outcomes);
        let holds = function_holds(&plan, verdict, &execution.outcomes);
        let unrecorded = unrecorded(&execution.outcomes);
        Report {
            connections,
            holds,
            approval: Vec::new(),
            chat_buttons: BTreeMap::new(),
            ticket: None,
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

    /// With the ways to approve or reject an `ask` (`function`: the one that takes the approval
    /// event, `securityhub-action`); unchanged for any other verdict.
    pub fn with_approval(mut self, incident: &Incident, function: Option<&str>) -> Report {
        if self.verdict != Verdict::AwaitingApproval {
            return self;
        }
        let mut lines = match incident.database() {
            Some(_) => vec![
                "Approve (isolates the database): select the finding in Security Hub and choose \
                 the custom action FbQuarantine."
                    .to_string(),
                "Reject (its groups stay as they are; the snapshot is kept): choose FbRelease."
                    .to_string(),
            ],
            None => vec![
                "Approve (contains the instance): select the finding in Security Hub and choose \
                 the custom action FbQuarantine."
                    .to_string(),
                "Reject (lifts the evidence protection Firebreak set): choose FbRelease."
                    .to_string(),
            ],
        };
        if let Some(function) = function {
            lines.push("Or from a shell, with your name in \"by\":".to_string());
            for decision in [Decision::Approve, Decision::Reject] {
                lines.push(Approval::command(function, incident, decision));
            }
        }
        self.approval = lines;
        self
    }

    /// With the chat's buttons: Approve and Reject on an `ask`, Release on a containment, as the
    /// deployment turned them on (`FIREBREAK_CHAT_DECISIONS`).
    pub fn with_chat_buttons(mut self, incident: &Incident, config: &Config) -> Report {
        let awaiting = self.verdict == Verdict::AwaitingApproval;
        let contained = self.verdict == Verdict::Contained && self.mode != Mode::DryRun;
        self.chat_buttons = chat::context(incident, config, awaiting, contained);
        self
    }

    /// The failed steps, one line each.
    pub fn failures(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|o| o.status == Status::Failed)
            .map(|o| format!("{} {}: {}", o.action, o.resource, o.detail))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::config::Config;
    use crate::outcome::Execution;
    use serde_json::Value;

    /// A contained C&C instance whose finding title an attacker wrote.
    pub(crate) fn contained(title: &str) -> (Incident, Report) {
        let event: Value = serde_json::from_str(include_str!(
            "../../../events/guardduty-backdoor-c2-instance.json"
        ))
        .unwrap();
        let mut incident = Incident::from_event(&event).unwrap();
        incident.title = Some(title.to_string());
        let plan = crate::playbook::plan(&incident, &Config::for_tests());
        let resource = incident.resource_name();
        let execution = Execution {
            outcomes: vec![Outcome::new(
                ActionKind::IsolateInstance,
                &resource,
                Status::Succeeded,
                "eni-1: sg-app → isolation",
            )],
            completed: Some(true),
            ..Execution::default()
        };
        let report = Report::new(&incident, plan, Mode::Apply, execution);
        (incident, report)
    }
}
