//! Each response's CloudWatch metrics, as Embedded Metric Format (EMF) documents: one JSON object
//! alone on its line on stdout, from which CloudWatch Logs extracts metrics in the `Firebreak`
//! namespace. No API call on the incident's path and no permission: the lines travel with the
//! function's logs. `docs/metrics.md` lists each metric, its unit and dimensions, and
//! when it counts; the template's dashboard and alarm read exactly these.
//!
//! Dimensions are bounded: the function, the verdict, the response (one word per plan), the
//! resource kind, the action and its outcome, and the AWS error code when it is well formed. A
//! finding id, resource id or message is never a dimension (each value would be a metric of its own,
//! billed as one); the finding id rides along as a plain member, for Logs Insights.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{json, Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::plan::Plan;
use crate::playbook::credentials::PROTECTED_RULE;
use crate::report::verdict::Verdict;
use crate::report::Report;

/// The CloudWatch namespace of every Firebreak metric.
pub const NAMESPACE: &str = "Firebreak";

/// Metric (Count): one per incident, not per delivery; by verdict and by response.
pub const INCIDENTS: &str = "Incidents";
/// Metric (Milliseconds): from the start of a contained response to its report.
pub const TIME_TO_CONTAINMENT: &str = "TimeToContainment";
/// Metric (Count): a delivery of a finding whose decisive steps were already done ([`is_repeat`]).
pub const REDELIVERIES: &str = "Redeliveries";
/// Metric (Count): an automatic quarantine the blast-radius cap held back.
pub const CAP_HOLDS: &str = "CapHolds";
/// Metric (Count): a response that ended waiting for a person's approval.
pub const APPROVALS_PENDING: &str = "ApprovalsPending";
/// Metric (Count): steps, by action and outcome.
pub const ACTIONS: &str = "Actions";
/// Count: a response that found `firebreak:*` records whose seal does not verify (`seal.rs`),
/// redeliveries included.
pub const TAMPERING: &str = "Tampering";
/// Metric (Count): steps that ended with an AWS error, by error code.
pub const AWS_ERRORS: &str = "AwsErrors";

/// Dimension: the function (`AWS_LAMBDA_FUNCTION_NAME`).
pub const FUNCTION: &str = "Function";
/// Dimension: the report's verdict (`contained`, `containment-failed`, …).
pub const VERDICT: &str = "Verdict";
/// Dimension: what the plan set out to do ([`response`]).
pub const RESPONSE: &str = "Response";
/// Dimension: what the finding is about ([`resource_kind`]).
pub const RESOURCE_KIND: &str = "ResourceKind";
/// Dimension: the action's name (`ActionKind::name`).
pub const ACTION: &str = "Action";
/// Dimension: how the step ended (`succeeded`, `already-done`, `skipped`, `failed`, `planned`).
pub const OUTCOME: &str = "Outcome";
/// Dimension: the AWS error code ([`error_code`]).
pub const ERROR_CODE: &str = "ErrorCode";

/// The dimension sets each metric is published under (an alarm must name exactly one of them).
pub const BY_VERDICT: &[&str] = &[FUNCTION, VERDICT];
/// `Incidents`, `TimeToContainment`.
pub const BY_RESPONSE: &[&str] = &[FUNCTION, RESPONSE, RESOURCE_KIND];
/// `Redeliveries`, `CapHolds`, `ApprovalsPending`.
pub const BY_FUNCTION: &[&str] = &[FUNCTION];
/// `Actions`.
pub const BY_ACTION: &[&str] = &[FUNCTION, ACTION, OUTCOME];
/// `AwsErrors`.
pub const BY_ERROR: &[&str] = &[FUNCTION, ERROR_CODE];

/// The `ErrorCode` of an error whose code does not look like an AWS error code.
pub const OTHER_ERROR: &str = "Other";

const COUNT: &str = "Count";
const MILLISECONDS: &str = "Milliseconds";
/// A plain member, named as in the tracing log lines, so one Logs Insights filter finds both.
const FINDING_ID: &str = "finding_id";

