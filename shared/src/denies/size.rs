//! A principal's inline policies as IAM counts them against its quotas, and the deny that does not
//! fit.

/// IAM's cap on the sum of a role's inline policy documents, in characters (IAM User Guide, "IAM
/// and AWS STS quotas", inline policies).
pub const ROLE_QUOTA: usize = 10_240;
/// The same for a user.
pub const USER_QUOTA: usize = 2_048;

/// A policy document's size as IAM counts it against the quotas: its characters, white space
/// (space, tab, line feed, carriage return) left out.
pub fn iam_size(document: &str) -> usize {
    document
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

/// A deny that does not fit in the principal's inline policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// What the principal's inline policies would hold, as IAM counts them.
    pub needed: usize,
    /// IAM's quota.
    pub quota: usize,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its inline policies would hold {} characters, over IAM's {} (white space not \
             counted)",
            self.needed, self.quota
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iam_counts_characters_without_white_space() {
        assert_eq!(iam_size("{ \"a\" :\n\t\"b c\" }\r\n"), 10);
        let pretty = serde_json::to_string_pretty(&json!({"Version": "2012-10-17"})).unwrap();
        assert_eq!(iam_size(&pretty), iam_size(r#"{"Version":"2012-10-17"}"#));
    }
}
