//! A custom action on many findings tells the team once: a digest with a line per finding, then
//! each finding's text, in a chat thread of its own, instead of a message per finding. The
//! findings are carried out with a [`Collector`] (which holds each one's notification), and the
//! digest is published through the real notifier at the end.

use std::sync::Mutex;

use serde_json::{json, Value};

use crate::chat::{self, ChatMetadata, ChatNotification};
use crate::config::Mode;
use crate::error::AwsError;
use crate::incident::asff::{CustomAction, RejectedFinding};
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{Notification, Notifier};
use crate::report::text::subject;
use crate::report::verdict::Verdict;
use crate::report::Report;
use crate::respond::log_outcome;

/// The message id a [`Collector`] answers: the log says where the notification went.
pub const HELD: &str = "held for the custom action's digest";
/// The most bytes of the findings' texts a digest carries (SNS takes 256 KB per message, and the
/// chat notification and structured report travel in the same message).
pub const TEXT_LIMIT: usize = 100_000;
/// The most bytes of full reports the digest's structured report carries (a summary of every
/// finding is always there).
pub const REPORTS_LIMIT: usize = 50_000;
/// The most characters of one finding's line.
const LINE_LIMIT: usize = 300;

/// A [`Notifier`] that keeps the notification instead of publishing it.
#[derive(Debug, Default)]
pub struct Collector(Mutex<Option<Notification>>);

impl Notifier for Collector {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(n.clone());
        Ok(HELD.to_string())
    }
}

impl Collector {
    /// The notification held, if one was published.
    pub fn take(&self) -> Option<Notification> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// One finding of the event, as the digest tells it.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// Carried out: its report, and its notification when its plan notifies.
    Done(&'a Report, Option<&'a Notification>),
    /// Could not become an incident.
    Rejected(&'a RejectedFinding),
}

impl Entry<'_> {
    /// The finding's id (empty when the finding has none).
    pub fn finding_id(&self) -> &str {
        match self {
            Entry::Done(r, _) => &r.finding_id,
            Entry::Rejected(r) => r.id.as_deref().unwrap_or(""),
        }
    }

    /// Its verdict word, or `COULD NOT ACT`; and how urgent it is (failures first).
    fn word(&self) -> (&'static str, u8) {
        match self {
            Entry::Done(r, _) if r.verdict.is_failure() => (r.verdict.word(), 0),
            Entry::Done(r, _) if r.verdict == Verdict::NeedsHuman => (r.verdict.word(), 1),
            Entry::Done(r, _) => (r.verdict.word(), 3),
            Entry::Rejected(_) => ("COULD NOT ACT", 2),
        }
    }

    /// A human must look at it.
    fn needs_a_hand(&self) -> bool {
        self.word().1 < 3
    }

    /// `CONTAINED  i-…  Backdoor:EC2/… (severity 8)  finding …`.
    fn line(&self) -> String {
        let line = match self {
            Entry::Done(r, _) => format!(
                "{:<18} {}  {} (severity {})  finding {}",
                r.verdict.word(),
                r.resource,
                r.finding_type,
                r.severity,
                r.finding_id
            ),
            Entry::Rejected(r) => format!(
                "{:<18} finding {}: {}",
                "COULD NOT ACT",
                r.id.as_deref().unwrap_or("(no id)"),
                r.reason
            ),
        };
        chat::truncate(&line.replace(['\n', '\r'], " "), LINE_LIMIT)
    }
}

/// `2 CONTAINMENT FAILED, 97 CONTAINED, 1 SKIPPED`: failures first, then in the event's order.
fn tally(entries: &[Entry]) -> String {
    let mut counts: Vec<(&str, u8, usize)> = Vec::new();
    for e in entries {
        let (word, rank) = e.word();
        match counts.iter_mut().find(|(w, _, _)| *w == word) {
            Some((_, _, n)) => *n += 1,
            None => counts.push((word, rank, 1)),
        }
    }
    counts.sort_by_key(|(_, rank, _)| *rank);
    let parts: Vec<String> = counts.iter().map(|(w, _, n)| format!("{n} {w}")).collect();
    parts.join(", ")
}

