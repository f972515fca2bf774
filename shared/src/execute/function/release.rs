//! The undo (`FbRelease`) of a function's containment: what the vetted records say given back, the
//! sessions policy removed, then the records of what was restored.

use tokio::time::Instant;

use crate::actions::function;
use crate::clock::Clock;
use crate::execute::function::vet::{vet, Vetted};
use crate::execute::{not_released, released, Request};
use crate::incident::{tag_value, FunctionRef};
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome};
use crate::ports::{FunctionsPort, Ports, PrincipalsPort};
use crate::records;
use crate::tags;

/// The undo (`FbRelease`): concurrency, mappings and VPC groups given back from the records (the
/// unsealed ones only where the facts confirm them), the sessions policy removed from the role,
/// then the records and markers removed.
pub async fn release<E, S: FunctionsPort, I: PrincipalsPort>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    match r.incident.function() {
        Some(f) => release_it(p.service, p.iam, f, r.clock, r.deadline).await,
        None => Execution::default(),
    }
}

pub(super) async fn release_it<S: FunctionsPort, I: PrincipalsPort>(
    s: &S,
    iam: &I,
    f: &FunctionRef,
    clock: &dyn Clock,
    deadline: Instant,
) -> Execution {
    let kind = ActionKind::ReleaseFunction;
    let name = f.name.as_str();
    let read = match s.function(name).await {
        Ok(Some(facts)) => facts,
        read => return not_released(kind, name, read.err()),
    };
    let v = vet(s, name, &read).await;
    let facts = &v.facts;
    let role = facts
        .role_arn
        .as_deref()
        .or(f.role_name.as_deref())
        .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
    let (concurrency, sources, groups, policy) = futures::join!(
        function::restore_concurrency(s, name, &facts.tags),
        function::enable_recorded(s, name, &facts.tags, deadline),
        function::restore_groups(s, name, facts, deadline),
        async {
            match &role {
                Some(role) => Some(function::unrevoke(iam, role, name, &facts.arn).await),
                None => None,
            }
        }
    );
    let mut keys = Vec::new();
    let restored = |o: &Option<Outcome>| o.as_ref().is_none_or(Outcome::is_ok);
    if restored(&concurrency) {
        keys.push(tags::CONCURRENCY.to_string());
        keys.extend(records::chunk_keys(&facts.tags, tags::PROVISIONED));
    }
    if restored(&sources) {
        keys.extend(v.sources_keys.iter().cloned());
    }
    if restored(&groups) {
        keys.push(tags::VPC_GROUPS.to_string());
    }
    let mut outcomes: Vec<Outcome> = [concurrency, sources, groups, policy]
        .into_iter()
        .flatten()
        .collect();
    outcomes.extend(v.refused.iter().cloned());
    let mut done = clear(s, name, &v, outcomes, keys, clock).await;
    done.warnings.extend(v.warnings);
    done
}

/// The records of what was restored removed (every record and marker once all of it was), and
/// the release marked.
async fn clear<S: FunctionsPort>(
    s: &S,
    name: &str,
    v: &Vetted,
    outcomes: Vec<Outcome>,
    mut keys: Vec<String>,
    clock: &dyn Clock,
) -> Execution {
    let (kind, facts) = (ActionKind::ReleaseFunction, &v.facts);
    let ok = outcomes.iter().all(Outcome::is_ok);
    if ok {
        keys.extend([tags::FINDING, tags::STATUS, tags::CONTAINED_AT].map(String::from));
    }
    // Only what the function carries and the release read (an unconfirmed unsealed record stays,
    // and so does a forged one, as evidence).
    keys.retain(|k| tag_value(&facts.tags, k).is_some() || v.sources_keys.contains(k));
    let untagged = s.untag_function(&facts.arn, &keys).await;
    let released_at = [(tags::RELEASED_AT.to_string(), clock.rfc3339())];
    let tagged = match (ok, untagged) {
        (true, Ok(())) => s.tag_function(&facts.arn, &released_at).await,
        (_, u) => u,
    };
    released(kind, name, outcomes, tagged)
}

#[cfg(test)]
mod tests {
    use crate::execute::function::testing::{release_of, stopped, Fake, DELETE_POLICY};
    use crate::tags;

    #[tokio::test]
    async fn an_earlier_version_s_records_are_restored_where_the_facts_confirm_them() {
        let fake = Fake::new(stopped(
            &[],
            &[
                (tags::STATUS, tags::status::STOPPED),
                (tags::CONCURRENCY, "5"),
                (tags::EVENT_SOURCES, "u-own u-alias u-someone-else"),
                (tags::VPC_GROUPS, "sg-app1+sg-app2"),
            ],
        ));
        let done = release_of(&fake).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        let mut changes = fake.changes();
        changes.sort();
        assert_eq!(
            changes,
            vec![
                "concurrency Some(5)",
                DELETE_POLICY,
                "groups sg-app1 sg-app2",
                "mapping u-alias true",
                "mapping u-own true",
            ],
            "another function's mapping is never enabled"
        );
        assert_eq!(done.warnings.len(), 1, "{:?}", done.warnings);
        assert!(
            done.warnings[0].starts_with("NOT RESTORED on orders")
                && done.warnings[0].contains("u-someone-else"),
            "{:?}",
            done.warnings
        );
        // Every record and marker, the unsealed ones too, removed once restored.
        let untag = "untag firebreak:concurrency,firebreak:event-sources,firebreak:status,\
                     firebreak:vpc-groups";
        assert!(
            fake.calls().contains(&untag.to_string()),
            "{:?}",
            fake.calls()
        );
    }

    #[tokio::test]
    async fn an_unsealed_record_the_facts_contradict_is_never_restored_and_stays() {
        // The owner set concurrency 3 since; the groups named are Firebreak's own and another
        // VPC's; the mapping is not this function's.
        let mut facts = stopped(
            &[],
            &[
                (tags::CONCURRENCY, "50"),
                (tags::EVENT_SOURCES, "u-someone-else"),
                (tags::VPC_GROUPS, "sg-untrack+sg-elsewhere1"),
            ],
        );
        facts.reserved_concurrency = Some(3);
        let fake = Fake::new(facts);
        let done = release_of(&fake).await;
        assert_eq!(
            fake.changes(),
            vec![DELETE_POLICY],
            "nothing the unsealed records say is applied"
        );
        let told = done.warnings.join("\n");
        for needle in [
            "firebreak:concurrency",
            "u-someone-else",
            "sg-untrack+sg-elsewhere1",
        ] {
            assert!(told.contains(needle), "{needle} not in {told}");
        }
        assert!(
            !fake
                .calls()
                .iter()
                .any(|c| c.starts_with("untag firebreak")),
            "the unsealed records stay for a human: {:?}",
            fake.calls()
        );

        // An earlier version's status says Firebreak stopped it: with no record it can trust of
        // its concurrency and groups, the release refuses rather than guess.
        let mut facts = stopped(&[], &[(tags::STATUS, tags::status::STOPPED)]);
        facts.legacy.push((tags::CONCURRENCY.into(), "50".into()));
        facts.reserved_concurrency = Some(3);
        let fake = Fake::new(facts);
        let done = release_of(&fake).await;
        assert_eq!(done.completed, Some(false), "{done:?}");
        assert!(!fake.changes().iter().any(|c| c.starts_with("concurrency")));
        assert!(!fake.changes().iter().any(|c| c.starts_with("groups")));
    }
}
