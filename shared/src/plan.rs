//! A plan: what the playbook decided ([`Plan`]), as a list of serialisable [`Action`]s. Plain
//! data: dry-run prints it, tests compare it, notes list it.

use serde::Serialize;

use crate::incident::ArtifactKind;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};

/// One action Firebreak will take: its kind (its name; its permissions and tags: its action's
/// declaration in the registry) and what it acts on. Serialises as the old tagged form,
/// `{"action":"<kind>", <target's fields>}` (pinned for every kind by this file's tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    /// Its kind (serialised as `"action"`).
    #[serde(rename = "action")]
    pub kind: ActionKind,
    /// What it acts on (its fields follow `"action"`).
    #[serde(flatten)]
    pub target: Target,
}

/// What an action acts on: one variant per shape of resource (the kind says what is done to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Target {
    /// An EC2 instance (quarantine, evidence, approval, profile, release).
    Instance {
        /// `i-…`.
        instance_id: String,
    },
    /// Exactly one long-term access key of a user.
    AccessKey {
        /// The key's user.
        user_name: String,
        /// `AKIA…`.
        access_key_id: String,
    },
    /// An IAM user (its sessions, its console password).
    User {
        /// The user.
        user_name: String,
    },
    /// An IAM role (its sessions).
    Role {
        /// The role.
        role_name: String,
    },
    /// The role's sessions issued to one instance.
    InstanceSessions {
        /// The role.
        role_name: String,
        /// The instance whose credentials leaked.
        instance_id: String,
    },
    /// An EBS snapshot or AMI.
    Artifact {
        /// Snapshot or image.
        kind: ArtifactKind,
        /// `snap-…` or `ami-…`.
        id: String,
    },
    /// A Lambda function.
    Function {
        /// The function's name.
        function: String,
    },
    /// The execution role's sessions issued to one function.
    FunctionSessions {
        /// The execution role the finding names; `None` when it names none. The executor revokes
        /// on the live execution role (`GetFunction`) either way.
        role_name: Option<String>,
        /// The function's name.
        function: String,
    },
    /// An S3 bucket.
    Bucket {
        /// The bucket.
        bucket: String,
    },
    /// Reads of a bucket's objects GuardDuty found malware in.
    MalwareReads {
        /// The bucket.
        bucket: String,
        /// The roles that may still read them (`FIREBREAK_MALWARE_READERS`).
        readers: Vec<String>,
    },
    /// An ECS task (Fargate).
    Task {
        /// Its cluster.
        cluster: String,
        /// The task's ARN.
        task_arn: String,
    },
    /// An RDS DB instance, and the Aurora cluster that carries its groups when it has one.
    Database {
        /// The DB instance identifier.
        db_instance: String,
        /// Its Aurora cluster, when it has one.
        cluster: Option<String>,
    },
    /// No resource: the team (notify). Serialises no field.
    Team,
}

impl Target {
    /// An instance.
    pub fn instance(instance_id: impl Into<String>) -> Target {
        Target::Instance {
            instance_id: instance_id.into(),
        }
    }

    /// A user's access key.
    pub fn access_key(user_name: impl Into<String>, access_key_id: impl Into<String>) -> Target {
        Target::AccessKey {
            user_name: user_name.into(),
            access_key_id: access_key_id.into(),
        }
    }

    /// A user.
    pub fn user(user_name: impl Into<String>) -> Target {
        Target::User {
            user_name: user_name.into(),
        }
    }

    /// A role.
    pub fn role(role_name: impl Into<String>) -> Target {
        Target::Role {
            role_name: role_name.into(),
        }
    }

    /// A role's sessions issued to an instance.
    pub fn instance_sessions(
        role_name: impl Into<String>,
        instance_id: impl Into<String>,
    ) -> Target {
        Target::InstanceSessions {
            role_name: role_name.into(),
            instance_id: instance_id.into(),
        }
    }

    /// A snapshot or image.
    pub fn artifact(kind: ArtifactKind, id: impl Into<String>) -> Target {
        Target::Artifact {
            kind,
            id: id.into(),
        }
    }

    /// A function.
    pub fn function(function: impl Into<String>) -> Target {
        Target::Function {
            function: function.into(),
        }
    }

    /// An execution role's sessions issued to a function (`role_name` as the finding names it).
    pub fn function_sessions(role_name: Option<String>, function: impl Into<String>) -> Target {
        Target::FunctionSessions {
            role_name,
            function: function.into(),
        }
    }

    /// A bucket.
    pub fn bucket(bucket: impl Into<String>) -> Target {
        Target::Bucket {
            bucket: bucket.into(),
        }
    }

