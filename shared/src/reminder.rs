//! Reminders: an instance nobody decided about — an `ask` awaiting approval, or a quarantine the
//! blast-radius cap held back for a human — is reminded once, `FIREBREAK_REMIND_AFTER_MINUTES`
//! after it started waiting (`firebreak:awaiting-since`). A schedule (every 15 minutes, the
//! template) sends `securityhub-action` a `{"firebreak-reminders": {}}` event; the instances waiting
//! in the function's own account and region are read from their tags, each due one gets one
//! message in its finding's chat thread, and `firebreak:reminded-at` so it is never reminded twice.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::chat::{self, ChatMetadata, ChatNotification};
use crate::clock::epoch_seconds;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{InstanceFacts, InstancesPort, Notification, Notifier};
use crate::tags::awaiting::{reminded, started};
use crate::tags::{self, awaiting, status};

/// The key of the schedule's event.
pub const EVENT_KEY: &str = "firebreak-reminders";

/// Whether an event is the reminder schedule's.
pub fn is_reminder_run(event: &Value) -> bool {
    event.get(EVENT_KEY).is_some()
}

/// Waiting, not reminded yet, and waiting since at least `after_minutes` before `now`. A waiting
/// instance whose start is unknown is due (the reminder errs towards telling a human).
fn due(facts: &InstanceFacts, now: i64, after_minutes: u64) -> bool {
    let waiting = matches!(
        tags::status_of(facts),
        Some(status::AWAITING_APPROVAL | status::NEEDS_HUMAN)
    );
    let since = facts
        .tag(tags::AWAITING_SINCE)
        .map(|v| (started(v), reminded(v)));
    let reminded = facts.tag(tags::REMINDED_AT).is_some() || since.is_some_and(|(_, r)| r);
    let since = since.and_then(|(s, _)| epoch_seconds(s));
    waiting && !reminded && since.is_none_or(|t| now - t >= after_minutes as i64 * 60)
}

/// The tag that records the reminder: `awaiting-since` rewritten with ` reminded` (a key the
/// instance already carries: it costs no tag, so a full instance is still reminded only once), or,
/// on an instance without it, `reminded-at`.
fn reminder_mark(facts: &InstanceFacts, now: &str) -> (String, String) {
    match facts.tag(tags::AWAITING_SINCE) {
        Some(v) => tags::pair(tags::AWAITING_SINCE, awaiting::with_reminder(v)),
        None => tags::pair(tags::REMINDED_AT, now),
    }
}

