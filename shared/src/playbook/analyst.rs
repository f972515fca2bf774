//! The analysts' plans: what a Security Hub custom action (FbQuarantine, FbSnapshot, FbRelease,
//! FbRevoke, FbNotify) does to one finding. No playbook decides these.

use crate::config::Config;
use crate::incident::asff::CustomAction;
use crate::incident::{AccessKeyRef, FunctionRef, Incident, Resource};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::artifact::unshare;
use crate::playbook::bucket::lock_bucket;
use crate::playbook::credentials::credential_containment;
use crate::playbook::database::{isolate_database, release_database};
use crate::playbook::function::{own_function, stop_function};
use crate::playbook::instance::quarantine;

/// What an analyst's Security Hub custom action does to one finding. The analyst has decided, so the
/// family, severity, sample and archived rows do not apply; what never changes: exempt resources are
/// left alone (instances here by the finding's tags, and live by the executor), and credentials IAM
/// cannot restrict only notify.
pub fn plan_for_action(action: CustomAction, incident: &Incident, config: &Config) -> Plan {
    let instance = incident.instance();
    let not_applicable = |what: &str| Plan {
        rule: "not-applicable",
        reason: format!(
            "{} acts on {what}; this finding is about {}",
            action.id(),
            match &incident.resource {
                Resource::Instance(_) => "an EC2 instance".to_string(),
                Resource::AccessKey(_) => "IAM credentials".to_string(),
                Resource::Artifact(a) => a.id.clone(),
                Resource::Function(f) => format!("Lambda function {}", f.name),
                Resource::Database(d) => format!("RDS database {}", d.name()),
                Resource::Bucket(_) | Resource::Sequence(_) | Resource::Task(_) => {
                    incident.resource_name()
                }
                Resource::Other { resource_type } => resource_type.clone(),
            }
        ),
        actions: vec![],
        decided_by: None,
    };
    let exempt = instance.is_some_and(|i| i.tag(&config.exempt_tag) == Some("true"));
    let by_analyst = |rule: &'static str, what: &str| Plan {
        rule,
        reason: format!(
            "{what} requested by an analyst in Security Hub ({})",
            action.id()
        ),
        actions: vec![],
        decided_by: Some(format!("an analyst ({} in Security Hub)", action.id())),
    };
    match action {
        CustomAction::FbNotify => Plan {
            actions: vec![Action::notify()],
            ..by_analyst("analyst-escalation", "escalation")
        },
        CustomAction::FbQuarantine | CustomAction::FbRelease
            if matches!(
                incident.resource,
                Resource::Artifact(_)
                    | Resource::Bucket(_)
                    | Resource::Function(_)
                    | Resource::Task(_)
                    | Resource::Database(_)
            ) =>
        {
            match beyond_instances(action, incident, config) {
                Ok((rule, what, actions)) => Plan {
                    actions,
                    ..by_analyst(rule, what)
                },
                Err(refused) => refused,
            }
        }
        CustomAction::FbQuarantine | CustomAction::FbSnapshot | CustomAction::FbRelease => {
            let Some(instance) = instance else {
                return not_applicable("EC2 instances");
            };
            if exempt {
                return Plan::notify_only(
                    "exempt",
                    format!("the instance is tagged {}=true", config.exempt_tag),
                );
            }
            let (rule, what, actions) = instance_actions(action, &instance.instance_id, config);
            Plan {
                actions,
                ..by_analyst(rule, what)
            }
        }
        CustomAction::FbRevoke => {
            let Resource::AccessKey(key) = &incident.resource else {
                return not_applicable("IAM credentials");
            };
            plan_revoke(incident, key, config)
        }
    }
}

/// FbQuarantine, FbSnapshot, FbRelease on an instance: the rule, what was asked, the actions.
fn instance_actions(
    action: CustomAction,
    id: &str,
    config: &Config,
) -> (&'static str, &'static str, Vec<Action>) {
    match action {
        CustomAction::FbQuarantine => (
            "analyst-quarantine",
            "quarantine",
            quarantine(id, Some(config)),
        ),
        CustomAction::FbSnapshot => (
            "analyst-snapshot",
            "evidence preservation",
            quarantine(id, None),
        ),
        _ => (
            "analyst-release",
            "release",
            vec![
                Action::on_instance(ActionKind::ReleaseInstance, id),
                Action::notify(),
            ],
        ),
    }
}