    /// Reads of a bucket's malware, but by `readers`.
    pub fn malware_reads(bucket: impl Into<String>, readers: Vec<String>) -> Target {
        Target::MalwareReads {
            bucket: bucket.into(),
            readers,
        }
    }

    /// An ECS task.
    pub fn task(cluster: impl Into<String>, task_arn: impl Into<String>) -> Target {
        Target::Task {
            cluster: cluster.into(),
            task_arn: task_arn.into(),
        }
    }

    /// An RDS DB instance (in `cluster`, for Aurora).
    pub fn database(db_instance: impl Into<String>, cluster: Option<String>) -> Target {
        Target::Database {
            db_instance: db_instance.into(),
            cluster,
        }
    }

    /// The resource changed (`i-…`, a key id, a user or role name; empty for the team).
    pub fn resource(&self) -> &str {
        match self {
            Target::Instance { instance_id } => instance_id,
            Target::AccessKey { access_key_id, .. } => access_key_id,
            Target::User { user_name } => user_name,
            Target::Role { role_name } | Target::InstanceSessions { role_name, .. } => role_name,
            Target::Artifact { id, .. } => id,
            Target::Function { function } | Target::FunctionSessions { function, .. } => function,
            Target::Bucket { bucket } | Target::MalwareReads { bucket, .. } => bucket,
            Target::Task { task_arn, .. } => task_arn,
            Target::Database {
                cluster: Some(c), ..
            } => c,
            Target::Database { db_instance, .. } => db_instance,
            Target::Team => "",
        }
    }
}

impl Action {
    /// `kind` on `target`.
    pub fn new(kind: ActionKind, target: Target) -> Action {
        Action { kind, target }
    }

    /// Tell the team.
    pub fn notify() -> Action {
        Action::new(ActionKind::Notify, Target::Team)
    }

    /// `kind` on an instance.
    pub fn on_instance(kind: ActionKind, instance_id: impl Into<String>) -> Action {
        Action::new(kind, Target::instance(instance_id))
    }

    /// `kind` on a function.
    pub fn on_function(kind: ActionKind, function: impl Into<String>) -> Action {
        Action::new(kind, Target::function(function))
    }

    /// `kind` on a bucket.
    pub fn on_bucket(kind: ActionKind, bucket: impl Into<String>) -> Action {
        Action::new(kind, Target::bucket(bucket))
    }

    /// `kind` on a user.
    pub fn on_user(kind: ActionKind, user_name: impl Into<String>) -> Action {
        Action::new(kind, Target::user(user_name))
    }

    /// `kind` on a role.
    pub fn on_role(kind: ActionKind, role_name: impl Into<String>) -> Action {
        Action::new(kind, Target::role(role_name))
    }

    /// The kebab-case name used in logs, tags and notes (its kind's).
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The resource the action changes (`i-…`, a key id, a user or role name; empty for notify).
    pub fn resource(&self) -> &str {
        self.target.resource()
    }

    /// True for the actions that cut an attacker off: their failure is a containment failure.
    pub fn is_containment(&self) -> bool {
        self.kind.is_containment()
    }

    /// The instance it acts on, or whose sessions it revokes.
    pub fn instance_id(&self) -> Option<&str> {
        match &self.target {
            Target::Instance { instance_id } | Target::InstanceSessions { instance_id, .. } => {
                Some(instance_id)
            }
            _ => None,
        }
    }

    /// The user it acts on (or whose key).
    pub fn user_name(&self) -> Option<&str> {
        match &self.target {
            Target::User { user_name } | Target::AccessKey { user_name, .. } => Some(user_name),
            _ => None,
        }
    }

    /// The access key it deactivates.
    pub fn access_key_id(&self) -> Option<&str> {
        match &self.target {
            Target::AccessKey { access_key_id, .. } => Some(access_key_id),
            _ => None,
        }
    }

    /// The role whose sessions it revokes (for a function's: the one the finding names, if any).
    pub fn role_name(&self) -> Option<&str> {
        match &self.target {
            Target::Role { role_name } | Target::InstanceSessions { role_name, .. } => {
                Some(role_name)
            }
            Target::FunctionSessions { role_name, .. } => role_name.as_deref(),
            _ => None,
        }
    }

    /// The bucket it acts on.
    pub fn bucket(&self) -> Option<&str> {
        match &self.target {
            Target::Bucket { bucket } | Target::MalwareReads { bucket, .. } => Some(bucket),
            _ => None,
        }
    }

