//! The deployed responder: configuration and clients built once at start-up, and one handler per
//! function (`guardduty-responder`, `securityhub-action`).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use tracing::{info, warn};

use crate::approval::decide::decide;
use crate::approval::{chat, Approval};
use crate::aws::clients::AwsClients;
use crate::aws::ec2::Ec2;
use crate::aws::iam::Iam;
use crate::aws::secrets::key_source;
use crate::aws::securityhub::SecurityHub;
use crate::aws::services::Services;
use crate::aws::sns::Sns;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::custom_action::{act, note, rejected, respond_to_action, ActionReport, FindingResult};
use crate::digest::{digest, publish, Collector, Entry};
use crate::error::{FirebreakError, ParseError};
use crate::imported::{respond_imported, Imported};
use crate::incident::asff::{CustomAction, CustomActionEvent, ImportedEvent, RejectedFinding};
use crate::incident::ids::Arn;
use crate::incident::Incident;
use crate::ports::Notification;
use crate::reminder::{is_reminder_run, remind};
use crate::report::Report;
use crate::respond::log_outcome;
use crate::respond::respond;
use crate::seal::{KeySource, Seal};
use crate::sequence::{self, respond_sequence};
use crate::tickets::{Ticketed, Tickets};

/// The time Lambda leaves this invocation (its deadline is in milliseconds since the epoch).
fn remaining(event: &LambdaEvent<Value>) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    Duration::from_millis(event.context.deadline.saturating_sub(now))
}

/// A finding of a custom-action event: an incident, or why it cannot be one.
type Finding = Result<Incident, RejectedFinding>;
/// One place's reminders: `<account>/<region>`, and its outcomes or why it could not be read.
type Reminded = (String, Result<Vec<crate::outcome::Outcome>, String>);
/// A finding carried out with its notification held for the digest.
type Held = (Incident, Report, Option<Notification>);

/// The function's own region and account (from its ARN:
/// `arn:aws:lambda:<region>:<account>:function:<name>`).
fn function_home(event: &LambdaEvent<Value>) -> (&str, &str) {
    let arn = Arn::lenient(&event.context.invoked_function_arn);
    (arn.region, arn.account)
}

/// Where reminders look: the function's own account and region first, then every listed account
/// in every listed region (each once).
fn reminder_places(
    (account, region): (&str, &str),
    (accounts, regions): &(Vec<String>, Vec<String>),
) -> Vec<(String, String)> {
    let accounts = std::iter::once(account).chain(accounts.iter().map(String::as_str));
    let regions: Vec<&str> = std::iter::once(region)
        .chain(regions.iter().map(String::as_str))
        .collect();
    let mut places: Vec<(String, String)> = Vec::new();
    for a in accounts {
        for r in &regions {
            let place = (a.to_string(), r.to_string());
            if !places.contains(&place) {
                places.push(place);
            }
        }
    }
    places
}

/// The answer to an imported-findings event: each finding's outcome; a finding that could not be
/// handled (not a rejected one: those are logged) fails the invocation, to be retried.
fn imported_answer(
    results: Vec<(String, Result<Imported, String>)>,
) -> Result<Value, FirebreakError> {
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(id, r)| r.as_ref().err().map(|e| format!("{id}: {e}")))
        .collect();
    for (id, r) in &results {
        info!(finding_id = %id, outcome = ?r, "imported finding");
    }
    if !failed.is_empty() {
        return Err(FirebreakError::ActionFailed {
            action: crate::incident::asff::IMPORTED,
            failed: failed.join("; "),
        });
    }
    let answers: Vec<Value> = results
        .into_iter()
        .map(|(id, r)| serde_json::json!({ "finding_id": id, "result": r.ok() }))
        .collect();
    Ok(serde_json::json!({ "findings": answers }))
}

/// The deployed responder: configuration and clients built once at start-up.
pub struct Responder {
    config: Config,
    clients: AwsClients,
    /// SNS, with the ticket system beside it (`FIREBREAK_TICKETS`; none when off).
    sns: Ticketed<Sns>,
    /// The key that seals records, fetched once (the fetch starts with the responder).
    keys: Arc<KeySource>,
}

