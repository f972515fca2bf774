//! `stop-function`: reserved concurrency 0, which holds every version and alias; the provisioned
//! concurrency that would forbid it removed first; both recorded on the function (the records,
//! and the undo that reads them back, beside it).

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{FunctionFacts, FunctionsPort, ProvisionedFacts};
use crate::records;
use crate::retry::UPDATE_IN_PROGRESS_WAITS;
use crate::tags;

type Tags = [(String, String)];

/// What `stop-function` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ActionKind::StopFunction,
    permissions: &[
        "lambda:GetFunction",
        "lambda:ListTags",
        "lambda:ListProvisionedConcurrencyConfigs",
        "lambda:DeleteProvisionedConcurrencyConfig",
        "lambda:PutFunctionConcurrency",
        "lambda:TagResource",
    ],
    tags: &[
        tags::CONCURRENCY,
        tags::PROVISIONED,
        tags::FINDING,
        tags::STATUS,
        tags::CONTAINED_AT,
    ],
    undo_permissions: &[
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
        "lambda:PutProvisionedConcurrencyConfig",
        "lambda:UntagResource",
    ],
};

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
