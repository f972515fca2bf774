//! What a finding gets: the overrides no playbook changes, then the response the team's playbook
//! file decides (`file.rs`; the default, `infra/playbooks/default.toml`, is the tables below, as
//! `tests/playbook_equivalence.rs` proves), turned into a plan for the resource's kind: what
//! `contain`, `evidence`, `ask`, `notify` and `ignore` mean for an instance and for credentials.
//! Also the analysts' custom actions, which no playbook decides.
//!
//! The default playbook's tables:
//!
//! **Instances** (EC2 and Runtime findings, resource type `Instance`):
//!
//! | finding family                                              | resource role | severity      | response                                   |
//! |-------------------------------------------------------------|---------------|---------------|--------------------------------------------|
//! | `Backdoor`, `CryptoCurrency`, `Trojan`, `Impact`, `Execution` | any           | ≥ threshold   | quarantine + protect evidence + snapshot + tag + notify |
//! | `UnauthorizedAccess`                                        | ACTOR         | ≥ threshold   | quarantine + protect evidence + snapshot + tag + notify |
//! | `UnauthorizedAccess`                                        | TARGET / none | any           | notify only (the instance is the victim)   |
//! | `Recon`, `Policy`, `Behavior`, `Discovery`, anything else   | any           | any           | notify only                                |
//! | any of the above                                            | any           | < threshold   | notify only                                |
//!
//! **Credentials** (IAM findings, resource type `AccessKey`; rows checked in this order):
//!
//! | finding                                                       | whose credentials                  | severity    | response |
//! |---------------------------------------------------------------|------------------------------------|-------------|----------|
//! | any                                                           | the root user                      | any         | notify only: no IAM policy can restrict root |
//! | any                                                           | service-linked role, Identity Center role, federated user, unknown | any | notify only, with the reason |
//! | `Recon`, `Policy`, `PenTest`, `ResourceConsumption`, anything not below | any                      | any         | notify only |
//! | `UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.*` | the instance profile's role        | ≥ threshold | revoke the role's sessions issued *to that instance* before now (`FirebreakRevokeSessionsOf-<instance>`; the whole role with `FIREBREAK_EXFILTRATION_REVOCATION=role`, or by an analyst's `FbRevoke`) + remove the instance profile from that instance + notify |
//! | `UnauthorizedAccess`, `CredentialAccess`, `Exfiltration`, `Impact`, `Persistence`, `PrivilegeEscalation`, `Discovery`, `Stealth` (`…:IAMUser/…`) | an IAM user | ≥ threshold | deactivate that key (`AKIA…` only; the user's other keys stay active) + deny the user's sessions issued before now + remove the console password when severity ≥ `FIREBREAK_REMOVE_LOGIN_SEVERITY` (default 7, HIGH) + notify |
//! | the same families                                             | a role session (`AssumedRole`)     | ≥ threshold | revoke the role's sessions issued before now (`AWSRevokeOlderSessions`) + notify |
//! | any of the above                                              | any                                | < threshold | notify only |
//!
//! Overrides, checked first: an instance tagged with the exemption tag (`firebreak:exempt=true` by
//! default) is skipped, and so is an IAM user or role carrying that tag (read live by the executor);
//! a console *sample* finding and an *archived* finding are notify-only (unless
//! `FIREBREAK_ACT_ON_SAMPLE_FINDINGS=true`); resources Firebreak does not act on yet are notify-only.
//! The threshold is `FIREBREAK_SEVERITY_THRESHOLD` (default 7, GuardDuty's HIGH): the file's
//! `min_severity = "threshold"`.
//!
//! The files: `file.rs` reads the team's playbook file and decides the response; this one holds
//! the entry [`plan`], the overrides, attack sequences and whether a human decided;
//! `instance.rs`, `credentials.rs`, `artifact.rs` (snapshots and AMIs), `function.rs`, `bucket.rs`,
//! `task.rs` and `database.rs` (RDS) say what a response means for each kind of resource; `notify.rs` holds what every
//! kind shares (the notify-only rule, the finding's family, AWS's guidance for what Firebreak does
//! not act on); `analyst.rs` the analysts' custom actions.