impl Responder {
    /// Wires a responder.
    pub fn new(config: Config, clients: AwsClients) -> Responder {
        let clients = clients.with_member_role(
            &config.member_role,
            config.member_external_id.as_deref(),
            &config.function_name,
        );
        let sns = Ticketed {
            inner: clients.sns_for_topic(&config.topic_arn),
            // The ticket system's credentials are read (the function's own account) when the
            // first ticket needs them, not at start-up.
            tickets: (config.tickets.clone()).map(|t| Tickets::new(t, &clients.base())),
        };
        for w in config.playbook.lowering_tag_rules() {
            warn!(playbook = %config.playbook.source, warning = %w, "start-up");
        }
        // Fetched when a record is first read (beside the first incident's first call, which
        // awaits it together with its own: no round trip of its own), not at start-up, which it
        // would slow.
        let keys = Arc::new(key_source(clients.base(), config.record_key_secret.clone()));
        Responder {
            config,
            clients,
            sns,
            keys,
        }
    }

    /// Sealing for `incident`'s records.
    fn seal(&self, incident: &Incident) -> Seal {
        Seal::new(
            self.keys.clone(),
            &incident.finding_id,
            &self.config.exempt_tag,
        )
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
    async fn ports_for(&self, incident: &Incident) -> (Ec2, Services, Iam) {
        let (account, region) = (&incident.account, &incident.region);
        let ec2 = self.clients.ec2_for(account, region).await;
        let service = self.clients.service_for(account, region).await;
        let iam = self.clients.iam_for(account, region).await;
        let seal = self.seal(incident);
        (
            ec2.sealed(seal.clone()),
            service.sealed(seal.clone()),
            iam.sealed(seal),
        )
    }

    /// Handles what `guardduty-responder` receives: a GuardDuty finding event, or Security Hub's
    /// imported findings of other regions (`imported.rs`).
    pub async fn handle_guardduty_function(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Value, FirebreakError> {
        if !ImportedEvent::is_imported(&event.payload) {
            let report = self.handle_guardduty(event).await?;
            return Ok(serde_json::to_value(report).unwrap_or_default());
        }
        let parsed = self.read(&event, ImportedEvent::from_event)?;
        let home = function_home(&event).0.to_string();
        let config = &self.config.within(remaining(&event));
        let home = home.as_str();
        let results: Vec<(String, Result<Imported, String>)> =
            futures::stream::iter(parsed.findings)
                .map(|finding| async move {
                    match finding {
                        Ok(incident) => {
                            let (ec2, service, iam) = self.ports_for(&incident).await;
                            let ports = (&ec2, &service, &iam);
                            let done = respond_imported(&incident, config, ports, &self.sns, home);
                            let done = Box::pin(done).await.map_err(|e| e.to_string());
                            (incident.finding_id, done)
                        }
                        Err(r) => {
                            let id = r.id.clone().unwrap_or_default();
                            (id, Ok(Imported::Rejected { reason: r.reason }))
                        }
                    }
                })
                .buffered(self.config.max_concurrent_findings)
                .collect()
                .await;
        imported_answer(results)
    }

    /// Handles one GuardDuty EventBridge event.
    pub async fn handle_guardduty(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Report, FirebreakError> {
        let incident = self.read(&event, Incident::from_event)?;
        let config = self.config.within(remaining(&event));
        let (ec2, service, iam) = self.ports_for(&incident).await;
        if let Some(seq) = sequence::of(&incident) {
            let ports = (&ec2, &service, &iam);
            let done = respond_sequence(&incident, seq, &config, ports, &self.sns);
            return Box::pin(done).await;
        }
        // Boxed: the response is a deep nest of futures, too deep for the compiler to lay out inline
        // inside the runtime's.
        Box::pin(respond(&incident, &config, &ec2, &service, &iam, &self.sns)).await
    }

    /// Handles what `securityhub-action` receives: an approval event (`approval.rs`) or a Security
    /// Hub custom-action event.
    pub async fn handle_action_function(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<Value, FirebreakError> {
        if is_reminder_run(&event.payload) {
            return self.handle_reminders(event).await;
        }
        let approval = if chat::is_chat(&event.payload) {
            let (enabled, request) = (self.config.chat_decisions, &event.context.request_id);
            self.read(&event, |e| chat::from_event(e, enabled, request))?
        } else if Approval::is_approval(&event.payload) {
            self.read(&event, Approval::from_event)?
        } else {
            let report = self.handle_custom_action(event).await?;
            return Ok(serde_json::to_value(report).unwrap_or_default());
        };
        let config = self.config.within(remaining(&event));
        let (ec2, service, iam) = self.ports_for(&approval.incident).await;
        let decided = decide(&approval, &config, &ec2, &service, &iam, &self.sns);
        let report = Box::pin(decided).await?;
        Ok(serde_json::to_value(report).unwrap_or_default())
    }

    /// The reminder schedule: every instance that has waited too long for a human gets its one
    /// reminder, in every account and region Firebreak acts in (its own, and
    /// `FIREBREAK_REMIND_ACCOUNTS` × `FIREBREAK_REMIND_REGIONS`; another account's through the
    /// member role). A place that cannot be read fails the run, after every other was reminded.
    async fn handle_reminders(&self, event: LambdaEvent<Value>) -> Result<Value, FirebreakError> {
        let Some(after) = self.config.remind_after_minutes else {
            return Ok(
                serde_json::json!({ "reminded": [], "why": "FIREBREAK_REMIND_AFTER_MINUTES=never" }),
            );
        };
        self.clients
            .learn_home_account(&event.context.invoked_function_arn);
        let (region, account) = function_home(&event);
        let places = reminder_places((account, region), &self.config.remind_in);
        let done = self.remind_in(places, after).await;
        let mut outcomes = Vec::new();
        let mut failed = Vec::new();
        for (place, got) in done {
            match got {
                Ok(o) => outcomes.extend(o),
                Err(e) => {
                    warn!(place = %place, action = crate::reminder::EVENT_KEY, outcome = "failed",
                          error = %e, "could not list the instances waiting for a human");
                    failed.push(format!("{place}: {e}"));
                }
            }
        }
        for o in &outcomes {
            log_outcome("reminder", o);
        }
        if !failed.is_empty() {
            return Err(FirebreakError::ActionFailed {
                action: crate::reminder::EVENT_KEY,
                failed: format!(
                    "could not list the instances waiting for a human in {}",
                    failed.join("; ")
                ),
            });
        }
        Ok(serde_json::json!({ "reminded": outcomes }))
    }

    /// Each place's reminders.
    async fn remind_in(&self, places: Vec<(String, String)>, after: u64) -> Vec<Reminded> {
        let now = SystemClock.rfc3339();
        let now = now.as_str();
        futures::stream::iter(places)
            .map(|(account, region)| async move {
                // The reminder's own tag is bound to no finding: a marker, never a record.
                let seal = Seal::new(self.keys.clone(), "", &self.config.exempt_tag);
                let ec2 = self.clients.ec2_for(&account, &region).await.sealed(seal);
                let here = (account.as_str(), region.as_str());
                let got = remind(&ec2, &self.sns, after, now, here).await;
                (
                    format!("{account}/{region}"),
                    got.map_err(|e| e.to_string()),
                )
            })
            .buffer_unordered(self.config.max_concurrent_findings)
            .collect()
            .await
    }

    /// Handles one Security Hub custom-action event: every finding on its own, a bounded number at
    /// a time; each finding gets a note (and a workflow status) saying what was done. The team is
    /// told once: by the finding's own message, or by one digest for an event of many findings.
    pub async fn handle_custom_action(
        &self,
        event: LambdaEvent<Value>,
    ) -> Result<ActionReport, FirebreakError> {
        let parsed = self.read(&event, CustomActionEvent::from_event)?;
        let action = parsed.action;
        let config = &self.config.within(remaining(&event));
        let results = match parsed.findings.len() {
            0 | 1 => self.one_by_one(action, parsed.findings, config).await,
            _ => self.with_digest(action, parsed.findings, config).await,
        };
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

    /// The Security Hub of a finding's region (its note and workflow), when it came from there.
    fn hub_for(&self, incident: &Incident) -> Option<SecurityHub> {
        (incident.security_hub.as_ref()).map(|r| self.clients.securityhub_for(&r.region))
    }

    /// Each finding carried out, noted and notified on its own.
    async fn one_by_one(
        &self,
        action: CustomAction,
        findings: Vec<Finding>,
        config: &Config,
    ) -> Vec<FindingResult> {
        let sns = &self.sns;
        futures::stream::iter(findings)
            .map(|finding| async move {
                match finding {
                    Ok(incident) => {
                        let (ec2, service, iam) = self.ports_for(&incident).await;
                        let hub = self.hub_for(&incident);
                        let (e, s, i, h) = (&ec2, &service, &iam, hub.as_ref());
                        respond_to_action(action, &incident, config, e, s, i, sns, h).await
                    }
                    Err(r) => {
                        rejected(action, &r, |region| self.clients.securityhub_for(region)).await
                    }
                }
            })
            .buffered(self.config.max_concurrent_findings)
            .collect()
            .await
    }

    /// Every finding carried out with its notification held; one digest published; then each
    /// finding noted (NOTIFIED only once the digest is out).
    async fn with_digest(
        &self,
        action: CustomAction,
        findings: Vec<Finding>,
        config: &Config,
    ) -> Vec<FindingResult> {
        let done: Vec<Result<Held, RejectedFinding>> = futures::stream::iter(findings)
            .map(|finding| async move {
                let incident = finding?;
                let (ec2, service, iam) = self.ports_for(&incident).await;
                let held = Collector::default();
                let (report, _) = act(action, &incident, config, &ec2, &service, &iam, &held).await;
                Ok((incident, report, held.take()))
            })
            .buffered(self.config.max_concurrent_findings)
            .collect()
            .await;
        let entries: Vec<Entry> = (done.iter())
            .map(|d| match d {
                Ok((_, report, n)) => Entry::Done(report, n.as_ref()),
                Err(r) => Entry::Rejected(r),
            })
            .collect();
        let told: Vec<&str> = (done.iter().flatten())
            .filter(|(_, _, n)| n.is_some())
            .map(|(_, report, _)| report.finding_id.as_str())
            .collect();
        let published = match told.is_empty() {
            true => Ok(String::new()),
            false => {
                let digest = digest(action, config.mode, &entries);
                publish(&self.sns, &config.topic_arn, &digest, &told).await
            }
        };
        let published = &published;
        futures::stream::iter(done)
            .map(|d| async move {
                match d {
                    Ok((incident, report, n)) => {
                        let told = n.map_or(Ok(String::new()), |_| published.clone());
                        let hub = self.hub_for(&incident);
                        note(action, &incident, config, &report, &told, hub.as_ref()).await
                    }
                    Err(r) => {
                        rejected(action, &r, |region| self.clients.securityhub_for(region)).await
                    }
                }
            })
            .buffered(self.config.max_concurrent_findings)
            .collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::reminder_places;

    #[test]
    fn reminders_look_in_the_own_place_first_then_every_listed_account_in_every_listed_region() {
        let listed = (
            vec!["111111111111".to_string(), "123456789012".to_string()],
            vec!["us-west-2".to_string()],
        );
        let places = reminder_places(("123456789012", "us-east-1"), &listed);
        let want = [
            ("123456789012", "us-east-1"),
            ("123456789012", "us-west-2"),
            ("111111111111", "us-east-1"),
            ("111111111111", "us-west-2"),
        ];
        let want: Vec<(String, String)> = (want.iter())
            .map(|(a, r)| (a.to_string(), r.to_string()))
            .collect();
        assert_eq!(places, want);
        let none = (Vec::new(), Vec::new());
        assert_eq!(reminder_places(("1", "r"), &none).len(), 1);
    }
}
