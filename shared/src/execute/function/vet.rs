//! What a function's release may restore: its sealed records, and those of its unsealed ones (an
//! earlier version's) that the facts confirm — the concurrency only if it is 0 now, a mapping only
//! if it is this function's, the VPC groups only if all are in its VPC and none is Firebreak's.

use crate::actions::function;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::Outcome;
use crate::ports::{FunctionFacts, FunctionsPort};
use crate::records;
use crate::seal;
use crate::tags;

/// The function as its release may read it: its sealed records, and those of its unsealed ones
/// (an earlier version's) that the facts confirm (`vet`).
pub(super) struct Vetted {
    /// The facts, their tags holding the sealed records and the confirmed unsealed ones (the
    /// event-sources record under its first key), and an earlier version's markers (its status
    /// only ever makes a release refuse what it cannot confirm).
    pub(super) facts: FunctionFacts,
    /// Every tag of the event-sources record to remove once it is restored: the sealed record's,
    /// and the unsealed record's when some of it was confirmed.
    pub(super) sources_keys: Vec<String>,
    /// A failed outcome per check that could not be made (the release is then not complete).
    pub(super) refused: Vec<Outcome>,
    /// Tampering, and the unsealed records the facts do not confirm (never restored).
    pub(super) warnings: Vec<String>,
}

impl Vetted {
    fn keep(&mut self, key: &str, value: &str) {
        self.facts.tags.push((key.to_string(), value.to_string()));
    }
}

/// The unsealed records checked against the facts: the concurrency only when the function's
/// reserved concurrency is 0 now; a mapping only when it is this function's; the VPC groups only
/// when every one is in the function's VPC and none is Firebreak's.
pub(super) async fn vet<S: FunctionsPort>(s: &S, name: &str, facts: &FunctionFacts) -> Vetted {
    let mut v = Vetted {
        facts: facts.clone(),
        sources_keys: records::chunk_keys(&facts.tags, tags::EVENT_SOURCES),
        refused: Vec::new(),
        warnings: Vec::new(),
    };
    if !facts.forged.is_empty() {
        v.warnings.push(seal::tampering(name, &facts.forged));
    }
    let sealed = |k: &str| tag_value(&facts.tags, k).is_some();
    let legacy = |k: &str| tag_value(&facts.legacy, k).filter(|_| !sealed(k));
    for marker in [tags::STATUS, tags::FINDING, tags::CONTAINED_AT] {
        if let Some(value) = legacy(marker) {
            v.keep(marker, value);
        }
    }
    let mut unconfirmed = Vec::new();
    if let Some(value) = legacy(tags::CONCURRENCY) {
        match facts.reserved_concurrency == Some(0) {
            true => v.keep(tags::CONCURRENCY, value),
            false => unconfirmed.push((tags::CONCURRENCY.to_string(), value.to_string())),
        }
    }
    vet_sources(s, name, &mut v, &mut unconfirmed).await;
    if let Some(value) = legacy(tags::VPC_GROUPS) {
        match vet_groups(s, name, facts, value).await {
            Ok(true) => v.keep(tags::VPC_GROUPS, value),
            Ok(false) => unconfirmed.push((tags::VPC_GROUPS.to_string(), value.to_string())),
            Err(failed) => v.refused.push(failed),
        }
    }
    if !unconfirmed.is_empty() {
        v.warnings.push(seal::unverified(name, &unconfirmed));
    }
    v
}

/// The unsealed event-sources record: the UUIDs of this function's own mappings kept beside the
/// sealed record's, the others reported.
async fn vet_sources<S: FunctionsPort>(
    s: &S,
    name: &str,
    v: &mut Vetted,
    unconfirmed: &mut Vec<(String, String)>,
) {
    let legacy_keys = records::chunk_keys(&v.facts.legacy, tags::EVENT_SOURCES);
    if function::recorded_sources(&v.facts.legacy).is_empty() {
        return;
    }
    let mappings = match s.mappings(name).await {
        Ok(m) => m,
        Err(e) => {
            let why = "could not check the unsealed record of its event source mappings";
            let kind = ActionKind::DisableEventSources;
            v.refused.push(Outcome::failed(kind, name, why, &e));
            return;
        }
    };
    let (confirmed, others) = function::vetted_sources(&v.facts, &mappings);
    if !others.is_empty() {
        unconfirmed.push((tags::EVENT_SOURCES.to_string(), others.join(" ")));
    }
    let sealed_keys = records::chunk_keys(&v.facts.tags, tags::EVENT_SOURCES);
    if confirmed.len() > function::recorded_sources(&v.facts.tags).len() {
        v.facts.tags.retain(|(k, _)| !sealed_keys.contains(k));
        v.keep(tags::EVENT_SOURCES, &confirmed.join(" "));
        v.sources_keys.extend(legacy_keys);
    }
}

/// Whether an unsealed record of the function's groups holds: every group in its VPC, none of
/// them Firebreak's quarantine groups; `Err` when that could not be checked.
async fn vet_groups<S: FunctionsPort>(
    s: &S,
    name: &str,
    facts: &FunctionFacts,
    recorded: &str,
) -> Result<bool, Outcome> {
    let Some(vpc) = &facts.vpc else {
        return Ok(false);
    };
    let groups: Vec<String> = recorded.split('+').map(String::from).collect();
    let (vpcs, ours) = futures::join!(
        s.security_group_vpcs(&groups),
        s.quarantine_group_ids(&vpc.vpc_id)
    );
    let failed = |e: AwsError| {
        let why = "could not check the unsealed record of its groups";
        Outcome::failed(ActionKind::IsolateFunction, name, why, &e)
    };
    let (vpcs, ours) = (vpcs.map_err(failed)?, ours.map_err(failed)?);
    let in_vpc = |g: &String| vpcs.iter().any(|(id, at)| id == g && *at == vpc.vpc_id);
    Ok(groups.iter().all(|g| in_vpc(g) && !ours.contains(g)))
}
