//! The default playbook: which findings get which response. A table in code, so it is reviewed like
//! code and its behaviour is covered by the tests below.
//!
//! | finding family (EC2 / Runtime)                              | resource role | severity      | response                                   |
//! |-------------------------------------------------------------|---------------|---------------|--------------------------------------------|
//! | `Backdoor`, `CryptoCurrency`, `Trojan`, `Impact`, `Execution` | any           | ≥ threshold   | quarantine + protect evidence + snapshot + tag + notify |
//! | `UnauthorizedAccess`                                        | ACTOR         | ≥ threshold   | quarantine + protect evidence + snapshot + tag + notify |
//! | `UnauthorizedAccess`                                        | TARGET / none | any           | notify only (the instance is the victim)   |
//! | `Recon`, `Policy`, `Behavior`, `Discovery`, anything else   | any           | any           | notify only                                |
//! | any of the above                                            | any           | < threshold   | notify only                                |
//!
//! Overrides, checked first: an instance tagged with the exemption tag (`firebreak:exempt=true` by
//! default) is skipped; a console *sample* finding and an *archived* finding are notify-only (unless
//! `FIREBREAK_ACT_ON_SAMPLE_FINDINGS=true`); resources Firebreak does not act on yet are notify-only.
//! The threshold is `FIREBREAK_SEVERITY_THRESHOLD` (default 7, GuardDuty's HIGH).

use serde::Serialize;

use crate::config::Config;
use crate::incident::{Incident, Resource, ResourceRole};

/// One action Firebreak can take. Plain data: dry-run prints it, tests compare it, notes list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Move every ENI to the untracking group, then to the isolation group (records the old groups first).
    IsolateInstance {
        /// The instance.
        instance_id: String,
    },
    /// Termination protection on, shutdown behaviour `stop`, volumes kept on termination.
    ProtectEvidence {
        /// The instance.
        instance_id: String,
    },
    /// One snapshot per attached volume, tagged with the finding id (at most one per volume and finding).
    SnapshotVolumes {
        /// The instance.
        instance_id: String,
    },
    /// Tag the instance with the finding id and the time of containment.
    TagInstance {
        /// The instance.
        instance_id: String,
    },
    /// Tell the team (SNS).
    Notify,
}

impl Action {
    /// The kebab-case name used in logs, tags and notes.
    pub fn name(&self) -> &'static str {
        match self {
            Action::IsolateInstance { .. } => "isolate-instance",
            Action::ProtectEvidence { .. } => "protect-evidence",
            Action::SnapshotVolumes { .. } => "snapshot-volumes",
            Action::TagInstance { .. } => "tag-instance",
            Action::Notify => "notify",
        }
    }
}

/// What the playbook decided and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The playbook row that matched.
    pub rule: &'static str,
    /// Why, in words a person reads in the notification.
    pub reason: String,
    /// The actions, in order of intent (the executor runs what it can concurrently).
    pub actions: Vec<Action>,
}

impl Plan {
    fn notify_only(rule: &'static str, reason: String) -> Plan {
        Plan {
            rule,
            reason,
            actions: vec![Action::Notify],
        }
    }

    /// True when the plan changes a resource (anything beyond notifying).
    pub fn contains_resource(&self) -> bool {
        self.actions.iter().any(|a| *a != Action::Notify)
    }
}

const COMPROMISE_FAMILIES: [&str; 5] = [
    "Backdoor",
    "CryptoCurrency",
    "Trojan",
    "Impact",
    "Execution",
];
const ACTOR_FAMILIES: [&str; 1] = ["UnauthorizedAccess"];
const INSTANCE_RESOURCES: [&str; 2] = ["EC2", "Runtime"];