/// FbQuarantine, FbRelease on a Lambda function: the rule, what was asked, the actions.
fn function_actions(
    action: CustomAction,
    f: &FunctionRef,
) -> (&'static str, &'static str, Vec<Action>) {
    match action {
        CustomAction::FbQuarantine => ("analyst-stop-function", "stop", stop_function(f)),
        _ => (
            "analyst-release-function",
            "release",
            vec![
                Action::on_function(ActionKind::ReleaseFunction, f.name.clone()),
                Action::notify(),
            ],
        ),
    }
}

/// FbQuarantine, FbRelease on a snapshot or AMI, a bucket or object, a Lambda function: the rule,
/// what was asked, the actions; or the plan that refuses (Firebreak's own function).
fn beyond_instances(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
) -> Result<(&'static str, &'static str, Vec<Action>), Plan> {
    let quarantine = action == CustomAction::FbQuarantine;
    let release = |a: Action| vec![a, Action::notify()];
    Ok(match &incident.resource {
        Resource::Artifact(a) if quarantine => ("analyst-unshare", "stop sharing", unshare(a)),
        Resource::Artifact(a) => (
            "analyst-restore-sharing",
            "restore sharing",
            release(Action::new(
                ActionKind::RestoreSharing,
                Target::artifact(a.kind, a.id.clone()),
            )),
        ),
        Resource::Bucket(b) if quarantine => (
            "analyst-lock-bucket",
            "lock",
            lock_bucket(b, String::new(), config).actions,
        ),
        Resource::Bucket(b) => (
            "analyst-release-bucket",
            "release",
            release(Action::on_bucket(ActionKind::ReleaseBucket, b.name.clone())),
        ),
        Resource::Function(f) => {
            if let Some(p) = own_function(f, config) {
                return Err(p);
            }
            function_actions(action, f)
        }
        Resource::Database(d) if quarantine => {
            ("analyst-isolate-database", "isolation", isolate_database(d))
        }
        Resource::Database(d) => ("analyst-release-database", "release", release_database(d)),
        Resource::Task(t) if quarantine => (
            "analyst-stop-task",
            "stop",
            vec![
                Action::new(
                    ActionKind::StopTask,
                    Target::task(t.cluster.clone(), t.task_arn.clone()),
                ),
                Action::notify(),
            ],
        ),
        Resource::Task(_) => {
            return Err(Plan::notify_only(
                "not-applicable",
                "a stopped ECS task cannot be started again: run a new one (or let its service)"
                    .into(),
            ))
        }
        _ => return Err(Plan::notify_only("not-applicable", "nothing to do".into())),
    })
}

/// FbRevoke: the playbook's credential rows, with the family and severity rows decided by the
/// analyst: root and the principals IAM cannot restrict still only notify.
fn plan_revoke(incident: &Incident, key: &AccessKeyRef, config: &Config) -> Plan {
    // The analyst decided: the family and severity rows do not apply; what IAM cannot restrict, and
    // Firebreak's own roles, still only notify.
    let mut p = credential_containment(incident, key, config);
    // The analyst's choice is the whole role: every session of it, not only the instance's.
    for a in &mut p.actions {
        if let (ActionKind::RevokeInstanceSessions, Target::InstanceSessions { role_name, .. }) =
            (a.kind, &mut a.target)
        {
            *a = Action::on_role(ActionKind::RevokeRoleSessions, std::mem::take(role_name));
        }
    }
    if p.has_containment() {
        p.rule = "analyst-revoke";
        p.reason = format!(
            "credential containment of {} requested by an analyst in Security Hub (FbRevoke)",
            incident.resource_name()
        );
        // The console password follows the documented severity rule, not the click.
        if !config
            .remove_login_severity
            .is_some_and(|s| incident.severity >= s)
        {
            p.actions
                .retain(|a| a.kind != ActionKind::RemoveLoginProfile);
        }
    }
    p
}