    /// The roles that may still read a bucket's malware (deny-malware-reads).
    pub fn readers(&self) -> Option<&[String]> {
        match &self.target {
            Target::MalwareReads { readers, .. } => Some(readers),
            _ => None,
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
    /// The playbook rule that decided ("rule 4: crypto in prod accounts → ask"); `None` when no
    /// playbook rule was consulted (an override, an analyst's action).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
}

impl Plan {
    /// A plan that only notifies.
    pub fn notify_only(rule: &'static str, reason: String) -> Plan {
        Plan {
            rule,
            reason,
            actions: vec![Action::notify()],
            decided_by: None,
        }
    }

    /// True when the plan has an action of this kind.
    pub fn has(&self, kind: ActionKind) -> bool {
        self.actions.iter().any(|a| a.kind == kind)
    }

    /// The first action of this kind.
    pub fn find(&self, kind: ActionKind) -> Option<&Action> {
        self.actions.iter().find(|a| a.kind == kind)
    }

    /// True when the plan changes a resource (anything beyond notifying).
    pub fn changes_resources(&self) -> bool {
        self.actions.iter().any(|a| a.kind != ActionKind::Notify)
    }

    /// True when the plan cuts an attacker off (isolation, revocation), not only gathers evidence.
    pub fn has_containment(&self) -> bool {
        self.actions.iter().any(Action::is_containment)
    }
}

/// The planned actions as outcomes, without touching anything.
pub fn dry_run(plan: &Plan) -> Vec<Outcome> {
    plan.actions
        .iter()
        .filter(|a| a.kind != ActionKind::Notify)
        .map(|a| {
            Outcome::new(
                a.kind,
                a.resource(),
                Status::Planned,
                "dry run: not carried out",
            )
        })
        .collect()
}

/// Every planned action as skipped, for `reason`.
pub fn skip_all(plan: &Plan, reason: &str) -> Vec<Outcome> {
    dry_run(plan)
        .into_iter()
        .map(|o| Outcome {
            status: Status::Skipped,
            detail: reason.to_string(),
            ..o
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActionKind::*;

    const I: &str = "i-0123456789abcdef0";
    const KEY: &str = "AKIAIOSFODNN7EXAMPLE";
    const SNAP: &str = "snap-0123456789abcdef0";
    const AMI: &str = "ami-0123456789abcdef0";
    const TASK: &str = "arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef";

    /// One action of every kind (the ones with an optional or list field twice), in [`PINNED`]'s
    /// order.
    fn one_of_each() -> Vec<Action> {
        let readers = vec![
            "arn:aws:iam::111122223333:role/analyst".to_string(),
            "arn:aws:iam::111122223333:role/forensics".to_string(),
        ];
        vec![
            Action::on_instance(IsolateInstance, I),
            Action::on_instance(DenyNetworkAcl, I),
            Action::on_instance(TakeOutOfService, I),
            Action::on_instance(ProtectEvidence, I),
            Action::on_instance(SnapshotVolumes, I),
            Action::on_instance(TagInstance, I),
            Action::on_instance(AwaitApproval, I),
            Action::new(DeactivateAccessKey, Target::access_key("alice", KEY)),
            Action::on_user(RevokeUserSessions, "alice"),
            Action::on_user(RemoveLoginProfile, "alice"),
            Action::on_role(RevokeRoleSessions, "web-role"),
            Action::new(
                RevokeInstanceSessions,
                Target::instance_sessions("web-role", I),
            ),
            Action::on_instance(DetachInstanceProfile, I),
            Action::on_instance(ReleaseInstance, I),
            Action::new(Unshare, Target::artifact(ArtifactKind::Snapshot, SNAP)),
            Action::new(RestoreSharing, Target::artifact(ArtifactKind::Image, AMI)),
            Action::on_function(StopFunction, "payments"),
            Action::on_function(DisableEventSources, "payments"),
            Action::on_function(IsolateFunction, "payments"),
            Action::new(
                RevokeFunctionSessions,
                Target::function_sessions(None, "payments"),
            ),
            Action::new(
                RevokeFunctionSessions,
                Target::function_sessions(Some("payments-role".into()), "payments"),
            ),
            Action::on_function(ReleaseFunction, "payments"),
            Action::on_bucket(BlockPublicAccess, "evidence"),
            Action::new(DenyMalwareReads, Target::malware_reads("evidence", vec![])),
            Action::new(DenyMalwareReads, Target::malware_reads("evidence", readers)),
            Action::on_bucket(ReleaseBucket, "evidence"),
            Action::new(StopTask, Target::task("prod", TASK)),
            Action::new(SnapshotDatabase, Target::database("orders-1", None)),
            Action::new(
                IsolateDatabase,
                Target::database("orders-1", Some("orders".into())),
            ),
            Action::new(ReleaseDatabase, Target::database("orders-1", None)),
            Action::notify(),
            Action::on_instance(CaptureMemory, I),
        ]
    }

    /// Their JSON exactly as the tagged enum `Action` serialised them before it became a kind and a
    /// target (plans appear in reports, logs, dry runs and notes): recorded from that enum.
    const PINNED: [&str; 32] = [
        r#"{"action":"isolate-instance","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"deny-network-acl","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"take-out-of-service","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"protect-evidence","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"snapshot-volumes","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"tag-instance","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"await-approval","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"deactivate-access-key","user_name":"alice","access_key_id":"AKIAIOSFODNN7EXAMPLE"}"#,
        r#"{"action":"revoke-user-sessions","user_name":"alice"}"#,
        r#"{"action":"remove-login-profile","user_name":"alice"}"#,
        r#"{"action":"revoke-role-sessions","role_name":"web-role"}"#,
        r#"{"action":"revoke-instance-sessions","role_name":"web-role","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"detach-instance-profile","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"release-instance","instance_id":"i-0123456789abcdef0"}"#,
        r#"{"action":"unshare","kind":"snapshot","id":"snap-0123456789abcdef0"}"#,
        r#"{"action":"restore-sharing","kind":"image","id":"ami-0123456789abcdef0"}"#,
        r#"{"action":"stop-function","function":"payments"}"#,
        r#"{"action":"disable-event-sources","function":"payments"}"#,
        r#"{"action":"isolate-function","function":"payments"}"#,
        r#"{"action":"revoke-function-sessions","role_name":null,"function":"payments"}"#,
        r#"{"action":"revoke-function-sessions","role_name":"payments-role","function":"payments"}"#,
        r#"{"action":"release-function","function":"payments"}"#,
        r#"{"action":"block-public-access","bucket":"evidence"}"#,
        r#"{"action":"deny-malware-reads","bucket":"evidence","readers":[]}"#,
        r#"{"action":"deny-malware-reads","bucket":"evidence","readers":["arn:aws:iam::111122223333:role/analyst","arn:aws:iam::111122223333:role/forensics"]}"#,
        r#"{"action":"release-bucket","bucket":"evidence"}"#,
        r#"{"action":"stop-task","cluster":"prod","task_arn":"arn:aws:ecs:us-east-1:111122223333:task/prod/0123456789abcdef"}"#,
        r#"{"action":"snapshot-database","db_instance":"orders-1","cluster":null}"#,
        r#"{"action":"isolate-database","db_instance":"orders-1","cluster":"orders"}"#,
        r#"{"action":"release-database","db_instance":"orders-1","cluster":null}"#,
        r#"{"action":"notify"}"#,
        r#"{"action":"capture-memory","instance_id":"i-0123456789abcdef0"}"#,
    ];

    #[test]
    fn every_kind_serialises_exactly_as_before() {
        let actions = one_of_each();
        assert_eq!(actions.len(), PINNED.len());
        for (action, json) in actions.iter().zip(PINNED) {
            assert_eq!(serde_json::to_string(action).unwrap(), json);
        }
        let pretty = serde_json::to_string_pretty(&actions[19]).unwrap();
        let expected = "{\n  \"action\": \"revoke-function-sessions\",\n  \"role_name\": null,\n  \"function\": \"payments\"\n}";
        assert_eq!(pretty, expected);
        let kinds: Vec<ActionKind> = actions.iter().map(|a| a.kind).collect();
        for kind in ActionKind::all().filter(|k| !matches!(k, TagPrincipal | UpdateFinding)) {
            assert!(kinds.contains(&kind), "{kind} is not pinned");
        }
    }

    #[test]
    fn a_plan_serialises_its_actions_in_order() {
        let plan = Plan {
            rule: "r",
            reason: "why".into(),
            actions: one_of_each(),
            decided_by: Some("rule 1".into()),
        };
        let expected = format!(
            r#"{{"rule":"r","reason":"why","actions":[{}],"decided_by":"rule 1"}}"#,
            PINNED.join(",")
        );
        assert_eq!(serde_json::to_string(&plan).unwrap(), expected);
    }

    #[test]
    fn the_resource_is_what_the_action_changes() {
        let actions = one_of_each();
        let resource = |i: usize| actions[i].resource();
        assert_eq!(resource(0), I);
        assert_eq!(resource(7), KEY);
        assert_eq!(resource(8), "alice");
        assert_eq!(resource(11), "web-role");
        assert_eq!(resource(14), SNAP);
        assert_eq!(resource(19), "payments");
        assert_eq!(resource(24), "evidence");
        assert_eq!(resource(26), TASK);
        assert_eq!(resource(27), "orders-1");
        assert_eq!(resource(28), "orders", "an Aurora instance's cluster");
        assert_eq!(resource(30), "");
    }
}
