//! One finding of a Security Hub custom action: plan it as the analyst asked, carry it out, notify,
//! and write what was done on the finding (a note, and a workflow status).

use serde::Serialize;
use tracing::{info, warn};

use crate::config::{Config, Mode};
use crate::error::AwsError;
use crate::incident::asff::{CustomAction, RejectedFinding};
use crate::incident::ids::Arn;
use crate::incident::{FindingRef, Incident};
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::plan::Action;
use crate::playbook::analyst::plan_for_action;
use crate::ports::{
    Ec2Ports, FindingsPort, IamPorts, Notifier, ServicePorts, TicketOutcome, Workflow,
};
use crate::report::verdict::Verdict;
use crate::report::Report;
use crate::respond::{carry_out, Trigger};

/// One finding's result in a custom action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingResult {
    /// The finding id (GuardDuty's own id for GuardDuty findings).
    pub finding_id: String,
    /// The resource acted on.
    pub resource: String,
    /// The outcome; `None` when the finding could not be read.
    pub verdict: Option<Verdict>,
    /// The note written on the finding.
    pub note: String,
    /// The workflow status set on the finding.
    pub workflow: Option<Workflow>,
    /// Whether `BatchUpdateFindings` took the note.
    pub finding_updated: bool,
    /// The action failed on this finding (containment, evidence or release failed, the team
    /// could not be notified, or the finding's ticket failed). A note that could not be written is not a failure of the action.
    pub failed: bool,
    /// What went wrong, when something did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The answer to a custom-action event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionReport {
    /// The action.
    pub action: CustomAction,
    /// apply or dry-run.
    pub mode: Mode,
    /// One result per finding of the event, in its order.
    pub results: Vec<FindingResult>,
}

/// The workflow status a finding gets after the action.
fn workflow_after(mode: Mode, verdict: Verdict, notified: bool) -> Option<Workflow> {
    match (mode, verdict) {
        (Mode::DryRun, _) => None,
        (_, Verdict::Released) => Some(Workflow::Resolved),
        (_, Verdict::Contained | Verdict::NotifiedOnly | Verdict::EvidencePreserved)
            if notified =>
        {
            Some(Workflow::Notified)
        }
        _ => None,
    }
}

/// The note on the finding: the action, the verdict, each step's outcome; at most 512 characters.
pub fn finding_note(
    action: CustomAction,
    report: &Report,
    workflow: Option<Workflow>,
    notified: bool,
) -> String {
    let mut note = format!(
        "Firebreak {} ({}): {} {}.",
        action.id(),
        report.mode.as_str(),
        report.verdict.word(),
        report.resource
    );
    if report.mode == Mode::DryRun {
        let planned: Vec<&str> = report.plan.actions.iter().map(Action::name).collect();
        note = format!(
            "Firebreak {} dry run on {}: nothing was changed. Would: {}.",
            action.id(),
            report.resource,
            planned.join(", ")
        );
    } else {
        note.push_str(&step_summary(&report.outcomes));
        if report.plan.actions.is_empty() {
            note.push_str(&format!(" {}.", report.plan.reason));
        }
    }
    if report.plan.has(ActionKind::Notify) {
        note.push_str(if notified {
            " Team notified."
        } else {
            " NOTIFICATION FAILED."
        });
    }
    note.push_str(&crate::ticketing::note(report));
    if let Some(w) = workflow {
        note.push_str(&format!(" Workflow {}.", w.as_str()));
    }
    let failures = report.failures();
    if !failures.is_empty() {
        note.push_str(&format!(" Failed: {}", failures.join("; ")));
    }
    truncate_chars(&note, NOTE_LIMIT)
}

