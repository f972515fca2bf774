//! `tag-instance`: after containment, the instance says what happened and when — the finding, the
//! status, the time containment completed. Its undo (once a release restored everything) removes
//! those tags and the start of the quarantine.

use crate::actions::spec::ActionSpec;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{InstanceFacts, InstancesPort};
use crate::records::{new_keys, Budget, Isolation};
use crate::tags::{self, status};

const ACTION: ActionKind = ActionKind::TagInstance;

/// What `tag-instance` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &["ec2:CreateTags"],
    tags: &[tags::FINDING, tags::STATUS, tags::CONTAINED_AT],
    undo_permissions: &["ec2:CreateTags", "ec2:DeleteTags"],
};

/// How the response ended, for the status tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Every interface isolated.
    Contained,
    /// Isolation attempted and not complete.
    Failed,
    /// The blast-radius cap held isolation back.
    HeldByCap,
    /// No isolation was attempted (evidence only).
    NotAttempted,
    /// The playbook asked a human first: evidence only, until someone approves.
    AwaitingApproval,
}

/// The tags to add: the finding unless one is recorded, and the status (with the time of
/// containment, `contained_at`, when it is new).
pub fn tags_after(
    facts: &InstanceFacts,
    finding_id: &str,
    ending: Ending,
    contained_at: &str,
    decided_by: Option<&str>,
) -> Vec<(String, String)> {
    let mut add = Vec::new();
    // A human approved what the playbook asked about: who, and when.
    if let (Ending::Contained, Some(status::AWAITING_APPROVAL), Some(who)) =
        (ending, tags::status_of(facts), decided_by)
    {
        let decision = format!("approved {contained_at} by {}", tags::tag_safe(who));
        add.push(tags::pair(tags::DECISION, decision));
    }
    if facts.tag(tags::FINDING).is_none() {
        add.push(tags::pair(tags::FINDING, finding_id));
    }
    match ending {
        Ending::Contained if tags::status_of(facts) == Some(status::QUARANTINED) => {}
        Ending::Contained => {
            add.push(tags::pair(tags::STATUS, status::QUARANTINED));
            add.push(tags::pair(tags::CONTAINED_AT, contained_at));
        }
        Ending::Failed => add.push(tags::pair(tags::STATUS, status::CONTAINMENT_FAILED)),
        // Never over a quarantine (a redelivery, another finding, an approval already given), nor
        // on an instance whose quarantine started (its status tag may have been lost).
        Ending::HeldByCap | Ending::AwaitingApproval if quarantined(facts) => {}
        // Already so: not written again (a redelivery of an `ask` changes nothing, and is silent).
        Ending::HeldByCap if tags::status_of(facts) == Some(status::NEEDS_HUMAN) => {}
        Ending::AwaitingApproval if tags::status_of(facts) == Some(status::AWAITING_APPROVAL) => {}
        Ending::HeldByCap => add.push(tags::pair(tags::STATUS, status::NEEDS_HUMAN)),
        Ending::AwaitingApproval => add.push(tags::pair(tags::STATUS, status::AWAITING_APPROVAL)),
        Ending::NotAttempted => {}
    }
    // A human is waited for from now on (the reminder's clock), unless already.
    let waits = add.iter().any(|(k, v)| {
        k == tags::STATUS && (v == status::NEEDS_HUMAN || v == status::AWAITING_APPROVAL)
    });
    if waits && facts.tag(tags::AWAITING_SINCE).is_none() {
        add.push(tags::pair(tags::AWAITING_SINCE, contained_at));
    }
    add
}

/// Whether the instance is, or is being, quarantined: a status other than waiting for a human, or
/// a quarantine start recorded.
fn quarantined(facts: &InstanceFacts) -> bool {
    let waiting = matches!(
        tags::status_of(facts),
        None | Some(status::NEEDS_HUMAN | status::AWAITING_APPROVAL)
    );
    !waiting || Isolation::read(&facts.tags).started.is_some()
}

/// Writes [`tags_after`]: the status and the finding from the budget's reserve for them (what
/// else goes with them — who decided, since when a human is waited for — only if it fits too), the
/// time of containment only if a tag is left (it is in the notification and the finding note
/// anyway).
pub async fn tag_instance<E: InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    finding_id: &str,
    ending: Ending,
    contained_at: &str,
    decided_by: Option<&str>,
    budget: &Budget,
) -> Outcome {
    let id = facts.instance_id.as_str();
    let mut add = tags_after(facts, finding_id, ending, contained_at, decided_by);
    if add.is_empty() {
        return Outcome::new(ACTION, id, Status::AlreadyDone, "already tagged");
    }
    let (time, markers): (Vec<_>, Vec<_>) =
        add.drain(..).partition(|(k, _)| k == tags::CONTAINED_AT);
    let mut left_out = String::new();
    let markers = match budget.take_marker(new_keys(&facts.tags, &markers)) {
        Ok(()) => markers,
        Err(no) => {
            let essential = |(k, _): &(String, String)| k == tags::STATUS || k == tags::FINDING;
            let (kept, dropped): (Vec<_>, Vec<_>) = markers.into_iter().partition(essential);
            if let Err(no) = budget.take_marker(new_keys(&facts.tags, &kept)) {
                return Outcome::new(ACTION, id, Status::Skipped, format!("not tagged: {no}"));
            }
            let names: Vec<&str> = dropped.iter().map(|(k, _)| k.as_str()).collect();
            left_out = format!("; {} not written ({no})", names.join(", "));
            kept
        }
    };
    add = markers;
    if !time.is_empty() {
        match budget.take(new_keys(&facts.tags, &time)) {
            Ok(()) => add.extend(time),
            Err(no) => left_out.push_str(&format!("; {} not written ({no})", tags::CONTAINED_AT)),
        }
    }
    if add.is_empty() {
        let why = format!("nothing tagged{left_out}");
        return Outcome::new(ACTION, id, Status::Skipped, why);
    }
    let names: Vec<&str> = add.iter().map(|(k, _)| k.as_str()).collect();
    match ec2.tag_instance(id, &add).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!("tagged {}{left_out}", names.join(", ")),
        ),
        Err(e) => Outcome::failed(ACTION, id, "could not tag the instance", &e),
    }
}

/// The undo, once everything else is restored: the tags that say the instance is quarantined.
pub fn quarantine_tags(facts: &InstanceFacts) -> Vec<String> {
    [
        tags::STATUS,
        tags::CONTAINED_AT,
        tags::FINDING,
        tags::QUARANTINE_STARTED,
        tags::AWAITING_SINCE,
        tags::REMINDED_AT,
    ]
    .into_iter()
    .filter(|k| facts.tag(k).is_some())
    .map(String::from)
    .collect()
}