/// The digest of a custom action's findings: one notification for all of them.
pub fn digest(action: CustomAction, mode: Mode, entries: &[Entry]) -> Notification {
    batch_digest(action.id(), "findings", mode, entries)
}

/// One notification for a batch: `label` (a custom action's id, `attack sequence <id>`) done
/// on `entries` (`what` they are: findings, resources).
pub fn batch_digest(label: &str, what: &str, mode: Mode, entries: &[Entry]) -> Notification {
    let action = label;
    let tally = tally(entries);
    let n = entries.len();
    let headline = format!(
        "Firebreak {label} ({}) on {n} {what}: {tally}.",
        mode.as_str()
    );
    let lines: Vec<String> = entries.iter().map(Entry::line).collect();
    let mut body = format!("{headline}\n\nFINDINGS\n");
    for line in &lines {
        body.push_str(&format!("  {line}\n"));
    }
    details(&mut body, entries);
    Notification {
        subject: subject(&format!("Firebreak {label}: {n} {what}, {tally}")),
        report: structured(action, mode, entries),
        chat: chat_digest(action, mode, entries, &headline, &lines),
        attributes: attributes(entries),
        body,
    }
}

/// Each finding's own text, in the event's order, within [`TEXT_LIMIT`].
fn details(body: &mut String, entries: &[Entry]) {
    let n = entries.len();
    let mut left_out = 0;
    for (i, e) in entries.iter().enumerate() {
        let Entry::Done(report, Some(notification)) = e else {
            continue;
        };
        let part = format!(
            "\n==== {}/{n}: finding {} on {} ====\n{}",
            i + 1,
            report.finding_id,
            report.resource,
            notification.body
        );
        if left_out > 0 || body.len() + part.len() > TEXT_LIMIT {
            left_out += 1;
            continue;
        }
        body.push_str(&part);
    }
    if left_out > 0 {
        body.push_str(&format!(
            "\n[The texts of {left_out} more findings are left out: SNS takes 256 KB per message. \
             Each finding's note in Security Hub and the function's log say what was done.]\n"
        ));
    }
}

/// The structured digest: a summary of every finding, and as many full reports as fit.
fn structured(action: &str, mode: Mode, entries: &[Entry]) -> String {
    let summaries: Vec<Value> = entries
        .iter()
        .map(|e| match e {
            Entry::Done(r, _) => json!({
                "finding_id": r.finding_id, "finding_type": r.finding_type,
                "severity": r.severity, "account": r.account, "region": r.region,
                "resource": r.resource, "verdict": r.verdict, "failures": r.failures(),
            }),
            Entry::Rejected(r) => json!({
                "finding_id": r.id, "error_type": r.error_type, "reason": r.reason,
            }),
        })
        .collect();
    let (mut reports, mut size, mut left_out) = (Vec::new(), 0, 0);
    for e in entries {
        let Entry::Done(r, _) = e else { continue };
        let full = serde_json::to_value(r).unwrap_or_default();
        let len = full.to_string().len();
        if left_out > 0 || size + len > REPORTS_LIMIT {
            left_out += 1;
            continue;
        }
        size += len;
        reports.push(full);
    }
    json!({
        "action": action, "mode": mode.as_str(), "findings": summaries,
        "reports": reports, "reports_left_out": left_out,
    })
    .to_string()
}

