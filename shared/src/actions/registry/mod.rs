//! The action registry: one declaration per kind of action Firebreak takes — its name (in plans,
//! logs, tags and notes), whether it cuts an attacker off, the IAM actions it calls, the tags it
//! writes, and the IAM actions its undo (`FbRelease`) calls. Permissions and the template checks are
//! derived from here (`permissions.rs`, `tests/template_permissions.rs`); a test fails any kind that
//! declares none.
//!
//! One file per kind of resource declares its kinds' [`ActionSpec`]s (`instance.rs`,
//! `credentials.rs`, `artifact.rs`, `function.rs`, `bucket.rs`, `task.rs`, `notify.rs`); `kind.rs`
//! holds [`ActionKind`] and the shape of a declaration; [`REGISTRY`] lists every declaration in
//! kind order, and the kinds' methods read it.
//!
//! To add an action: a variant in `kind.rs`, its [`ActionSpec`] in its resource's file and in
//! [`REGISTRY`] at the same place, a module under `actions/` with its process and undo, a round in
//! the scheduler (`execute/`), a row in `docs/actions.md` (its IAM table is generated:
//! `FIREBREAK_BLESS=1 cargo test -p firebreak --test docs_actions`).

mod artifact;
mod bucket;
mod credentials;
mod function;
mod instance;
mod kind;
mod notify;
mod task;

pub use kind::{ActionKind, ActionSpec};

use ActionKind::*;

/// One declaration per kind, in [`ActionKind`] order.
pub const REGISTRY: &[ActionSpec] = &[
    instance::ISOLATE_INSTANCE,
    instance::DENY_NETWORK_ACL,
    instance::TAKE_OUT_OF_SERVICE,
    instance::PROTECT_EVIDENCE,
    instance::SNAPSHOT_VOLUMES,
    instance::TAG_INSTANCE,
    instance::AWAIT_APPROVAL,
    credentials::DEACTIVATE_ACCESS_KEY,
    credentials::REVOKE_USER_SESSIONS,
    credentials::REMOVE_LOGIN_PROFILE,
    credentials::REVOKE_ROLE_SESSIONS,
    credentials::REVOKE_INSTANCE_SESSIONS,
    instance::DETACH_INSTANCE_PROFILE,
    instance::RELEASE_INSTANCE,
    credentials::TAG_PRINCIPAL,
    artifact::UNSHARE,
    artifact::RESTORE_SHARING,
    function::STOP_FUNCTION,
    function::DISABLE_EVENT_SOURCES,
    function::ISOLATE_FUNCTION,
    function::REVOKE_FUNCTION_SESSIONS,
    function::RELEASE_FUNCTION,
    bucket::BLOCK_PUBLIC_ACCESS,
    bucket::DENY_MALWARE_READS,
    bucket::RELEASE_BUCKET,
    task::STOP_TASK,
    notify::NOTIFY,
    notify::UPDATE_FINDING,
];

impl ActionKind {
    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = ActionKind> {
        REGISTRY.iter().map(|s| s.kind)
    }

    /// Its declaration.
    pub fn spec(self) -> &'static ActionSpec {
        &REGISTRY[self as usize]
    }

    /// The kebab-case name used in plans, logs, tags and notes.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The steps that change something again on every delivery (a session revocation's later
    /// cutoff, and with it the principal's record of it).
    pub fn rewrites_each_time(self) -> bool {
        matches!(
            self,
            RevokeUserSessions
                | RevokeRoleSessions
                | RevokeInstanceSessions
                | RevokeFunctionSessions
                | TagPrincipal
        )
    }

    /// True when its failure is a containment failure.
    pub fn is_containment(self) -> bool {
        self.spec().contains
    }

    /// The kinds whose undo a release runs: every instance action that declares one.
    pub fn undone_by_release() -> impl Iterator<Item = ActionKind> {
        [
            IsolateInstance,
            DenyNetworkAcl,
            TakeOutOfService,
            ProtectEvidence,
            TagInstance,
            AwaitApproval,
            DetachInstanceProfile,
            StopFunction,
            DisableEventSources,
            IsolateFunction,
            RevokeFunctionSessions,
            BlockPublicAccess,
            DenyMalwareReads,
        ]
        .into_iter()
    }
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_kind_order_and_names_match_serde() {
        for (i, kind) in ActionKind::all().enumerate() {
            // `spec()` indexes the registry by the enum's discriminant.
            assert_eq!(kind as usize, i);
            assert_eq!(kind.spec().kind, kind);
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_name.as_str(), Some(kind.name()));
            assert_eq!(kind.to_string(), kind.name());
        }
    }

    #[test]
    fn every_kind_declares_its_permissions() {
        for spec in REGISTRY {
            assert!(
                !spec.permissions.is_empty(),
                "{} declares no IAM actions",
                spec.name
            );
            for p in spec.permissions.iter().chain(spec.undo_permissions) {
                let (service, action) = p.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && action.starts_with(char::is_uppercase),
                    "{}: {p} is not service:Action",
                    spec.name
                );
            }
        }
    }
}