/// One `MetricDirective`: the dimension sets, and the metrics (name, unit) published under each.
struct Directive {
    dimensions: Vec<&'static [&'static str]>,
    metrics: Vec<(&'static str, &'static str)>,
}

/// Prints the response's EMF documents on stdout, one line each: a JSON object alone on its line is
/// what CloudWatch Logs extracts metrics from (Lambda passes JSON lines through as they are).
pub fn emit(incident: &Incident, report: &Report, function: &str, elapsed: Duration) {
    let now = SystemClock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let timestamp_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
    let mut out = std::io::stdout().lock();
    for document in documents(incident, report, function, elapsed, timestamp_ms) {
        let _ = writeln!(out, "{document}");
    }
    let _ = out.flush();
}

/// The EMF documents of one response: the incident (or the redelivery), then one per action and
/// outcome, then one per AWS error code. `elapsed`: since the response started.
pub fn documents(
    incident: &Incident,
    report: &Report,
    function: &str,
    elapsed: Duration,
    timestamp_ms: u64,
) -> Vec<Value> {
    let members = |pairs: &[(&str, &str)]| {
        let mut m = Map::new();
        m.insert(FUNCTION.into(), json!(function));
        m.insert(FINDING_ID.into(), json!(report.finding_id));
        for (k, v) in pairs {
            m.insert((*k).into(), json!(v));
        }
        m
    };
    let verdict = report.verdict.name();
    let about = members(&[
        (VERDICT, &verdict),
        (RESPONSE, response(&report.plan)),
        (RESOURCE_KIND, resource_kind(incident)),
    ]);
    let mut out = vec![incident_document(report, about, elapsed, timestamp_ms)];
    for ((action, outcome), n) in actions(&report.outcomes) {
        let mut m = members(&[(ACTION, action), (OUTCOME, outcome)]);
        m.insert(ACTIONS.into(), json!(n));
        let counted = Directive {
            dimensions: vec![BY_ACTION],
            metrics: vec![(ACTIONS, COUNT)],
        };
        out.push(document(timestamp_ms, &[counted], m));
    }
    for (code, n) in error_codes(&report.outcomes) {
        let mut m = members(&[(ERROR_CODE, code)]);
        m.insert(AWS_ERRORS.into(), json!(n));
        let counted = Directive {
            dimensions: vec![BY_ERROR],
            metrics: vec![(AWS_ERRORS, COUNT)],
        };
        out.push(document(timestamp_ms, &[counted], m));
    }
    out
}

/// The incident's document: `Incidents` (and `TimeToContainment`, `CapHolds`,
/// `ApprovalsPending`), or only `Redeliveries` for a finding already handled.
fn incident_document(
    report: &Report,
    mut m: Map<String, Value>,
    elapsed: Duration,
    timestamp_ms: u64,
) -> Value {
    let count = |m: &mut Map<String, Value>, name: &'static str| {
        m.insert(name.into(), json!(1));
        (name, COUNT)
    };
    let tampered = report
        .warnings
        .iter()
        .any(|w| w.starts_with(crate::seal::TAMPERING));
    if is_repeat(report) {
        let mut metrics = vec![count(&mut m, REDELIVERIES)];
        if tampered {
            metrics.push(count(&mut m, TAMPERING));
        }
        let only = Directive {
            dimensions: vec![BY_FUNCTION],
            metrics,
        };
        return document(timestamp_ms, &[only], m);
    }
    let mut directives = vec![Directive {
        dimensions: vec![BY_VERDICT, BY_RESPONSE],
        metrics: vec![count(&mut m, INCIDENTS)],
    }];
    if report.verdict == Verdict::Contained {
        let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
        m.insert(TIME_TO_CONTAINMENT.into(), json!(ms));
        directives.push(Directive {
            dimensions: vec![BY_RESPONSE],
            metrics: vec![(TIME_TO_CONTAINMENT, MILLISECONDS)],
        });
    }
    let mut own = Vec::new();
    if held_by_cap(report) {
        own.push(count(&mut m, CAP_HOLDS));
    }
    if awaiting_approval(report.verdict) {
        own.push(count(&mut m, APPROVALS_PENDING));
    }
    if tampered {
        own.push(count(&mut m, TAMPERING));
    }
    if !own.is_empty() {
        directives.push(Directive {
            dimensions: vec![BY_FUNCTION],
            metrics: own,
        });
    }
    document(timestamp_ms, &directives, m)
}

