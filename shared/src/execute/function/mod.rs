//! Carries out a plan about a Lambda function, in rounds: (1) the function, its event source
//! mappings (its aliases' too) and its provisioned concurrency read; (2) the records written on it,
//! and its VPC's isolation group found or made; (3) concurrency 0 (provisioned concurrency removed
//! first), mappings disabled, the role's sessions of it revoked, and (after its record) the VPC
//! groups replaced and confirmed once Lambda has applied them, all at once; (4) its status. A
//! function outside a VPC has no network to isolate: that step is not applicable, not a failure.
//! And the undo (`FbRelease`): everything recorded given back (a configuration change confirmed),
//! the sessions policy removed, then the records.
//!
//! One file per round: `read` (1), `prepare` (2), `changes` (3), `conclude` (4); the release in
//! `release`, after `vet` has checked the records it may restore against the facts. The actions
//! themselves are in `actions/function/`.

mod changes;
mod conclude;
mod prepare;
mod read;
mod release;
#[cfg(test)]
mod testing;
mod vet;

pub use self::conclude::not_applicable;
pub use self::prepare::vpc_isolation_group;
pub use self::release::release;

use self::changes::Changes;
use self::conclude::conclude;
use self::prepare::{isolation_group, record};
use self::read::{read, Read};
use crate::actions::function;
use crate::execute::Request;
use crate::incident::FunctionRef;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Status};
use crate::ports::{FunctionsPort, Ports, PrincipalsPort, QuarantineGroupsPort};
use crate::records::{self, Budget};
use crate::seal;

/// Contains the incident's Lambda function (the plan's function actions, in four rounds).
pub async fn run<E: QuarantineGroupsPort, S: FunctionsPort, I: PrincipalsPort>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    match r.incident.function() {
        Some(f) => stop(p.ec2, p.service, p.iam, r, f).await,
        None => Execution::default(),
    }
}