/// The reminder for one instance.
fn message(facts: &InstanceFacts, account: &str, region: &str) -> Notification {
    let id = facts.instance_id.as_str();
    let state = tags::status_of(facts).unwrap_or_default();
    let since = facts
        .tag(tags::AWAITING_SINCE)
        .map(started)
        .unwrap_or("an unknown time");
    let finding = facts.tag(tags::FINDING).unwrap_or("unknown");
    let (what, approve) = match state {
        status::AWAITING_APPROVAL => (
            "the playbook asked a human before containing it",
            "Approve: choose FbQuarantine on the finding in Security Hub, or run the approval \
             command of the first notification (same thread).",
        ),
        _ => (
            "the blast-radius cap held its quarantine back for a human",
            "Isolate it: choose FbQuarantine on the finding in Security Hub.",
        ),
    };
    let body = format!(
        "REMINDER: nobody has decided yet about {id} (account {account}, region {region}).\n  \
         Status {state} since {since}: {what}. Finding {finding}.\n  \
         Its evidence is preserved; it is NOT isolated.\n\nHOW TO DECIDE\n  {approve}\n  \
         Reject: choose FbRelease (lifts the evidence protection Firebreak set).\n\n\
         This is the only reminder."
    );
    let subject = format!("Firebreak REMINDER: {id} still {state} since {since}");
    let context: BTreeMap<String, String> = [
        ("findingId", finding),
        ("instanceId", id),
        ("status", state),
        ("since", since),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let chat = ChatNotification::new(
        format!("⏰ Firebreak REMINDER: {} still {state}", chat::text(id)),
        chat::block(&body),
        ChatMetadata {
            thread_id: finding.to_string(),
            summary: chat::text(&format!("{id} still {state} since {since}")),
            event_type: "firebreak-reminder".into(),
            related_resources: vec![id.to_string()],
            additional_context: context,
            enable_custom_actions: true,
        },
    );
    let report = json!({"reminder": {"instance": id, "status": state, "since": since,
                        "finding_id": finding, "account": account, "region": region}});
    Notification {
        subject: crate::report::text::subject(&subject),
        body,
        report: report.to_string(),
        chat: chat.to_json(),
        attributes: vec![
            ("account".into(), account.to_string(), false),
            ("outcome".into(), "reminder".into(), false),
        ],
    }
}

/// Reminds, once, every instance of the account and region that is due; one outcome each. The
/// reminder is recorded first: an instance whose mark cannot be written is not reminded (and says
/// so in the log) rather than reminded every 15 minutes.
pub async fn remind<E: InstancesPort, N: Notifier>(
    ec2: &E,
    notifier: &N,
    after_minutes: u64,
    now: &str,
    (account, region): (&str, &str),
) -> Result<Vec<Outcome>, AwsError> {
    let Some(now_s) = epoch_seconds(now) else {
        return Ok(Vec::new());
    };
    let waiting = ec2.waiting_for_a_human().await?;
    let mut outcomes = Vec::new();
    for facts in waiting.iter().filter(|f| due(f, now_s, after_minutes)) {
        let id = facts.instance_id.as_str();
        let kind = ActionKind::Notify;
        let mark = [reminder_mark(facts, now)];
        let outcome = match ec2.tag_instance(id, &mark).await {
            Err(e) => Outcome::failed(kind, id, "could not record the reminder (not sent)", &e),
            Ok(()) => match notifier.publish(&message(facts, account, region)).await {
                Ok(_) => Outcome::new(kind, id, Status::Succeeded, "reminded"),
                Err(e) => Outcome::failed(kind, id, "could not send the reminder", &e),
            },
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::epoch_seconds;

    fn facts(pairs: &[(&str, &str)]) -> InstanceFacts {
        InstanceFacts {
            instance_id: "i-1".into(),
            state: "running".into(),
            interfaces: vec![],
            volumes: vec![],
            tags: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            spot: false,
            legacy: vec![],
            forged: vec![],
        }
    }

    #[test]
    fn an_ask_and_a_cap_hold_are_due_once_after_the_wait_and_nothing_else_is() {
        let now = epoch_seconds("2026-11-30T12:00:00Z").unwrap();
        let waited = |status: &str, since: &str| {
            facts(&[
                ("firebreak:status", status),
                ("firebreak:awaiting-since", since),
            ])
        };
        for status in ["awaiting-approval", "needs-human"] {
            assert!(
                due(&waited(status, "2026-11-30T10:59:00Z"), now, 60),
                "{status}"
            );
            assert!(
                !due(&waited(status, "2026-11-30T11:30:00Z"), now, 60),
                "{status}"
            );
        }
        assert!(!due(
            &waited("quarantined", "2026-11-30T10:00:00Z"),
            now,
            60
        ));
        let mut reminded = waited("needs-human", "2026-11-30T10:00:00Z");
        reminded.tags.push((
            "firebreak:reminded-at".into(),
            "2026-11-30T11:15:00Z".into(),
        ));
        assert!(!due(&reminded, now, 60), "never twice");
        assert!(
            due(&facts(&[("firebreak:status", "needs-human")]), now, 60),
            "an unknown start errs towards a human"
        );
    }

    #[test]
    fn the_reminder_lands_in_the_finding_s_thread_and_escapes_nothing_it_should_not() {
        let f = facts(&[
            ("firebreak:status", "awaiting-approval"),
            ("firebreak:finding-id", "f-123"),
            ("firebreak:awaiting-since", "2026-11-30T10:00:00Z"),
        ]);
        let n = message(&f, "123456789012", "eu-west-1");
        let chat: Value = serde_json::from_str(&n.chat).unwrap();
        assert_eq!(chat["metadata"]["threadId"], "f-123");
        assert_eq!(chat["version"], "1.0");
        assert!(n.body.contains("FbQuarantine") && n.body.contains("only reminder"));
        assert!(n.subject.len() < 100);
    }
}
