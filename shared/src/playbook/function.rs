//! A Lambda function: stopped (executions, triggers, network, its role's sessions), unless it is
//! Firebreak's own or runs as a protected role.

use crate::config::Config;
use crate::incident::{FunctionRef, Incident};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::credentials::PROTECTED_RULE;
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// A Lambda function (AWS's guidance for a compromised function: stop its executions, cut its
/// triggers and network, revoke what its role issued to it): `contain` does all four; `ask` tells
/// the team how; anything else notifies. Firebreak's own functions and protected roles are never
/// touched.
pub(super) fn plan_function(
    incident: &Incident,
    f: &FunctionRef,
    response: Response,
    config: &Config,
) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on Lambda function {}",
        incident.severity, f.name
    );
    if let Some(p) = own_function(f, config) {
        return p;
    }
    match response {
        Response::Contain => Plan {
            rule: STOP_FUNCTION_RULE,
            reason: about,
            actions: stop_function(f),
            decided_by: None,
        },
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}: awaiting approval. To stop it, select the finding in Security Hub and \
                 choose the custom action FbQuarantine"
            ),
        ),
        _ => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// The rule of a Lambda function that is stopped.
pub const STOP_FUNCTION_RULE: &str = "stop-compromised-function";

/// Firebreak's own function, or one running as a protected role, is never stopped.
pub(super) fn own_function(f: &FunctionRef, config: &Config) -> Option<Plan> {
    let own = !config.function_name.is_empty() && f.name == config.function_name;
    let protected = f
        .role_name
        .as_deref()
        .is_some_and(|r| config.is_protected(r));
    (own || protected).then(|| {
        Plan::notify_only(
            PROTECTED_RULE,
            format!(
                "{} is Firebreak's own function or runs as a role listed in \
                 FIREBREAK_PROTECTED_PRINCIPALS: stopping it would stop Firebreak. Firebreak did \
                 NOT act; a human must contain it",
                f.name
            ),
        )
    })
}

/// Everything that stops a function: executions, triggers, network, its role's sessions.
pub(super) fn stop_function(f: &FunctionRef) -> Vec<Action> {
    let function = || f.name.clone();
    let mut actions = vec![
        Action::on_function(ActionKind::StopFunction, function()),
        Action::on_function(ActionKind::DisableEventSources, function()),
        Action::on_function(ActionKind::IsolateFunction, function()),
    ];
    actions.push(Action::new(
        ActionKind::RevokeFunctionSessions,
        Target::function_sessions(f.role_name.clone(), function()),
    ));
    actions.push(Action::notify());
    actions
}