/// The digest for chat: the finding lines as a block, in the batch's own thread.
fn chat_digest(
    action: &str,
    mode: Mode,
    entries: &[Entry],
    headline: &str,
    lines: &[String],
) -> String {
    let urgent = entries.iter().filter(|e| e.needs_a_hand()).count();
    // Firebreak's own words only (the action, the mode, verdict words): nothing to escape.
    let title = format!(
        "{} {}",
        if urgent > 0 { "🚨" } else { "✅" },
        headline.trim_end_matches('.')
    );
    let mut resources: Vec<String> = Vec::new();
    for e in entries {
        if let Entry::Done(r, _) = e {
            if !resources.contains(&r.resource) {
                resources.push(r.resource.clone());
            }
        }
    }
    let metadata = ChatMetadata {
        thread_id: chat::batch_thread_id(entries.iter().map(Entry::finding_id)),
        summary: headline.to_string(),
        event_type: "firebreak-digest".into(),
        related_resources: resources,
        additional_context: [
            ("action", action.to_string()),
            ("mode", mode.as_str().to_string()),
            ("findings", entries.len().to_string()),
            ("needsAHand", urgent.to_string()),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into(),
        enable_custom_actions: true,
    };
    let mut n = ChatNotification::new(title, chat::block(&lines.join("\n")), metadata);
    if urgent > 0 {
        n.content.next_steps.push(format!(
            "{urgent} of them need a hand now: the first lines above say which"
        ));
    }
    n.content.next_steps.push(
        "Each finding's own report: the e-mail, and the finding's note in Security Hub".into(),
    );
    n.content.keywords = vec![chat::text(action), chat::text(mode.as_str())];
    n.to_json()
}

/// The attributes subscription filters see: the highest severity, the finding type and account
/// when they are all the same (`multiple` otherwise), the most urgent outcome, how many findings.
fn attributes(entries: &[Entry]) -> Vec<(String, String, bool)> {
    let reports: Vec<&Report> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Done(r, _) => Some(*r),
            Entry::Rejected(_) => None,
        })
        .collect();
    let severity = reports.iter().map(|r| r.severity).fold(0.0, f64::max);
    let same = |field: fn(&Report) -> &str| match reports.first().map(|r| field(r)) {
        Some(first) if reports.iter().all(|r| field(r) == first) => first.to_string(),
        _ => "multiple".to_string(),
    };
    let outcome = reports
        .iter()
        .min_by_key(|r| Entry::Done(r, None).word().1)
        .map(|r| r.verdict.name())
        .unwrap_or_default();
    vec![
        ("severity".into(), format!("{severity}"), true),
        (
            "finding_type".into(),
            same(|r| r.finding_type.as_str()),
            false,
        ),
        ("account".into(), same(|r| r.account.as_str()), false),
        ("outcome".into(), outcome, false),
        ("findings".into(), entries.len().to_string(), true),
    ]
}

