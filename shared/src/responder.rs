//! One incident, start to finish: parse → plan → execute (or dry-run) → notify → report.

use serde_json::Value;
use tracing::{error, info, warn};

use crate::aws::AwsClients;
use crate::config::{Config, Mode};
use crate::credentials::execute_credential_plan;
use crate::error::FirebreakError;
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
pub async fn respond<E: Ec2Port, I: IamPort, N: Notifier>(
    incident: &Incident,
    config: &Config,
    ec2: &E,
    iam: &I,
    notifier: &N,
) -> Result<Report, FirebreakError> {
    let plan = plan(incident, config);
    info!(
        finding_id = %incident.finding_id,
        finding_type = %incident.finding_type,
        resource = %incident.resource_name(),
        rule = plan.rule,
        actions = %serde_json::to_string(&plan.actions).unwrap_or_default(),
        mode = config.mode.as_str(),
        "plan"
    );
    let execution = if !plan.contains_resource() {
        Execution::default()
    } else if config.mode == Mode::DryRun {
        Execution {
            outcomes: dry_run(&plan),
            ..Execution::default()
        }
    } else if incident.instance().is_some() {
        execute_instance_plan(ec2, incident, &plan, &config.exempt_tag, &now_rfc3339()).await
    } else {
        execute_credential_plan(iam, ec2, incident, &plan, &config.exempt_tag).await
    };
    for o in &execution.outcomes {
        log_outcome(&incident.finding_id, o);
    }
    let report = Report::new(incident, plan, config.mode, execution);
    let published = notifier.publish(&report.notification(incident)).await;
    match &published {
        Ok(id) => log_outcome(
            &incident.finding_id,
            &Outcome {
                action: "notify",
                resource: config.topic_arn.clone(),
                status: Status::Succeeded,
                detail: format!("message {id}"),
                error_code: None,
            },
        ),
        Err(e) => error!(finding_id = %incident.finding_id, action = "notify", outcome = "failed",
                         error_code = e.code.as_deref().unwrap_or(""), error = %e, "notification failed"),
    }
    info!(finding_id = %report.finding_id, resource = %report.resource, verdict = ?report.verdict, "done");
    if report.verdict == Verdict::ContainmentFailed {
        return Err(FirebreakError::ContainmentFailed {
            finding_id: report.finding_id.clone(),
            resource: report.resource.clone(),
            reason: report.failures().join("; "),
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
}

impl Responder {
    /// Wires a responder.
    pub fn new(config: Config, clients: AwsClients) -> Responder {
        Responder { config, clients }
    }

    /// Handles one GuardDuty EventBridge event.
    pub async fn handle_guardduty(&self, event: &Value) -> Result<Report, FirebreakError> {
        let incident = Incident::from_event(event).inspect_err(|e| {
            warn!(error_type = e.error_type(), error = %e, "rejected event");
        })?;
        let ec2 = self.clients.ec2_for(&incident.account, &incident.region);
        let iam = self.clients.iam_for(&incident.account, &incident.region);
        let sns = self.clients.sns_for_topic(&self.config.topic_arn);
        respond(&incident, &self.config, &ec2, &iam, &sns).await
    }
}
