//! An instance (EC2 and Runtime findings): what `contain`, `evidence` and `ask` mean for it; the
//! full quarantine and the evidence-only response.

use crate::config::Config;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::plan::{Action, Plan};
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// An instance: the response's actions.
pub(super) fn plan_instance(
    incident: &Incident,
    id: &str,
    response: Response,
    config: &Config,
) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on the instance",
        incident.severity
    );
    match response {
        Response::Contain => Plan {
            rule: "quarantine-compromised-instance",
            reason: about,
            actions: quarantine(id, Some(config)),
            decided_by: None,
        },
        Response::Evidence => Plan {
            rule: "preserve-evidence",
            reason: format!("{about}: evidence only"),
            actions: quarantine(id, None),
            decided_by: None,
        },
        Response::Ask => Plan {
            rule: ASK_RULE,
            reason: format!("{about}: evidence now, containment once a human approves"),
            actions: ask(id),
            decided_by: None,
        },
        Response::Notify | Response::Ignore => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// The rule of a response that waits for a human's approval.
pub const ASK_RULE: &str = "ask-approval";

/// Evidence now, the instance tagged as awaiting approval, the team told how to approve.
fn ask(id: &str) -> Vec<Action> {
    let mut actions = quarantine(id, None);
    actions.insert(0, Action::on_instance(ActionKind::AwaitApproval, id));
    actions
}

/// The full quarantine of an instance (isolation, the network ACL deny when configured, out of
/// service, evidence, snapshots, tags) or, without `isolate`, evidence only; then the team is told.
pub(super) fn quarantine(id: &str, isolate: Option<&Config>) -> Vec<Action> {
    let mut actions = Vec::new();
    if let Some(config) = isolate {
        actions.push(Action::on_instance(ActionKind::IsolateInstance, id));
        if config.network_acl_deny {
            actions.push(Action::on_instance(ActionKind::DenyNetworkAcl, id));
        }
        actions.push(Action::on_instance(ActionKind::TakeOutOfService, id));
    }
    actions.extend([
        Action::on_instance(ActionKind::ProtectEvidence, id),
        Action::on_instance(ActionKind::SnapshotVolumes, id),
        Action::on_instance(ActionKind::TagInstance, id),
        Action::notify(),
    ]);
    actions
}

/// A rule's `capture_memory = true`: the instance's memory captured once its response is carried
/// out (after isolation, before the instance is tagged), when the response changes the instance.
pub(super) fn capture_memory(plan: &mut Plan, id: &str) {
    if let Some(at) = plan
        .actions
        .iter()
        .position(|a| a.kind == ActionKind::TagInstance)
    {
        let capture = Action::on_instance(ActionKind::CaptureMemory, id);
        plan.actions.insert(at, capture);
        plan.reason
            .push_str("; memory captured once the response is carried out");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::ResourceRole;
    use crate::kind::ActionKind;
    use crate::playbook::plan;
    use crate::playbook::tests::{incident, rule};
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
        assert_eq!(p.actions.len(), 7);
        assert_eq!(p.actions[1].name(), "deny-network-acl");
        assert!(p.changes_resources());
        let without_acl = Config {
            network_acl_deny: false,
            ..Config::for_tests()
        };
        let p = plan(&incident("Trojan:EC2/DropPoint", 7.0, None), &without_acl);
        assert_eq!(p.actions.len(), 6);
        assert!(!p.has(ActionKind::DenyNetworkAcl));
    }

    #[test]
    fn unauthorized_access_depends_on_the_instance_role() {
        let t = "UnauthorizedAccess:EC2/SSHBruteForce";
        assert_eq!(
            rule(t, 8.0, Some(ResourceRole::Actor)),
            "quarantine-compromised-instance"
        );
        assert_eq!(rule(t, 8.0, Some(ResourceRole::Target)), NOTIFY_RULE);
        assert_eq!(rule(t, 8.0, None), NOTIFY_RULE);
    }

    #[test]
    fn a_rule_with_capture_memory_plans_the_capture_after_the_response_and_validates() {
        use crate::playbook::file::Rules;
        let text =
            "version = 1\n[[rule]]\nname = \"backdoors\"\nfinding_types = [\"Backdoor:*\"]\n\
                    response = \"contain\"\ncapture_memory = true\n";
        let config = Config {
            playbook: Rules::parse(text, "test", 7.0).unwrap(),
            ..Config::for_tests()
        };
        let p = plan(&incident("Backdoor:EC2/C&CActivity.B", 8.0, None), &config);
        let names: Vec<&str> = p.actions.iter().map(|a| a.name()).collect();
        let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(at("isolate-instance") < at("capture-memory"), "{names:?}");
        assert!(at("snapshot-volumes") < at("capture-memory"), "{names:?}");
        assert_eq!(at("capture-memory") + 1, at("tag-instance"), "{names:?}");
        // Without the option: no capture.
        let without = plan(
            &incident("Backdoor:EC2/C&CActivity.B", 8.0, None),
            &Config::for_tests(),
        );
        assert!(!without.has(ActionKind::CaptureMemory));
        // Only about an instance, only with a response that acts on it.
        for bad in [
            text.replace("contain", "notify"),
            text.replace(
                "capture_memory",
                "resource = \"access-key\"\ncapture_memory",
            ),
        ] {
            let e = Rules::parse(&bad, "test", 7.0).unwrap_err();
            assert!(e.message.contains("capture_memory"), "{e}");
        }
    }
}
