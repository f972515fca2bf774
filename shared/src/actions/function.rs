//! A Lambda function's containment, one step per action, each with its undo beside it:
//! `stop-function` (reserved concurrency 0, which holds every version and alias; the provisioned
//! concurrency that would forbid it removed first; both recorded), `disable-event-sources` (the
//! enabled mappings of the function and its aliases recorded, then disabled, a mapping in
//! transition retried), `isolate-function` (a function in a VPC moved to the VPC's isolation group,
//! its groups recorded, confirmed once Lambda has applied it; not applicable outside a VPC) and
//! `revoke-function-sessions` (an inline policy on the execution role denying the sessions it
//! issued to this function before the response: `lambda:SourceFunctionArn` and
//! `aws:TokenIssueTime`; the role's other users keep working). The records are tags on the
//! function; `FbRelease` reads them back.

use std::future::Future;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;

use crate::actions::registry::ActionKind;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::outcome::{Outcome, Status};
use crate::ports::{
    FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalsPort, ProvisionedFacts,
    UpdateStatus,
};
use crate::records;
use crate::retry::{until_settled, UPDATE_IN_PROGRESS_WAITS};
use crate::tags;

type Tags = [(String, String)];

/// What an isolation outside a VPC reports: not applicable, and why.
pub const NO_NETWORK: &str = "not applicable: the function is not attached to a VPC, so it has no \
    network to isolate (nothing changed; reserved concurrency 0 is what stops it)";

