//! The default playbook file (`infra/playbooks/default.toml`) decides exactly what the playbook
//! tables in code decided before it (the `legacy` module: those tables as they were, frozen here):
//! every row of docs/playbook.md's tables, and every payload of the shared corpus, at several
//! severities, sample or not, under the default threshold and a lowered one, gets the same actions.

use std::path::PathBuf;

use firebreak::config::Config;
use firebreak::incident::{
    AccessKeyRef, Incident, InstanceRef, Principal, Resource, ResourceRole, Source,
};
use firebreak::kind::ActionKind;
use firebreak::plan::Action;
use serde_json::Value;

#[allow(dead_code)]
mod legacy {
    use firebreak::config::Config;
    use firebreak::incident::{AccessKeyRef, Incident, Principal, Resource, ResourceRole};
    use firebreak::kind::ActionKind;
    use firebreak::plan::{Action, Target};

    pub struct Plan {
        pub rule: &'static str,
        pub reason: String,
        pub actions: Vec<Action>,
    }

    impl Plan {
        fn notify_only(rule: &'static str, reason: String) -> Plan {
            Plan {
                rule,
                reason,
                actions: vec![Action::notify()],
            }
        }
    }

    const PROTECTED_RULE: &str = "protected-principal";

    const COMPROMISE_FAMILIES: [&str; 5] = [
        "Backdoor",
        "CryptoCurrency",
        "Trojan",
        "Impact",
        "Execution",
    ];
    const ACTOR_FAMILIES: [&str; 1] = ["UnauthorizedAccess"];
    const INSTANCE_RESOURCES: [&str; 2] = ["EC2", "Runtime"];

    /// Families of IAM findings that mean the credentials are being abused.
    pub const CREDENTIAL_FAMILIES: [&str; 8] = [
        "UnauthorizedAccess",
        "CredentialAccess",
        "Exfiltration",
        "Impact",
        "Persistence",
        "PrivilegeEscalation",
        "Discovery",
        "Stealth",
    ];

    /// Decides what to do about an incident.
    pub fn plan(incident: &Incident, config: &Config) -> Plan {
        let instance = match &incident.resource {
            Resource::Instance(instance) => instance,
            Resource::AccessKey(key) => return plan_credentials(incident, key, config),
            // (Snapshots and AMIs were "other" resources then.)
            _ => {
                return Plan::notify_only(
                    "not-acted-on",
                    "Firebreak does not act on this resource type automatically".into(),
                )
            }
        };
        if instance.tag(&config.exempt_tag) == Some("true") {
            return Plan::notify_only(
                "exempt",
                format!("the instance is tagged {}=true", config.exempt_tag),
            );
        }
        if let Some(p) = sample_or_archived(incident, config) {
            return p;
        }
        let (family, resource_kind) = family_and_kind(&incident.finding_type);
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
        if let Some(p) = below_threshold(incident, config) {
            return p;
        }
        Plan {
            rule: "quarantine-compromised-instance",
            reason: format!(
                "{family} finding of severity {} on the instance",
                incident.severity
            ),
            actions: quarantine(&instance.instance_id, Some(config)),
        }
    }

    /// `Backdoor:EC2/C&CActivity.B` → (`Backdoor`, `EC2`).
    fn family_and_kind(finding_type: &str) -> (&str, &str) {
        let (family, rest) = finding_type.split_once(':').unwrap_or((finding_type, ""));
        (family, rest.split('/').next().unwrap_or(""))
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

    fn below_threshold(incident: &Incident, config: &Config) -> Option<Plan> {
        (incident.severity < config.severity_threshold).then(|| {
            Plan::notify_only(
                "below-threshold",
                format!(
                    "severity {} is below the containment threshold {}",
                    incident.severity, config.severity_threshold
                ),
            )
        })
    }

    /// The credential rows of the playbook (see the module table).
    fn plan_credentials(incident: &Incident, key: &AccessKeyRef, config: &Config) -> Plan {
        if let Some(p) = sample_or_archived(incident, config) {
            return p;
        }
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
        let (family, resource_kind) = family_and_kind(&incident.finding_type);
        if resource_kind != "IAMUser" || !CREDENTIAL_FAMILIES.contains(&family) {
            return Plan::notify_only(
                "notify-only-family",
                format!("{family} findings about credentials are notify-only"),
            );
        }
        if let Some(p) = below_threshold(incident, config) {
            return p;
        }
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

    /// Firebreak's own roles (and those listed in `FIREBREAK_PROTECTED_PRINCIPALS`) are never revoked:
    /// a deny on them would cut Firebreak's own sessions, and it would stop responding in the account.
    fn protected(principal: &Principal, config: &Config) -> Option<Plan> {
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
        }
    }

    /// The full quarantine of an instance (isolation, the network ACL deny when configured, out of
    /// service, evidence, snapshots, tags) or, without `isolate`, evidence only; then the team is told.
    fn quarantine(id: &str, isolate: Option<&Config>) -> Vec<Action> {
        let instance_id = || id.to_string();
        let mut actions = Vec::new();
        if let Some(config) = isolate {
            actions.push(Action::on_instance(
                ActionKind::IsolateInstance,
                instance_id(),
            ));
            if config.network_acl_deny {
                actions.push(Action::on_instance(
                    ActionKind::DenyNetworkAcl,
                    instance_id(),
                ));
            }
            actions.push(Action::on_instance(
                ActionKind::TakeOutOfService,
                instance_id(),
            ));
        }
        actions.extend([
            Action::on_instance(ActionKind::ProtectEvidence, instance_id()),
            Action::on_instance(ActionKind::SnapshotVolumes, instance_id()),
            Action::on_instance(ActionKind::TagInstance, instance_id()),
            Action::notify(),
        ]);
        actions
    }
}

fn instance(finding_type: &str, severity: f64, role: Option<ResourceRole>) -> Incident {
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
        ..instance(finding_type, severity, None)
    }
}

