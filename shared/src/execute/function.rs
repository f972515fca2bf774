//! Carries out a plan about a Lambda function, in rounds: (1) the function and its event source
//! mappings read; (2) the records written on it, and its VPC's isolation group found or made;
//! (3) concurrency 0, mappings disabled, the role's sessions of it revoked, and (after its record)
//! the VPC groups replaced, all at once; (4) its status. And the undo (`FbRelease`): everything
//! recorded given back, the sessions policy removed, then the records.

use crate::actions::function;
use crate::actions::registry::ActionKind;
use crate::clock::Clock;
use crate::error::AwsError;
use crate::execute::{each_planned, not_released, released, Request};
use crate::incident::{tag_value, FunctionRef};
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::Action;
use crate::ports::{
    FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalsPort, QuarantineGroupsPort,
};
use crate::records::{self, Budget};
use crate::tags;

fn not_notify(k: ActionKind) -> bool {
    k != ActionKind::Notify
}

/// The function now and its mappings, or the execution that ends here (gone, unreadable, exempt).
async fn read<S: FunctionsPort>(
    s: &S,
    r: &Request<'_>,
    f: &FunctionRef,
) -> Result<(FunctionFacts, Result<Vec<MappingFacts>, AwsError>), Execution> {
    let sources = r.plan.has(ActionKind::DisableEventSources);
    let (facts, mappings) = futures::join!(s.function(&f.name), async {
        match sources {
            true => s.mappings(&f.name).await,
            false => Ok(Vec::new()),
        }
    });
    let facts = match facts {
        Ok(Some(facts)) => facts,
        Ok(None) => {
            let gone = "it no longer exists";
            return Err(each_planned(r, &f.name, not_notify, Status::Skipped, gone));
        }
        Err(e) => {
            let why = format!("could not read the function: {e}");
            return Err(each_planned(r, &f.name, not_notify, Status::Failed, &why));
        }
    };
    if tag_value(&facts.tags, r.exempt_tag) == Some("true") {
        let why = format!("the function is tagged {}=true", r.exempt_tag);
        return Err(each_planned(r, &f.name, not_notify, Status::Skipped, &why));
    }
    // The live execution role, not the finding's: Firebreak never stops a function running as one
    // of its own (or a protected) role.
    if let Some(role) = role_name(&facts).filter(|n| r.protected.iter().any(|p| p == n)) {
        let why = format!(
            "it runs as {role}, one of Firebreak's own or protected roles: NOT acted on; a human \
             must contain it"
        );
        return Err(each_planned(r, &f.name, not_notify, Status::Skipped, &why));
    }
    Ok((facts, mappings))
}