/// `call` again, after a growing wait, while `again` says so and `deadline` is not reached.
async fn until_deadline<T, F, Fut>(
    deadline: Instant,
    again: impl Fn(&Result<T, AwsError>) -> bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut wait = Duration::from_millis(200);
    loop {
        let done = call().await;
        let left = deadline.saturating_duration_since(Instant::now());
        if !again(&done) || left.is_zero() {
            return done;
        }
        tokio::time::sleep(wait.min(left)).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}

/// Lambda's answer to a change of a mapping in transition (`Creating`, `Updating`): Lambda API
/// reference, errors, `ResourceInUseException`.
fn in_use<T>(r: &Result<T, AwsError>) -> bool {
    matches!(r, Err(e) if e.code.as_deref() == Some("ResourceInUseException"))
}

/// How Lambda's last update of the function stands once it is applied, or at `deadline`.
async fn settled<S: FunctionsPort>(
    s: &S,
    name: &str,
    deadline: Instant,
) -> Result<UpdateStatus, AwsError> {
    let busy = |r: &Result<UpdateStatus, AwsError>| matches!(r, Ok(u) if u.in_progress());
    until_deadline(deadline, busy, || s.update_status(name)).await
}

/// The outcome of a configuration change once Lambda reports how it went: `done` when it was
/// applied; failed with Lambda's reason code when it was not; not confirmed while in progress.
fn confirmed(
    kind: ActionKind,
    name: &str,
    read: Result<UpdateStatus, AwsError>,
    done: Outcome,
) -> Outcome {
    match read {
        Err(e) => {
            let why = "changed, but whether Lambda applied it could not be read";
            Outcome::failed(kind, name, why, &e)
        }
        Ok(u) if u.failed() => {
            let e = AwsError {
                code: Some(
                    u.reason_code
                        .unwrap_or_else(|| "LastUpdateStatusFailed".into()),
                ),
                message: u.reason.unwrap_or_else(|| "no reason given".into()),
            };
            let why = "Lambda could not apply the change (LastUpdateStatus Failed); the function \
                       keeps its previous configuration";
            Outcome::failed(kind, name, why, &e)
        }
        Ok(u) if u.in_progress() => Outcome::refused(
            kind,
            name,
            "NOT CONFIRMED: Lambda was still applying the change (LastUpdateStatus InProgress) at \
             the incident's deadline; a redelivery confirms it",
        ),
        Ok(_) => done,
    }
}

// ---- stop-function ----

/// The concurrency record to write: the setting before Firebreak's (`none` or the number); nothing
/// when one is recorded already (a redelivery keeps the first; an earlier version's unsealed record
/// stays as it is, for a release to check).
pub fn concurrency_record(facts: &FunctionFacts) -> Vec<(String, String)> {
    // A function Firebreak already worked on (its status tag, sealed or an earlier version's)
    // without this record: what is there now may be Firebreak's own 0, never to be taken for the
    // owner's setting.
    let known = |t: &Tags| tag_value(t, tags::CONCURRENCY).is_some() || touched(t);
    if known(&facts.tags) || known(&facts.legacy) {
        return Vec::new();
    }
    let before = match facts.reserved_concurrency {
        Some(n) => n.to_string(),
        None => "none".into(),
    };
    vec![(tags::CONCURRENCY.to_string(), before)]
}

/// The provisioned-concurrency record to write: the recorded configurations and those configured
/// now; nothing when every one configured is recorded already.
pub fn provisioned_record(
    facts: &FunctionFacts,
    configured: &[ProvisionedFacts],
) -> Vec<(String, String)> {
    let recorded = recorded_provisioned(&facts.tags);
    let mut all = recorded.clone();
    for c in configured {
        if !all.iter().any(|(q, _)| *q == c.qualifier) {
            all.push((c.qualifier.clone(), c.requested));
        }
    }
    if all.len() == recorded.len() {
        return Vec::new();
    }
    let tokens: Vec<String> = all.iter().map(|(q, n)| format!("{q}={n}")).collect();
    let present = [facts.tags.as_slice(), facts.legacy.as_slice()].concat();
    records::chunked(tags::PROVISIONED, &tokens, &present)
}

/// The provisioned concurrency recorded as removed by Firebreak: `(alias or version, executions)`.
pub fn recorded_provisioned(tags: &Tags) -> Vec<(String, i32)> {
    records::chunk_keys(tags, tags::PROVISIONED)
        .iter()
        .filter_map(|k| tag_value(tags, k))
        .flat_map(str::split_whitespace)
        .filter_map(|t| {
            let (q, n) = t.split_once('=')?;
            Some((q.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// `live (5), 3 (2)`.
fn listed(provisioned: &[(String, i32)]) -> String {
    let each: Vec<String> = provisioned
        .iter()
        .map(|(q, n)| format!("{q} ({n})"))
        .collect();
    each.join(", ")
}

/// Reserved concurrency 0: Lambda starts no new execution of any version or alias of it, whatever
/// invokes it (API reference, PutFunctionConcurrency: "Concurrency settings apply to the function
/// as a whole, including all published versions and the unpublished version"). Provisioned
/// concurrency counts towards reserved concurrency (Developer Guide, provisioned concurrency): it is
/// removed first (recorded in round 2).
pub async fn stop<S: FunctionsPort>(
    s: &S,
    name: &str,
    facts: &FunctionFacts,
    provisioned: &[ProvisionedFacts],
) -> Outcome {
    let kind = ActionKind::StopFunction;
    if facts.reserved_concurrency == Some(0) && provisioned.is_empty() {
        let why = "reserved concurrency is 0: no version or alias starts an execution";
        return Outcome::new(kind, name, Status::AlreadyDone, why);
    }
    let removed = futures::future::join_all(
        provisioned
            .iter()
            .map(|p| s.set_provisioned(name, &p.qualifier, None)),
    )
    .await;
    // One removed since it was read has nothing to remove.
    let failed = provisioned
        .iter()
        .zip(removed)
        .find_map(|(p, r)| r.err().filter(|e| !e.is_not_found()).map(|e| (p, e)));
    if let Some((p, e)) = failed {
        let what = format!(
            "could not remove the provisioned concurrency of {} (reserved concurrency 0 needs none \
             left)",
            p.qualifier
        );
        return Outcome::failed(kind, name, &what, &e);
    }
    let before = match facts.reserved_concurrency {
        Some(n) => format!("reserved concurrency {n}"),
        None => "no reserved concurrency".into(),
    };
    let removed: Vec<(String, i32)> = provisioned
        .iter()
        .map(|p| (p.qualifier.clone(), p.requested))
        .collect();
    let removed = match removed.is_empty() {
        true => String::new(),
        false => format!(
            "; provisioned concurrency removed from {}",
            listed(&removed)
        ),
    };
    let zero = match facts.reserved_concurrency {
        Some(0) => Ok(()),
        _ => set_zero(s, name, !provisioned.is_empty()).await,
    };
    match zero {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "reserved concurrency 0: no new executions of any version or alias (it had \
                 {before}){removed}"
            ),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("could not set its reserved concurrency to 0{removed}"),
            &e,
        ),
    }
}

/// `PutFunctionConcurrency 0`; right after provisioned concurrency was removed, again for a few
/// seconds while Lambda still counts it (`InvalidParameterValueException`).
async fn set_zero<S: FunctionsPort>(s: &S, name: &str, retry: bool) -> Result<(), AwsError> {
    let mut waits = UPDATE_IN_PROGRESS_WAITS.iter();
    loop {
        match s.set_concurrency(name, Some(0)).await {
            Err(e) if retry && e.code.as_deref() == Some("InvalidParameterValueException") => {
                match waits.next() {
                    Some(wait) => tokio::time::sleep(*wait).await,
                    None => return Err(e),
                }
            }
            done => return done,
        }
    }
}

/// True when Firebreak has worked on the function (it carries Firebreak's status tag).
pub fn touched(tags: &Tags) -> bool {
    tag_value(tags, tags::STATUS).is_some()
}

/// The undo: the recorded concurrency back (`none`: the reservation removed); `None` when
/// nothing is recorded and Firebreak never stopped it; refused when it did without a record.
pub async fn restore_concurrency<S: FunctionsPort>(
    s: &S,
    name: &str,
    tags: &Tags,
) -> Option<Outcome> {
    let kind = ActionKind::StopFunction;
    let Some(recorded) = tag_value(tags, tags::CONCURRENCY) else {
        return touched(tags).then(|| {
            let why =
                "no record of its concurrency before Firebreak: left as it is (set it by hand)";
            Outcome::refused(kind, name, why)
        });
    };
    let before = match recorded {
        "none" => None,
        n => match n.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let why = format!("its concurrency record {recorded:?} is unreadable: left at 0");
                return Some(Outcome::refused(kind, name, why));
            }
        },
    };
    let detail = match before {
        Some(n) => format!("reserved concurrency {n} again"),
        None => "reserved concurrency removed again".into(),
    };
    if let Err(e) = s.set_concurrency(name, before).await {
        return Some(Outcome::failed(
            kind,
            name,
            "could not give its concurrency back",
            &e,
        ));
    }
    Some(restore_provisioned(s, name, tags, detail).await)
}

/// The recorded provisioned concurrency back, once the reserved concurrency allows it again (an
/// alias or version deleted since has nothing to give back).
async fn restore_provisioned<S: FunctionsPort>(
    s: &S,
    name: &str,
    tags: &Tags,
    detail: String,
) -> Outcome {
    let kind = ActionKind::StopFunction;
    let recorded = recorded_provisioned(tags);
    if recorded.is_empty() {
        return Outcome::new(kind, name, Status::Succeeded, detail);
    }
    let put = futures::future::join_all(
        recorded
            .iter()
            .map(|(q, n)| s.set_provisioned(name, q, Some(*n))),
    )
    .await;
    let failed = recorded
        .iter()
        .zip(put)
        .find_map(|((q, _), r)| r.err().filter(|e| !e.is_not_found()).map(|e| (q, e)));
    match failed {
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "{detail}; provisioned concurrency of {} again",
                listed(&recorded)
            ),
        ),
        Some((q, e)) => {
            let what =
                format!("{detail}, but could not give the provisioned concurrency of {q} back");
            Outcome::failed(kind, name, &what, &e)
        }
    }
}

