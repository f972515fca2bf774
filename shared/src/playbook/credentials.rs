//! Credentials (IAM findings): the credential rows of the playbook's table, what IAM cannot
//! restrict, and Firebreak's own roles, which are never revoked.

use crate::config::Config;
use crate::incident::{AccessKeyRef, Incident, Principal};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::file::Response;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// Credentials: `contain` is the credential rows below; nothing else changes them (`ask` tells
/// the team to approve with FbRevoke; there is no evidence to preserve).
pub(super) fn plan_key(
    incident: &Incident,
    key: &AccessKeyRef,
    response: Response,
    config: &Config,
) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let acts = matches!(
        key.principal(),
        Principal::IamUser { .. } | Principal::Role { .. }
    );
    match response {
        // Credentials IAM cannot restrict get the explanation of what to do by hand, whatever
        // the response.
        _ if !acts => credential_containment(incident, key, config),
        Response::Contain => credential_containment(incident, key, config),
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{family} finding about {}: awaiting approval. To contain the credentials, select \
                 the finding in Security Hub and choose the custom action FbRevoke",
                incident.resource_name()
            ),
        ),
        _ => Plan::notify_only(
            NOTIFY_RULE,
            format!("{family} finding about {}", incident.resource_name()),
        ),
    }
}

/// Containing credentials (the credential rows of the module table): IAM cannot restrict the root
/// user, service-linked roles, Identity Center roles; a user's key and sessions, a role's sessions.
pub(super) fn credential_containment(
    incident: &Incident,
    key: &AccessKeyRef,
    config: &Config,
) -> Plan {
    let cannot = |reason: String| Plan::notify_only("cannot-revoke-principal", reason);
    let principal = match key.principal() {
        Principal::Root => return Plan::notify_only(
            "root-credentials",
            "these are the account's root credentials, which no IAM policy can restrict: sign in \
                 as root, change the password, delete any root access keys and check MFA by hand"
                .into(),
        ),
        Principal::ServiceLinkedRole { role_name } => {
            return cannot(format!(
            "{role_name} is a service-linked role: IAM does not allow its sessions to be revoked; \
                 contain the resource that uses it"
        ))
        }
        Principal::IdentityCenterRole { role_name } => {
            return cannot(format!(
                "{role_name} is managed by IAM Identity Center: revoke the user's sessions and \
                 permission set assignment there"
            ))
        }
        Principal::Unusable { reason } => return cannot(reason),
        p => p,
    };
    if let Some(p) = protected(&principal, config) {
        return p;
    }
    let (family, _) = family_and_kind(&incident.finding_type);
    match principal {
        Principal::IamUser {
            user_name,
            access_key_id,
        } => plan_user(incident, family, user_name, access_key_id, config),
        Principal::Role {
            role_name,
            instance_id,
            ..
        } => plan_role(incident, family, role_name, instance_id, config),
        other => cannot(format!("Firebreak cannot revoke {other:?}")),
    }
}

/// The rule of a finding about a principal Firebreak must never revoke.
pub const PROTECTED_RULE: &str = "protected-principal";

/// Firebreak's own roles (and those listed in `FIREBREAK_PROTECTED_PRINCIPALS`) are never revoked:
/// a deny on them would cut Firebreak's own sessions, and it would stop responding in the account.
pub(super) fn protected(principal: &Principal, config: &Config) -> Option<Plan> {
    let name = match principal {
        Principal::IamUser { user_name, .. } => user_name,
        Principal::Role { role_name, .. } => role_name,
        _ => return None,
    };
    config.is_protected(name).then(|| {
        Plan::notify_only(
            PROTECTED_RULE,
            format!(
                "{name} is one of Firebreak's own roles or listed in \
                 FIREBREAK_PROTECTED_PRINCIPALS: revoking it would lock Firebreak out of the \
                 account. Firebreak did NOT act; a human must contain these credentials"
            ),
        )
    })
}

