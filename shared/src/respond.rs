//! One incident, start to finish, through the ports: plan → execute (or dry-run) → notify → report.

use tracing::{error, info, warn};

use crate::clock::SystemClock;
use crate::config::{Config, Mode};
use crate::error::{AwsError, FirebreakError};
use crate::execute::{self, Request};
use crate::incident::{Incident, Resource};
use crate::kind::ActionKind;
use crate::outcome::{Execution, Marked, Outcome, Status, Told};
use crate::plan::{dry_run, Plan};
use crate::playbook::plan;
use crate::ports::{BucketsPort, Ec2Ports, IamPorts, InstancesPort, Notifier, Ports, ServicePorts};
use crate::report::verdict::Verdict;
use crate::report::Report;

/// Handles a parsed incident with the given ports. Generic so tests can drive it with fakes.
pub async fn respond<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    incident: &Incident,
    config: &Config,
    ec2: &E,
    service: &S,
    iam: &I,
    notifier: &N,
) -> Result<Report, FirebreakError> {
    let live = with_live_tags(incident, config, ec2).await;
    let plan = plan(live.as_ref().unwrap_or(incident), config);
    // GuardDuty's findings are acted on automatically: the blast-radius cap applies.
    let trigger = Trigger::Automatic {
        cap: config.max_quarantines_per_hour,
    };
    let (report, published) =
        carry_out(incident, plan, config, trigger, ec2, service, iam, notifier).await;
    answer(report, published)
}

/// The incident as the playbook sees it when a rule matches on tags: with the instance's tags as
/// EC2 holds them now, not the finding's copy (which is whatever the finding says: an integration
/// writes it, and it may be hours old). `None` when no rule matches on tags, the resource is not an
/// instance, or the tags cannot be read (the finding's copy decides, and the log says so).
async fn with_live_tags<E: InstancesPort>(
    incident: &Incident,
    config: &Config,
    ec2: &E,
) -> Option<Incident> {
    let instance = incident
        .instance()
        .filter(|_| config.playbook.has_tag_rules())?;
    let tags = match ec2.describe_instance(&instance.instance_id).await {
        Ok(Some(facts)) => facts.tags,
        Ok(None) => Vec::new(),
        Err(e) => {
            warn!(
                finding_id = %incident.finding_id,
                resource = %instance.instance_id,
                error = %e,
                "the playbook's tag rules match the finding's copy of the tags: the live ones could \
                 not be read"
            );
            return None;
        }
    };
    let mut live = incident.clone();
    if let Resource::Instance(i) = &mut live.resource {
        i.tags = tags;
    }
    Some(live)
}

/// The invocation's answer: the report, or the error that makes Lambda retry (containment failed;
/// a step failed — every step is idempotent, the done ones report "already done"; the team could
/// not be told; the finding's ticket failed, the team told so).
pub fn answer(
    report: Report,
    published: Result<String, AwsError>,
) -> Result<Report, FirebreakError> {
    if report.verdict == Verdict::ContainmentFailed {
        return Err(FirebreakError::ContainmentFailed {
            finding_id: report.finding_id.clone(),
            resource: report.resource.clone(),
            reason: report.failures().join("; "),
        });
    }
    let failures = report.failures();
    if !failures.is_empty() {
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
    if let Some(crate::ports::TicketOutcome::Failed { system, reason }) = &report.ticket {
        return Err(FirebreakError::TicketFailed {
            finding_id: report.finding_id.clone(),
            system,
            reason: reason.clone(),
        });
    }
    Ok(report)
}

/// Who set a response off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A finding, acted on automatically: at most `cap` quarantines per account, region and hour;
    /// a delivery that changes nothing (a retry, GuardDuty's update of a finding already handled,
    /// the same finding imported from another region) is logged and counted, not told again.
    Automatic {
        /// The blast-radius cap.
        cap: Option<usize>,
    },
    /// A human (a custom action, an approval): never capped, always told.
    Human,
}

/// Carries out a plan (or dry-runs it), notifies, logs; returns the report and the publication.
#[allow(clippy::too_many_arguments)]
pub async fn carry_out<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    incident: &Incident,
    plan: Plan,
    config: &Config,
    trigger: Trigger,
    ec2: &E,
    service: &S,
    iam: &I,
    notifier: &N,
) -> (Report, Result<String, AwsError>) {
    let (report, published, _) = carry_out_told(
        incident,
        plan,
        config,
        trigger,
        (ec2, service, iam),
        notifier,
    )
    .await;
    (report, published)
}