// ---- disable-event-sources ----

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

// ---- isolate-function ----

/// The VPC-groups record to write: the function's groups now, unless one is recorded (sealed, or
/// an earlier version's, which stays for a release to check) or it is in the isolation group
/// already.
pub fn groups_record(facts: &FunctionFacts, isolation: &str) -> Vec<(String, String)> {
    let recorded = [&facts.tags, &facts.legacy]
        .iter()
        .any(|t| tag_value(t, tags::VPC_GROUPS).is_some());
    match &facts.vpc {
        Some(vpc) if !recorded && vpc.groups != [isolation] => {
            vec![(tags::VPC_GROUPS.to_string(), vpc.groups.join("+"))]
        }
        _ => Vec::new(),
    }
}

/// What every version and alias runs with once the isolation group is applied.
const ISOLATION_SCOPE: &str = "$LATEST and versions published from now on run in it; published \
    versions keep the groups they were published with (a version's configuration is fixed), and \
    reserved concurrency 0 stops them all";

/// The function's VPC configuration moved to the isolation group, confirmed once Lambda has applied
/// it (`LastUpdateStatus`, polled until `deadline`): its new execution environments reach nothing,
/// and nothing reaches them. `last`: how Lambda's last update stood when the function was read (a
/// redelivery confirms an update still in progress, and applies one that failed again).
pub async fn isolate<S: FunctionsPort>(
    s: &S,
    name: &str,
    vpc: &FunctionVpc,
    isolation: &str,
    last: &UpdateStatus,
    deadline: Instant,
) -> Outcome {
    let kind = ActionKind::IsolateFunction;
    if vpc.groups == [isolation] && !last.failed() {
        let done = Outcome::new(
            kind,
            name,
            Status::AlreadyDone,
            format!("in the isolation group, applied: {ISOLATION_SCOPE}"),
        );
        return match last.in_progress() {
            true => confirmed(kind, name, settled(s, name, deadline).await, done),
            false => done,
        };
    }
    let isolation_only = [isolation.to_string()];
    let moved = until_settled(|| s.set_function_groups(name, vpc, &isolation_only)).await;
    if let Err(e) = moved {
        return Outcome::failed(kind, name, "could not move it to the isolation group", &e);
    }
    let was = match vpc.groups == [isolation] {
        true => "again: Lambda had failed to apply it".to_string(),
        false => format!("was {}", vpc.groups.join(", ")),
    };
    let done = Outcome::new(
        kind,
        name,
        Status::Succeeded,
        format!(
            "moved to isolation group {isolation} in {} ({was}), applied: {ISOLATION_SCOPE}",
            vpc.vpc_id
        ),
    );
    confirmed(kind, name, settled(s, name, deadline).await, done)
}

