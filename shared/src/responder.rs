//! One incident, start to finish: parse → plan → execute (or dry-run) → notify → report.

use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde::Serialize;
use serde_json::Value;
use tracing::{error, info, warn};

use crate::asff::{CustomAction, CustomActionEvent};
use crate::error::AwsError;
use crate::playbook::{plan_for_action, Action, Plan};
use crate::ports::{FindingsPort, Workflow};
use crate::release::execute_release;

use crate::aws::{AwsClients, Ec2, Estate, Iam};
use crate::config::{Config, Mode};
use crate::credentials::execute_credential_plan;
use crate::error::{FirebreakError, ParseError};
use crate::estate::EstatePort;
use crate::executor::{dry_run, execute_instance_plan, Execution, Outcome, Status};
use crate::incident::Incident;
use crate::playbook::plan;
use crate::ports::{Ec2Port, IamPort, Notifier};
use crate::report::{Report, Verdict};

/// The current time as RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    aws_smithy_types::DateTime::from(std::time::SystemTime::now())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}

/// Handles a parsed incident with the given ports. Generic so tests can drive it with fakes.
pub async fn respond<E: Ec2Port, S: EstatePort, I: IamPort, N: Notifier>(
    incident: &Incident,
    config: &Config,
    ec2: &E,
    estate: &S,
    iam: &I,
    notifier: &N,
) -> Result<Report, FirebreakError> {
    let plan = plan(incident, config);
    // GuardDuty's findings are acted on automatically: the blast-radius cap applies.
    let cap = config.max_quarantines_per_hour;
    let (report, published) =
        carry_out(incident, plan, config, cap, ec2, estate, iam, notifier).await;
    if report.verdict == Verdict::ContainmentFailed {
        return Err(FirebreakError::ContainmentFailed {
            finding_id: report.finding_id.clone(),
            resource: report.resource.clone(),
            reason: report.failures().join("; "),
        });
    }
    let failures = report.failures();
    if !failures.is_empty() {
        // Contained, but a step (evidence, tags) failed: fail the invocation so that it is
        // retried; every step is idempotent, and the done ones report "already done".
        return Err(FirebreakError::StepsFailed {
            finding_id: report.finding_id.clone(),
            resource: report.resource.clone(),
            reason: failures.join("; "),
        });
    }
    if let Err(source) = published {
        return Err(FirebreakError::NotificationFailed {
            finding_id: report.finding_id,
            source,
        });
    }
    Ok(report)
}