/// A leaked key or session of an IAM user: the key off, the sessions denied, the password removed
/// at or above `FIREBREAK_REMOVE_LOGIN_SEVERITY`.
fn plan_user(
    incident: &Incident,
    family: &str,
    user_name: String,
    access_key_id: Option<String>,
    config: &Config,
) -> Plan {
    let severity = incident.severity;
    let mut reason = format!("{family} finding of severity {severity} on IAM user {user_name}");
    let mut actions = Vec::new();
    match access_key_id.filter(|k| k.starts_with("AKIA")) {
        Some(access_key_id) => actions.push(Action::new(
            ActionKind::DeactivateAccessKey,
            Target::access_key(user_name.clone(), access_key_id),
        )),
        None => reason.push_str(
            " (the finding names a session, not a long-term key: rotate the key that issued it)",
        ),
    }
    actions.push(Action::on_user(
        ActionKind::RevokeUserSessions,
        user_name.clone(),
    ));
    if config.remove_login_severity.is_some_and(|s| severity >= s) {
        actions.push(Action::on_user(ActionKind::RemoveLoginProfile, user_name));
    }
    actions.push(Action::notify());
    Plan {
        rule: "revoke-user-credentials",
        reason,
        actions,
        decided_by: None,
    }
}

/// A role session: its sessions denied; for instance credentials used elsewhere, the instance's
/// profile removed too.
fn plan_role(
    incident: &Incident,
    family: &str,
    role_name: String,
    instance_id: Option<String>,
    config: &Config,
) -> Plan {
    let severity = incident.severity;
    let mut actions = vec![Action::on_role(
        ActionKind::RevokeRoleSessions,
        role_name.clone(),
    )];
    let exfiltration = incident
        .finding_type
        .contains("/InstanceCredentialExfiltration");
    let (rule, reason) = match (exfiltration, instance_id) {
        (true, Some(instance_id)) => {
            let reason = format!(
                "credentials of role {role_name} from instance {instance_id} were used \
                 elsewhere (severity {severity}); the instance itself may be compromised: \
                 consider quarantining it"
            );
            // Only that instance's sessions: the role's other users keep working.
            if !config.revoke_whole_role_on_exfiltration {
                actions[0] = Action::new(
                    ActionKind::RevokeInstanceSessions,
                    Target::instance_sessions(role_name.clone(), instance_id.clone()),
                );
            }
            actions.push(Action::on_instance(
                ActionKind::DetachInstanceProfile,
                instance_id,
            ));
            ("revoke-instance-credentials", reason)
        }
        (true, None) => (
            "revoke-instance-credentials",
            format!(
                "instance credentials of role {role_name} were used elsewhere (severity \
                 {severity}); the finding names no instance, so no profile was removed"
            ),
        ),
        // The rule is named after the action it takes.
        (false, _) => (
            ActionKind::RevokeRoleSessions.name(),
            format!("{family} finding of severity {severity} on a session of role {role_name}"),
        ),
    };
    actions.push(Action::notify());
    Plan {
        rule,
        reason,
        actions,
        decided_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Resource;
    use crate::playbook::plan;
    use crate::playbook::tests::incident;
    fn credential(
        finding_type: &str,
        severity: f64,
        key: &str,
        user_type: &str,
        name: &str,
    ) -> Incident {
        Incident {
            resource: Resource::AccessKey(AccessKeyRef {
                access_key_id: Some(key.into()),
                principal_id: Some("AROAEXAMPLE:i-0123456789abcdef0".into()),
                user_name: Some(name.into()),
                user_type: Some(user_type.into()),
                instance_id: Some("i-0123456789abcdef0".into()),
                instance_profile_arn: None,
            }),
            ..incident(finding_type, severity, None)
        }
    }

    fn names(p: &Plan) -> Vec<&'static str> {
        p.actions.iter().map(Action::name).collect()
    }

    #[test]
    fn a_leaked_user_key_is_deactivated_and_the_users_sessions_and_password_revoked() {
        let c = Config::for_tests();
        let p = plan(
            &credential(
                "CredentialAccess:IAMUser/AnomalousBehavior",
                8.0,
                "AKIAIOSFODNN7EXAMPLE",
                "IAMUser",
                "alice",
            ),
            &c,
        );
        assert_eq!(p.rule, "revoke-user-credentials");
        assert_eq!(
            names(&p),
            [
                "deactivate-access-key",
                "revoke-user-sessions",
                "remove-login-profile",
                "notify"
            ]
        );
        assert!(p.has_containment());
        // A session key of the user: nothing to deactivate, the sessions are still revoked.
        let p = plan(
            &credential(
                "Exfiltration:IAMUser/AnomalousBehavior",
                8.0,
                "ASIAIOSFODNN7EXAMPLE",
                "IAMUser",
                "alice",
            ),
            &c,
        );
        assert_eq!(
            names(&p),
            ["revoke-user-sessions", "remove-login-profile", "notify"]
        );
        // Below HIGH the password stays when the threshold is lowered; `never` keeps it always.
        let lowered = Config {
            severity_threshold: 4.0,
            ..Config::for_tests()
        };
        let medium = credential(
            "Persistence:IAMUser/AnomalousBehavior",
            5.0,
            "AKIAIOSFODNN7EXAMPLE",
            "IAMUser",
            "alice",
        );
        assert_eq!(
            names(&plan(&medium, &lowered)),
            ["deactivate-access-key", "revoke-user-sessions", "notify"]
        );
        let never = Config {
            remove_login_severity: None,
            ..Config::for_tests()
        };
        let high = credential(
            "Impact:IAMUser/AnomalousBehavior",
            9.0,
            "AKIAIOSFODNN7EXAMPLE",
            "IAMUser",
            "alice",
        );
        assert!(!names(&plan(&high, &never)).contains(&"remove-login-profile"));
        assert_eq!(plan(&medium, &c).rule, NOTIFY_RULE);
    }

    #[test]
    fn role_sessions_are_revoked_and_an_exfiltrated_instance_loses_its_profile() {
        let c = Config::for_tests();
        let p = plan(
            &credential(
                "PrivilegeEscalation:IAMUser/AnomalousBehavior",
                8.0,
                "ASIAIOSFODNN7EXAMPLE",
                "AssumedRole",
                "deploy",
            ),
            &c,
        );
        assert_eq!(p.rule, "revoke-role-sessions");
        assert_eq!(names(&p), ["revoke-role-sessions", "notify"]);
        let p = plan(
            &credential(
                "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                8.0,
                "ASIAIOSFODNN7EXAMPLE",
                "AssumedRole",
                "web",
            ),
            &c,
        );
        assert_eq!(p.rule, "revoke-instance-credentials");
        assert_eq!(
            names(&p),
            [
                "revoke-instance-sessions",
                "detach-instance-profile",
                "notify"
            ]
        );
        let whole = Config {
            revoke_whole_role_on_exfiltration: true,
            ..Config::for_tests()
        };
        let exfil = credential(
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            8.0,
            "ASIAIOSFODNN7EXAMPLE",
            "AssumedRole",
            "web",
        );
        assert_eq!(
            names(&plan(&exfil, &whole)),
            ["revoke-role-sessions", "detach-instance-profile", "notify"]
        );
        assert_eq!(p.actions[1].resource(), "i-0123456789abcdef0");
    }

    #[test]
    fn root_service_linked_identity_center_and_recon_only_notify_with_a_reason() {
        let c = Config::for_tests();
        let t = "UnauthorizedAccess:IAMUser/MaliciousIPCaller";
        let root = plan(
            &credential(t, 9.0, "AKIAIOSFODNN7EXAMPLE", "Root", "root"),
            &c,
        );
        assert_eq!(root.rule, "root-credentials");
        assert!(root.reason.contains("root"));
        for (name, needle) in [
            ("AWSServiceRoleForECS", "service-linked"),
            ("AWSReservedSSO_Admin_0123456789abcdef", "Identity Center"),
        ] {
            let p = plan(
                &credential(t, 9.0, "ASIAIOSFODNN7EXAMPLE", "AssumedRole", name),
                &c,
            );
            assert_eq!(p.rule, "cannot-revoke-principal");
            assert!(p.reason.contains(needle), "{}", p.reason);
            assert!(!p.changes_resources());
        }
        let fed = plan(
            &credential(t, 9.0, "ASIAIOSFODNN7EXAMPLE", "FederatedUser", "bob"),
            &c,
        );
        assert_eq!(fed.rule, "cannot-revoke-principal");
        for t in [
            "Recon:IAMUser/MaliciousIPCaller",
            "Policy:IAMUser/RootCredentialUsage",
            "PenTest:IAMUser/KaliLinux",
        ] {
            let p = plan(
                &credential(t, 9.0, "AKIAIOSFODNN7EXAMPLE", "IAMUser", "alice"),
                &c,
            );
            assert_eq!(p.rule, NOTIFY_RULE, "{t}");
        }
    }
}