/// The undo: the recorded groups back (same subnets), confirmed once Lambda has applied them;
/// `None` when nothing is recorded.
pub async fn restore_groups<S: FunctionsPort>(
    s: &S,
    name: &str,
    facts: &FunctionFacts,
    deadline: Instant,
) -> Option<Outcome> {
    let kind = ActionKind::IsolateFunction;
    let Some(recorded) = tag_value(&facts.tags, tags::VPC_GROUPS) else {
        // Stopped by Firebreak, in a VPC, and no record: its groups are not known.
        return (touched(&facts.tags) && facts.vpc.is_some()).then(|| {
            let why = "no record of its security groups before Firebreak: left as they are \
                       (set them by hand)";
            Outcome::refused(kind, name, why)
        });
    };
    let groups: Vec<String> = recorded.split('+').map(String::from).collect();
    let readable = groups.iter().all(|g| g.starts_with("sg-"));
    let Some(vpc) = facts
        .vpc
        .as_ref()
        .filter(|_| readable && !groups.is_empty())
    else {
        let why = format!("its VPC record {recorded:?} no longer applies: left as it is");
        return Some(Outcome::refused(kind, name, why));
    };
    let last = &facts.last_update;
    if vpc.groups == groups && !last.failed() {
        let done = Outcome::new(kind, name, Status::AlreadyDone, "in its groups");
        return Some(match last.in_progress() {
            true => confirmed(kind, name, settled(s, name, deadline).await, done),
            false => done,
        });
    }
    let moved = until_settled(|| s.set_function_groups(name, vpc, &groups)).await;
    if let Err(e) = moved {
        return Some(Outcome::failed(
            kind,
            name,
            "could not give its groups back",
            &e,
        ));
    }
    let done = Outcome::new(
        kind,
        name,
        Status::Succeeded,
        format!("back in {}", groups.join(", ")),
    );
    Some(confirmed(
        kind,
        name,
        settled(s, name, deadline).await,
        done,
    ))
}

