//! What a principal holds, as a revocation reads it, and whether it denies an instance's sessions.

use crate::clock::epoch_seconds;
use crate::denies::cutoff::expired;
use crate::denies::document::{cutoff_of, statements, SOURCE_INSTANCE_ARN};
use crate::denies::instance::Instance;
use crate::denies::minute::Minute;
use crate::tags;

/// What a principal holds, as a revocation reads it.
#[derive(Debug, Clone)]
pub(super) enum Held {
    /// A minute's policy.
    Minute(Minute),
    /// An earlier version's per-instance policy: its cutoff, and its instance when it names one.
    Single(String, Option<Instance>),
    /// Anything else: counted, never changed.
    Other,
}

pub(super) fn held(name: &str, document: &str) -> Held {
    if name.starts_with(tags::INSTANCE_SESSIONS_POLICY_PREFIX) {
        if let Some(m) = Minute::parse(document) {
            if name == m.name() {
                return Held::Minute(m);
            }
        }
    }
    let single = tags::instance_of_revoke_policy(name).and_then(|id| {
        let cutoff = cutoff_of(document)?;
        let arn = statements(document).iter().find_map(|s| {
            s.pointer("/Condition/ArnEquals")?
                .get(SOURCE_INSTANCE_ARN)?
                .as_str()
                .map(String::from)
        });
        Some((cutoff, arn.and_then(|a| Instance::new(id, &a))))
    });
    match single {
        Some((cutoff, instance)) => Held::Single(cutoff, instance),
        None => Held::Other,
    }
}

/// Whether the role holding `policies` denies the instance's sessions issued before `cutoff`: a
/// minute's policy of that cutoff or a later one lists it.
pub fn denies(policies: &[(String, String)], cutoff: &str, i: &Instance) -> bool {
    let since = epoch_seconds(cutoff);
    policies
        .iter()
        .any(|(name, document)| match held(name, document) {
            Held::Minute(m) => m.denies(i) && epoch_seconds(&m.cutoff) >= since,
            _ => false,
        })
}

/// The policy and cutoff of the latest live deny of the instance's sessions the role holds (a
/// minute's policy, or an earlier version's per-instance one), when it holds one.
pub fn denied_by(
    policies: &[(String, String)],
    i: &Instance,
    now: i64,
) -> Option<(String, String)> {
    let denying = policies.iter().filter_map(|(name, document)| {
        let cutoff = match held(name, document) {
            Held::Minute(m) if m.denies(i) => m.cutoff,
            Held::Single(c, Some(s)) if s == *i => c,
            _ => return None,
        };
        (!expired(&cutoff, now)).then(|| (name.clone(), cutoff))
    });
    denying.max_by_key(|(_, c)| epoch_seconds(c))
}

/// The minute's policy of `cutoff` the role holds, when it does.
pub fn minute_of(policies: &[(String, String)], cutoff: &str) -> Option<Minute> {
    let name = tags::instance_sessions_policy(cutoff);
    policies
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, d)| Minute::parse(d))
}
