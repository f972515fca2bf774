//! `FIREBREAK_CHAT_DECISIONS`: what the chat's buttons may decide (`approval/chat.rs`).

use super::error::ConfigError;

/// Which decisions the chat's buttons (AWS Chatbot custom actions) may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChatDecisions {
    /// None: no button, and a chat decision is refused.
    #[default]
    Off,
    /// Approve and Reject on an `ask`.
    ApproveReject,
    /// Also Release on a containment.
    ApproveRejectRelease,
}

/// `FIREBREAK_CHAT_DECISIONS`.
pub(super) fn chat_decisions(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<ChatDecisions, ConfigError> {
    match get("FIREBREAK_CHAT_DECISIONS").unwrap_or_default().trim() {
        "" | "off" => Ok(ChatDecisions::Off),
        "approve-reject" => Ok(ChatDecisions::ApproveReject),
        "approve-reject-release" => Ok(ChatDecisions::ApproveRejectRelease),
        value => Err(ConfigError {
            name: "FIREBREAK_CHAT_DECISIONS",
            value: value.into(),
            reason: "expected off, approve-reject or approve-reject-release".into(),
        }),
    }
}
