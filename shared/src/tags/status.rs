//! The values of [`STATUS`].

use crate::tags::keys::STATUS;

/// Every interface isolated.
pub const QUARANTINED: &str = "quarantined";
/// Isolation attempted and not complete.
pub const CONTAINMENT_FAILED: &str = "containment-failed";
/// The blast-radius cap held isolation back.
pub const NEEDS_HUMAN: &str = "needs-human";
/// The playbook said `ask`: evidence preserved, containment waits for a human's approval.
pub const AWAITING_APPROVAL: &str = "awaiting-approval";
/// A user's credentials revoked.
pub const CREDENTIALS_REVOKED: &str = "credentials-revoked";
/// A role's sessions revoked.
pub const SESSIONS_REVOKED: &str = "sessions-revoked";
/// A revocation attempted and not complete.
pub const REVOCATION_FAILED: &str = "revocation-failed";
/// A Lambda function stopped: no new executions of any version or alias, no event sources, no
/// network (a function in a VPC; outside one it has none to isolate).
pub const STOPPED: &str = "stopped";

/// Appended to an instance's status once the team was told of it (`quarantined told`): a
/// redelivery that changes nothing is silent only then, so a message lost to a failed publish
/// is sent by the retry.
pub const TOLD: &str = "told";

/// The status word of a status value (without [`TOLD`]).
pub fn word(value: &str) -> &str {
    value.split_whitespace().next().unwrap_or_default()
}

/// Whether a status value says the team was told.
pub fn is_told(value: &str) -> bool {
    value.split_whitespace().nth(1) == Some(TOLD)
}

/// `status`, told.
pub fn told(status: &str) -> String {
    format!("{} {TOLD}", word(status))
}

/// An instance's status word (`quarantined`, …), without the mark that the team was told.
pub fn status_of(facts: &crate::ports::InstanceFacts) -> Option<&str> {
    facts.tag(STATUS).map(word)
}
