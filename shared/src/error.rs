//! Typed errors. Each maps to a stable Lambda `error_type`, so a failed invocation says what kind of
//! failure it was in CloudWatch and in the dead-letter queue.

use lambda_runtime::Diagnostic;
use thiserror::Error;

/// Why an event could not become an incident.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParseError {
    /// The payload is not a JSON object.
    #[error("the event is not a JSON object")]
    NotAnObject,
    /// An event kind this function does not handle.
    #[error("unsupported event: detail-type {detail_type:?} from source {event_source:?}")]
    UnsupportedEvent {
        /// The envelope's `detail-type`.
        detail_type: String,
        /// The envelope's `source`.
        event_source: String,
    },
    /// A field Firebreak needs is absent or empty.
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// A field is present but unusable.
    #[error("invalid field {field}: {reason}")]
    InvalidField {
        /// The field's path.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// An instance finding that names no instance: nothing can be contained.
    #[error("the finding is about an EC2 instance but names no instance id")]
    MissingInstanceId,
    /// A Security Hub custom action Firebreak does not have.
    #[error("unknown custom action {action_target_id:?}: Firebreak's are FbQuarantine, FbSnapshot, FbRevoke, FbRelease, FbNotify")]
    UnknownAction {
        /// The id at the end of the action target ARN.
        action_target_id: String,
    },
}

impl ParseError {
    /// The Lambda `error_type` of this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            ParseError::NotAnObject => "InvalidEvent.NotAnObject",
            ParseError::UnsupportedEvent { .. } => "InvalidEvent.Unsupported",
            ParseError::MissingField(_) => "InvalidEvent.MissingField",
            ParseError::InvalidField { .. } => "InvalidEvent.InvalidField",
            ParseError::MissingInstanceId => "InvalidEvent.MissingInstanceId",
            ParseError::UnknownAction { .. } => "InvalidEvent.UnknownAction",
        }
    }
}

/// An AWS call that failed, keeping the service's error code.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{}: {message}", code.as_deref().unwrap_or("Unknown"))]
pub struct AwsError {
    /// The service error code (`InvalidInstanceID.NotFound`, `Throttling`, …) or `None` for a
    /// transport failure.
    pub code: Option<String>,
    /// The service's message, or the transport error.
    pub message: String,
}

impl AwsError {
    /// True when the code says the resource does not exist.
    pub fn is_not_found(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.contains("NotFound") || c == "NoSuchEntity")
    }
}

/// Why an invocation failed.
#[derive(Debug, Error)]
pub enum FirebreakError {
    /// The event could not be parsed.
    #[error(transparent)]
    InvalidEvent(#[from] ParseError),
    /// Containment was attempted and did not complete; the team was notified.
    #[error("containment of {resource} for finding {finding_id} failed: {reason}")]
    ContainmentFailed {
        /// The finding.
        finding_id: String,
        /// The resource that could not be contained.
        resource: String,
        /// The failed steps.
        reason: String,
    },
    /// The threat is contained (or nothing needed containing) but a step such as evidence
    /// protection, a snapshot or a tag failed; the team was notified and a retry completes it.
    #[error("finding {finding_id} on {resource}: steps failed: {reason}")]
    StepsFailed {
        /// The finding.
        finding_id: String,
        /// The resource.
        resource: String,
        /// The failed steps.
        reason: String,
    },
    /// Some findings of a custom action failed (the others were handled; each has its note).
    #[error("{action}: {failed}")]
    ActionFailed {
        /// The custom action.
        action: &'static str,
        /// The failed findings, one per `;`.
        failed: String,
    },
    /// The notification could not be published (actions, if any, were carried out).
    #[error("notification for finding {finding_id} failed: {source}")]
    NotificationFailed {
        /// The finding.
        finding_id: String,
        /// The SNS error.
        source: AwsError,
    },
    /// The finding's ticket could not be opened, updated or resolved; everything else was done
    /// and the team was told so (the retry tries the ticket again).
    #[error("ticket ({system}) for finding {finding_id} failed: {reason}")]
    TicketFailed {
        /// The finding.
        finding_id: String,
        /// The ticket system.
        system: &'static str,
        /// Why.
        reason: String,
    },
}

impl FirebreakError {
    /// The Lambda `error_type` of this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            FirebreakError::InvalidEvent(e) => e.error_type(),
            FirebreakError::ContainmentFailed { .. } => "ContainmentFailed",
            FirebreakError::NotificationFailed { .. } => "NotificationFailed",
            FirebreakError::ActionFailed { .. } => "ActionFailed",
            FirebreakError::StepsFailed { .. } => "StepsFailed",
            FirebreakError::TicketFailed { .. } => "TicketFailed",
        }
    }
}

impl From<FirebreakError> for Diagnostic {
    fn from(e: FirebreakError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().to_string(),
            error_message: e.to_string(),
        }
    }
}
