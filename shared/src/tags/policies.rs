//! The names of the policies and policy statements Firebreak writes, and what a statement matches.

/// The `Sid` of the bucket-policy statement that denies reading objects GuardDuty found malware in.
pub const MALWARE_STATEMENT: &str = "FirebreakDenyThreatsFound";
/// The `Sid` prefix of the statement that denies reading one object a finding named (followed by
/// a hash of its key).
pub const MALWARE_OBJECT_STATEMENT: &str = "FirebreakDenyObject";
/// The object tag GuardDuty Malware Protection for S3 writes, and its value for malware.
pub const MALWARE_SCAN_TAG: &str = "GuardDutyMalwareScanStatus";
/// See [`MALWARE_SCAN_TAG`].
pub const THREATS_FOUND: &str = "THREATS_FOUND";

// ---- policies ----

/// The inline role policy the IAM console's "Revoke active sessions" writes; Firebreak writes the same.
pub const ROLE_REVOKE_POLICY: &str = "AWSRevokeOlderSessions";
/// The inline user policy denying the user's sessions issued before the cutoff.
pub const USER_REVOKE_POLICY: &str = "FirebreakRevokeOlderSessions";

/// The inline role policy of earlier versions denying the sessions of the role issued to one
/// instance (still read: its instance is taken over by the minute's policy, and it is pruned).
pub fn instance_revoke_policy(instance_id: &str) -> String {
    format!("{INSTANCE_REVOKE_POLICY_PREFIX}{instance_id}")
}

/// See [`instance_revoke_policy`].
const INSTANCE_REVOKE_POLICY_PREFIX: &str = "FirebreakRevokeSessionsOf-";

/// The instance an earlier version's [`instance_revoke_policy`] names.
pub fn instance_of_revoke_policy(policy_name: &str) -> Option<&str> {
    policy_name.strip_prefix(INSTANCE_REVOKE_POLICY_PREFIX)
}

/// The prefix of the inline role policies denying the sessions of the role issued to the instances
/// each lists before its cutoff, a whole minute: one policy per cutoff.
pub const INSTANCE_SESSIONS_POLICY_PREFIX: &str = "FirebreakRevokeInstanceSessions-";

/// The instance-sessions policy of the cutoff `cutoff` (`2026-11-30T03:01:00Z` →
/// `FirebreakRevokeInstanceSessions-20261130T030100Z`).
pub fn instance_sessions_policy(cutoff: &str) -> String {
    let compact: String = cutoff.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{INSTANCE_SESSIONS_POLICY_PREFIX}{compact}")
}

/// The inline role policy denying the sessions of the role issued to one Lambda function, by its
/// unqualified ARN: `FirebreakRevokeSessionsOfFunction-<name>-<12 hex digits of the ARN's
/// SHA-256>`. IAM is global and a role may serve same-named functions in several regions and
/// accounts: the ARN (partition, region, account, name) makes the name unique, within IAM's 128
/// characters (a function name has at most 64).
pub fn function_revoke_policy(function_arn: &str) -> String {
    use sha2::{Digest, Sha256};
    let name = function_arn.rsplit(':').next().unwrap_or(function_arn);
    let digest = Sha256::digest(function_arn.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", legacy_function_revoke_policy(name))
}

/// The name earlier versions gave that policy, by the function's name alone (a release still
/// removes it, once its document shows it is this function's).
pub fn legacy_function_revoke_policy(function_name: &str) -> String {
    format!("FirebreakRevokeSessionsOfFunction-{function_name}")
}
