//! The shape of an action's declaration: what one kind calls, writes and undoes. Each action's
//! module declares its own beside its process and undo (`SPEC`, or one const per kind it carries
//! out); `registry/others.rs` those of the kinds no action module carries out; `registry::REGISTRY`
//! lists them all in kind order. A kind's name and whether it contains are the kind's own
//! (`kind.rs`).

use crate::kind::ActionKind;

/// What one kind of action calls, writes and undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    /// The kind.
    pub kind: ActionKind,
    /// The IAM actions it calls.
    pub permissions: &'static [&'static str],
    /// The tag keys (or key prefixes, ending in `:`) it writes on the resource.
    pub tags: &'static [&'static str],
    /// The IAM actions its undo calls (empty: nothing to undo, e.g. snapshots are kept).
    pub undo_permissions: &'static [&'static str],
}