/// Carries out a plan (or dry-runs it), notifies, logs; returns the report and the publication.
/// `cap`: the blast-radius cap on automatic quarantines (`None` for an analyst's action).
#[allow(clippy::too_many_arguments)]
pub async fn carry_out<E: Ec2Port, S: EstatePort, I: IamPort, N: Notifier>(
    incident: &Incident,
    plan: Plan,
    config: &Config,
    cap: Option<usize>,
    ec2: &E,
    estate: &S,
    iam: &I,
    notifier: &N,
) -> (Report, Result<String, AwsError>) {
    info!(
        finding_id = %incident.finding_id,
        finding_type = %incident.finding_type,
        resource = %incident.resource_name(),
        rule = plan.rule,
        actions = %serde_json::to_string(&plan.actions).unwrap_or_default(),
        mode = config.mode.as_str(),
        "plan"
    );
    let release = plan.actions.iter().find_map(|a| match a {
        Action::ReleaseInstance { instance_id } => Some(instance_id.clone()),
        _ => None,
    });
    let execution = if !plan.contains_resource() {
        Execution::default()
    } else if config.mode == Mode::DryRun {
        Execution {
            outcomes: dry_run(&plan),
            ..Execution::default()
        }
    } else if let Some(instance_id) = release {
        execute_release(ec2, estate, &instance_id, &now_rfc3339()).await
    } else if incident.instance().is_some() {
        execute_instance_plan(
            ec2,
            estate,
            incident,
            &plan,
            &config.exempt_tag,
            &now_rfc3339(),
            cap,
        )
        .await
    } else {
        execute_credential_plan(iam, ec2, incident, &plan, &config.exempt_tag).await
    };
    for o in &execution.outcomes {
        log_outcome(&incident.finding_id, o);
    }
    let notify = plan.actions.contains(&Action::Notify);
    let report = Report::new(incident, plan, config.mode, execution);
    let published = if notify {
        notifier.publish(&report.notification(incident)).await
    } else {
        Ok(String::new())
    };
    match &published {
        Ok(id) if notify => log_outcome(
            &incident.finding_id,
            &Outcome {
                action: "notify",
                resource: config.topic_arn.clone(),
                status: Status::Succeeded,
                detail: format!("message {id}"),
                error_code: None,
            },
        ),
        Ok(_) => {}
        Err(e) => error!(finding_id = %incident.finding_id, action = "notify", outcome = "failed",
                         error_code = e.code.as_deref().unwrap_or(""), error = %e, "notification failed"),
    }
    info!(finding_id = %report.finding_id, resource = %report.resource, verdict = ?report.verdict, "done");
    (report, published)
}

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
    /// The action failed on this finding (containment, evidence or release failed, or the team
    /// could not be notified). A note that could not be written is not a failure of the action.
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
        let mut steps: Vec<(&str, Vec<Status>)> = Vec::new();
        for o in &report.outcomes {
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
                .map(|(st, n)| {
                    let word = serde_json::to_value(st)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default();
                    if *n > 1 {
                        format!("{n} {word}")
                    } else {
                        word
                    }
                })
                .collect();
            note.push_str(&format!(" {step}: {};", parts.join(", ")));
        }
        if report.plan.actions.is_empty() {
            note.push_str(&format!(" {}.", report.plan.reason));
        }
    }
    if report.plan.actions.contains(&Action::Notify) {
        note.push_str(if notified {
            " Team notified."
        } else {
            " NOTIFICATION FAILED."
        });
    }
    if let Some(w) = workflow {
        note.push_str(&format!(" Workflow {}.", w.as_str()));
    }
    let failures = report.failures();
    if !failures.is_empty() {
        note.push_str(&format!(" Failed: {}", failures.join("; ")));
    }
    truncate_chars(&note, NOTE_LIMIT)
}

/// Security Hub's limit on a note's text.
pub const NOTE_LIMIT: usize = 512;

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max - 1).collect();
    t.push('…');
    t
}