fn configs() -> Vec<Config> {
    let with = |pairs: &'static [(&'static str, &'static str)]| {
        Config::from_lookup(move |name| match name {
            "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
            n => pairs
                .iter()
                .find(|(k, _)| *k == n)
                .map(|(_, v)| v.to_string()),
        })
        .unwrap()
    };
    vec![
        with(&[]),
        with(&[("FIREBREAK_SEVERITY_THRESHOLD", "4")]),
        with(&[
            ("FIREBREAK_NETWORK_ACL_DENY", "false"),
            ("FIREBREAK_EXFILTRATION_REVOCATION", "role"),
            ("FIREBREAK_ACT_ON_SAMPLE_FINDINGS", "true"),
        ]),
        with(&[("FIREBREAK_PROTECTED_PRINCIPALS", "alice,web-role")]),
    ]
}

/// The same actions from the playbook file as from the frozen tables, for the incident as given,
/// at other severities, as a sample and archived, and exempt; under every config.
fn same_decision(incident: &Incident, what: &str) -> usize {
    let mut variants = Vec::new();
    for severity in [incident.severity, 2.0, 4.0, 5.5, 6.9, 7.0, 8.0, 9.5] {
        for (sample, archived) in [(false, false), (true, false), (false, true)] {
            variants.push(Incident {
                severity,
                sample,
                archived,
                ..incident.clone()
            });
        }
    }
    if let Resource::Instance(i) = &incident.resource {
        let mut exempt = i.clone();
        exempt.tags.push(("firebreak:exempt".into(), "true".into()));
        variants.push(Incident {
            resource: Resource::Instance(exempt),
            ..incident.clone()
        });
    }
    let mut compared = 0;
    for config in configs() {
        for v in &variants {
            let old = legacy::plan(v, &config);
            let new = firebreak::playbook::plan(v, &config);
            assert_eq!(
                new.actions, old.actions,
                "{what} severity {} sample {} archived {}: the file decided {:?} ({}), the tables {:?} ({})",
                v.severity, v.sample, v.archived, new.decided_by, new.rule, old.rule, old.reason
            );
            // Overrides and refusals keep their rule; a protected principal still asks a human.
            if old.rule == "protected-principal" || old.rule == "exempt" {
                assert_eq!(new.rule, old.rule, "{what}");
            }
            compared += 1;
        }
    }
    compared
}

