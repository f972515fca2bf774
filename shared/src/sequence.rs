//! An attack sequence (GuardDuty Extended Threat Detection, `AttackSequence:*`): each resource it
//! lists that Firebreak acts on — instances, credentials, buckets — gets its own response, as the
//! playbook decides for that resource with the sequence's type and severity, each under the
//! blast-radius cap; the team is told once, in one notification that lists what was done to which
//! resource (and which resources Firebreak does not act on).

use crate::config::Config;
use crate::digest::{batch_digest, Collector, Entry};
use crate::error::{AwsError, FirebreakError};
use crate::incident::{Incident, Resource, SequenceRef};
use crate::outcome::Execution;
use crate::plan::Plan;
use crate::playbook::{member_incidents, plan, SEQUENCE_RULE};
use crate::ports::{Ec2Ports, IamPorts, Notification, Notifier, ServicePorts};
use crate::report::Report;
use crate::responder::{answer, carry_out, changed_nothing, log_outcome, Trigger};

/// The label of a sequence's notification.
pub const LABEL: &str = "attack-sequence";

/// Every member answered, then one notification; the sequence's report (every member's plan and
/// outcomes) is the invocation's answer.
pub async fn respond_sequence<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    incident: &Incident,
    seq: &SequenceRef,
    config: &Config,
    ports: (&E, &S, &I),
    notifier: &N,
) -> Result<Report, FirebreakError> {
    let (ec2, service, iam) = ports;
    let trigger = Trigger::Automatic {
        cap: config.max_quarantines_per_hour,
    };
    let mut done: Vec<(Report, Option<Notification>)> = Vec::new();
    // One at a time: members share an account's cap, and a quarantine's count must see the last.
    for sub in member_incidents(incident, seq) {
        let held = Collector::default();
        let p = plan(&sub, config);
        let (report, _) = carry_out(&sub, p, config, trigger, ec2, service, iam, &held).await;
        done.push((report, held.take()));
    }
    let report = whole(incident, seq, config, &done);
    let quiet = done.iter().all(|(r, _)| changed_nothing(r));
    let published = match quiet && !done.is_empty() {
        true => Ok(String::new()),
        false => notifier.publish(&notification(seq, config, &done)).await,
    };
    if let Err(e) = &published {
        let o = crate::outcome::Outcome::failed(
            crate::actions::registry::ActionKind::Notify,
            &config.topic_arn,
            "the sequence's notification was not published",
            e,
        );
        log_outcome(&incident.finding_id, &o);
    }
    answer(report, published.map_err(|e: AwsError| e))
}

/// The sequence's report: every member's plan and outcomes.
fn whole(
    incident: &Incident,
    seq: &SequenceRef,
    config: &Config,
    done: &[(Report, Option<Notification>)],
) -> Report {
    let mut actions = Vec::new();
    let mut execution = Execution::default();
    for (r, _) in done {
        actions.extend(r.plan.actions.iter().cloned());
        execution.outcomes.extend(r.outcomes.iter().cloned());
        execution.undo.extend(r.undo.iter().cloned());
        execution.warnings.extend(r.warnings.iter().cloned());
    }
    // Complete when every member that was acted on is: a failure of one is the sequence's.
    let acted: Vec<&Report> = done
        .iter()
        .map(|(r, _)| r)
        .filter(|r| r.plan.changes_resources())
        .collect();
    if !acted.is_empty() {
        execution.completed = Some(acted.iter().all(|r| !r.verdict.is_failure()));
    }
    if !seq.others.is_empty() {
        execution.warnings.push(format!(
            "Not acted on (Firebreak has no response for them): {}",
            seq.others.join(", ")
        ));
    }
    let plan = Plan {
        rule: SEQUENCE_RULE,
        reason: format!(
            "attack sequence over {} resource(s): each answered by its own response",
            seq.members.len()
        ),
        actions,
        decided_by: None,
    };
    Report::new(incident, plan, config.mode, execution)
}

/// One notification: a line per resource, each resource's own text, the ones not acted on.
fn notification(
    seq: &SequenceRef,
    config: &Config,
    done: &[(Report, Option<Notification>)],
) -> Notification {
    let entries: Vec<Entry> = done
        .iter()
        .map(|(r, n)| Entry::Done(r, n.as_ref()))
        .collect();
    let mut n = batch_digest(LABEL, "resources", config.mode, &entries);
    if !seq.others.is_empty() {
        let others: Vec<String> = seq
            .others
            .iter()
            .map(|o| crate::chat::text(o).replace(['\n', '\r'], " "))
            .collect();
        n.body.push_str(&format!(
            "\nNOT ACTED ON (no response for these kinds of resource; see the finding):\n  {}\n",
            others.join("\n  ")
        ));
    }
    n
}

/// True when the incident is an attack sequence.
pub fn of(incident: &Incident) -> Option<&SequenceRef> {
    match &incident.resource {
        Resource::Sequence(s) => Some(s),
        _ => None,
    }
}
