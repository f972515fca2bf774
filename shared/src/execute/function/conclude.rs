//! Round 4: the function's status (`stopped`, or `containment-failed`), with the finding and, on
//! success, when; a not-applicable isolation holds.

use crate::execute::Request;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{quiet, Execution, Marked, Outcome, Status, Told};
use crate::ports::{FunctionFacts, FunctionsPort};
use crate::tags;

/// True when the step holds: done, already done, or not applicable (an isolation outside a VPC:
/// the function has no network to isolate).
fn holds(o: &Outcome) -> bool {
    o.is_ok() || not_applicable(o)
}

/// An isolation of a function outside a VPC.
pub fn not_applicable(o: &Outcome) -> bool {
    o.action == ActionKind::IsolateFunction && o.status == Status::Skipped
}

/// Round 4: the function tagged with the finding and its status (`stopped`, or
/// `containment-failed`), and when, on success.
pub(super) async fn conclude<S: FunctionsPort>(
    s: &S,
    r: &Request<'_>,
    facts: &FunctionFacts,
    outcomes: Vec<Outcome>,
) -> Execution {
    let ok = outcomes.iter().all(holds);
    let status = match ok {
        true => tags::status::STOPPED,
        false => tags::status::CONTAINMENT_FAILED,
    };
    let had = tag_value(&facts.tags, tags::STATUS);
    let on = Marked::Function(facts.arn.clone());
    let told = Told::kept(on, tags::STATUS, status, had, quiet(&outcomes));
    let mut marks = vec![
        (tags::FINDING.to_string(), r.incident.finding_id.clone()),
        (tags::STATUS.to_string(), told.written()),
    ];
    if ok {
        marks.push((tags::CONTAINED_AT.to_string(), r.clock.rfc3339()));
    }
    let warnings = match s.tag_function(&facts.arn, &marks).await {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("its status tag could not be written: {e}")],
    };
    Execution {
        completed: Some(ok),
        outcomes,
        warnings,
        told: Some(told),
        ..Execution::default()
    }
}
