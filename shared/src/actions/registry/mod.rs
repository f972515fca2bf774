//! The action registry: every kind's declaration — the IAM actions it calls, the tags it writes,
//! and the IAM actions its undo (`FbRelease`) calls — in kind order. Permissions and the template
//! checks are derived from here (`permissions.rs`, `tests/template_permissions.rs`); a test fails
//! any kind that declares none.
//!
//! Each action's module declares its own [`ActionSpec`] beside its process and undo (`SPEC`, or
//! one const per kind it carries out: `bucket.rs`, `sessions/`, `function/`, `database.rs`, which
//! declares `release-database` beside its undo); `others.rs` declares
//! the kinds no action module carries out (the releases, `await-approval`, `unshare`,
//! `restore-sharing`, `stop-task`, `notify`, `update-finding`). A kind's name, order and whether
//! it contains are the kind's own (`kind.rs`, on the ground floor).
//!
//! To add an action: a variant in `kind.rs` (its name, `is_containment`, its place in `all()`),
//! its `SPEC` in its module, listed in [`REGISTRY`] at the same place as the variant.

mod others;

use crate::actions::spec::ActionSpec;
use crate::actions::{
    access_key, bucket, capture, database, evidence, function, isolate, login_profile, network_acl,
    out_of_service, profile, sessions, snapshot, tag_instance,
};
use crate::kind::ActionKind;

/// One declaration per kind, in [`ActionKind`] order.
pub const REGISTRY: &[ActionSpec] = &[
    isolate::SPEC,
    network_acl::SPEC,
    out_of_service::SPEC,
    evidence::SPEC,
    snapshot::SPEC,
    capture::SPEC,
    tag_instance::SPEC,
    others::AWAIT_APPROVAL,
    access_key::SPEC,
    sessions::REVOKE_USER_SESSIONS,
    login_profile::SPEC,
    sessions::REVOKE_ROLE_SESSIONS,
    sessions::REVOKE_INSTANCE_SESSIONS,
    profile::SPEC,
    others::RELEASE_INSTANCE,
    sessions::tag::SPEC,
    others::UNSHARE,
    others::RESTORE_SHARING,
    function::STOP_FUNCTION,
    function::DISABLE_EVENT_SOURCES,
    function::ISOLATE_FUNCTION,
    function::REVOKE_FUNCTION_SESSIONS,
    others::RELEASE_FUNCTION,
    bucket::BLOCK_PUBLIC_ACCESS,
    bucket::DENY_MALWARE_READS,
    others::RELEASE_BUCKET,
    others::STOP_TASK,
    database::SNAPSHOT_DATABASE,
    database::ISOLATE_DATABASE,
    database::RELEASE_DATABASE,
    others::NOTIFY,
    others::UPDATE_FINDING,
];

/// The declaration of `kind`.
pub const fn spec(kind: ActionKind) -> &'static ActionSpec {
    &REGISTRY[kind as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_in_kind_order_and_names_match_serde() {
        for (i, kind) in ActionKind::all().enumerate() {
            // `spec()` indexes the registry by the enum's discriminant.
            assert_eq!(kind as usize, i);
            assert_eq!(spec(kind).kind, kind);
            let serde_name = serde_json::to_value(kind).unwrap();
            assert_eq!(serde_name.as_str(), Some(kind.name()));
            assert_eq!(kind.to_string(), kind.name());
        }
        assert_eq!(REGISTRY.len(), ActionKind::all().count());
    }

    #[test]
    fn every_kind_declares_its_permissions() {
        for spec in REGISTRY {
            assert!(
                !spec.permissions.is_empty(),
                "{} declares no IAM actions",
                spec.kind.name()
            );
            for p in spec.permissions.iter().chain(spec.undo_permissions) {
                let (service, action) = p.split_once(':').unwrap_or_default();
                assert!(
                    !service.is_empty() && action.starts_with(char::is_uppercase),
                    "{}: {p} is not service:Action",
                    spec.kind.name()
                );
            }
        }
    }
}