pub mod analyst;
pub mod artifact;
pub mod bucket;
pub mod credentials;
pub mod database;
pub mod file;
pub mod function;
pub mod instance;
pub mod notify;
pub mod task;

use crate::config::Config;
use crate::incident::{Incident, Resource, SequenceRef};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan};
use crate::playbook::artifact::plan_artifact;
use crate::playbook::bucket::plan_bucket;
use crate::playbook::credentials::{plan_key, protected};
use crate::playbook::database::plan_database;
use crate::playbook::file::Response;
use crate::playbook::function::plan_function;
use crate::playbook::instance::{capture_memory, plan_instance};
use crate::playbook::notify::not_acted_on;
use crate::playbook::task::plan_task;

/// Decides what to do about an incident: the overrides no playbook changes, then the playbook's
/// first matching rule (`file.rs`), then what that response means for the resource's kind.
pub fn plan(incident: &Incident, config: &Config) -> Plan {
    if let Some(p) = overrides(incident, config) {
        return p;
    }
    let rule = config.playbook.decide(incident, config.severity_threshold);
    let (response, decided) = match rule {
        Some(rule) => (rule.response, rule.describe()),
        None => (Response::Notify, "no rule matched → notify".to_string()),
    };
    let mut plan = match &incident.resource {
        _ if response == Response::Ignore => Plan {
            rule: "ignore",
            reason: "the playbook ignores it".into(),
            actions: vec![],
            decided_by: None,
        },
        Resource::Instance(instance) => {
            let mut p = plan_instance(incident, &instance.instance_id, response, config);
            if rule.is_some_and(|r| r.capture_memory) {
                capture_memory(&mut p, &instance.instance_id);
            }
            p
        }
        Resource::AccessKey(key) => plan_key(incident, key, response, config),
        Resource::Artifact(a) => plan_artifact(incident, a, response),
        Resource::Function(f) => plan_function(incident, f, response, config),
        Resource::Bucket(b) => plan_bucket(incident, b, response, config),
        Resource::Task(t) => plan_task(incident, t, response),
        Resource::Database(d) => plan_database(incident, d, response),
        // Answered resource by resource (`sequence.rs` carries each member's plan out).
        Resource::Sequence(seq) => return plan_sequence(incident, seq, config),
        Resource::Other { resource_type } => {
            Plan::notify_only("not-acted-on", not_acted_on(resource_type))
        }
    };
    plan.reason = format!("{decided}: {}", plan.reason);
    plan.decided_by = Some(decided);
    plan
}

/// What no playbook decides: an exempt instance is left alone, a sample or archived finding only
/// notifies, and a finding about Firebreak's own roles notifies loudly.
fn overrides(incident: &Incident, config: &Config) -> Option<Plan> {
    match &incident.resource {
        Resource::Instance(i) if i.tag(&config.exempt_tag) == Some("true") => {
            Some(Plan::notify_only(
                "exempt",
                format!("the instance is tagged {}=true", config.exempt_tag),
            ))
        }
        Resource::AccessKey(key) => {
            sample_or_archived(incident, config).or_else(|| protected(&key.principal(), config))
        }
        _ => sample_or_archived(incident, config),
    }
}

fn sample_or_archived(incident: &Incident, config: &Config) -> Option<Plan> {
    if incident.sample && !config.act_on_sample_findings {
        return Some(Plan::notify_only(
            "sample-finding",
            "this is a GuardDuty sample finding".into(),
        ));
    }
    incident
        .archived
        .then(|| Plan::notify_only("archived", "the finding was archived".into()))
}