// ---- revoke-function-sessions ----

/// The deny policy for the sessions a role issued to one function before `cutoff`: Lambda puts
/// the function's ARN in its execution environment's credentials (`lambda:SourceFunctionArn`).
pub fn function_revoke_policy(cutoff: &str, function_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "ArnLike": {"lambda:SourceFunctionArn": [function_arn, format!("{function_arn}:*")]}
            }
        }]
    })
    .to_string()
}

/// True when a deny policy Firebreak wrote names this function (`lambda:SourceFunctionArn`): an
/// earlier version named it by the function's name alone, which a same-named function in another
/// region or account shares.
pub fn names_function(document: &str, function_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(all) => all.clone(),
        one => vec![one.clone()],
    };
    statements.iter().any(
        |st| match &st["Condition"]["ArnLike"]["lambda:SourceFunctionArn"] {
            Value::String(arn) => arn == function_arn,
            Value::Array(arns) => arns.iter().any(|a| a.as_str() == Some(function_arn)),
            _ => false,
        },
    )
}

/// Writes the deny policy on the execution role, under a name unique to the function's ARN.
pub async fn revoke<I: PrincipalsPort>(
    iam: &I,
    role: &str,
    name: &str,
    function_arn: &str,
    cutoff: &str,
) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(function_arn);
    let document = function_revoke_policy(cutoff, function_arn);
    match iam.put_role_policy(role, &policy, &document).await {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "sessions of role {role} issued to the function (any version or alias) before \
                 {cutoff} denied ({policy}); the role's other users are not affected"
            ),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("could not revoke the sessions role {role} issued to it"),
            &e,
        ),
    }
}

