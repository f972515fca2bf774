//! What a finding gets: the overrides no playbook changes, then the response the team's playbook
//! file decides (`rules.rs`; the default, `infra/playbooks/default.toml`, is the tables below, as
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

use crate::actions::registry::ActionKind;
use crate::config::Config;
use crate::incident::asff::CustomAction;
use crate::incident::{
    AccessKeyRef, ArtifactKind, ArtifactRef, BucketRef, FunctionRef, Incident, Principal, Resource,
    SequenceRef, TaskRef,
};
use crate::plan::{Action, Plan};
use crate::rules::Response;
use crate::shell::{self, Command};

/// Decides what to do about an incident: the overrides no playbook changes, then the playbook's
/// first matching rule (`rules.rs`), then what that response means for the resource's kind.
pub fn plan(incident: &Incident, config: &Config) -> Plan {
    if let Some(p) = overrides(incident, config) {
        return p;
    }
    let (response, decided) = match config.playbook.decide(incident, config.severity_threshold) {
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
            plan_instance(incident, &instance.instance_id, response, config)
        }
        Resource::AccessKey(key) => plan_key(incident, key, response, config),
        Resource::Artifact(a) => plan_artifact(incident, a, response),
        Resource::Function(f) => plan_function(incident, f, response, config),
        Resource::Bucket(b) => plan_bucket(incident, b, response, config),
        Resource::Task(t) => plan_task(incident, t, response),
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

/// An EBS snapshot or AMI: `contain` takes away every public and cross-account permission (AWS's
/// guidance for a compromised snapshot or AMI: do not let others use it); nothing else changes it.
fn plan_artifact(incident: &Incident, a: &ArtifactRef, response: Response) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let what = match a.kind {
        ArtifactKind::Snapshot => "EBS snapshot",
        ArtifactKind::Image => "AMI",
    };
    let about = format!("{family} finding about {what} {}", a.id);
    match response {
        Response::Contain => Plan {
            rule: UNSHARE_RULE,
            reason: format!("{about}: no one else may use it"),
            actions: unshare(a),
            decided_by: None,
        },
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}: awaiting approval. To stop sharing it, select the finding in Security \
                 Hub and choose the custom action FbQuarantine"
            ),
        ),
        _ => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// A Lambda function (AWS's guidance for a compromised function: stop its executions, cut its
/// triggers and network, revoke what its role issued to it): `contain` does all four; `ask` tells
/// the team how; anything else notifies. Firebreak's own functions and protected roles are never
/// touched.
fn plan_function(
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

/// An S3 bucket or object (AWS's guidance: block public access, contain the credentials that were
/// used; for malware, keep the object from being read): `contain` does that, `ask` tells the team
/// how; anything else notifies.
fn plan_bucket(incident: &Incident, b: &BucketRef, response: Response, config: &Config) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on {}",
        incident.severity,
        incident.resource_name()
    );
    match response {
        Response::Contain => lock_bucket(b, about, config),
        Response::Ask => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}: awaiting approval. To lock it, select the finding in Security Hub and \
                 choose the custom action FbQuarantine"
            ),
        ),
        _ => Plan::notify_only(NOTIFY_RULE, about),
    }
}

/// The rule of a bucket that is locked (public access blocked, or malware made unreadable).
pub const LOCK_BUCKET_RULE: &str = "lock-bucket";

/// A malicious object: the statement that keeps it unread. A bucket: Block Public Access on, and
/// the caller's sessions revoked when the finding names a user or role Firebreak may revoke.
fn lock_bucket(b: &BucketRef, about: String, config: &Config) -> Plan {
    let bucket = b.name.clone();
    if b.object_key.is_some() {
        return Plan {
            rule: LOCK_BUCKET_RULE,
            reason: format!("{about}: no one but the security roles may read it"),
            actions: vec![
                Action::DenyMalwareReads {
                    bucket,
                    readers: config.malware_readers.clone(),
                },
                Action::Notify,
            ],
            decided_by: None,
        };
    }
    let mut actions = vec![Action::BlockPublicAccess { bucket }];
    let mut reason = format!("{about}: no public access");
    match b.caller.as_ref().map(AccessKeyRef::principal) {
        Some(p) if protected(&p, config).is_some() => reason.push_str(
            "; the caller is one of Firebreak's own or protected roles: a human must contain it",
        ),
        Some(Principal::IamUser { user_name, .. }) => {
            reason.push_str(&format!("; the sessions of user {user_name} revoked"));
            actions.push(Action::RevokeUserSessions { user_name });
        }
        Some(Principal::Role { role_name, .. }) => {
            reason.push_str(&format!("; the sessions of role {role_name} revoked"));
            actions.push(Action::RevokeRoleSessions { role_name });
        }
        Some(_) => reason.push_str("; the caller's credentials cannot be revoked by IAM policy"),
        None => {}
    }
    actions.push(Action::Notify);
    Plan {
        rule: LOCK_BUCKET_RULE,
        reason,
        actions,
        decided_by: None,
    }
}

