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