/// The undo: the deny policy removed from the role; and the one an earlier version wrote under the
/// function's name alone, once its document shows it is this function's (a same-named function in
/// another region or account keeps its own).
pub async fn unrevoke<I: PrincipalsPort>(
    iam: &I,
    role: &str,
    name: &str,
    function_arn: &str,
) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(function_arn);
    let legacy = tags::legacy_function_revoke_policy(name);
    let (deleted, earlier) = futures::join!(
        iam.delete_role_policy(role, &policy),
        iam.role_policy(role, &legacy)
    );
    if let Err(e) = deleted {
        return Outcome::failed(kind, name, &format!("could not remove {policy}"), &e);
    }
    let done = format!("{policy} removed from role {role}");
    match earlier {
        Ok(None) => Outcome::new(kind, name, Status::Succeeded, done),
        Ok(Some(doc)) if names_function(&doc, function_arn) => {
            match iam.delete_role_policy(role, &legacy).await {
                Ok(()) => Outcome::new(
                    kind,
                    name,
                    Status::Succeeded,
                    format!("{done}, and {legacy} (an earlier version's name for it)"),
                ),
                Err(e) => Outcome::failed(
                    kind,
                    name,
                    &format!("{done}; could not remove {legacy}"),
                    &e,
                ),
            }
        }
        Ok(Some(_)) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{done}; {legacy} left: it denies another function of that name"),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("{done}; could not read {legacy} (an earlier version's name)"),
            &e,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records the calls; every call succeeds.
    #[derive(Default)]
    struct Calls(Mutex<Vec<String>>);

    impl FunctionsPort for Calls {
        async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
            Ok(None)
        }
        async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
            Ok(vec![])
        }
        async fn set_concurrency(&self, _: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("concurrency {n:?}"));
            Ok(())
        }
        async fn set_mapping_enabled(&self, uuid: &str, on: bool) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("mapping {uuid} {on}"));
            Ok(())
        }
        async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
            Ok(vec![])
        }
        async fn set_provisioned(&self, _: &str, q: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("provisioned {q} {n:?}"));
            Ok(())
        }
        async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
            Ok(UpdateStatus {
                status: "Successful".into(),
                ..UpdateStatus::default()
            })
        }
        async fn set_function_groups(
            &self,
            _: &str,
            _: &FunctionVpc,
            groups: &[String],
        ) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("groups {groups:?}"));
            Ok(())
        }
        async fn tag_function(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            Ok(())
        }
        async fn untag_function(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
            Ok(())
        }
        async fn security_group_vpcs(
            &self,
            _: &[String],
        ) -> Result<Vec<(String, String)>, AwsError> {
            Ok(vec![])
        }
        async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(vec![])
        }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn stopped_in_a_vpc(tags: Vec<(String, String)>) -> FunctionFacts {
        FunctionFacts {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            role_arn: None,
            reserved_concurrency: Some(0),
            vpc: Some(FunctionVpc {
                vpc_id: "vpc-1".into(),
                subnets: vec!["subnet-1".into()],
                groups: vec!["sg-iso".into()],
                ipv6_dual_stack: None,
            }),
            tags,
            ..FunctionFacts::default()
        }
    }

    #[tokio::test]
    async fn a_function_stopped_without_its_records_is_left_stopped_never_released_blind() {
        // Firebreak's status is there, its records are not (their write failed): what the
        // function has now is Firebreak's, and must not be taken for its owner's.
        let facts = stopped_in_a_vpc(tags(&[(tags::STATUS, tags::status::STOPPED)]));
        assert!(
            concurrency_record(&facts).is_empty(),
            "0 is never recorded as the owner's"
        );
        let s = Calls::default();
        let c = restore_concurrency(&s, "f", &facts.tags).await.unwrap();
        let g = restore_groups(&s, "f", &facts, soon()).await.unwrap();
        assert_eq!((c.status, g.status), (Status::Failed, Status::Failed));
        assert!(s.0.lock().unwrap().is_empty(), "nothing changed");

        // An unreadable group record is refused whole, never applied in part.
        let facts = stopped_in_a_vpc(tags(&[
            (tags::STATUS, tags::status::STOPPED),
            (tags::CONCURRENCY, "5"),
            (tags::VPC_GROUPS, "sg-1+drop table"),
        ]));
        assert_eq!(
            restore_groups(&s, "f", &facts, soon())
                .await
                .unwrap()
                .status,
            Status::Failed
        );
        let c = restore_concurrency(&s, "f", &facts.tags).await.unwrap();
        assert_eq!(c.status, Status::Succeeded);
        assert_eq!(*s.0.lock().unwrap(), vec!["concurrency Some(5)"]);

        // A function Firebreak never touched has nothing to release.
        let untouched = stopped_in_a_vpc(vec![]);
        assert!(restore_concurrency(&s, "f", &untouched.tags)
            .await
            .is_none());
        assert!(restore_groups(&s, "f", &untouched, soon()).await.is_none());
    }

    #[test]
    fn an_earlier_version_s_records_are_kept_and_never_copied_unless_the_facts_confirm_them() {
        // Stopped by an earlier version: its unsealed records stay as they are (a release checks
        // them); Firebreak's own 0 is never recorded as the owner's.
        let mut facts = stopped_in_a_vpc(vec![]);
        facts.legacy = tags(&[
            (tags::STATUS, tags::status::STOPPED),
            (tags::CONCURRENCY, "5"),
            (tags::VPC_GROUPS, "sg-app"),
        ]);
        facts.vpc.as_mut().unwrap().groups = vec!["sg-app".into()];
        assert!(concurrency_record(&facts).is_empty());
        assert!(groups_record(&facts, "sg-iso").is_empty());
        facts.legacy.retain(|(k, _)| k == tags::STATUS);
        assert!(
            concurrency_record(&facts).is_empty(),
            "its status alone: the 0 may be Firebreak's"
        );

        // Event sources: the unsealed record's mappings of this very function are carried into
        // the sealed record, never another function's.
        let arn = facts.arn.clone();
        let mapping = |uuid: &str, state: &str, function_arn: &str| MappingFacts {
            uuid: uuid.into(),
            state: state.into(),
            function_arn: function_arn.into(),
        };
        facts.legacy = tags(&[(tags::EVENT_SOURCES, "u-old u-someone-else")]);
        let mappings = vec![
            mapping("u-old", "Disabled", &arn),
            mapping("u-new", "Enabled", &arn),
        ];
        assert_eq!(
            vetted_sources(&facts, &mappings),
            (
                vec!["u-old".to_string()],
                vec!["u-someone-else".to_string()]
            )
        );
        assert_eq!(
            sources_record(&facts, &mappings),
            tags(&[(tags::EVENT_SOURCES, "u-old u-new")])
        );
        // Nothing new delivering: nothing written, the unsealed record left as it is.
        assert!(sources_record(&facts, &mappings[..1]).is_empty());
        // A mapping of another function named like a prefix of this one is not its own.
        let other = mapping("u-old", "Disabled", &format!("{arn}2"));
        assert!(!other.invokes(&arn));
        assert!(mapping("u", "Enabled", &format!("{arn}:live")).invokes(&arn));
    }

    /// A role holding inline policies; records the deletions.
    #[derive(Default)]
    struct Role(Mutex<Vec<(String, String)>>);

    impl PrincipalsPort for Role {
        async fn user(&self, _: &str) -> Result<Option<crate::ports::PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn role(&self, _: &str) -> Result<Option<crate::ports::PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn put_user_policy(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn put_role_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
            self.0.lock().unwrap().push((name.into(), doc.into()));
            Ok(())
        }
        async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
            self.0.lock().unwrap().retain(|(n, _)| n != name);
            Ok(())
        }
        async fn role_policy(&self, _: &str, name: &str) -> Result<Option<String>, AwsError> {
            let policies = self.0.lock().unwrap();
            Ok(policies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.clone()))
        }
        async fn tag_user(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn tag_role(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no role tags")
        }
    }

    #[tokio::test]
    async fn a_release_removes_only_its_own_function_s_denies_whatever_their_name() {
        let east = "arn:aws:lambda:us-east-1:123456789012:function:f";
        let west = "arn:aws:lambda:us-west-2:123456789012:function:f";
        let role = Role::default();
        for arn in [east, west] {
            let done = revoke(&role, "r", "f", arn, "2026-12-01T00:00:00Z").await;
            assert_eq!(done.status, Status::Succeeded);
        }
        let names = |role: &Role| -> Vec<String> {
            role.0
                .lock()
                .unwrap()
                .iter()
                .map(|(n, _)| n.clone())
                .collect()
        };
        assert_eq!(
            names(&role).len(),
            2,
            "one deny per region: {:?}",
            names(&role)
        );
        // An earlier version's deny, by the name alone, for the west function.
        let legacy = tags::legacy_function_revoke_policy("f");
        let doc = function_revoke_policy("2026-11-01T00:00:00Z", west);
        role.0.lock().unwrap().push((legacy.clone(), doc.clone()));
        assert!(names_function(&doc, west) && !names_function(&doc, east));
        assert!(!names_function("not json", west));

        let done = unrevoke(&role, "r", "f", east).await;
        assert_eq!(done.status, Status::Succeeded);
        assert!(
            done.detail.contains("left: it denies another function"),
            "{done:?}"
        );
        assert_eq!(
            names(&role),
            vec![tags::function_revoke_policy(west), legacy.clone()]
        );
        let done = unrevoke(&role, "r", "f", west).await;
        assert!(
            done.detail.contains("an earlier version's name"),
            "{done:?}"
        );
        assert!(names(&role).is_empty(), "{:?}", names(&role));
    }
}
