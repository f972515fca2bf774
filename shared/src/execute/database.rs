//! An RDS DB instance's rounds (an Aurora instance's cluster carries its groups, its records and
//! its snapshot): (1) the instance (and cluster) read, with their tags; (2) the snapshot started,
//! beside the groups' record written and the VPC's isolation group found or made (the same group
//! instances and Lambda functions use); (3) once both are there, the groups replaced by the
//! isolation group; (4) its status (`awaiting-approval` for an `ask`, `quarantined` or
//! `containment-failed`), the team told what isolation does not cut and how to end the user's
//! sessions in the database. Never worse than nothing: without its record, or without the group,
//! the database keeps its groups. And the undo (`FbRelease`): the sealed record's groups given
//! back, once checked against the VPC, then the records removed.

use crate::actions::database::{
    groups_record, isolate, recorded_groups, restore, snapshot, DbGuidance,
};
use crate::error::AwsError;
use crate::execute::{each_planned, not_released, released, Request};
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{quiet, Execution, Marked, Outcome, Status, Told};
use crate::ports::{DatabaseFacts, DatabasesPort, Ports, QuarantineGroupsPort};
use crate::seal;
use crate::tags::{self, status};

/// The kinds this scheduler carries out.
fn mine(kind: ActionKind) -> bool {
    matches!(
        kind,
        ActionKind::SnapshotDatabase | ActionKind::IsolateDatabase | ActionKind::AwaitApproval
    )
}

/// Snapshots and (when planned) isolates the incident's database.
pub async fn run<E: QuarantineGroupsPort, S: DatabasesPort, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    let Some(db) = r.incident.database() else {
        return Execution::default();
    };
    // Round 1: the instance, its cluster, their tags.
    let facts = match p.service.database(&db.db_instance).await {
        Ok(Some(f)) => f,
        Ok(None) => {
            return each_planned(&r, db.name(), mine, Status::Skipped, "it no longer exists")
        }
        Err(e) => {
            let why = format!("could not read it: {e}");
            return each_planned(&r, db.name(), mine, Status::Failed, &why);
        }
    };
    let exempt = [&facts.tags, &facts.legacy]
        .iter()
        .any(|t| tag_value(t, r.exempt_tag) == Some("true"));
    if exempt {
        let why = format!("the database is tagged {}=true", r.exempt_tag);
        return each_planned(&r, facts.name(), mine, Status::Skipped, &why);
    }
    let has = |k| r.plan.has(k);
    // Rounds 2 and 3: the snapshot, beside the record and the group, then the isolation.
    let (snapped, isolated) = futures::join!(
        async {
            match has(ActionKind::SnapshotDatabase) {
                true => Some(snapshot(p.service, &facts, &r.incident.finding_id).await),
                false => None,
            }
        },
        async {
            match has(ActionKind::IsolateDatabase) {
                true => Some(isolation(p.ec2, p.service, &facts).await),
                false => None,
            }
        }
    );
    let mut outcomes: Vec<Outcome> = [snapped, isolated].into_iter().flatten().collect();
    if has(ActionKind::AwaitApproval) && !has(ActionKind::IsolateDatabase) {
        outcomes.push(awaiting(&facts));
    }
    // Round 4: its status.
    let mut done = conclude(p.service, &r, &facts, outcomes).await;
    if !facts.forged.is_empty() {
        let warning = seal::tampering(facts.name(), &facts.forged);
        done.warnings.insert(0, warning);
    }
    done.warnings
        .extend(DbGuidance::new(db, &facts.engine).lines());
    done
}

/// The isolation group of the database's VPC, found (and put right) or made.
async fn vpc_group<E: QuarantineGroupsPort>(ec2: &E, vpc: &str) -> Result<String, AwsError> {
    crate::execute::function::vpc_isolation_group(ec2, vpc).await
}

/// Its groups recorded ‖ its VPC's isolation group, then the isolation; neither without both.
async fn isolation<E: QuarantineGroupsPort, S: DatabasesPort>(
    ec2: &E,
    s: &S,
    facts: &DatabaseFacts,
) -> Outcome {
    let (kind, name) = (ActionKind::IsolateDatabase, facts.name());
    let Some(vpc) = facts.vpc_id.as_deref() else {
        let why = "it is in no VPC Firebreak can read (no DB subnet group): not isolated";
        return Outcome::refused(kind, name, why);
    };
    let group = match vpc_group(ec2, vpc).await {
        Ok(g) => g,
        Err(e) => {
            let why = "its VPC's isolation group could not be had: the database keeps its groups";
            return Outcome::failed(kind, name, why, &e);
        }
    };
    let record = groups_record(facts, &group);
    if !record.is_empty() {
        if let Err(e) = s.tag_database(&facts.arn, &record).await {
            let why = "its groups could not be recorded, so it was not isolated (a release could \
                       not give them back): the database keeps its groups";
            return Outcome::failed(kind, name, why, &e);
        }
    }
    isolate(s, facts, &group).await
}