/// An attack sequence: each member's own plan (the playbook decides for each resource, with the
/// sequence's type and severity), one after the other, told once.
fn plan_sequence(incident: &Incident, seq: &SequenceRef, config: &Config) -> Plan {
    let mut actions = Vec::new();
    for p in member_plans(incident, seq, config) {
        actions.extend(p.actions.into_iter().filter(|a| *a != Action::Notify));
    }
    actions.push(Action::Notify);
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

/// An ECS task on Fargate: `contain` stops it (a team's explicit choice: the default playbook
/// only notifies); anything else notifies with the task, how to find its network interface, and
/// AWS's guidance.
fn plan_task(incident: &Incident, t: &TaskRef, response: Response) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on ECS task {} (cluster {})",
        incident.severity,
        shell::shown(&t.task_arn),
        shell::shown(&t.cluster)
    );
    match response {
        Response::Contain => Plan {
            rule: STOP_TASK_RULE,
            reason: format!("{about}: stopped (the playbook chose to contain tasks)"),
            actions: vec![
                Action::StopTask {
                    cluster: t.cluster.clone(),
                    task_arn: t.task_arn.clone(),
                },
                Action::Notify,
            ],
            decided_by: None,
        },
        _ => Plan::notify_only(
            NOTIFY_RULE,
            format!(
                "{about}. Its network interface: {}. {} To stop it, choose FbQuarantine on the \
                 finding in Security Hub, or a playbook rule with resource = \"task\" and \
                 response = \"contain\"",
                Command::new("aws ecs describe-tasks")
                    .arg("--cluster", shell::ECS_CLUSTER, &t.cluster)
                    .arg("--tasks", shell::ECS_TASK, &t.task_arn)
                    .words("--query 'tasks[].attachments[].details'")
                    .or_note(|c| c),
                not_acted_on("ECSCluster")
            ),
        ),
    }
}

/// The rule of an ECS task that is stopped.
pub const STOP_TASK_RULE: &str = "stop-compromised-task";

/// The rule of a Lambda function that is stopped.
pub const STOP_FUNCTION_RULE: &str = "stop-compromised-function";