/// An attack sequence: each member's own plan (the playbook decides for each resource, with the
/// sequence's type and severity), one after the other, told once.
fn plan_sequence(incident: &Incident, seq: &SequenceRef, config: &Config) -> Plan {
    let mut actions = Vec::new();
    for p in member_plans(incident, seq, config) {
        actions.extend(
            p.actions
                .into_iter()
                .filter(|a| a.kind != ActionKind::Notify),
        );
    }
    actions.push(Action::notify());
    Plan {
        rule: SEQUENCE_RULE,
        reason: format!(
            "attack sequence over {} resource(s) Firebreak acts on ({} more it does not): each \
             answered by its own response",
            seq.members.len(),
            seq.others.len()
        ),
        actions,
        decided_by: None,
    }
}

/// The rule of an attack sequence's plan.
pub const SEQUENCE_RULE: &str = "attack-sequence";

/// Each member of a sequence as an incident of its own, with its plan.
pub fn member_plans(incident: &Incident, seq: &SequenceRef, config: &Config) -> Vec<Plan> {
    member_incidents(incident, seq)
        .iter()
        .map(|sub| plan(sub, config))
        .collect()
}

/// Each member of a sequence as an incident of its own (the sequence's finding, type, severity).
pub fn member_incidents(incident: &Incident, seq: &SequenceRef) -> Vec<Incident> {
    seq.members
        .iter()
        .map(|m| Incident {
            resource: m.clone(),
            ..incident.clone()
        })
        .collect()
}

/// Whether a human chose the plan (an analyst's custom action, or an approval, which is one): every
/// rule [`analyst::plan_for_action`] names starts `analyst-`.
pub fn decided_by_a_human(plan: &Plan) -> bool {
    plan.rule.starts_with("analyst-")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::incident::{InstanceRef, ResourceRole, Source};
    use crate::playbook::notify::NOTIFY_RULE;
    pub(crate) fn incident(
        finding_type: &str,
        severity: f64,
        role: Option<ResourceRole>,
    ) -> Incident {
        Incident {
            source: Source::GuardDuty,
            finding_id: "f".into(),
            finding_arn: None,
            finding_type: finding_type.into(),
            title: None,
            severity,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sample: false,
            archived: false,
            resource_role: role,
            resource: Resource::Instance(InstanceRef {
                instance_id: "i-0123456789abcdef0".into(),
                network_interfaces: vec![],
                tags: vec![],
                instance_profile_arn: None,
            }),
            security_hub: None,
        }
    }

    pub(crate) fn rule(
        finding_type: &str,
        severity: f64,
        role: Option<ResourceRole>,
    ) -> &'static str {
        plan(
            &incident(finding_type, severity, role),
            &Config::for_tests(),
        )
        .rule
    }

    #[test]
    fn recon_policy_low_severity_exempt_and_samples_only_notify() {
        assert_eq!(
            rule("Recon:EC2/PortProbeUnprotectedPort", 8.0, None),
            NOTIFY_RULE
        );
        assert_eq!(
            rule("Policy:IAMUser/RootCredentialUsage", 8.0, None),
            NOTIFY_RULE
        );
        assert_eq!(rule("Backdoor:EC2/Spambot", 5.0, None), NOTIFY_RULE);
        assert_eq!(rule("Backdoor:EC2/Spambot", 6.9, None), NOTIFY_RULE);
        let mut i = incident("Backdoor:EC2/Spambot", 8.0, None);
        if let Resource::Instance(inst) = &mut i.resource {
            inst.tags.push(("firebreak:exempt".into(), "true".into()));
        }
        assert_eq!(plan(&i, &Config::for_tests()).rule, "exempt");
        let mut i = incident("Backdoor:EC2/Spambot", 8.0, None);
        i.sample = true;
        assert_eq!(plan(&i, &Config::for_tests()).rule, "sample-finding");
        let p = plan(&i, &Config::for_tests());
        assert_eq!(p.actions, vec![Action::notify()]);
        assert!(!p.changes_resources());
    }
}