/// [`carry_out`], also returning the mark that the team was told: still to be written (and
/// `already == false`) when the notifier only held the message ([`Notifier::holds`]).
pub async fn carry_out_told<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    incident: &Incident,
    plan: Plan,
    config: &Config,
    trigger: Trigger,
    (ec2, service, iam): (&E, &S, &I),
    notifier: &N,
) -> (Report, Result<String, AwsError>, Option<Told>) {
    let started = std::time::Instant::now();
    info!(
        finding_id = %incident.finding_id,
        finding_type = %incident.finding_type,
        resource = %incident.resource_name(),
        rule = plan.rule,
        actions = %serde_json::to_string(&plan.actions).unwrap_or_default(),
        mode = config.mode.as_str(),
        "plan"
    );
    let cap = match trigger {
        Trigger::Automatic { cap } => cap,
        Trigger::Human => None,
    };
    let ports = Ports { ec2, service, iam };
    let execution = execute(incident, &plan, config, cap, ports).await;
    for o in &execution.outcomes {
        log_outcome(&incident.finding_id, o);
    }
    for w in execution.warnings.iter().filter(|w| is_tampering(w)) {
        warn!(finding_id = %incident.finding_id, resource = %incident.resource_name(),
              action = "verify-records", outcome = "tampering", detail = %w, "records");
    }
    let notify = plan.has(ActionKind::Notify);
    let told = execution.told.clone();
    let mut report = Report::new(incident, plan, config.mode, execution)
        .with_approval(incident, config.approval_function.as_deref())
        .with_chat_buttons(incident, config);
    crate::metrics::emit(incident, &report, &config.function_name, started.elapsed());
    // Silent only when nothing changed and the team was told before (the resource's record says
    // so): a message lost to a failed publish is sent by the retry.
    let already_told = told.as_ref().is_none_or(|t| t.already);
    let told_before = trigger != Trigger::Human && changed_nothing(&report) && already_told;
    if notify && !told_before {
        // After containment, before the message that names it (`ticketing.rs`).
        // Boxed: the response is already a deep nest of futures.
        let ticket = Box::pin(crate::ticketing::ticket(
            incident, &report, config, notifier,
        ));
        report.ticket = ticket.await;
    }
    let published = tell(incident, config, &report, notify && !told_before, notifier).await;
    // A failed ticket leaves the mark unwritten: the retry tells again, with the ticket.
    let ticket_failed = report.ticket.as_ref().is_some_and(|t| t.failed());
    let sent = notify && !told_before && published.is_ok() && !ticket_failed;
    if let (true, false, Some(t)) = (sent, notifier.holds(), &told) {
        mark_told((ec2, service, iam), &incident.finding_id, t).await;
    }
    info!(finding_id = %report.finding_id, resource = %report.resource, verdict = ?report.verdict, "done");
    (report, published, told)
}

/// Publishes the report's notification when `send`, logging what became of it (or why none).
async fn tell<N: Notifier>(
    incident: &Incident,
    config: &Config,
    report: &Report,
    send: bool,
    notifier: &N,
) -> Result<String, AwsError> {
    let notify = report.plan.has(ActionKind::Notify);
    if !send {
        if notify {
            let why = "already handled, nothing changed: no second message";
            let o = Outcome::new(ActionKind::Notify, &config.topic_arn, Status::Skipped, why);
            log_outcome(&incident.finding_id, &o);
        }
        return Ok(String::new());
    }
    let published = notifier.publish(&report.notification(incident)).await;
    match &published {
        Ok(id) => log_outcome(
            &incident.finding_id,
            &Outcome::new(
                ActionKind::Notify,
                &config.topic_arn,
                Status::Succeeded,
                format!("message {id}"),
            ),
        ),
        Err(e) => {
            error!(finding_id = %incident.finding_id, action = ActionKind::Notify.name(), outcome = "failed",
                         error_code = e.code.as_deref().unwrap_or(""), error = %e, "notification failed")
        }
    }
    published
}

/// Marks the resource's record as told (`quarantined told`, `stopped told`, `<finding> told`, …),
/// after the message went out; a mark that cannot be written only means the next delivery tells
/// again.
pub async fn mark_told<E: Ec2Ports, S: ServicePorts, I: IamPorts>(
    (ec2, service, iam): (&E, &S, &I),
    finding_id: &str,
    t: &Told,
) {
    if t.already {
        return;
    }
    let mark = std::slice::from_ref(&t.mark);
    let (kind, marked) = match &t.on {
        Marked::Instance(id) => (ActionKind::TagInstance, ec2.tag_instance(id, mark).await),
        Marked::Function(arn) => (
            ActionKind::StopFunction,
            service.tag_function(arn, mark).await,
        ),
        Marked::Bucket(name) => (
            ActionKind::BlockPublicAccess,
            mark_bucket(service, name, mark).await,
        ),
        Marked::Database(arn) => (
            ActionKind::SnapshotDatabase,
            service.tag_database(arn, mark).await,
        ),
        Marked::User(name) => (ActionKind::TagPrincipal, iam.tag_user(name, mark).await),
        Marked::Role(name) => (ActionKind::TagPrincipal, iam.tag_role(name, mark).await),
    };
    let o = match marked {
        Ok(()) => Outcome::new(
            kind,
            t.resource(),
            Status::Succeeded,
            "the team was told: marked",
        ),
        Err(e) => Outcome::failed(
            kind,
            t.resource(),
            "could not mark that the team was told (the next delivery tells again)",
            &e,
        ),
    };
    log_outcome(finding_id, &o);
}