/// The name of the function's execution role, from its ARN.
fn role_name(facts: &FunctionFacts) -> Option<&str> {
    let arn = facts.role_arn.as_deref()?;
    arn.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The isolation group of the function's VPC, found (and put right) or made.
async fn isolation_group<E: QuarantineGroupsPort>(
    ec2: &E,
    vpc: &FunctionVpc,
) -> Result<String, AwsError> {
    let found = ec2.reconcile_quarantine_groups(&vpc.vpc_id).await?;
    match found.isolation {
        Some(g) => Ok(g),
        None => Ok(ec2
            .create_quarantine_groups(&vpc.vpc_id, &found)
            .await?
            .isolation),
    }
}

/// Writes `write` on the function within the tag budget; why not, when it was not written.
async fn record<S: FunctionsPort>(
    s: &S,
    facts: &FunctionFacts,
    budget: &Budget,
    write: Vec<(String, String)>,
) -> Option<String> {
    let arn = facts.arn.as_str();
    budget
        .record(&facts.tags, write, |w| async move {
            s.tag_function(arn, &w).await
        })
        .await
}

/// Contains a Lambda function (the plan's function actions, in four rounds).
pub async fn run<E: QuarantineGroupsPort, S: FunctionsPort, I: PrincipalsPort>(
    ec2: &E,
    s: &S,
    iam: &I,
    r: Request<'_>,
    f: &FunctionRef,
) -> Execution {
    // Round 1: the function, its mappings.
    let (facts, mappings) = match read(s, &r, f).await {
        Ok(read) => read,
        Err(ended) => return ended,
    };
    let has = |k| r.plan.has(k);
    let budget = Budget::new(records::counted(&facts.tags), 3);
    let mut write = Vec::new();
    if has(ActionKind::StopFunction) {
        write.extend(function::concurrency_record(&facts));
    }
    if let (true, Ok(m)) = (has(ActionKind::DisableEventSources), &mappings) {
        write.extend(function::sources_record(&facts.tags, m));
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
    conclude(s, &r, &facts, outcomes).await
}

/// Round 4: the function tagged with the finding and its status (`stopped`, or
/// `containment-failed`), and when, on success.
async fn conclude<S: FunctionsPort>(
    s: &S,
    r: &Request<'_>,
    facts: &FunctionFacts,
    outcomes: Vec<Outcome>,
) -> Execution {
    let ok = outcomes.iter().all(Outcome::is_ok);
    let status = match ok {
        true => tags::status::STOPPED,
        false => tags::status::CONTAINMENT_FAILED,
    };
    let mut marks = vec![
        (tags::FINDING.to_string(), r.incident.finding_id.clone()),
        (tags::STATUS.to_string(), status.to_string()),
    ];
    if ok {
        marks.push((tags::CONTAINED_AT.to_string(), r.clock.rfc3339()));
    }
    let warnings = match s.tag_function(&facts.arn, &marks).await {
        Ok(()) => Vec::new(),
        Err(e) => vec![format!("its status tag could not be written: {e}")],
    };
    Execution {
        completed: Some(ok),
        outcomes,
        warnings,
        ..Execution::default()
    }
}

/// Round 3's inputs: what was read and the budget the records share.
struct Changes<'a, S, I> {
    s: &'a S,
    iam: &'a I,
    r: &'a Request<'a>,
    f: &'a FunctionRef,
    facts: &'a FunctionFacts,
    mappings: &'a Result<Vec<MappingFacts>, AwsError>,
    budget: &'a Budget,
}

impl<S: FunctionsPort, I: PrincipalsPort> Changes<'_, S, I> {
    /// Concurrency 0, mappings disabled, sessions revoked, VPC isolated: at once.
    async fn make(
        &self,
        vpc: Option<&FunctionVpc>,
        group: Option<Result<String, AwsError>>,
    ) -> Vec<Outcome> {
        let (s, iam, r, facts, mappings, budget) = (
            self.s,
            self.iam,
            self.r,
            self.facts,
            self.mappings,
            self.budget,
        );
        let name = self.f.name.as_str();
        let has = |k| r.plan.has(k);
        let cutoff = r.clock.cutoff();
        let stop = async {
            match has(ActionKind::StopFunction) {
                true => Some(function::stop(s, name, facts).await),
                false => None,
            }
        };
        let disable = async {
            match (has(ActionKind::DisableEventSources), &mappings) {
                (false, _) => None,
                (true, Ok(m)) => Some(function::disable(s, name, m).await),
                (true, Err(e)) => Some(Outcome::failed(
                    ActionKind::DisableEventSources,
                    name,
                    "could not list its event source mappings",
                    e,
                )),
            }
        };
        // The live execution role (the finding's may be stale or absent).
        let revoke = async {
            let named = match r.plan.find(ActionKind::RevokeFunctionSessions) {
                Some(Action::RevokeFunctionSessions { role_name, .. }) => Some(role_name),
                _ => None,
            };
            let kind = ActionKind::RevokeFunctionSessions;
            match named.map(|n| role_name(facts).or(n.as_deref())) {
                None => None,
                Some(Some(role)) => {
                    Some(function::revoke(iam, role, name, &facts.arn, &cutoff).await)
                }
                Some(None) => Some(Outcome::refused(
                    kind,
                    name,
                    "neither the finding nor Lambda names its execution role: its sessions are \
                     NOT revoked",
                )),
            }
        };
        let isolate = isolate_after_record(
            s,
            facts,
            budget,
            vpc,
            group,
            has(ActionKind::IsolateFunction),
        );
        let (stop, disable, revoke, isolate) = futures::join!(stop, disable, revoke, isolate);

        [stop, disable, isolate, revoke]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// `isolate-function`: its groups recorded, then the isolation group; nothing outside a VPC.
async fn isolate_after_record<S: FunctionsPort>(
    s: &S,
    facts: &FunctionFacts,
    budget: &Budget,
    vpc: Option<&FunctionVpc>,
    group: Option<Result<String, AwsError>>,
    planned: bool,
) -> Option<Outcome> {
    let kind = ActionKind::IsolateFunction;
    let name = facts.arn.rsplit(':').next().unwrap_or_default();
    if !planned {
        return None;
    }
    let (Some(vpc), Some(group)) = (vpc, group) else {
        return Some(Outcome::new(
            kind,
            name,
            Status::Skipped,
            "not attached to a VPC",
        ));
    };
    let isolation = match group {
        Ok(g) => g,
        Err(e) => {
            let why = "could not find or create its VPC's isolation group";
            return Some(Outcome::failed(kind, name, why, &e));
        }
    };
    let unrecorded = record(s, facts, budget, function::groups_record(facts, &isolation)).await;
    let outcome = function::isolate(s, name, vpc, &isolation).await;
    Some(match (unrecorded, outcome.status) {
        (Some(why), Status::Succeeded) => {
            let before = format!("its groups were {}", vpc.groups.join(", "));
            outcome.unrecorded(before, why)
        }
        _ => outcome,
    })
}

/// The undo (`FbRelease`): concurrency, mappings and VPC groups given back from the records, the
/// sessions policy removed from the role, then the records and markers removed.
pub async fn release<S: FunctionsPort, I: PrincipalsPort>(
    s: &S,
    iam: &I,
    f: &FunctionRef,
    clock: &dyn Clock,
) -> Execution {
    let kind = ActionKind::ReleaseFunction;
    let name = f.name.as_str();
    let facts = match s.function(name).await {
        Ok(Some(facts)) => facts,
        read => return not_released(kind, name, read.err()),
    };
    let role = facts
        .role_arn
        .as_deref()
        .or(f.role_name.as_deref())
        .map(|r| r.rsplit('/').next().unwrap_or(r).to_string());
    let (concurrency, sources, groups, policy) = futures::join!(
        function::restore_concurrency(s, name, &facts.tags),
        function::enable_recorded(s, name, &facts.tags),
        function::restore_groups(s, name, &facts),
        async {
            match &role {
                Some(role) => Some(function::unrevoke(iam, role, name).await),
                None => None,
            }
        }
    );
    let mut keys = Vec::new();
    let restored = |o: &Option<Outcome>| o.as_ref().is_none_or(Outcome::is_ok);
    if restored(&concurrency) {
        keys.push(tags::CONCURRENCY.to_string());
    }
    if restored(&sources) {
        keys.extend(records::chunk_keys(&facts.tags, tags::EVENT_SOURCES));
    }
    if restored(&groups) {
        keys.push(tags::VPC_GROUPS.to_string());
    }
    let outcomes: Vec<Outcome> = [concurrency, sources, groups, policy]
        .into_iter()
        .flatten()
        .collect();
    let ok = outcomes.iter().all(Outcome::is_ok);
    if ok {
        keys.extend([tags::FINDING, tags::STATUS, tags::CONTAINED_AT].map(String::from));
    }
    keys.retain(|k| tag_value(&facts.tags, k).is_some());
    let untagged = s.untag_function(&facts.arn, &keys).await;
    let released_at = [(tags::RELEASED_AT.to_string(), clock.rfc3339())];
    let tagged = match (ok, untagged) {
        (true, Ok(())) => s.tag_function(&facts.arn, &released_at).await,
        (_, u) => u,
    };
    released(kind, name, outcomes, tagged)
}