fn log_outcome(finding_id: &str, o: &Outcome) {
    let outcome = serde_json::to_value(o.status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    if o.status == Status::Failed {
        warn!(finding_id, resource = %o.resource, action = o.action, outcome, error_code = o.error_code.as_deref().unwrap_or(""), detail = %o.detail, "action");
    } else {
        info!(finding_id, resource = %o.resource, action = o.action, outcome, detail = %o.detail, "action");
    }
}

/// The deployed responder: configuration and clients built once at start-up.
pub struct Responder {
    config: Config,
    clients: AwsClients,
    sns: crate::aws::Sns,
}

impl Responder {
    /// Wires a responder.
    pub fn new(config: Config, clients: AwsClients) -> Responder {
        let clients = clients.with_member_role(
            &config.member_role,
            config.member_external_id.as_deref(),
            &config.function_name,
        );
        let sns = clients.sns_for_topic(&config.topic_arn);
        Responder {
            config,
            clients,
            sns,
        }
    }

    /// Parses the event (a rejection is logged), learning the function's own account on the way.
    fn read<T>(
        &self,
        event: &LambdaEvent<Value>,
        parse: impl FnOnce(&Value) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        self.clients
            .learn_home_account(&event.context.invoked_function_arn);
        parse(&event.payload).inspect_err(|e| {
            warn!(error_type = e.error_type(), error = %e, "rejected event");
        })
    }

    /// EC2, Auto Scaling / load balancing / addresses, and IAM in the incident's account and region.
    async fn ports_for(&self, incident: &Incident) -> (Ec2, Estate, Iam) {
        let (account, region) = (&incident.account, &incident.region);
        (
            self.clients.ec2_for(account, region).await,
            self.clients.estate_for(account, region).await,
            self.clients.iam_for(account, region).await,
        )
    }

    /// Handles one GuardDuty EventBridge event.
    pub async fn handle_guardduty(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Report, FirebreakError> {
        let incident = self.read(&event, Incident::from_event)?;
        let (ec2, estate, iam) = self.ports_for(&incident).await;
        respond(&incident, &self.config, &ec2, &estate, &iam, &self.sns).await
    }

    /// Handles one Security Hub custom-action event: every finding on its own, a bounded number at
    /// a time; each finding gets a note (and a workflow status) saying what was done.
    pub async fn handle_custom_action(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<ActionReport, FirebreakError> {
        let parsed = self.read(&event, CustomActionEvent::from_event)?;
        let action = parsed.action;
        let sns = &self.sns;
        let results: Vec<FindingResult> = futures::stream::iter(parsed.findings)
            .map(|finding| async move {
                match finding {
                    Ok(incident) => {
                        let (ec2, estate, iam) = self.ports_for(&incident).await;
                        let hub = incident
                            .security_hub
                            .as_ref()
                            .map(|r| self.clients.securityhub_for(&r.region));
                        respond_to_action(action, &incident, &self.config, &ec2, &estate, &iam, sns, hub.as_ref()).await
                    }
                    Err(rejected) => {
                        warn!(finding_id = rejected.id.as_deref().unwrap_or(""), error_type = rejected.error_type,
                              error = %rejected.reason, "rejected finding");
                        let note = truncate_chars(
                            &format!("Firebreak {}: could not act on this finding: {}", action.id(), rejected.reason),
                            NOTE_LIMIT,
                        );
                        let updated = match (&rejected.id, &rejected.product_arn) {
                            (Some(id), Some(product_arn)) => {
                                let region = product_arn.split(':').nth(3).unwrap_or_default().to_string();
                                let r = crate::incident::FindingRef { id: id.clone(), product_arn: product_arn.clone(), region };
                                self.clients.securityhub_for(&r.region).update_finding(&r, &note, None).await.is_ok()
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
                }
            })
            .buffered(self.config.max_concurrent_findings)
            .collect()
            .await;
        let failed: Vec<String> = results
            .iter()
            .filter(|r| r.failed)
            .map(|r| {
                format!(
                    "{} {}: {}",
                    r.finding_id,
                    r.resource,
                    r.error.as_deref().unwrap_or("failed")
                )
            })
            .collect();
        info!(
            action = action.id(),
            findings = results.len(),
            failed = failed.len(),
            "custom action done"
        );
        if !failed.is_empty() {
            return Err(FirebreakError::ActionFailed {
                action: action.id(),
                failed: failed.join("; "),
            });
        }
        Ok(ActionReport {
            action,
            mode: self.config.mode,
            results,
        })
    }
}

/// One finding of a custom action with the given ports: plan, carry out, notify, note the finding.
#[allow(clippy::too_many_arguments)]
pub async fn respond_to_action<
    E: Ec2Port,
    S: EstatePort,
    I: IamPort,
    N: Notifier,
    F: FindingsPort,
>(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
    ec2: &E,
    estate: &S,
    iam: &I,
    notifier: &N,
    findings: Option<&F>,
) -> FindingResult {
    let plan = plan_for_action(action, incident, config);
    // An analyst's click is the human decision the blast-radius cap asks for: never capped.
    let (report, published) =
        carry_out(incident, plan, config, None, ec2, estate, iam, notifier).await;
    let notified = published.is_ok();
    let workflow = workflow_after(config.mode, report.verdict, notified);
    let note = finding_note(action, &report, workflow, notified);
    let mut error = None;
    if report.verdict.is_failure() {
        error = Some(report.failures().join("; "));
    }
    if let Err(e) = &published {
        error = Some(format!("notification failed: {e}"));
    }
    let updated = match (findings, &incident.security_hub) {
        (Some(port), Some(finding)) => match port.update_finding(finding, &note, workflow).await {
            Ok(()) => {
                info!(finding_id = %incident.finding_id, resource = %report.resource, action = "update-finding",
                      outcome = "succeeded", workflow = workflow.map(Workflow::as_str).unwrap_or("unchanged"), "action");
                true
            }
            Err(e) => {
                warn!(finding_id = %incident.finding_id, resource = %report.resource, action = "update-finding",
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
        failed: report.verdict.is_failure() || !notified,
        error,
    }
}
