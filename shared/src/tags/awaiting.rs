//! The `awaiting-since` value: `<time>`, or `<time> reminded` once its one reminder was sent.

/// The word that marks the reminder sent.
pub const REMINDED: &str = "reminded";

/// The start of the wait.
pub fn started(value: &str) -> &str {
    value.split_whitespace().next().unwrap_or_default()
}

/// Whether the reminder was sent.
pub fn reminded(value: &str) -> bool {
    value.split_whitespace().any(|t| t == REMINDED)
}

/// `value` with the reminder marked.
pub fn with_reminder(value: &str) -> String {
    format!("{} {REMINDED}", started(value))
}
