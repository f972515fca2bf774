//! Firebreak's durable state: the `firebreak:*` tags it writes on AWS resources (records written
//! before each change, idempotency markers, the blast-radius counter, what a release reads back),
//! the names of the policies it writes, and a typed codec for every record value. Every key and
//! every value format lives here, written and parsed by the same code; `tests/tags_golden.rs` pins
//! them (instances quarantined by an earlier Firebreak must be released by a later one).
//!
//! `keys.rs`: every key and key prefix; `policies.rs`: the names of the policies and statements;
//! `status.rs` and `awaiting.rs`: those tags' values; `values.rs`: the other single values;
//! `codecs.rs`: the codec of each record kept in a tag of its own. All are re-exported here
//! (`crate::tags::X`).

pub mod awaiting;
mod codecs;
mod keys;
mod policies;
pub mod status;
mod values;

pub use codecs::{
    deactivated_key, AclEntryRecord, AutoScalingRecord, EipRecord, LoginProfileRecord,
    MemoryRecord, NetworkAclRecord, OriginalGroups, TargetRecord,
};
pub use keys::*;
pub use policies::{
    function_revoke_policy, instance_of_revoke_policy, instance_revoke_policy,
    instance_sessions_policy, legacy_function_revoke_policy, INSTANCE_SESSIONS_POLICY_PREFIX,
    MALWARE_OBJECT_STATEMENT, MALWARE_SCAN_TAG, MALWARE_STATEMENT, ROLE_REVOKE_POLICY,
    THREATS_FOUND, USER_REVOKE_POLICY,
};
pub use status::status_of;
pub use values::{pair, snapshot_name, tag_safe, GroupRole, CAPTURE_EGRESS, TRUE, VALUE_LIMIT};