/// A bucket's mark: its whole tag set is put again (S3 has no call that adds one tag), as read now.
async fn mark_bucket<S: BucketsPort>(
    service: &S,
    name: &str,
    mark: &[(String, String)],
) -> Result<(), AwsError> {
    match service.bucket_tags(name).await? {
        Some(present) => service.put_bucket_tags(name, &present, mark).await,
        None => Ok(()),
    }
}

/// A delivery of a finding already handled that changed nothing at all: a repeat (`metrics`) in
/// which no step failed and none did anything but rewrite its own earlier work (a session
/// revocation's later cutoff). Anything else — an Elastic IP re-attached and taken away again, an
/// entry that could not be added back, records that fail verification — is told.
pub fn changed_nothing(report: &Report) -> bool {
    crate::metrics::is_repeat(report)
        && crate::outcome::quiet(&report.outcomes)
        && !report.warnings.iter().any(|w| is_tampering(w))
}

/// A warning that records failed verification (told every time, redeliveries included).
fn is_tampering(warning: &str) -> bool {
    warning.starts_with(crate::seal::TAMPERING)
}

/// Carries out the plan with the scheduler its shape needs (or dry-runs it).
async fn execute<E: Ec2Ports, S: ServicePorts, I: IamPorts>(
    incident: &Incident,
    plan: &Plan,
    config: &Config,
    cap: Option<usize>,
    ports: Ports<'_, E, S, I>,
) -> Execution {
    let request = Request {
        incident,
        plan,
        exempt_tag: &config.exempt_tag,
        protected: &config.protected_principals,
        clock: &SystemClock,
        deadline: config.incident_deadline(),
        cap,
    };
    let (p, r) = (&ports, request);
    if !plan.changes_resources() || matches!(incident.resource, Resource::Sequence(_)) {
        // A sequence is carried out member by member (`sequence.rs`), never as one plan.
        return Execution::default();
    }
    if config.mode == Mode::DryRun {
        return Execution {
            outcomes: dry_run(plan),
            ..Execution::default()
        };
    }
    if plan.has(ActionKind::ReleaseInstance) {
        return execute::release::run(p, r).await;
    }
    let undo = |kind| plan.has(kind);
    match &incident.resource {
        Resource::Task(_) => execute::task::run(p, r).await,
        Resource::Bucket(_) if undo(ActionKind::ReleaseBucket) => {
            execute::bucket::release(p, r).await
        }
        Resource::Bucket(_) => execute::bucket::run(p, r).await,
        Resource::Function(_) if undo(ActionKind::ReleaseFunction) => {
            execute::function::release(p, r).await
        }
        Resource::Function(_) => execute::function::run(p, r).await,
        Resource::Database(_) if undo(ActionKind::ReleaseDatabase) => {
            execute::database::release(p, r).await
        }
        Resource::Database(_) => execute::database::run(p, r).await,
        Resource::Artifact(_) if undo(ActionKind::RestoreSharing) => {
            execute::artifact::release(p, r).await
        }
        Resource::Artifact(_) => execute::artifact::run(p, r).await,
        Resource::Instance(_) => {
            let mut done = execute::instance::run(p, r).await;
            // After the instance's whole response, never before isolation.
            execute::capture::run(p, r, &config.memory_capture, &mut done).await;
            done
        }
        _ => execute::credentials::run(p, r).await,
    }
}

/// One structured log line per step: finding id, resource, action, outcome.
pub fn log_outcome(finding_id: &str, o: &Outcome) {
    let outcome = o.status.name();
    if o.status == Status::Failed {
        warn!(finding_id, resource = %o.resource, action = o.action.name(), outcome, error_code = o.error_code.as_deref().unwrap_or(""), detail = %o.detail, "action");
    } else {
        info!(finding_id, resource = %o.resource, action = o.action.name(), outcome, detail = %o.detail, "action");
    }
}