/// `await-approval`: the database marked as waiting for a human (its status, written in round 4),
/// unless it waits already or a human decided.
fn awaiting(facts: &DatabaseFacts) -> Outcome {
    let (kind, name) = (ActionKind::AwaitApproval, facts.name());
    match tag_value(&facts.tags, tags::STATUS).map(status::word) {
        Some(status::AWAITING_APPROVAL) => {
            Outcome::new(kind, name, Status::AlreadyDone, "awaiting approval already")
        }
        Some(other) => Outcome::new(
            kind,
            name,
            Status::Skipped,
            format!("its status is {other}: a human decided already"),
        ),
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            "tagged awaiting-approval: isolation waits for a human",
        ),
    }
}

/// Round 4: the database tagged with the finding and its status, and when, once isolated. An
/// `ask` marks it `awaiting-approval`, unless a human already decided (its status stays).
async fn conclude<S: DatabasesPort>(
    s: &S,
    r: &Request<'_>,
    facts: &DatabaseFacts,
    outcomes: Vec<Outcome>,
) -> Execution {
    let had = tag_value(&facts.tags, tags::STATUS);
    let isolating = r.plan.has(ActionKind::IsolateDatabase);
    let isolated = isolating
        && outcomes
            .iter()
            .filter(|o| o.action == ActionKind::IsolateDatabase)
            .all(Outcome::is_ok);
    let state = match (isolating, isolated, had.map(status::word)) {
        (true, true, _) => status::QUARANTINED,
        (true, false, _) => status::CONTAINMENT_FAILED,
        (false, _, Some(w)) if w != status::AWAITING_APPROVAL => w,
        (false, _, _) => status::AWAITING_APPROVAL,
    }
    .to_string();
    let on = Marked::Database(facts.arn.clone());
    let told = Told::kept(on, tags::STATUS, &state, had, quiet(&outcomes));
    let mut marks = vec![
        tags::pair(tags::FINDING, r.incident.finding_id.clone()),
        tags::pair(tags::STATUS, told.written()),
    ];
    if isolated && tag_value(&facts.tags, tags::CONTAINED_AT).is_none() {
        marks.push(tags::pair(tags::CONTAINED_AT, r.clock.rfc3339()));
    }
    let warnings = match s.tag_database(&facts.arn, &marks).await {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("its status tag could not be written: {e}")],
    };
    let failed = outcomes.iter().any(|o| o.status == Status::Failed);
    Execution {
        completed: isolating.then_some(isolated).or(failed.then_some(false)),
        outcomes,
        warnings,
        told: Some(told),
        ..Execution::default()
    }
}

/// The undo (`FbRelease`): the recorded groups given back (only a sealed record, only groups of
/// the database's VPC that are not Firebreak's own), then the records removed.
pub async fn release<E: QuarantineGroupsPort, S: DatabasesPort, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    let Some(db) = r.incident.database() else {
        return Execution::default();
    };
    let kind = ActionKind::ReleaseDatabase;
    let facts = match p.service.database(&db.db_instance).await {
        Ok(Some(f)) => f,
        read => return not_released(kind, db.name(), read.err()),
    };
    let name = facts.name();
    let mut outcomes = Vec::new();
    let unsealed = tag_value(&facts.legacy, tags::VPC_GROUPS).is_some();
    match recorded_groups(&facts) {
        Some(groups) => match vet(p.ec2, &facts, &groups).await {
            Ok(()) => outcomes.push(restore(p.service, &facts, &groups).await),
            Err(why) => outcomes.push(Outcome::refused(ActionKind::IsolateDatabase, name, why)),
        },
        None if unsealed => outcomes.push(Outcome::refused(
            ActionKind::IsolateDatabase,
            name,
            "its groups' record carries no seal: never restored; set its groups by hand",
        )),
        None => {}
    }
    let ok = outcomes.iter().all(Outcome::is_ok);
    let keys: Vec<String> = [
        tags::VPC_GROUPS,
        tags::FINDING,
        tags::STATUS,
        tags::CONTAINED_AT,
    ]
    .into_iter()
    .filter(|k| ok && tag_value(&facts.tags, k).is_some())
    .map(String::from)
    .collect();
    let untagged = match ok {
        true => p.service.untag_database(&facts.arn, &keys).await,
        false => Ok(()),
    };
    let at = [tags::pair(tags::RELEASED_AT, r.clock.rfc3339())];
    let recorded = match (ok, untagged) {
        (true, Ok(())) => p.service.tag_database(&facts.arn, &at).await,
        (_, u) => u,
    };
    let mut done = released(kind, name, outcomes, recorded);
    if !facts.forged.is_empty() {
        done.warnings.push(seal::tampering(name, &facts.forged));
    }
    done
}