/// An EMF document: `members` at the root (dimension values, metric values, the finding id) and the
/// `_aws` metadata naming which members are metrics, in which unit, under which dimension sets.
fn document(timestamp_ms: u64, directives: &[Directive], mut members: Map<String, Value>) -> Value {
    let directives: Vec<Value> = directives
        .iter()
        .map(|d| {
            let metrics: Vec<Value> = d
                .metrics
                .iter()
                .map(|(name, unit)| json!({ "Name": name, "Unit": unit }))
                .collect();
            json!({ "Namespace": NAMESPACE, "Dimensions": d.dimensions, "Metrics": metrics })
        })
        .collect();
    let aws = json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives });
    members.insert("_aws".into(), aws);
    Value::Object(members)
}

/// True for a delivery of a finding Firebreak already handled (EventBridge's and Lambda's retries,
/// GuardDuty's updates of a finding): it is not a second incident. Its decisive steps — the
/// containment steps, or for a plan without containment every step attempted — all report
/// `already-done`. Session revocations write their policy again with a later cutoff on every
/// delivery, by design, so they do not count against it, as long as another decisive step was
/// already done. A failure is never a repeat: the containment-failure alarm must see it.
pub fn is_repeat(report: &Report) -> bool {
    if report.verdict.is_failure() {
        return false;
    }
    let attempted = report
        .outcomes
        .iter()
        .filter(|o| !matches!(o.status, Status::Skipped | Status::Planned));
    let attempted: Vec<&Outcome> = attempted.collect();
    let containment: Vec<&Outcome> = attempted
        .iter()
        .copied()
        .filter(|o| o.action.is_containment())
        .collect();
    let decisive = if containment.is_empty() {
        attempted
    } else {
        containment
    };
    let (rewritten, rest): (Vec<&Outcome>, Vec<&Outcome>) = decisive
        .into_iter()
        .partition(|o| o.action.rewrites_each_time());
    !rest.is_empty()
        && rest.iter().all(|o| o.status == Status::AlreadyDone)
        && rewritten.iter().all(|o| o.is_ok())
}

/// The `Response` dimension: what the plan set out to do, in one word.
pub fn response(plan: &Plan) -> &'static str {
    if plan.has(ActionKind::ReleaseInstance)
        || plan.has(ActionKind::ReleaseFunction)
        || plan.has(ActionKind::ReleaseBucket)
    {
        "release"
    } else if plan.has(ActionKind::AwaitApproval) {
        "ask"
    } else if plan.has_containment() {
        "contain"
    } else if plan.changes_resources() {
        "evidence"
    } else if plan.has(ActionKind::Notify) {
        ActionKind::Notify.name()
    } else {
        "ignore"
    }
}

/// The `ResourceKind` dimension: the playbook's word for the resource (`instance`, `access-key`,
/// `snapshot`, `image`, `function`, `other`).
pub fn resource_kind(incident: &Incident) -> &'static str {
    crate::playbook::file::ResourceKind::of(incident).name()
}

/// True when the blast-radius cap held the quarantine back (the other `needs-human` is a protected
/// principal, which the cap has nothing to do with).
fn held_by_cap(report: &Report) -> bool {
    report.verdict == Verdict::NeedsHuman && report.plan.rule != PROTECTED_RULE
}

/// True when the response ended waiting for a person's approval (`ApprovalsPending`).
fn awaiting_approval(verdict: Verdict) -> bool {
    match verdict {
        Verdict::AwaitingApproval => true,
        Verdict::Contained
        | Verdict::ContainmentFailed
        | Verdict::Skipped
        | Verdict::NotifiedOnly
        | Verdict::DryRun
        | Verdict::EvidencePreserved
        | Verdict::EvidenceFailed
        | Verdict::Released
        | Verdict::ReleaseFailed
        | Verdict::NeedsHuman => false,
    }
}

