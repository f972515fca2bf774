//! Telling the team: the notification and where it goes; annotating the finding (Security Hub).

use serde::Serialize;

use crate::error::AwsError;
use crate::incident::FindingRef;
use crate::ports::tickets::{Ticket, TicketError, TicketRequest};

/// A message for the team, in one form per kind of subscriber. Its SNS form, fitted within SNS's
/// limit on one message, is `Notification::message_structure` in the SNS adapter (`aws/sns.rs`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// Under 100 characters, ASCII, one line: the subject, and all an SMS subscriber gets.
    pub subject: String,
    /// The text a person reads.
    pub body: String,
    /// The structured report (JSON), for automation.
    pub report: String,
    /// The same message as an AWS Chatbot custom notification (JSON), for chat channels.
    pub chat: String,
    /// Message attributes for subscription filter policies: (name, value, is_number).
    pub attributes: Vec<(String, String, bool)>,
}

/// Where the structured report starts in the e-mail.
pub const REPORT_MARKER: &str = "--- structured report ---";

impl Notification {
    /// What an e-mail subscriber reads: the text, then the structured report.
    pub fn email(&self) -> String {
        format!("{}\n{REPORT_MARKER}\n{}\n", self.body, self.report)
    }
}

/// Where notifications go.
pub trait Notifier: Sync {
    /// Publishes the message; returns the message id.
    async fn publish(&self, notification: &Notification) -> Result<String, AwsError>;

    /// Whether a "published" message is only held, for one message that goes out later (an attack
    /// sequence's): then whoever sends that marks the resources told, once it is out.
    fn holds(&self) -> bool {
        false
    }

    /// The finding's ticket (`ports/tickets.rs`), asked before the message is published so the
    /// message names it; `None` when no ticket system is configured (the default), or the
    /// notifier only holds messages.
    async fn ticket(
        &self,
        _request: &TicketRequest,
    ) -> Option<(&'static str, Result<Option<Ticket>, TicketError>)> {
        None
    }
}

/// A Security Hub workflow status Firebreak sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Workflow {
    /// The team was told.
    Notified,
    /// Done with (after a release).
    Resolved,
}

impl Workflow {
    /// The ASFF value.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Notified => "NOTIFIED",
            Workflow::Resolved => "RESOLVED",
        }
    }
}

/// Where findings are annotated (Security Hub).
pub trait FindingsPort: Sync {
    /// Sets the finding's note (`UpdatedBy: firebreak`) and, when given, its workflow status.
    async fn update_finding(
        &self,
        finding: &FindingRef,
        note: &str,
        workflow: Option<Workflow>,
    ) -> Result<(), AwsError>;
}