/// ` step: status, 2 status; …` for each step in order, counting each status.
fn step_summary(outcomes: &[Outcome]) -> String {
    let mut summary = String::new();
    let mut steps: Vec<(ActionKind, Vec<Status>)> = Vec::new();
    for o in outcomes {
        match steps.iter_mut().find(|(a, _)| *a == o.action) {
            Some((_, st)) => st.push(o.status),
            None => steps.push((o.action, vec![o.status])),
        }
    }
    for (step, statuses) in steps {
        let mut counts: Vec<(Status, usize)> = Vec::new();
        for st in statuses {
            match counts.iter_mut().find(|(s, _)| *s == st) {
                Some((_, n)) => *n += 1,
                None => counts.push((st, 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(st, n)| match *n > 1 {
                true => format!("{n} {}", st.name()),
                false => st.name().to_string(),
            })
            .collect();
        summary.push_str(&format!(" {step}: {};", parts.join(", ")));
    }
    summary
}

/// Security Hub's limit on a note's text.
pub const NOTE_LIMIT: usize = 512;

pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

/// One finding of a custom action with the given ports: plan, carry out, notify, note the finding.
#[allow(clippy::too_many_arguments)]
pub async fn respond_to_action<
    E: Ec2Ports,
    S: ServicePorts,
    I: IamPorts,
    N: Notifier,
    F: FindingsPort,
>(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
    ec2: &E,
    service: &S,
    iam: &I,
    notifier: &N,
    findings: Option<&F>,
) -> FindingResult {
    let (report, published) = act(action, incident, config, ec2, service, iam, notifier).await;
    note(action, incident, config, &report, &published, findings).await
}

/// Plans one finding as the analyst asked and carries it out (the notification through `notifier`:
/// SNS, or a `digest::Collector` that holds it for the event's digest).
pub async fn act<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
    ec2: &E,
    service: &S,
    iam: &I,
    notifier: &N,
) -> (Report, Result<String, AwsError>) {
    let plan = plan_for_action(action, incident, config);
    // An analyst's click is the human decision the blast-radius cap asks for: never capped.
    carry_out(
        incident,
        plan,
        config,
        Trigger::Human,
        ec2,
        service,
        iam,
        notifier,
    )
    .await
}

/// Writes what was done on the finding (note, workflow) once the team was told, or not.
pub async fn note<F: FindingsPort>(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
    report: &Report,
    published: &Result<String, AwsError>,
    findings: Option<&F>,
) -> FindingResult {
    let notified = published.is_ok();
    let workflow = workflow_after(config.mode, report.verdict, notified);
    let note = finding_note(action, report, workflow, notified);
    let mut error = None;
    if report.verdict.is_failure() {
        error = Some(report.failures().join("; "));
    }
    let ticket_failed = report.ticket.as_ref().is_some_and(|t| t.failed());
    if let Some(TicketOutcome::Failed { system, reason }) = &report.ticket {
        error = Some(format!("ticket ({system}) failed: {reason}"));
    }
    if let Err(e) = published {
        error = Some(format!("notification failed: {e}"));
    }
    let updated = match (findings, &incident.security_hub) {
        (Some(port), Some(finding)) => match port.update_finding(finding, &note, workflow).await {
            Ok(()) => {
                info!(finding_id = %incident.finding_id, resource = %report.resource, action = ActionKind::UpdateFinding.name(),
                      outcome = "succeeded", workflow = workflow.map(Workflow::as_str).unwrap_or("unchanged"), "action");
                true
            }
            Err(e) => {
                warn!(finding_id = %incident.finding_id, resource = %report.resource, action = ActionKind::UpdateFinding.name(),
                      outcome = "failed", error_code = e.code.as_deref().unwrap_or(""), error = %e, "action");
                error.get_or_insert_with(|| format!("could not update the finding: {e}"));
                false
            }
        },
        _ => false,
    };
    FindingResult {
        finding_id: report.finding_id.clone(),
        resource: report.resource.clone(),
        verdict: Some(report.verdict),
        note,
        workflow,
        finding_updated: updated,
        failed: report.verdict.is_failure() || !notified || ticket_failed,
        error,
    }
}

/// The result for a finding of the event that could not be read: a note on it when its id and
/// product are known.
pub async fn rejected<F: FindingsPort>(
    action: CustomAction,
    rejected: &RejectedFinding,
    hub_for: impl FnOnce(&str) -> F,
) -> FindingResult {
    warn!(finding_id = rejected.id.as_deref().unwrap_or(""), error_type = rejected.error_type,
          error = %rejected.reason, "rejected finding");
    let note = truncate_chars(
        &format!(
            "Firebreak {}: could not act on this finding: {}",
            action.id(),
            rejected.reason
        ),
        NOTE_LIMIT,
    );
    let updated = match (&rejected.id, &rejected.product_arn) {
        (Some(id), Some(product_arn)) => {
            let region = Arn::lenient(product_arn).region.to_string();
            let r = FindingRef {
                id: id.clone(),
                product_arn: product_arn.clone(),
                region,
            };
            hub_for(&r.region)
                .update_finding(&r, &note, None)
                .await
                .is_ok()
        }
        _ => false,
    };
    FindingResult {
        finding_id: rejected.id.clone().unwrap_or_default(),
        resource: String::new(),
        verdict: None,
        note,
        workflow: None,
        finding_updated: updated,
        failed: false,
        error: Some(format!("{}: {}", rejected.error_type, rejected.reason)),
    }
}
