//! Tickets: one per finding in the team's ticket system (Jira Cloud, ServiceNow, or a generic
//! webhook), opened after containment, commented on an update, resolved on a release. What a
//! ticket system is asked, and what it answered.

use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// What the ticket of a finding is asked to become.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketEvent {
    /// Opened, or commented on when the finding's ticket exists already.
    Raise,
    /// Commented on and resolved (a release): nothing is opened for a finding without a ticket.
    Resolve,
}

/// One finding's ticket, as asked of the ticket system. Every text is the finding's or the
/// report's, attacker-influenced in parts: each adapter puts it in its API's structure (JSON
/// strings, Jira's document format), never into a query.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketRequest {
    /// The finding id (as the finding has it; never put in a query: see [`ticket_id`]).
    pub finding_id: String,
    /// Opened or commented on, or resolved.
    pub event: TicketEvent,
    /// One line: the notification's subject.
    pub summary: String,
    /// The notification's text.
    pub text: String,
    /// The structured report (JSON).
    pub report: String,
    /// The finding's severity (GuardDuty's 0–10 scale).
    pub severity: f64,
    /// When the ticket system must have answered (the adapters' retries stop there).
    pub deadline: Instant,
}

/// What was done to the finding's ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketDone {
    /// Opened now.
    Opened,
    /// It existed: commented on.
    Commented,
    /// Commented on and resolved.
    Resolved,
}

/// A finding's ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    /// `jira`, `servicenow` or `webhook`.
    pub system: &'static str,
    /// The key the team knows it by (`SEC-12`, `INC0010001`, or the webhook's).
    pub key: String,
    /// What was done.
    pub done: TicketDone,
}

/// What became of a finding's ticket in one response: the report's `ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum TicketOutcome {
    /// The ticket system answered.
    Done(Ticket),
    /// A release of a finding that has no ticket: nothing to resolve.
    NoTicket {
        /// The ticket system.
        system: &'static str,
    },
    /// The ticket system did not answer within the budget, or refused: the invocation fails once
    /// the team is told, so Lambda's retry of the delivery tries again.
    Failed {
        /// The ticket system.
        system: &'static str,
        /// Why.
        reason: String,
    },
}

impl TicketOutcome {
    /// The line of the notification's text.
    pub fn line(&self) -> String {
        match self {
            TicketOutcome::Done(t) => {
                let done = match t.done {
                    TicketDone::Opened => "opened",
                    TicketDone::Commented => "updated",
                    TicketDone::Resolved => "resolved",
                };
                format!("TICKET: {} ({} {done})", t.key, t.system)
            }
            TicketOutcome::NoTicket { system } => {
                format!("TICKET: none to resolve ({system}: this finding has no ticket)")
            }
            TicketOutcome::Failed { system, reason } => format!(
                "TICKET FAILED ({system}): {reason}. Contained as reported; the ticket is tried \
                 again by this delivery's retry."
            ),
        }
    }

    /// The ticket's key, when there is one.
    pub fn key(&self) -> Option<&str> {
        match self {
            TicketOutcome::Done(t) => Some(&t.key),
            _ => None,
        }
    }

    /// Whether the ticket system failed.
    pub fn failed(&self) -> bool {
        matches!(self, TicketOutcome::Failed { .. })
    }
}

/// Why a ticket system did not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketError(pub String);

impl std::fmt::Display for TicketError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a finding's ticket is kept.
pub trait TicketsPort: Sync {
    /// `jira`, `servicenow` or `webhook`.
    fn system(&self) -> &'static str;

    /// The finding's ticket found (by [`ticket_id`]) and commented on, or opened; or resolved.
    /// `Ok(None)`: a release of a finding with no ticket.
    async fn ticket(&self, request: &TicketRequest) -> Result<Option<Ticket>, TicketError>;
}

/// The finding's ticket id in every system: `firebreak-` and the first 24 hex digits of the
/// SHA-256 of the finding id. A finding id is whatever the finding says (an ARN, GuardDuty's hex,
/// a product's own id with quotes or spaces): hashed, it is a value a JQL query, a ServiceNow
/// encoded query or a Jira label takes as it is, with nothing to escape.
pub fn ticket_id(finding_id: &str) -> String {
    let digest = Sha256::digest(finding_id.as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("firebreak-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_id_is_the_same_for_a_finding_and_safe_in_any_query() {
        let hostile =
            "arn:aws:securityhub:us-east-1::finding/\" OR project = X ^ORcorrelation_id!=";
        let id = ticket_id(hostile);
        assert_eq!(id, ticket_id(hostile));
        assert_ne!(id, ticket_id("another"));
        assert_eq!(id.len(), "firebreak-".len() + 24);
        assert!(id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
