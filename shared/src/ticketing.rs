//! A finding's ticket, after containment and before the team is told: asked of the notifier's
//! ticket system (`ports/tickets.rs`, `tickets/`) within a short budget, so the message names the
//! ticket, or says it failed. Containment is done by then: a ticket system that is down, slow or
//! refusing never holds a protection back; it costs the message at most the budget.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{info, warn};

use crate::config::{Config, Mode};
use crate::incident::Incident;
use crate::ports::{Notifier, TicketEvent, TicketOutcome, TicketRequest};
use crate::report::verdict::Verdict;
use crate::report::Report;

/// What the publish keeps of the invocation's time after the ticket.
const PUBLISH_RESERVE: Duration = Duration::from_secs(5);

/// The longest reason a failed ticket gives in a message.
const REASON_LIMIT: usize = 300;

/// The finding's ticket opened, commented on or resolved; `None` when no ticket system is
/// configured, in a dry run, or when the notifier only holds the message (an attack sequence's
/// members, a custom action's digest: their tickets are left to a later version).
pub async fn ticket<N: Notifier>(
    incident: &Incident,
    report: &Report,
    config: &Config,
    notifier: &N,
) -> Option<TicketOutcome> {
    let settings = config.tickets.as_ref()?;
    if report.mode == Mode::DryRun || notifier.holds() {
        return None;
    }
    let system = settings.system.name();
    let budget = budget(settings.timeout, config.invocation_deadline);
    let event = match report.verdict {
        Verdict::Released => TicketEvent::Resolve,
        _ => TicketEvent::Raise,
    };
    let n = report.notification(incident);
    let request = TicketRequest {
        finding_id: incident.finding_id.clone(),
        event,
        summary: n.subject,
        text: n.body,
        report: n.report,
        severity: incident.severity,
        deadline: (Instant::now() + budget).into_std(),
    };
    let got = tokio::time::timeout(budget, notifier.ticket(&request)).await;
    let outcome = match got {
        Ok(None) => return None,
        Ok(Some((_, Ok(Some(t))))) => TicketOutcome::Done(t),
        Ok(Some((system, Ok(None)))) => TicketOutcome::NoTicket { system },
        Ok(Some((system, Err(e)))) => failed(system, &e.0),
        Err(_) => failed(
            system,
            &format!("no answer within {} s", budget.as_secs_f64()),
        ),
    };
    log(&incident.finding_id, &outcome);
    Some(outcome)
}

fn failed(system: &'static str, reason: &str) -> TicketOutcome {
    let reason = match reason.is_empty() {
        true => "failed".to_string(),
        false => reason.chars().take(REASON_LIMIT).collect(),
    };
    TicketOutcome::Failed { system, reason }
}

/// The ticket's time: the configured budget, within what the invocation has left before the
/// publish's reserve (none left: a budget of zero, and the ticket fails at once).
fn budget(timeout: Duration, invocation_deadline: Option<Instant>) -> Duration {
    match invocation_deadline {
        Some(d) => timeout.min(
            d.saturating_duration_since(Instant::now())
                .saturating_sub(PUBLISH_RESERVE),
        ),
        None => timeout,
    }
}

/// One log line: the ticket, or why it failed.
fn log(finding_id: &str, outcome: &TicketOutcome) {
    match outcome {
        TicketOutcome::Done(t) => info!(finding_id, action = "ticket", outcome = "succeeded",
            system = t.system, ticket = %t.key, done = ?t.done, "ticket"),
        TicketOutcome::NoTicket { system } => info!(
            finding_id,
            action = "ticket",
            outcome = "skipped",
            system = *system,
            detail = "no ticket to resolve",
            "ticket"
        ),
        TicketOutcome::Failed { system, reason } => warn!(finding_id, action = "ticket",
            outcome = "failed", system = *system, error = %reason, "ticket"),
    }
}

/// The ticket's part of a finding's note (Security Hub): ` Ticket SEC-12.`, ` TICKET FAILED.`.
pub fn note(report: &Report) -> String {
    match &report.ticket {
        Some(TicketOutcome::Done(t)) => format!(" Ticket {}.", t.key),
        Some(TicketOutcome::Failed { system, .. }) => format!(" TICKET FAILED ({system})."),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_the_publish_its_time() {
        let ten = Duration::from_secs(10);
        assert_eq!(budget(ten, None), ten);
        let soon = Instant::now() + Duration::from_secs(8);
        assert!(budget(ten, Some(soon)) <= Duration::from_secs(3));
        let past = Instant::now();
        assert_eq!(budget(ten, Some(past)), Duration::ZERO);
    }
}