#[test]
fn every_row_of_the_readme_tables_gets_the_same_decision() {
    use ResourceRole::{Actor, Target};
    let mut compared = 0;
    // Instances: the five compromise families (EC2 and Runtime), UnauthorizedAccess by role, the
    // notify-only families.
    for family in [
        "Backdoor",
        "CryptoCurrency",
        "Trojan",
        "Impact",
        "Execution",
    ] {
        for kind in ["EC2", "Runtime"] {
            let t = format!("{family}:{kind}/Example");
            for role in [None, Some(Actor), Some(Target)] {
                compared += same_decision(&instance(&t, 8.0, role), &t);
            }
        }
    }
    for t in [
        "UnauthorizedAccess:EC2/SSHBruteForce",
        "UnauthorizedAccess:Runtime/X",
    ] {
        for role in [None, Some(Actor), Some(Target)] {
            compared += same_decision(&instance(t, 8.0, role), t);
        }
    }
    for t in [
        "Recon:EC2/PortProbeUnprotectedPort",
        "Policy:EC2/Something",
        "Behavior:EC2/NetworkPortUnusual",
        "Discovery:Runtime/X",
        "PenTest:EC2/X",
        "Backdoor:Lambda/X",
        "CryptoCurrency:IAMUser/X",
    ] {
        compared += same_decision(&instance(t, 8.0, Some(Actor)), t);
    }
    // Credentials: root, service-linked, Identity Center, federated, unusable; the families; users
    // (long-term and session keys), roles, instance credential exfiltration.
    let families = [
        legacy::CREDENTIAL_FAMILIES.as_slice(),
        &["Recon", "Policy", "PenTest", "ResourceConsumption"],
    ]
    .concat();
    let principals = [
        ("AKIAIOSFODNN7EXAMPLE", "IAMUser", "alice"),
        ("AKIAIOSFODNN7EXAMPLE", "IAMUser", "bob"),
        ("ASIAIOSFODNN7EXAMPLE", "IAMUser", "bob"),
        ("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "web-role"),
        ("ASIAIOSFODNN7EXAMPLE", "AssumedRole", "app-role"),
        (
            "ASIAIOSFODNN7EXAMPLE",
            "AssumedRole",
            "AWSServiceRoleForECS",
        ),
        (
            "ASIAIOSFODNN7EXAMPLE",
            "AssumedRole",
            "AWSReservedSSO_Admin_0123",
        ),
        ("ASIAIOSFODNN7EXAMPLE", "Root", "root"),
        ("ASIAIOSFODNN7EXAMPLE", "FederatedUser", "carol"),
        ("", "", ""),
    ];
    for family in &families {
        for t in [
            format!("{family}:IAMUser/AnomalousBehavior"),
            format!("{family}:EC2/X"),
        ] {
            for (key, user_type, name) in principals {
                compared += same_decision(&credential(&t, 8.0, key, user_type, name), &t);
            }
        }
    }
    for t in [
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.InsideAWS",
    ] {
        for (key, user_type, name) in principals {
            compared += same_decision(&credential(t, 8.0, key, user_type, name), t);
        }
    }
    // Other resources only notify.
    let mut s3 = instance("Policy:S3/BucketBlockPublicAccessDisabled", 8.0, None);
    s3.resource = Resource::Other {
        resource_type: "S3Bucket".into(),
    };
    compared += same_decision(&s3, "S3");
    assert!(compared > 20_000, "{compared} comparisons");
}

fn corpus() -> PathBuf {
    std::env::var_os("FIREBREAK_EVENTS_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/events-corpus")
        })
}

#[test]
fn every_corpus_payload_gets_the_same_decision() {
    let root = corpus();
    let manifest: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(root.join("manifest.json")).unwrap())
            .unwrap();
    let mut decided = 0;
    for entry in &manifest {
        let file = entry["file"].as_str().unwrap();
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        for (i, payload) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let parsed = serde_json::from_str::<Value>(payload)
                .ok()
                .and_then(|v| Incident::from_event(&v).ok());
            let whole = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| Incident::from_event(&v).ok());
            if let Some(incident) = parsed.or(if i == 0 { whole } else { None }) {
                same_decision(&incident, &format!("{file}#{i}"));
                decided += 1;
            }
        }
    }
    assert!(decided >= 45, "{decided} corpus incidents compared");
}

#[test]
fn the_rule_that_decided_is_named() {
    let config = &configs()[0];
    let p = firebreak::playbook::plan(&instance("Trojan:EC2/DropPoint", 8.0, None), config);
    assert_eq!(
        p.decided_by.as_deref(),
        Some("rule 1: compromised instance → contain")
    );
    assert!(p
        .reason
        .starts_with("rule 1: compromised instance → contain: "));
    assert!(p.has(ActionKind::IsolateInstance));
    let p = firebreak::playbook::plan(&instance("Recon:EC2/Portscan", 8.0, None), config);
    assert_eq!(
        p.decided_by.as_deref(),
        Some("rule 13: everything else → notify")
    );
    assert_eq!(p.actions, vec![Action::notify()]);
    let _ = Principal::Root;
}

#[test]
fn the_playbook_command_prints_each_decision_and_refuses_a_bad_playbook() {
    let bin = env!("CARGO_BIN_EXE_firebreak-playbook");
    let event = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events/guardduty-backdoor-c2-instance.json");
    let out = std::process::Command::new(bin)
        .arg(&event)
        .env_remove("FIREBREAK_PLAYBOOK_FILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["decided_by"], "rule 1: compromised instance → contain");
    assert_eq!(line["playbook"], "built-in default");
    let planned: Vec<&str> = line["plan"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["action"].as_str())
        .collect();
    assert!(planned.contains(&"isolate-instance"), "{line}");

    let bad = std::env::temp_dir().join(format!("bad-playbook-{}.toml", std::process::id()));
    std::fs::write(
        &bad,
        "version = 1\n[[rule]]\nname = \"typo\"\nresponse = \"contian\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .arg("--playbook")
        .arg(&bad)
        .arg(&event)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rule 1 (\"typo\"): unknown response \"contian\""),
        "{err}"
    );
}