/// What a release may give back: groups of the database's own VPC, none of them Firebreak's.
async fn vet<E: QuarantineGroupsPort>(
    ec2: &E,
    facts: &DatabaseFacts,
    groups: &[String],
) -> Result<(), String> {
    let vpc = facts
        .vpc_id
        .as_deref()
        .ok_or("it is in no VPC Firebreak can read")?;
    let (found, vpcs) = futures::join!(ec2.find_quarantine_groups(vpc), ec2.group_vpcs(groups));
    let found = found.map_err(|e| format!("its VPC's groups could not be read: {e}"))?;
    let vpcs = vpcs.map_err(|e| format!("the recorded groups could not be read: {e}"))?;
    let own = [found.isolation, found.untracking];
    for g in groups {
        if own.iter().flatten().any(|o| o == g) {
            return Err(format!(
                "the record names Firebreak's own group {g}: not restored"
            ));
        }
        if !vpcs.iter().any(|(id, v)| id == g && v == vpc) {
            return Err(format!(
                "the recorded group {g} is not a group of its VPC {vpc}: not restored"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::clock::FixedClock;
    use crate::incident::{DatabaseRef, Incident, Resource, Source};
    use crate::plan::{Action, Plan, Target};
    use crate::ports::{FoundGroups, QuarantineGroups};

    /// One database in `vpc-1` with `sg-app`; records the calls; fails what it is told to.
    #[derive(Default)]
    struct Fake {
        facts: DatabaseFacts,
        no_group: bool,
        no_record: bool,
        calls: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                facts: DatabaseFacts {
                    db_instance: "orders-1".into(),
                    arn: "arn:aws:rds:us-east-1:123456789012:db:orders-1".into(),
                    engine: "postgres".into(),
                    vpc_id: Some("vpc-1".into()),
                    groups: vec!["sg-app".into()],
                    ..DatabaseFacts::default()
                },
                ..Fake::default()
            }
        }
        fn log(&self, c: String) {
            self.calls.lock().unwrap().push(c);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
        fn at(&self, prefix: &str) -> Option<usize> {
            self.calls().iter().position(|c| c.starts_with(prefix))
        }
    }

    fn denied() -> AwsError {
        AwsError {
            code: Some("AccessDenied".into()),
            message: "no".into(),
        }
    }

    impl DatabasesPort for Fake {
        async fn database(&self, _: &str) -> Result<Option<DatabaseFacts>, AwsError> {
            Ok(Some(self.facts.clone()))
        }
        async fn snapshot_database(
            &self,
            _: &DatabaseFacts,
            name: &str,
            _: &[(String, String)],
        ) -> Result<bool, AwsError> {
            self.log(format!("snapshot {name}"));
            Ok(true)
        }
        async fn set_database_groups(
            &self,
            _: &DatabaseFacts,
            groups: &[String],
        ) -> Result<(), AwsError> {
            self.log(format!("groups {}", groups.join(",")));
            Ok(())
        }
        async fn tag_database(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
            let record = tags.iter().any(|(k, _)| k == tags::VPC_GROUPS);
            let written: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.log(format!("tag {}", written.join(",")));
            match self.no_record && record {
                true => Err(denied()),
                false => Ok(()),
            }
        }
        async fn untag_database(&self, _: &str, keys: &[String]) -> Result<(), AwsError> {
            self.log(format!("untag {}", keys.join(",")));
            Ok(())
        }
    }

    impl QuarantineGroupsPort for Fake {
        async fn find_quarantine_groups(&self, _: &str) -> Result<FoundGroups, AwsError> {
            Ok(FoundGroups {
                isolation: Some("sg-iso".into()),
                untracking: Some("sg-untrack".into()),
            })
        }
        async fn reconcile_quarantine_groups(&self, v: &str) -> Result<FoundGroups, AwsError> {
            match self.no_group {
                true => Err(denied()),
                false => self.find_quarantine_groups(v).await,
            }
        }
        async fn group_vpcs(&self, ids: &[String]) -> Result<Vec<(String, String)>, AwsError> {
            let vpc = |g: &String| match g.as_str() {
                "sg-elsewhere" => "vpc-2",
                _ => "vpc-1",
            };
            Ok(ids
                .iter()
                .map(|g| (g.clone(), vpc(g).to_string()))
                .collect())
        }
        async fn create_quarantine_groups(
            &self,
            _: &str,
            _: &FoundGroups,
        ) -> Result<QuarantineGroups, AwsError> {
            unreachable!("the groups exist")
        }
    }

    fn incident() -> Incident {
        Incident {
            source: Source::GuardDuty,
            finding_id: "f-1".into(),
            finding_arn: None,
            finding_type: "CredentialAccess:RDS/TorIPCaller.SuccessfulLogin".into(),
            title: None,
            severity: 8.0,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sample: false,
            archived: false,
            resource_role: None,
            resource: Resource::Database(DatabaseRef {
                db_instance: "orders-1".into(),
                arn: None,
                engine: None,
                cluster: None,
                login: None,
            }),
            security_hub: None,
        }
    }

    async fn carry_out(fake: &Fake, kinds: &[ActionKind]) -> Execution {
        let incident = incident();
        let target = || Target::database("orders-1", None);
        let plan = Plan {
            actions: kinds.iter().map(|k| Action::new(*k, target())).collect(),
            ..Plan::notify_only("test", String::new())
        };
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        let r = Request {
            incident: &incident,
            plan: &plan,
            exempt_tag: "firebreak:exempt",
            protected: &[],
            clock: &clock,
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(5),
            cap: None,
        };
        let p = Ports {
            ec2: fake,
            service: fake,
            iam: &(),
        };
        match kinds.contains(&ActionKind::ReleaseDatabase) {
            true => release(&p, r).await,
            false => run(&p, r).await,
        }
    }

    const CONTAIN: [ActionKind; 2] = [ActionKind::IsolateDatabase, ActionKind::SnapshotDatabase];

    #[tokio::test]
    async fn the_groups_are_recorded_before_the_isolation_and_the_snapshot_taken() {
        let fake = Fake::new();
        let done = carry_out(&fake, &CONTAIN).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        let (record, moved) = (
            fake.at("tag firebreak:vpc-groups=sg-app"),
            fake.at("groups sg-iso"),
        );
        assert!(record.is_some() && record < moved, "{:?}", fake.calls());
        assert!(fake.at("snapshot firebreak-orders-1-f1").is_some());
        assert!(fake
            .calls()
            .iter()
            .any(|c| c.contains("firebreak:status=quarantined")));
        assert!(
            done.warnings.iter().any(|w| w.contains("NOT cut")),
            "{done:?}"
        );
    }

    #[tokio::test]
    async fn without_the_isolation_group_or_the_record_the_database_keeps_its_groups() {
        for (no_group, no_record) in [(true, false), (false, true)] {
            let fake = Fake {
                no_group,
                no_record,
                ..Fake::new()
            };
            let done = carry_out(&fake, &CONTAIN).await;
            assert_eq!(done.completed, Some(false), "{done:?}");
            assert_eq!(fake.at("groups "), None, "never moved: {:?}", fake.calls());
            let isolate = done
                .outcomes
                .iter()
                .find(|o| o.action == ActionKind::IsolateDatabase)
                .unwrap();
            assert_eq!(isolate.status, Status::Failed);
            assert!(isolate.detail.contains("keeps its groups"), "{isolate:?}");
            assert!(
                fake.at("snapshot ").is_some(),
                "the evidence is still taken"
            );
            assert!(fake
                .calls()
                .iter()
                .any(|c| c.contains("containment-failed")));
        }
    }

    #[tokio::test]
    async fn a_release_restores_only_a_sealed_record_of_the_vpc_s_own_groups() {
        let released = |record: Option<&'static str>, legacy: Option<&'static str>| async move {
            let mut fake = Fake::new();
            fake.facts.groups = vec!["sg-iso".into()];
            let pair = |v: &str| vec![tags::pair(tags::VPC_GROUPS, v)];
            fake.facts.tags = record.map(pair).unwrap_or_default();
            fake.facts.legacy = legacy.map(pair).unwrap_or_default();
            let done = carry_out(&fake, &[ActionKind::ReleaseDatabase]).await;
            (done, fake.calls())
        };
        let (done, calls) = released(Some("sg-app+sg-db"), None).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        assert!(
            calls.contains(&"groups sg-app,sg-db".to_string()),
            "{calls:?}"
        );
        assert!(calls
            .iter()
            .any(|c| c.starts_with("untag firebreak:vpc-groups")));
        for (record, legacy) in [
            (Some("sg-iso"), None),
            (Some("sg-app+sg-elsewhere"), None),
            (None, Some("sg-app")),
        ] {
            let (done, calls) = released(record, legacy).await;
            assert_eq!(
                done.completed,
                Some(false),
                "{record:?} {legacy:?}: {done:?}"
            );
            assert!(!calls.iter().any(|c| c.starts_with("groups ")), "{calls:?}");
            assert!(
                !calls.iter().any(|c| c.starts_with("untag ")),
                "records stay"
            );
        }
    }
}