/// How many steps ended each way, per (action, outcome).
fn actions(outcomes: &[Outcome]) -> BTreeMap<(&'static str, &'static str), u64> {
    let mut n = BTreeMap::new();
    for o in outcomes {
        *n.entry((o.action.name(), o.status.name())).or_default() += 1;
    }
    n
}

/// How many steps ended with each AWS error code.
fn error_codes(outcomes: &[Outcome]) -> BTreeMap<&str, u64> {
    let mut n = BTreeMap::new();
    for code in outcomes.iter().filter_map(|o| o.error_code.as_deref()) {
        *n.entry(error_code(code)).or_default() += 1;
    }
    n
}

/// The `ErrorCode` dimension of an AWS error code: the code when it looks like one (a letter, then
/// letters, digits, `.` or `_`, at most 64), else [`OTHER_ERROR`], so that no message or garbage
/// becomes a metric of its own.
pub fn error_code(code: &str) -> &str {
    let well_formed = code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_alphabetic())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if well_formed {
        code
    } else {
        OTHER_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Mode;
    use crate::outcome::Execution;
    use crate::plan::{Action, Target};

    const INSTANCE_EVENT: &str = include_str!("../../events/guardduty-backdoor-c2-instance.json");
    const KEY_EVENT: &str = include_str!("../../events/guardduty-iam-user-key-malicious-ip.json");
    const UNITS: &[&str] = &["Count", "Milliseconds"];

    fn incident(event: &str) -> Incident {
        Incident::from_event(&serde_json::from_str(event).unwrap()).unwrap()
    }

    fn quarantine(id: &str) -> Plan {
        let instance_id = id.to_string();
        Plan {
            rule: "test-quarantine",
            reason: "test".into(),
            decided_by: None,
            actions: vec![
                Action::on_instance(ActionKind::IsolateInstance, instance_id.clone()),
                Action::on_instance(ActionKind::SnapshotVolumes, instance_id.clone()),
                Action::on_instance(ActionKind::TagInstance, instance_id),
                Action::notify(),
            ],
        }
    }

    fn step(action: ActionKind, status: Status) -> Outcome {
        Outcome::new(action, "r", status, "d")
    }

    fn report(incident: &Incident, plan: Plan, outcomes: Vec<Outcome>, done: bool) -> Report {
        let execution = Execution {
            outcomes,
            completed: Some(done),
            ..Execution::default()
        };
        Report::new(incident, plan, Mode::Apply, execution)
    }

    /// A contained instance: first delivery (`first`) or a redelivery.
    fn instance_report(status: Status) -> (Incident, Report) {
        let i = incident(INSTANCE_EVENT);
        let outcomes = vec![
            step(ActionKind::IsolateInstance, status),
            step(ActionKind::IsolateInstance, status),
            step(ActionKind::SnapshotVolumes, status),
            step(ActionKind::TagInstance, Status::Succeeded),
        ];
        let r = report(&i, quarantine(&i.resource_name()), outcomes, true);
        (i, r)
    }

    fn docs(i: &Incident, r: &Report) -> Vec<Value> {
        let docs = documents(
            i,
            r,
            "guardduty-responder",
            Duration::from_millis(420),
            1_700,
        );
        docs.iter().for_each(assert_emf);
        docs
    }

    /// The document's `_aws` follows the EMF specification: a Timestamp in milliseconds, directives
    /// with a Namespace, Dimensions as an array of at most 30 keys per set, each a string member of
    /// the root, and at most 100 Metrics, each a numeric member with a CloudWatch unit.
    fn assert_emf(doc: &Value) {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_u64(), "{doc}");
        let directives = aws["CloudWatchMetrics"].as_array().unwrap();
        assert!(!directives.is_empty(), "{doc}");
        for d in directives {
            assert_eq!(d["Namespace"], NAMESPACE);
            for set in d["Dimensions"].as_array().unwrap() {
                let set = set.as_array().unwrap();
                assert!(set.len() <= 30);
                for key in set {
                    let value = doc[key.as_str().unwrap()].as_str().unwrap();
                    assert!(!value.is_empty() && value.len() <= 1024, "{doc}");
                }
            }
            let metrics = d["Metrics"].as_array().unwrap();
            assert!(!metrics.is_empty() && metrics.len() <= 100);
            for m in metrics {
                assert!(doc[m["Name"].as_str().unwrap()].is_number(), "{doc}");
                assert!(UNITS.contains(&m["Unit"].as_str().unwrap()), "{doc}");
            }
        }
    }

    /// The dimension sets under which `metric` is published in `doc`.
    fn sets(doc: &Value, metric: &str) -> Vec<Vec<String>> {
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        let of = directives.iter().filter(|d| {
            d["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["Name"] == metric)
        });
        of.flat_map(|d| {
            serde_json::from_value::<Vec<Vec<String>>>(d["Dimensions"].clone()).unwrap()
        })
        .collect()
    }

    fn names(set: &[&str]) -> Vec<String> {
        set.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_first_delivery_counts_one_incident_with_its_time_to_containment() {
        // GIVEN a contained instance, first delivery
        let (i, r) = instance_report(Status::Succeeded);
        // WHEN its metrics are built
        let docs = docs(&i, &r);
        // THEN the first document counts the incident by verdict and by response, with the time
        let d = &docs[0];
        assert_eq!(d[INCIDENTS], 1);
        assert_eq!(d[TIME_TO_CONTAINMENT], 420);
        assert_eq!(d[FUNCTION], "guardduty-responder");
        assert_eq!(d[VERDICT], "contained");
        assert_eq!(d[RESPONSE], "contain");
        assert_eq!(d[RESOURCE_KIND], "instance");
        assert_eq!(d["_aws"]["Timestamp"], 1_700);
        assert_eq!(sets(d, INCIDENTS), [names(BY_VERDICT), names(BY_RESPONSE)]);
        assert_eq!(sets(d, TIME_TO_CONTAINMENT), [names(BY_RESPONSE)]);
        assert!(d.get(REDELIVERIES).is_none() && d.get(CAP_HOLDS).is_none());
        assert!(d.get(APPROVALS_PENDING).is_none());
        assert_eq!(
            docs.iter().filter(|d| d.get(INCIDENTS).is_some()).count(),
            1
        );
    }

    #[test]
    fn a_redelivery_whose_containment_was_already_done_is_not_a_second_incident() {
        let (i, r) = instance_report(Status::AlreadyDone);
        assert!(is_repeat(&r));
        let docs = docs(&i, &r);
        let d = &docs[0];
        assert_eq!(d[REDELIVERIES], 1);
        assert_eq!(sets(d, REDELIVERIES), [names(BY_FUNCTION)]);
        for doc in &docs {
            assert!(doc.get(INCIDENTS).is_none() && doc.get(TIME_TO_CONTAINMENT).is_none());
        }
    }

    #[test]
    fn steps_are_counted_by_action_and_outcome() {
        let (i, r) = instance_report(Status::Succeeded);
        let docs = docs(&i, &r);
        let isolated = docs
            .iter()
            .find(|d| d[ACTION] == ActionKind::IsolateInstance.name())
            .unwrap();
        assert_eq!(isolated[OUTCOME], "succeeded");
        assert_eq!(isolated[ACTIONS], 2, "one per interface, in one document");
        assert_eq!(sets(isolated, ACTIONS), [names(BY_ACTION)]);
        assert_eq!(docs.iter().filter(|d| d.get(ACTIONS).is_some()).count(), 3);
    }

    #[test]
    fn aws_errors_are_counted_by_well_formed_code_only() {
        let i = incident(INSTANCE_EVENT);
        let failed = |code: Option<&str>| Outcome {
            error_code: code.map(String::from),
            ..step(ActionKind::IsolateInstance, Status::Failed)
        };
        let outcomes = vec![
            failed(Some("UnauthorizedOperation")),
            failed(Some("UnauthorizedOperation")),
            failed(Some("InvalidGroup.NotFound")),
            failed(Some("not a code: i-0123 is gone")),
            failed(None),
        ];
        let r = report(&i, quarantine(&i.resource_name()), outcomes, false);
        assert_eq!(r.verdict, Verdict::ContainmentFailed);
        let docs = docs(&i, &r);
        assert_eq!(docs[0][INCIDENTS], 1, "a failure always counts");
        assert_eq!(docs[0][VERDICT], "containment-failed");
        assert!(docs[0].get(TIME_TO_CONTAINMENT).is_none());
        let errors: Vec<(String, u64)> = docs
            .iter()
            .filter(|d| d.get(AWS_ERRORS).is_some())
            .map(|d| {
                (
                    d[ERROR_CODE].as_str().unwrap().into(),
                    d[AWS_ERRORS].as_u64().unwrap(),
                )
            })
            .collect();
        let want = [
            ("InvalidGroup.NotFound", 1),
            (OTHER_ERROR, 1),
            ("UnauthorizedOperation", 2),
        ];
        let want: Vec<(String, u64)> = want.iter().map(|(c, n)| (c.to_string(), *n)).collect();
        assert_eq!(errors, want);
        assert_eq!(sets(&docs[4], AWS_ERRORS), [names(BY_ERROR)]);
    }

    #[test]
    fn a_credential_redelivery_is_a_repeat_although_the_session_policy_is_rewritten() {
        let i = incident(KEY_EVENT);
        let plan = |actions| Plan {
            rule: "test-revoke",
            reason: "test".into(),
            actions,
            decided_by: None,
        };
        let key = Action::new(
            ActionKind::DeactivateAccessKey,
            Target::access_key("alice-demo", "AKIAIOSFODNN7EXAMPLE"),
        );
        let sessions = Action::on_user(ActionKind::RevokeUserSessions, "alice-demo");
        let again = vec![
            step(ActionKind::DeactivateAccessKey, Status::AlreadyDone),
            step(ActionKind::RevokeUserSessions, Status::Succeeded),
            step(ActionKind::TagPrincipal, Status::Succeeded),
        ];
        let r = report(&i, plan(vec![key, sessions.clone()]), again, true);
        assert!(is_repeat(&r));
        assert_eq!(docs(&i, &r)[0][REDELIVERIES], 1);
        // A first delivery, and a revocation of sessions alone (nothing tells a redelivery apart).
        let first = vec![
            step(ActionKind::DeactivateAccessKey, Status::Succeeded),
            step(ActionKind::RevokeUserSessions, Status::Succeeded),
        ];
        let alone = vec![step(ActionKind::RevokeUserSessions, Status::Succeeded)];
        for outcomes in [first, alone] {
            let r = report(&i, plan(vec![sessions.clone()]), outcomes, true);
            assert!(!is_repeat(&r));
            let d = &docs(&i, &r)[0];
            assert_eq!(
                (d[INCIDENTS].clone(), d[RESOURCE_KIND].clone()),
                (json!(1), json!("access-key"))
            );
        }
    }

    #[test]
    fn a_cap_hold_counts_once_and_its_redelivery_is_a_repeat() {
        let i = incident(INSTANCE_EVENT);
        let held = |status| Execution {
            outcomes: vec![
                step(ActionKind::IsolateInstance, Status::Skipped),
                step(ActionKind::SnapshotVolumes, status),
                step(ActionKind::TagInstance, status),
            ],
            held_by_cap: Some("over the cap".into()),
            ..Execution::default()
        };
        let plan = quarantine(&i.resource_name());
        let r = Report::new(&i, plan.clone(), Mode::Apply, held(Status::Succeeded));
        assert_eq!(r.verdict, Verdict::NeedsHuman);
        let d = &docs(&i, &r)[0];
        assert_eq!(
            (d[CAP_HOLDS].clone(), d[INCIDENTS].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(sets(d, CAP_HOLDS), [names(BY_FUNCTION)]);
        let again = Report::new(&i, plan.clone(), Mode::Apply, held(Status::AlreadyDone));
        let d = &docs(&i, &again)[0];
        assert!(d.get(CAP_HOLDS).is_none() && d.get(INCIDENTS).is_none());
        // A protected principal also needs a human, but the cap did not hold anything.
        let protected = Plan {
            rule: PROTECTED_RULE,
            ..Plan::notify_only("x", "protected".into())
        };
        let r = Report::new(&i, protected, Mode::Apply, Execution::default());
        assert_eq!(r.verdict, Verdict::NeedsHuman);
        assert!(docs(&i, &r)[0].get(CAP_HOLDS).is_none());
    }

    #[test]
    fn responses_that_change_nothing_count_each_delivery() {
        let i = incident(INSTANCE_EVENT);
        let notify = report(&i, Plan::notify_only("x", "y".into()), vec![], true);
        assert!(!is_repeat(&notify));
        assert_eq!(docs(&i, &notify)[0][RESPONSE], ActionKind::Notify.name());
        let plan = quarantine(&i.resource_name());
        let dry = Report::new(
            &i,
            plan.clone(),
            Mode::DryRun,
            Execution {
                outcomes: crate::plan::dry_run(&plan),
                ..Execution::default()
            },
        );
        assert!(!is_repeat(&dry));
        let d = &docs(&i, &dry)[0];
        assert_eq!(
            (d[VERDICT].clone(), d[INCIDENTS].clone()),
            (json!("dry-run"), json!(1))
        );
        assert!(d.get(TIME_TO_CONTAINMENT).is_none());
    }

    #[test]
    fn each_plan_shape_has_its_response_word() {
        let id = "i-0123456789abcdef0".to_string();
        let with = |actions: Vec<Action>| Plan {
            rule: "r",
            reason: String::new(),
            actions,
            decided_by: None,
        };
        let evidence = with(vec![Action::on_instance(
            ActionKind::SnapshotVolumes,
            id.clone(),
        )]);
        let release = with(vec![Action::on_instance(
            ActionKind::ReleaseInstance,
            id.clone(),
        )]);
        assert_eq!(response(&quarantine(&id)), "contain");
        assert_eq!(response(&evidence), "evidence");
        assert_eq!(response(&release), "release");
        let ask = with(vec![Action::on_instance(
            ActionKind::AwaitApproval,
            id.clone(),
        )]);
        assert_eq!(response(&ask), "ask");
        assert_eq!(response(&Plan::notify_only("r", String::new())), "notify");
        assert_eq!(response(&with(vec![])), "ignore");
    }

    #[test]
    fn an_ask_counts_one_approval_pending_and_its_redelivery_none() {
        // GIVEN an instance the playbook asks about: evidence now, containment on approval
        let i = incident(INSTANCE_EVENT);
        let id = i.resource_name();
        let plan = Plan {
            rule: "test-ask",
            actions: vec![
                Action::on_instance(ActionKind::SnapshotVolumes, id.clone()),
                Action::on_instance(ActionKind::AwaitApproval, id),
                Action::notify(),
            ],
            ..Plan::notify_only("", "test".into())
        };
        let asked = |status| {
            let outcomes = vec![
                step(ActionKind::SnapshotVolumes, status),
                step(ActionKind::AwaitApproval, status),
            ];
            report(&i, plan.clone(), outcomes, true)
        };
        // WHEN it is first delivered THEN one approval is pending, in the "ask" response
        let r = asked(Status::Succeeded);
        assert_eq!(r.verdict, Verdict::AwaitingApproval);
        let d = &docs(&i, &r)[0];
        assert_eq!(
            (d[APPROVALS_PENDING].clone(), d[INCIDENTS].clone()),
            (json!(1), json!(1))
        );
        assert_eq!(
            (d[RESPONSE].clone(), d[VERDICT].clone()),
            (json!("ask"), json!("awaiting-approval"))
        );
        assert_eq!(sets(d, APPROVALS_PENDING), [names(BY_FUNCTION)]);
        // AND a redelivery adds none
        let d = &docs(&i, &asked(Status::AlreadyDone))[0];
        assert!(d.get(APPROVALS_PENDING).is_none() && d.get(INCIDENTS).is_none());
        // AND no other verdict is an approval pending
        let others = [
            Verdict::Contained,
            Verdict::ContainmentFailed,
            Verdict::Skipped,
            Verdict::NotifiedOnly,
            Verdict::DryRun,
            Verdict::EvidencePreserved,
            Verdict::EvidenceFailed,
            Verdict::Released,
            Verdict::ReleaseFailed,
            Verdict::NeedsHuman,
        ];
        assert!(others.iter().all(|v| !awaiting_approval(*v)));
    }

    #[test]
    fn no_dimension_value_names_a_finding_or_a_resource() {
        let (i, r) = instance_report(Status::Succeeded);
        for d in docs(&i, &r) {
            assert_eq!(d[FINDING_ID], r.finding_id.as_str(), "a plain member");
            for set in d["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
                .as_array()
                .unwrap()
            {
                for key in set.as_array().unwrap() {
                    let value = d[key.as_str().unwrap()].as_str().unwrap();
                    assert!(value != r.finding_id && value != r.resource, "{d}");
                }
            }
        }
    }

    #[test]
    fn error_codes_keep_their_shape_or_become_other() {
        assert_eq!(
            error_code("InvalidInstanceID.NotFound"),
            "InvalidInstanceID.NotFound"
        );
        assert_eq!(error_code("Throttling"), "Throttling");
        for bad in [
            "",
            "1Code",
            "Access Denied",
            "x".repeat(65).as_str(),
            "Code:i-0123",
        ] {
            assert_eq!(error_code(bad), OTHER_ERROR, "{bad}");
        }
    }

    /// The template's containment-failure alarm reads a metric exactly as emitted: CloudWatch
    /// matches an alarm's dimensions exactly, so a missing or extra one would never fire.
    #[test]
    fn the_containment_failure_alarm_names_an_emitted_metric() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let t: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let alarm = &t["Resources"]["ContainmentFailures"]["Properties"];
        let mut read = 0;
        for query in alarm["Metrics"].as_sequence().unwrap() {
            let Some(metric) = query["MetricStat"]["Metric"].as_mapping() else {
                continue;
            };
            assert_eq!(metric["Namespace"].as_str(), Some(NAMESPACE));
            assert_eq!(metric["MetricName"].as_str(), Some(INCIDENTS));
            let dims = metric["Dimensions"].as_sequence().unwrap();
            let keys: Vec<&str> = dims.iter().map(|d| d["Name"].as_str().unwrap()).collect();
            assert_eq!(keys, BY_VERDICT, "exactly the (Function, Verdict) set");
            let verdict = dims.iter().find(|d| d["Name"] == VERDICT).unwrap();
            let failed = Verdict::ContainmentFailed.name();
            assert_eq!(verdict["Value"].as_str(), Some(failed.as_str()));
            read += 1;
        }
        assert_eq!(read, 2, "one per function");
    }

    /// The tampering alarm reads `Tampering` by (`Function`), as emitted, and a response that met a
    /// forged record emits it (redeliveries included).
    #[test]
    fn the_tampering_alarm_names_an_emitted_metric() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/template.yaml");
        let t: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let alarm = &t["Resources"]["RecordTampering"]["Properties"];
        let metrics: Vec<&serde_yaml::Mapping> = (alarm["Metrics"].as_sequence().unwrap())
            .iter()
            .filter_map(|q| q["MetricStat"]["Metric"].as_mapping())
            .collect();
        assert_eq!(metrics.len(), 2, "one per function");
        for metric in metrics {
            assert_eq!(metric["MetricName"].as_str(), Some(TAMPERING));
            let dims = metric["Dimensions"].as_sequence().unwrap();
            let keys: Vec<&str> = dims.iter().map(|d| d["Name"].as_str().unwrap()).collect();
            assert_eq!(keys, BY_FUNCTION);
        }
        let (i, mut r) = instance_report(Status::Succeeded);
        r.warnings.push(crate::seal::tampering(
            "i-1",
            &["firebreak:isolation".into()],
        ));
        let d = &docs(&i, &r)[0];
        assert_eq!(d[TAMPERING], 1, "{d}");
        assert_eq!(sets(d, TAMPERING), vec![names(BY_FUNCTION)]);
    }
}