/// Decides what to do about an incident.
pub fn plan(incident: &Incident, config: &Config) -> Plan {
    let Resource::Instance(instance) = &incident.resource else {
        return Plan::notify_only(
            "not-an-instance",
            "Firebreak does not act on this resource type automatically".into(),
        );
    };
    if instance.tag(&config.exempt_tag) == Some("true") {
        return Plan::notify_only(
            "exempt",
            format!("the instance is tagged {}=true", config.exempt_tag),
        );
    }
    if incident.sample && !config.act_on_sample_findings {
        return Plan::notify_only(
            "sample-finding",
            "this is a GuardDuty sample finding".into(),
        );
    }
    if incident.archived {
        return Plan::notify_only("archived", "the finding was archived".into());
    }
    let (family, rest) = incident
        .finding_type
        .split_once(':')
        .unwrap_or((incident.finding_type.as_str(), ""));
    let resource_kind = rest.split('/').next().unwrap_or("");
    let about_instance = INSTANCE_RESOURCES.contains(&resource_kind);
    let compromise = about_instance
        && (COMPROMISE_FAMILIES.contains(&family)
            || (ACTOR_FAMILIES.contains(&family)
                && incident.resource_role == Some(ResourceRole::Actor)));
    if !compromise {
        let reason = if about_instance && ACTOR_FAMILIES.contains(&family) {
            "the instance is the target, not the actor".to_string()
        } else {
            format!("{family} findings are notify-only")
        };
        return Plan::notify_only("notify-only-family", reason);
    }
    if incident.severity < config.severity_threshold {
        return Plan::notify_only(
            "below-threshold",
            format!(
                "severity {} is below the containment threshold {}",
                incident.severity, config.severity_threshold
            ),
        );
    }
    let instance_id = instance.instance_id.clone();
    Plan {
        rule: "quarantine-compromised-instance",
        reason: format!(
            "{family} finding of severity {} on the instance",
            incident.severity
        ),
        actions: vec![
            Action::IsolateInstance {
                instance_id: instance_id.clone(),
            },
            Action::ProtectEvidence {
                instance_id: instance_id.clone(),
            },
            Action::SnapshotVolumes {
                instance_id: instance_id.clone(),
            },
            Action::TagInstance { instance_id },
            Action::Notify,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{InstanceRef, Source};

    fn incident(finding_type: &str, severity: f64, role: Option<ResourceRole>) -> Incident {
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
        }
    }

    fn rule(finding_type: &str, severity: f64, role: Option<ResourceRole>) -> &'static str {
        plan(
            &incident(finding_type, severity, role),
            &Config::for_tests(),
        )
        .rule
    }

    #[test]
    fn compromise_families_at_high_severity_are_quarantined() {
        for t in [
            "Backdoor:EC2/C&CActivity.B!DNS",
            "CryptoCurrency:EC2/BitcoinTool.B",
            "Trojan:EC2/DropPoint",
            "Impact:EC2/WinRMBruteForce",
            "Execution:Runtime/NewBinaryExecuted",
            "Backdoor:Runtime/C&CActivity.B",
        ] {
            assert_eq!(rule(t, 8.0, None), "quarantine-compromised-instance", "{t}");
        }
        let p = plan(
            &incident("Trojan:EC2/DropPoint", 7.0, None),
            &Config::for_tests(),
        );
        assert_eq!(p.actions.len(), 5);
        assert!(p.contains_resource());
    }

    #[test]
    fn unauthorized_access_depends_on_the_instance_role() {
        let t = "UnauthorizedAccess:EC2/SSHBruteForce";
        assert_eq!(
            rule(t, 8.0, Some(ResourceRole::Actor)),
            "quarantine-compromised-instance"
        );
        assert_eq!(
            rule(t, 8.0, Some(ResourceRole::Target)),
            "notify-only-family"
        );
        assert_eq!(rule(t, 8.0, None), "notify-only-family");
    }

    #[test]
    fn recon_policy_low_severity_exempt_and_samples_only_notify() {
        assert_eq!(
            rule("Recon:EC2/PortProbeUnprotectedPort", 8.0, None),
            "notify-only-family"
        );
        assert_eq!(
            rule("Policy:IAMUser/RootCredentialUsage", 8.0, None),
            "notify-only-family"
        );
        assert_eq!(rule("Backdoor:EC2/Spambot", 5.0, None), "below-threshold");
        assert_eq!(rule("Backdoor:EC2/Spambot", 6.9, None), "below-threshold");
        let mut i = incident("Backdoor:EC2/Spambot", 8.0, None);
        if let Resource::Instance(inst) = &mut i.resource {
            inst.tags.push(("firebreak:exempt".into(), "true".into()));
        }
        assert_eq!(plan(&i, &Config::for_tests()).rule, "exempt");
        let mut i = incident("Backdoor:EC2/Spambot", 8.0, None);
        i.sample = true;
        assert_eq!(plan(&i, &Config::for_tests()).rule, "sample-finding");
        let p = plan(&i, &Config::for_tests());
        assert_eq!(p.actions, vec![Action::Notify]);
        assert!(!p.contains_resource());
    }
}