/// Publishes the digest once, and logs the notification step of every finding it covers.
pub async fn publish<N: Notifier>(
    notifier: &N,
    topic_arn: &str,
    digest: &Notification,
    finding_ids: &[&str],
) -> Result<String, AwsError> {
    let published = notifier.publish(digest).await;
    for id in finding_ids {
        let (status, detail) = match &published {
            Ok(message) => (Status::Succeeded, format!("digest message {message}")),
            Err(e) => (Status::Failed, format!("digest not published: {e}")),
        };
        log_outcome(
            id,
            &Outcome::new(ActionKind::Notify, topic_arn, status, detail),
        );
    }
    published
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::sns::SNS_MESSAGE_BYTES;
    use crate::report::tests::contained;

    /// `n` contained findings with long, hostile titles, and a rejected one.
    fn batch(n: usize) -> (Vec<(Report, Notification)>, RejectedFinding) {
        let done = (0..n)
            .map(|i| {
                let title = format!("<!channel> `x` {}", "long title ".repeat(200));
                let (mut incident, _) = contained(&title);
                incident.finding_id = format!("f-{i:03}");
                let (_, mut report) = contained(&title);
                report.finding_id = incident.finding_id.clone();
                let notification = report.notification(&incident);
                (report, notification)
            })
            .collect();
        let rejected = RejectedFinding {
            id: Some("f-bad".into()),
            product_arn: None,
            error_type: "InvalidEvent.MissingField",
            reason: "missing field Resources".into(),
        };
        (done, rejected)
    }

    fn entries<'a>(
        done: &'a [(Report, Notification)],
        rejected: &'a RejectedFinding,
    ) -> Vec<Entry<'a>> {
        let mut entries: Vec<Entry> = (done.iter())
            .map(|(r, n)| Entry::Done(r, Some(n)))
            .collect();
        entries.push(Entry::Rejected(rejected));
        entries
    }

    #[test]
    fn a_hundred_findings_make_one_message_within_sns_s_limit() {
        let (done, rejected) = batch(100);
        let entries = entries(&done, &rejected);
        let d = digest(CustomAction::FbQuarantine, Mode::Apply, &entries);
        let message = d.message_structure();
        assert!(message.len() <= SNS_MESSAGE_BYTES, "{}", message.len());
        // A line per finding, failures and rejections first in the tally.
        assert!(
            d.subject.len() < 100 && d.subject.is_ascii(),
            "{}",
            d.subject
        );
        assert!(
            d.subject
                .contains("101 findings, 1 COULD NOT ACT, 100 CONTAINED"),
            "{}",
            d.subject
        );
        let summary = d.body.split("\n====").next().unwrap();
        assert_eq!(
            summary
                .lines()
                .filter(|l| l.contains("CONTAINED  "))
                .count(),
            100
        );
        assert!(summary.contains("COULD NOT ACT      finding f-bad: missing field Resources"));
        // As many texts as fit, then a note for the rest.
        assert!(d.body.contains("==== 1/101: finding f-000 on i-"));
        assert!(
            d.body.contains("more findings are left out"),
            "{}",
            d.body.len()
        );
        assert!(d.body.len() <= TEXT_LIMIT + 1000);
        // The structured digest: every finding summarised, full reports as they fit.
        let structured: Value = serde_json::from_str(&d.report).unwrap();
        assert_eq!(structured["findings"].as_array().unwrap().len(), 101);
        assert_eq!(structured["findings"][100]["finding_id"], "f-bad");
        let full = structured["reports"].as_array().unwrap().len();
        assert!(
            full > 0 && full + structured["reports_left_out"].as_u64().unwrap() as usize == 100
        );
        // Filterable like one finding's message.
        let attribute = |name: &str| d.attributes.iter().find(|a| a.0 == name).unwrap().1.clone();
        assert_eq!(attribute("findings"), "101");
        assert_eq!(attribute("outcome"), "contained");
        assert_eq!(attribute("finding_type"), done[0].0.finding_type);
    }

    #[test]
    fn the_digest_is_a_chat_notification_in_the_batch_s_thread() {
        let (done, rejected) = batch(3);
        let entries = entries(&done, &rejected);
        let d = digest(CustomAction::FbQuarantine, Mode::Apply, &entries);
        let chat: Value = serde_json::from_str(&d.chat).unwrap();
        assert_eq!(chat["version"], "1.0");
        assert_eq!(chat["source"], "custom");
        assert_eq!(chat["content"]["textType"], "client-markdown");
        assert!(chat["content"]["title"]
            .as_str()
            .unwrap()
            .starts_with("🚨 Firebreak FbQuarantine"));
        let description = chat["content"]["description"].as_str().unwrap();
        assert_eq!(description.lines().count(), 4 + 2, "{description}");
        assert!(!description.contains('<'), "{description}");
        assert_eq!(
            chat["metadata"]["threadId"],
            chat::batch_thread_id(["f-000", "f-001", "f-002", "f-bad"])
        );
        assert_eq!(chat["metadata"]["eventType"], "firebreak-digest");
        assert_eq!(chat["metadata"]["additionalContext"]["findings"], "4");
        assert_eq!(chat["metadata"]["additionalContext"]["needsAHand"], "1");
    }

    #[test]
    fn failures_come_first() {
        let (mut done, rejected) = batch(3);
        done[2].0.verdict = Verdict::ContainmentFailed;
        let entries: Vec<Entry> = (done.iter())
            .map(|(r, n)| Entry::Done(r, Some(n)))
            .collect();
        assert_eq!(tally(&entries), "1 CONTAINMENT FAILED, 2 CONTAINED");
        let with_rejected = [entries.clone(), vec![Entry::Rejected(&rejected)]].concat();
        assert_eq!(
            tally(&with_rejected),
            "1 CONTAINMENT FAILED, 1 COULD NOT ACT, 2 CONTAINED"
        );
        let d = digest(CustomAction::FbQuarantine, Mode::Apply, &entries);
        let outcome = d.attributes.iter().find(|a| a.0 == "outcome").unwrap();
        assert_eq!(outcome.1, "containment-failed");
    }

    #[tokio::test]
    async fn the_collector_holds_the_notification_instead_of_publishing() {
        let (done, _) = batch(1);
        let held = Collector::default();
        assert_eq!(held.publish(&done[0].1).await.unwrap(), HELD);
        assert_eq!(held.take(), Some(done[0].1.clone()));
        assert_eq!(held.take(), None);
    }
}