/// Contains a Lambda function (the plan's function actions, in four rounds).
async fn stop<E: QuarantineGroupsPort, S: FunctionsPort, I: PrincipalsPort>(
    ec2: &E,
    s: &S,
    iam: &I,
    r: Request<'_>,
    f: &FunctionRef,
) -> Execution {
    // Round 1: the function, its mappings, its provisioned concurrency.
    let Read {
        facts,
        mappings,
        provisioned,
    } = match read(s, &r, f).await {
        Ok(read) => read,
        Err(ended) => return ended,
    };
    let has = |k| r.plan.has(k);
    // Tags Firebreak does not trust still take their place among the function's 50.
    let untrusted = facts.legacy.len() + facts.forged.len();
    let budget = Budget::new(records::counted(&facts.tags) + untrusted, 3);
    let mut write = Vec::new();
    if has(ActionKind::StopFunction) {
        write.extend(function::concurrency_record(&facts));
        if let Ok(p) = &provisioned {
            write.extend(function::provisioned_record(&facts, p));
        }
    }
    if let (true, Ok(m)) = (has(ActionKind::DisableEventSources), &mappings) {
        write.extend(function::sources_record(&facts, m));
    }
    // Round 2: the records; the VPC's isolation group.
    let vpc = facts
        .vpc
        .as_ref()
        .filter(|_| has(ActionKind::IsolateFunction));
    let (unrecorded, group) = futures::join!(record(s, &facts, &budget, write), async {
        match vpc {
            Some(vpc) => Some(isolation_group(ec2, vpc).await),
            None => None,
        }
    });
    // Round 3: every change at once, each after its record.
    let changes = Changes {
        s,
        iam,
        r: &r,
        f,
        facts: &facts,
        mappings: &mappings,
        provisioned: &provisioned,
        budget: &budget,
    };
    let mut outcomes = changes.make(vpc, group).await;
    if let Some(why) = unrecorded {
        for o in outcomes.iter_mut().filter(|o| {
            matches!(
                o.action,
                ActionKind::StopFunction | ActionKind::DisableEventSources
            ) && o.status == Status::Succeeded
        }) {
            *o = o
                .clone()
                .unrecorded("see the detail for what it was before", &why);
        }
    }
    // Round 4: the function's status.
    let mut done = conclude(s, &r, &facts, outcomes).await;
    if !facts.forged.is_empty() {
        done.warnings
            .insert(0, seal::tampering(&f.name, &facts.forged));
    }
    done
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;
    use crate::clock::FixedClock;
    use crate::execute::function::testing::{
        function_ref, release_of, stopped, Fake, DELETE_POLICY,
    };
    use crate::incident::{Incident, Resource, Source};
    use crate::outcome::Outcome;
    use crate::plan::{Action, Plan, Target};
    use crate::ports::{FunctionFacts, ProvisionedFacts, UpdateStatus};
    use crate::tags;

    #[tokio::test]
    async fn forged_records_are_never_acted_on_and_the_tampering_is_told() {
        let mut facts = stopped(&[], &[]);
        facts.reserved_concurrency = Some(5);
        facts.forged = vec![tags::CONCURRENCY.into(), tags::VPC_GROUPS.into()];
        let fake = Fake::new(facts);
        let done = release_of(&fake).await;
        assert_eq!(fake.changes(), vec![DELETE_POLICY]);
        assert!(
            done.warnings[0].starts_with("TAMPERING: orders carries firebreak:* tags"),
            "{:?}",
            done.warnings
        );
        assert!(
            !fake
                .calls()
                .iter()
                .any(|c| c.contains("firebreak:concurrency")),
            "a forged tag stays, as evidence: {:?}",
            fake.calls()
        );

        // Containment: the forged status does not make the function "already worked on", the
        // tampering is told, and the forged tags count against the function's 50.
        let incident = Incident {
            finding_id: "f-1".into(),
            ..incident()
        };
        let plan = Plan {
            actions: vec![Action::on_function(ActionKind::StopFunction, "orders")],
            ..Plan::notify_only("test", String::new())
        };
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        let r = Request {
            incident: &incident,
            plan: &plan,
            exempt_tag: "firebreak:exempt",
            protected: &[],
            clock: &clock,
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
            cap: None,
        };
        let mut facts = stopped(&[], &[]);
        facts.reserved_concurrency = Some(5);
        facts.forged = vec![tags::STATUS.into()];
        let fake = Fake::new(facts);
        let done = stop(&fake, &fake, &fake, r, &function_ref()).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        assert!(
            fake.calls()
                .contains(&"tag firebreak:concurrency=5".to_string()),
            "{:?}",
            fake.calls()
        );
        assert!(
            done.warnings[0].starts_with("TAMPERING: orders"),
            "{done:?}"
        );
    }

    /// A contained response to a Lambda finding, with every function action planned.
    fn incident() -> Incident {
        Incident {
            source: Source::GuardDuty,
            finding_id: "f-2".into(),
            finding_arn: None,
            finding_type: "Backdoor:Lambda/C&CActivity.B".into(),
            title: None,
            severity: 8.0,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sample: false,
            archived: false,
            resource_role: None,
            resource: Resource::Function(function_ref()),
            security_hub: None,
        }
    }

    /// The whole plan for the function (stop, sources, isolate, revoke), carried out on `fake`
    /// with `deadline_ms` to confirm what Lambda applies.
    async fn contain(fake: &Fake, deadline_ms: u64) -> Execution {
        let incident = incident();
        let name = || "orders".to_string();
        let plan = Plan {
            actions: vec![
                Action::on_function(ActionKind::StopFunction, name()),
                Action::on_function(ActionKind::DisableEventSources, name()),
                Action::on_function(ActionKind::IsolateFunction, name()),
                Action::new(
                    ActionKind::RevokeFunctionSessions,
                    Target::function_sessions(None, name()),
                ),
            ],
            ..Plan::notify_only("test", String::new())
        };
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        let r = Request {
            incident: &incident,
            plan: &plan,
            exempt_tag: "firebreak:exempt",
            protected: &[],
            clock: &clock,
            deadline: Instant::now() + std::time::Duration::from_millis(deadline_ms),
            cap: None,
        };
        stop(fake, fake, fake, r, &function_ref()).await
    }

    fn outcome(done: &Execution, kind: ActionKind) -> Outcome {
        done.outcomes
            .iter()
            .find(|o| o.action == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} outcome: {done:?}"))
    }

    /// Running with reserved concurrency 5, in `vpc-1` with its own group.
    fn running() -> FunctionFacts {
        let mut facts = stopped(&[], &[]);
        facts.reserved_concurrency = Some(5);
        facts.vpc.as_mut().unwrap().groups = vec!["sg-app".into()];
        facts
    }

    #[tokio::test]
    async fn outside_a_vpc_isolation_is_not_applicable_and_the_function_is_contained() {
        let mut facts = running();
        facts.vpc = None;
        let fake = Fake::new(facts);
        let done = contain(&fake, 1000).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        let isolate = outcome(&done, ActionKind::IsolateFunction);
        assert_eq!(isolate.status, Status::Skipped);
        assert!(isolate.detail.contains("no network"), "{isolate:?}");
        assert!(function::NO_NETWORK.starts_with("not applicable"));
        assert!(fake.calls().contains(&"tag firebreak:finding-id=f-2,firebreak:status=stopped,firebreak:contained-at=2026-12-01T00:00:00Z".to_string()), "{:?}", fake.calls());
    }

    #[tokio::test]
    async fn an_isolation_lambda_gives_up_or_has_not_applied_by_the_deadline_is_not_contained() {
        let mut fake = Fake::new(running());
        fake.update = UpdateStatus {
            status: "Failed".into(),
            reason_code: Some("SubnetOutOfIPAddresses".into()),
            reason: Some("no free addresses".into()),
        };
        let done = contain(&fake, 1000).await;
        assert_eq!(done.completed, Some(false), "{done:?}");
        let isolate = outcome(&done, ActionKind::IsolateFunction);
        assert_eq!(isolate.status, Status::Failed);
        assert_eq!(
            isolate.error_code.as_deref(),
            Some("SubnetOutOfIPAddresses")
        );
        assert!(
            isolate.detail.contains("LastUpdateStatus Failed"),
            "{isolate:?}"
        );
        assert!(
            outcome(&done, ActionKind::StopFunction).is_ok(),
            "the rest holds"
        );

        // Still in progress at the deadline: not confirmed, so not contained (the retry confirms).
        fake.update.status = "InProgress".into();
        let started = Instant::now();
        let done = contain(&fake, 300).await;
        assert!(
            started.elapsed() < std::time::Duration::from_secs(2),
            "bounded by the deadline"
        );
        let isolate = outcome(&done, ActionKind::IsolateFunction);
        assert_eq!(
            (isolate.status, done.completed),
            (Status::Failed, Some(false))
        );
        assert!(isolate.detail.contains("NOT CONFIRMED"), "{isolate:?}");
    }

    #[tokio::test]
    async fn provisioned_concurrency_is_recorded_and_removed_before_concurrency_0() {
        let mut fake = Fake::new(running());
        fake.provisioned = vec![ProvisionedFacts {
            qualifier: "live".into(),
            requested: 3,
        }];
        let done = contain(&fake, 1000).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        let calls = fake.calls();
        let at = |c: &str| {
            calls
                .iter()
                .position(|x| x.starts_with(c))
                .unwrap_or(usize::MAX)
        };
        assert!(
            at("tag firebreak:concurrency=5") < at("provisioned live None"),
            "{calls:?}"
        );
        assert!(calls
            .iter()
            .any(|c| c.contains("firebreak:provisioned-concurrency=live=3")));
        assert!(
            at("provisioned live None") < at("concurrency Some(0)"),
            "{calls:?}"
        );
        let stop = outcome(&done, ActionKind::StopFunction);
        assert!(stop.detail.contains("any version or alias"), "{stop:?}");
        assert!(stop.detail.contains("removed from live (3)"), "{stop:?}");
    }
}
