//! `disable-event-sources`: the enabled mappings of the function and its aliases recorded, then
//! disabled, a mapping in transition retried until the deadline; the undo enables the recorded
//! ones again.

use tokio::time::Instant;

use crate::actions::function::poll::until_deadline;
use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{FunctionFacts, FunctionsPort, MappingFacts};
use crate::records;
use crate::tags;

type Tags = [(String, String)];

/// What `disable-event-sources` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ActionKind::DisableEventSources,
    permissions: &[
        "lambda:ListEventSourceMappings",
        "lambda:ListAliases",
        "lambda:UpdateEventSourceMapping",
        "lambda:TagResource",
    ],
    tags: &[tags::EVENT_SOURCES],
    undo_permissions: &["lambda:UpdateEventSourceMapping", "lambda:UntagResource"],
};

/// Lambda's answer to a change of a mapping in transition (`Creating`, `Updating`): Lambda API
/// reference, errors, `ResourceInUseException`.
fn in_use<T>(r: &Result<T, AwsError>) -> bool {
    matches!(r, Err(e) if e.code.as_deref() == Some("ResourceInUseException"))
}

/// The UUIDs recorded as disabled by Firebreak.
pub fn recorded_sources(tags: &Tags) -> Vec<String> {
    records::chunk_keys(tags, tags::EVENT_SOURCES)
        .iter()
        .filter_map(|k| tag_value(tags, k))
        .flat_map(str::split_whitespace)
        .map(String::from)
        .collect()
}

/// The recorded UUIDs a release may enable again: the sealed record's, and those of the unsealed
/// record (an earlier version's) that are mappings of this very function (`mappings`: its own, as
/// Lambda lists them); then those of the unsealed record that are not.
pub fn vetted_sources(
    facts: &FunctionFacts,
    mappings: &[MappingFacts],
) -> (Vec<String>, Vec<String>) {
    let mut confirmed = recorded_sources(&facts.tags);
    let mut unconfirmed = Vec::new();
    for uuid in recorded_sources(&facts.legacy) {
        let own = mappings
            .iter()
            .any(|m| m.uuid == uuid && m.invokes(&facts.arn));
        match (own, confirmed.contains(&uuid)) {
            (true, true) => {}
            (true, false) => confirmed.push(uuid),
            (false, _) => unconfirmed.push(uuid),
        }
    }
    (confirmed, unconfirmed)
}

/// The event-sources record to write: the recorded UUIDs ([`vetted_sources`]) and those delivering
/// now; nothing when none delivers that is not recorded (an unsealed record then stays as it is).
pub fn sources_record(facts: &FunctionFacts, mappings: &[MappingFacts]) -> Vec<(String, String)> {
    let (recorded, _) = vetted_sources(facts, mappings);
    let mut all = recorded.clone();
    for m in mappings.iter().filter(|m| m.delivers()) {
        if !all.contains(&m.uuid) {
            all.push(m.uuid.clone());
        }
    }
    // Every tag of an earlier record, sealed or not, is rewritten or emptied.
    let present = [facts.tags.as_slice(), facts.legacy.as_slice()].concat();
    match all == recorded {
        true => Vec::new(),
        false => records::chunked(tags::EVENT_SOURCES, &all, &present),
    }
}

/// Every mapping that delivers events disabled, concurrently; one in transition (Lambda refuses
/// to update a mapping while it is `Creating`) again until `deadline`.
pub async fn disable<S: FunctionsPort>(
    s: &S,
    name: &str,
    mappings: &[MappingFacts],
    deadline: Instant,
) -> Outcome {
    let kind = ActionKind::DisableEventSources;
    let live: Vec<&MappingFacts> = mappings.iter().filter(|m| m.delivers()).collect();
    if live.is_empty() {
        let why = match mappings.is_empty() {
            true => "it has no event source mapping",
            false => "its event source mappings are disabled",
        };
        return Outcome::new(kind, name, Status::AlreadyDone, why);
    }
    let results = futures::future::join_all(
        live.iter()
            .map(|m| until_deadline(deadline, in_use, || s.set_mapping_enabled(&m.uuid, false))),
    )
    .await;
    let failed: Vec<(&str, AwsError)> = live
        .iter()
        .zip(results)
        .filter_map(|(m, r)| r.err().map(|e| (m.uuid.as_str(), e)))
        .collect();
    match failed.first() {
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{} event source mapping(s) disabled", live.len()),
        ),
        Some((uuid, e)) => Outcome::failed(
            kind,
            name,
            &format!(
                "could not disable {} mapping(s), {uuid} first",
                failed.len()
            ),
            e,
        ),
    }
}

/// The undo: the recorded mappings enabled again (one in transition again until `deadline`);
/// `None` when none is recorded.
pub async fn enable_recorded<S: FunctionsPort>(
    s: &S,
    name: &str,
    tags: &Tags,
    deadline: Instant,
) -> Option<Outcome> {
    let kind = ActionKind::DisableEventSources;
    let recorded = recorded_sources(tags);
    if recorded.is_empty() {
        return None;
    }
    let results = futures::future::join_all(
        recorded
            .iter()
            .map(|u| until_deadline(deadline, in_use, || s.set_mapping_enabled(u, true))),
    )
    .await;
    // A mapping deleted since has nothing to give back.
    let failed: Vec<(&String, AwsError)> = recorded
        .iter()
        .zip(results)
        .filter_map(|(u, r)| r.err().filter(|e| !e.is_not_found()).map(|e| (u, e)))
        .collect();
    Some(match failed.first() {
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{} event source mapping(s) enabled again", recorded.len()),
        ),
        Some((uuid, e)) => Outcome::failed(
            kind,
            name,
            &format!(
                "could not enable {} mapping(s) again, {uuid} first",
                failed.len()
            ),
            e,
        ),
    })
}