/// Firebreak's own function, or one running as a protected role, is never stopped.
fn own_function(f: &FunctionRef, config: &Config) -> Option<Plan> {
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
fn stop_function(f: &FunctionRef) -> Vec<Action> {
    let function = || f.name.clone();
    let mut actions = vec![
        Action::StopFunction {
            function: function(),
        },
        Action::DisableEventSources {
            function: function(),
        },
        Action::IsolateFunction {
            function: function(),
        },
    ];
    actions.push(Action::RevokeFunctionSessions {
        role_name: f.role_name.clone(),
        function: function(),
    });
    actions.push(Action::Notify);
    actions
}

/// The rule of a snapshot or AMI whose sharing is taken away.
pub const UNSHARE_RULE: &str = "unshare-artifact";

fn unshare(a: &ArtifactRef) -> Vec<Action> {
    vec![
        Action::Unshare {
            kind: a.kind,
            id: a.id.clone(),
        },
        Action::Notify,
    ]
}

/// AWS's remediation guidance for each kind of resource GuardDuty reports that Firebreak does not
/// act on yet (GuardDuty's resource type, or Security Hub's), in the GuardDuty user guide.
const GUIDANCE: &[(&[&str], &str, &str)] = &[
    (
        &["S3Bucket", "AwsS3Bucket"],
        "an S3 bucket",
        "compromised-s3",
    ),
    (
        &["S3Object", "AwsS3Object"],
        "a malicious S3 object",
        "compromised-s3object-malware-protection-gdu",
    ),
    (
        &["EBSSnapshot", "AwsEc2Snapshot"],
        "an EBS snapshot",
        "compromised-snapshot",
    ),
    (&["EC2Image", "AwsEc2Image"], "an AMI", "compromised-ami"),
    (
        &["ECSCluster", "AwsEcsCluster", "AwsEcsTask"],
        "an ECS cluster or task",
        "compromised-ecs",
    ),
    (
        &["EKSCluster", "AwsEksCluster"],
        "a Kubernetes pod, container or cluster",
        "guardduty-remediate-kubernetes",
    ),
    (
        &["Container", "Container"],
        "a standalone container",
        "remediate-compromised-standalone-container",
    ),
    (
        &[
            "RDSDBInstance",
            "RDSLimitlessDB",
            "AwsRdsDbInstance",
            "AwsRdsDbCluster",
        ],
        "a database",
        "guardduty-remediate-compromised-database-rds",
    ),
    (
        &["Lambda", "AwsLambdaFunction"],
        "a Lambda function",
        "remediate-lambda-protection-finding-types",
    ),
];

/// Why a finding about another kind of resource only notifies, with AWS's guidance for it.
fn not_acted_on(resource_type: &str) -> String {
    let url = |page: &str| format!("https://docs.aws.amazon.com/guardduty/latest/ug/{page}.html");
    match GUIDANCE
        .iter()
        .find(|(types, _, _)| types.contains(&resource_type))
    {
        Some((_, what, page)) => format!(
            "Firebreak does not act on {what} automatically yet: follow AWS's guidance, {}",
            url(page)
        ),
        None => format!(
            "Firebreak does not act on this resource type automatically: see AWS's remediation \
             guidance, {}",
            url("guardduty_remediate")
        ),
    }
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

/// An instance: the response's actions.
fn plan_instance(incident: &Incident, id: &str, response: Response, config: &Config) -> Plan {
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

/// The rule of a finding the playbook only notifies about.
pub const NOTIFY_RULE: &str = "notify-only";

/// The rule of a response that waits for a human's approval.
pub const ASK_RULE: &str = "ask-approval";

/// Evidence now, the instance tagged as awaiting approval, the team told how to approve.
fn ask(id: &str) -> Vec<Action> {
    let mut actions = quarantine(id, None);
    actions.insert(
        0,
        Action::AwaitApproval {
            instance_id: id.to_string(),
        },
    );
    actions
}

/// Credentials: `contain` is the credential rows below; nothing else changes them (`ask` tells
/// the team to approve with FbRevoke; there is no evidence to preserve).
fn plan_key(incident: &Incident, key: &AccessKeyRef, response: Response, config: &Config) -> Plan {
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

/// Containing credentials (the credential rows of the module table): IAM cannot restrict the root
/// user, service-linked roles, Identity Center roles; a user's key and sessions, a role's sessions.
fn credential_containment(incident: &Incident, key: &AccessKeyRef, config: &Config) -> Plan {
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
        Some(access_key_id) => actions.push(Action::DeactivateAccessKey {
            user_name: user_name.clone(),
            access_key_id,
        }),
        None => reason.push_str(
            " (the finding names a session, not a long-term key: rotate the key that issued it)",
        ),
    }
    actions.push(Action::RevokeUserSessions {
        user_name: user_name.clone(),
    });
    if config.remove_login_severity.is_some_and(|s| severity >= s) {
        actions.push(Action::RemoveLoginProfile { user_name });
    }
    actions.push(Action::Notify);
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
    let mut actions = vec![Action::RevokeRoleSessions {
        role_name: role_name.clone(),
    }];
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
                actions[0] = Action::RevokeInstanceSessions {
                    role_name: role_name.clone(),
                    instance_id: instance_id.clone(),
                };
            }
            actions.push(Action::DetachInstanceProfile { instance_id });
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
    actions.push(Action::Notify);
    Plan {
        rule,
        reason,
        actions,
        decided_by: None,
    }
}

/// Whether a human chose the plan (an analyst's custom action, or an approval, which is one): every
/// rule [`plan_for_action`] names starts `analyst-`.
pub fn decided_by_a_human(plan: &Plan) -> bool {
    plan.rule.starts_with("analyst-")
}

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
            actions: vec![Action::Notify],
            ..by_analyst("analyst-escalation", "escalation")
        },
        CustomAction::FbQuarantine | CustomAction::FbRelease
            if matches!(
                incident.resource,
                Resource::Artifact(_)
                    | Resource::Bucket(_)
                    | Resource::Function(_)
                    | Resource::Task(_)
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

/// The full quarantine of an instance (isolation, the network ACL deny when configured, out of
/// service, evidence, snapshots, tags) or, without `isolate`, evidence only; then the team is told.
fn quarantine(id: &str, isolate: Option<&Config>) -> Vec<Action> {
    let instance_id = || id.to_string();
    let mut actions = Vec::new();
    if let Some(config) = isolate {
        actions.push(Action::IsolateInstance {
            instance_id: instance_id(),
        });
        if config.network_acl_deny {
            actions.push(Action::DenyNetworkAcl {
                instance_id: instance_id(),
            });
        }
        actions.push(Action::TakeOutOfService {
            instance_id: instance_id(),
        });
    }
    actions.extend([
        Action::ProtectEvidence {
            instance_id: instance_id(),
        },
        Action::SnapshotVolumes {
            instance_id: instance_id(),
        },
        Action::TagInstance {
            instance_id: instance_id(),
        },
        Action::Notify,
    ]);
    actions
}

/// FbQuarantine, FbRelease on a snapshot or AMI, a bucket or object, a Lambda function: the rule,
/// what was asked, the actions; or the plan that refuses (Firebreak's own function).
fn beyond_instances(
    action: CustomAction,
    incident: &Incident,
    config: &Config,
) -> Result<(&'static str, &'static str, Vec<Action>), Plan> {
    let quarantine = action == CustomAction::FbQuarantine;
    let release = |a: Action| vec![a, Action::Notify];
    Ok(match &incident.resource {
        Resource::Artifact(a) if quarantine => ("analyst-unshare", "stop sharing", unshare(a)),
        Resource::Artifact(a) => (
            "analyst-restore-sharing",
            "restore sharing",
            release(Action::RestoreSharing {
                kind: a.kind,
                id: a.id.clone(),
            }),
        ),
        Resource::Bucket(b) if quarantine => (
            "analyst-lock-bucket",
            "lock",
            lock_bucket(b, String::new(), config).actions,
        ),
        Resource::Bucket(b) => (
            "analyst-release-bucket",
            "release",
            release(Action::ReleaseBucket {
                bucket: b.name.clone(),
            }),
        ),
        Resource::Function(f) => {
            if let Some(p) = own_function(f, config) {
                return Err(p);
            }
            function_actions(action, f)
        }
        Resource::Task(t) if quarantine => (
            "analyst-stop-task",
            "stop",
            vec![
                Action::StopTask {
                    cluster: t.cluster.clone(),
                    task_arn: t.task_arn.clone(),
                },
                Action::Notify,
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
                Action::ReleaseFunction {
                    function: f.name.clone(),
                },
                Action::Notify,
            ],
        ),
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
                Action::ReleaseInstance {
                    instance_id: id.to_string(),
                },
                Action::Notify,
            ],
        ),
    }
}

/// FbRevoke: the playbook's credential rows, with the family and severity rows decided by the
/// analyst: root and the principals IAM cannot restrict still only notify.
fn plan_revoke(incident: &Incident, key: &AccessKeyRef, config: &Config) -> Plan {
    // The analyst decided: the family and severity rows do not apply; what IAM cannot restrict, and
    // Firebreak's own roles, still only notify.
    let mut p = credential_containment(incident, key, config);
    // The analyst's choice is the whole role: every session of it, not only the instance's.
    for a in &mut p.actions {
        if let Action::RevokeInstanceSessions { role_name, .. } = a {
            *a = Action::RevokeRoleSessions {
                role_name: std::mem::take(role_name),
            };
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
                .retain(|a| !matches!(a, Action::RemoveLoginProfile { .. }));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::{InstanceRef, ResourceRole, Source};

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
            security_hub: None,
        }
    }

    #[test]
    fn the_task_command_prints_only_a_valid_cluster_and_task() {
        use crate::shell::testing::{assert_pasteable, HOSTILE};
        let reason = |cluster: &str, task_arn: &str| {
            let t = TaskRef {
                cluster: cluster.into(),
                task_arn: task_arn.into(),
            };
            let i = Incident {
                resource: Resource::Task(t.clone()),
                ..incident("CryptoCurrency:Runtime/BitcoinTool.B", 8.0, None)
            };
            plan_task(&i, &t, Response::Notify).reason
        };
        let (cluster, task) = (
            "arn:aws:ecs:us-east-1:123456789012:cluster/prod",
            "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef",
        );
        let ordinary = reason(cluster, task);
        assert!(
            ordinary.contains(&format!(
                "Its network interface: aws ecs describe-tasks --cluster {cluster} --tasks {task} \
                 --query 'tasks[].attachments[].details'. Firebreak"
            )),
            "{ordinary}"
        );
        for hostile in HOSTILE {
            for text in [reason(hostile, task), reason(cluster, hostile)] {
                assert!(
                    text.contains("Its network interface: (not printed: "),
                    "{text}"
                );
                assert_pasteable(&text, &ordinary);
            }
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
    fn other_resources_notify_with_aws_s_guidance_for_them() {
        let other = |t: &str| Incident {
            resource: Resource::Other {
                resource_type: t.into(),
            },
            ..incident("Execution:Lambda/MaliciousFile", 9.0, None)
        };
        let c = Config::for_tests();
        for (t, page) in [
            ("Lambda", "remediate-lambda-protection-finding-types.html"),
            ("S3Bucket", "compromised-s3.html"),
            (
                "AwsS3Object",
                "compromised-s3object-malware-protection-gdu.html",
            ),
            ("ECSCluster", "compromised-ecs.html"),
            (
                "RDSDBInstance",
                "guardduty-remediate-compromised-database-rds.html",
            ),
            ("Starship", "guardduty_remediate.html"),
        ] {
            let p = plan(&other(t), &c);
            assert_eq!(p.actions, vec![Action::Notify], "{t}");
            assert!(p.reason.contains(page), "{t}: {}", p.reason);
        }
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
        assert_eq!(p.actions, vec![Action::Notify]);
        assert!(!p.changes_resources());
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
