//! An attack sequence (GuardDuty Extended Threat Detection, `AttackSequence:*`): each resource it
//! lists that Firebreak acts on — instances, credentials, buckets — gets its own response, as the
//! playbook decides for that resource with the sequence's type and severity, the members together
//! ([`SEQUENCE_CONCURRENCY`] at once), the blast-radius cap counting the sequence once; the team is
//! told once, in one notification that lists what was done to which resource (and which resources
//! Firebreak does not act on).

use crate::kind::ActionKind;
use futures::StreamExt;

use crate::config::Config;
use crate::digest::{batch_digest, Collector, Entry};
use crate::error::{AwsError, FirebreakError};
use crate::incident::{Incident, Resource, SequenceRef};
use crate::outcome::Told;
use crate::outcome::{Execution, Outcome};
use crate::plan::Plan;
use crate::playbook::{member_incidents, plan, SEQUENCE_RULE};
use crate::ports::{Ec2Ports, IamPorts, Notification, Notifier, ServicePorts};
use crate::report::verdict::Verdict;
use crate::report::Report;
use crate::respond::{answer, carry_out_told, changed_nothing, log_outcome, mark_told, Trigger};

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
    let members = member_incidents(incident, seq);
    // The blast-radius cap counts the sequence once: its first instance is answered first, under
    // the cap; the other members then together, uncounted — or, when the cap held the first back,
    // every other instance is held too (a cap of 0).
    let lead = members
        .iter()
        .position(|m| matches!(m.resource, Resource::Instance(_)));
    let mut done: Vec<Option<(Member, Option<Told>)>> = vec![None; members.len()];
    let mut rest_cap = None;
    if let Some(i) = lead {
        let first = member(&members[i], config, config.max_quarantines_per_hour, ports).await;
        if first.0 .0.verdict == Verdict::NeedsHuman {
            rest_cap = Some(0);
        }
        done[i] = Some(first);
    }
    let others = (members.iter().enumerate()).filter(|(i, _)| Some(*i) != lead);
    let answered: Vec<(usize, (Member, Option<Told>))> = futures::stream::iter(others)
        .map(|(i, sub)| async move { (i, member(sub, config, rest_cap, ports).await) })
        .buffer_unordered(SEQUENCE_CONCURRENCY)
        .collect()
        .await;
    for (i, m) in answered {
        done[i] = Some(m);
    }
    let (done, marks): (Vec<Member>, Vec<Option<Told>>) = done.into_iter().flatten().unzip();
    let report = whole(incident, seq, config, &done);
    // Told once, when there is news: nothing to say when every member's plan is silent (an
    // `ignore` rule) or every member is a repeat that changed nothing and was told of before.
    let silent = done.iter().all(|(_, n)| n.is_none()) && seq.others.is_empty();
    let told_before = marks.iter().all(|t| t.as_ref().is_none_or(|t| t.already));
    let quiet = !done.is_empty() && done.iter().all(|(r, _)| changed_nothing(r)) && told_before;
    let published = match silent || quiet {
        true => Ok(String::new()),
        false => notifier.publish(&notification(seq, config, &done)).await,
    };
    // The members are marked told only once the sequence's message is out: a message lost to a
    // failed publish is sent by the retry.
    if published.as_ref().is_ok_and(|id| !id.is_empty()) {
        for t in marks.iter().flatten() {
            mark_told(ports, &incident.finding_id, t).await;
        }
    }
    if let Err(e) = &published {
        let o = Outcome::failed(
            ActionKind::Notify,
            &config.topic_arn,
            "the sequence's notification was not published",
            e,
        );
        log_outcome(&incident.finding_id, &o);
    }
    answer(report, published.map_err(|e: AwsError| e))
}

/// How many members of a sequence are answered at once: a sequence of 200 resources is answered
/// in one invocation, well within EC2's and IAM's request rates.
pub const SEQUENCE_CONCURRENCY: usize = 16;

/// A member's report, and its notification held for the sequence's one message.
type Member = (Report, Option<Notification>);

/// One member answered as the playbook decides for it, under `cap`; a member the invocation has
/// no time left for is "not reached", for Lambda's retry to answer (the members done are
/// `already-done` then).
async fn member<E: Ec2Ports, S: ServicePorts, I: IamPorts>(
    sub: &Incident,
    config: &Config,
    cap: Option<usize>,
    (ec2, service, iam): (&E, &S, &I),
) -> (Member, Option<Told>) {
    let p = plan(sub, config);
    if out_of_time(config) {
        return ((not_reached(sub, p, config), None), None);
    }
    let held = Held::default();
    let trigger = Trigger::Automatic { cap };
    let (report, _, told) =
        carry_out_told(sub, p, config, trigger, (ec2, service, iam), &held).await;
    ((report, held.0.take()), told)
}

/// A member's notification held for the sequence's one message: the member is marked told only
/// once that is out.
#[derive(Default)]
struct Held(Collector);

impl Notifier for Held {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        self.0.publish(n).await
    }

    fn holds(&self) -> bool {
        true
    }
}

/// True when too little of the invocation is left to start another member's response.
fn out_of_time(config: &Config) -> bool {
    let margin = std::time::Duration::from_secs(5);
    config
        .invocation_deadline
        .is_some_and(|d| tokio::time::Instant::now() + margin >= d)
}

/// A member the invocation had no time for: each planned step failed as "not reached".
fn not_reached(sub: &Incident, p: Plan, config: &Config) -> Report {
    let outcomes = p
        .actions
        .iter()
        .filter(|a| a.kind != ActionKind::Notify)
        .map(|a| {
            let why = "not reached before the invocation's deadline: the retry answers it";
            Outcome::refused(a.kind, a.resource(), why)
        })
        .collect();
    let execution = Execution {
        outcomes,
        completed: Some(false),
        ..Execution::default()
    };
    Report::new(sub, p, config.mode, execution)
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
    let mut report = Report::new(incident, plan, config.mode, execution);
    // The sequence's verdict is its most urgent member's: a failure, then one a human must
    // decide about (held by the cap, awaiting approval), then contained.
    if let Some(worst) = done
        .iter()
        .map(|(r, _)| r.verdict)
        .min_by_key(|v| urgency(*v))
    {
        if urgency(worst) < urgency(report.verdict) {
            report.verdict = worst;
        }
    }
    report
}

/// How soon a human must look: lower is sooner.
fn urgency(v: Verdict) -> u8 {
    match v {
        v if v.is_failure() => 0,
        Verdict::NeedsHuman | Verdict::AwaitingApproval => 1,
        Verdict::Contained => 2,
        _ => 3,
    }
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
