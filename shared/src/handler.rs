//! The deployed responder: configuration and clients built once at start-up, and one handler per
//! function (`guardduty-responder`, `securityhub-action`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{info, warn};

use crate::asff::CustomActionEvent;
use crate::aws::autoscaling_elb::AutoScalingElb;
use crate::aws::clients::AwsClients;
use crate::aws::ec2::Ec2;
use crate::aws::iam::Iam;
use crate::aws::sns::Sns;
use crate::config::Config;
use crate::custom_action::{rejected, respond_to_action, ActionReport, FindingResult};
use crate::error::{FirebreakError, ParseError};
use crate::incident::Incident;
use crate::report::Report;
use crate::responder::respond;

/// The time Lambda leaves this invocation (its deadline is in milliseconds since the epoch).
fn remaining(event: &LambdaEvent<Value>) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    Duration::from_millis(event.context.deadline.saturating_sub(now))
}

/// The deployed responder: configuration and clients built once at start-up.
pub struct Responder {
    config: Config,
    clients: AwsClients,
    sns: Sns,
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
    async fn ports_for(&self, incident: &Incident) -> (Ec2, AutoScalingElb, Iam) {
        let (account, region) = (&incident.account, &incident.region);
        (
            self.clients.ec2_for(account, region).await,
            self.clients.service_for(account, region).await,
            self.clients.iam_for(account, region).await,
        )
    }

    /// Handles one GuardDuty EventBridge event.
    pub async fn handle_guardduty(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Report, FirebreakError> {
        let incident = self.read(&event, Incident::from_event)?;
        let config = self.config.within(remaining(&event));
        let (ec2, service, iam) = self.ports_for(&incident).await;
        // Boxed: the response is a deep nest of futures, too deep for the compiler to lay out inline
        // inside the runtime's.
        Box::pin(respond(&incident, &config, &ec2, &service, &iam, &self.sns)).await
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
        let config = &self.config.within(remaining(&event));
        let results: Vec<FindingResult> = futures::stream::iter(parsed.findings)
            .map(|finding| async move {
                match finding {
                    Ok(incident) => {
                        let (ec2, service, iam) = self.ports_for(&incident).await;
                        let hub = incident
                            .security_hub
                            .as_ref()
                            .map(|r| self.clients.securityhub_for(&r.region));
                        respond_to_action(
                            action,
                            &incident,
                            config,
                            &ec2,
                            &service,
                            &iam,
                            sns,
                            hub.as_ref(),
                        )
                        .await
                    }
                    Err(r) => {
                        rejected(action, &r, |region| self.clients.securityhub_for(region)).await
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
