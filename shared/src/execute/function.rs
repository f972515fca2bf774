//! Carries out a plan about a Lambda function, in rounds: (1) the function, its event source
//! mappings (its aliases' too) and its provisioned concurrency read; (2) the records written on it,
//! and its VPC's isolation group found or made; (3) concurrency 0 (provisioned concurrency removed
//! first), mappings disabled, the role's sessions of it revoked, and (after its record) the VPC
//! groups replaced and confirmed once Lambda has applied them, all at once; (4) its status. A
//! function outside a VPC has no network to isolate: that step is not applicable, not a failure.
//! And the undo (`FbRelease`): everything recorded given back (a configuration change confirmed),
//! the sessions policy removed, then the records.

use tokio::time::Instant;

use crate::actions::function;
use crate::actions::registry::ActionKind;
use crate::clock::Clock;
use crate::error::AwsError;
use crate::execute::{each_planned, not_released, released, Request};
use crate::incident::{tag_value, FunctionRef};
use crate::outcome::{quiet, Execution, Marked, Outcome, Status, Told};
use crate::plan::Action;
use crate::ports::{
    FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalsPort, ProvisionedFacts,
    QuarantineGroupsPort,
};
use crate::records::{self, Budget};
use crate::seal;
use crate::tags;

fn not_notify(k: ActionKind) -> bool {
    k != ActionKind::Notify
}

/// Round 1's reads: the function, its mappings, its provisioned concurrency.
struct Read {
    facts: FunctionFacts,
    mappings: Result<Vec<MappingFacts>, AwsError>,
    provisioned: Result<Vec<ProvisionedFacts>, AwsError>,
}

/// The function now, its mappings and provisioned concurrency, or the execution that ends here
/// (gone, unreadable, exempt).
async fn read<S: FunctionsPort>(
    s: &S,
    r: &Request<'_>,
    f: &FunctionRef,
) -> Result<Read, Execution> {
    let sources = r.plan.has(ActionKind::DisableEventSources);
    let stop = r.plan.has(ActionKind::StopFunction);
    let (facts, mappings, provisioned) = futures::join!(
        s.function(&f.name),
        async {
            match sources {
                true => s.mappings(&f.name).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match stop {
                true => s.provisioned(&f.name).await,
                false => Ok(Vec::new()),
            }
        }
    );
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
    Ok(Read {
        facts,
        mappings,
        provisioned,
    })
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

/// True when the step holds: done, already done, or not applicable (an isolation outside a VPC:
/// the function has no network to isolate).
fn holds(o: &Outcome) -> bool {
    o.is_ok() || not_applicable(o)
}

/// An isolation of a function outside a VPC.
pub fn not_applicable(o: &Outcome) -> bool {
    o.action == ActionKind::IsolateFunction && o.status == Status::Skipped
}

/// Round 4: the function tagged with the finding and its status (`stopped`, or
/// `containment-failed`), and when, on success.
async fn conclude<S: FunctionsPort>(
    s: &S,
    r: &Request<'_>,
    facts: &FunctionFacts,
    outcomes: Vec<Outcome>,
) -> Execution {
    let ok = outcomes.iter().all(holds);
    let status = match ok {
        true => tags::status::STOPPED,
        false => tags::status::CONTAINMENT_FAILED,
    };
    // The mark that the team was told stays only while nothing changes.
    let had = tag_value(&facts.tags, tags::STATUS);
    let already = had.is_some_and(|v| {
        tags::status::word(v) == status && tags::status::is_told(v) && quiet(&outcomes)
    });
    let value = match already {
        true => tags::status::told(status),
        false => status.to_string(),
    };
    let mut marks = vec![
        (tags::FINDING.to_string(), r.incident.finding_id.clone()),
        (tags::STATUS.to_string(), value),
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
        told: Some(Told {
            on: Marked::Function(facts.arn.clone()),
            mark: tags::pair(tags::STATUS, tags::status::told(status)),
            already,
        }),
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
    provisioned: &'a Result<Vec<ProvisionedFacts>, AwsError>,
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
        // Provisioned concurrency that could not be listed: none is removed; if there is some,
        // Lambda refuses the 0 and the outcome says why.
        let provisioned = self.provisioned.as_deref().unwrap_or_default();
        let stop = async {
            match has(ActionKind::StopFunction) {
                true => Some(function::stop(s, name, facts, provisioned).await),
                false => None,
            }
        };
        let disable = async {
            match (has(ActionKind::DisableEventSources), &mappings) {
                (false, _) => None,
                (true, Ok(m)) => Some(function::disable(s, name, m, r.deadline).await),
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
            has(ActionKind::IsolateFunction).then_some(r.deadline),
        );
        let (stop, disable, revoke, isolate) = futures::join!(stop, disable, revoke, isolate);

        [stop, disable, isolate, revoke]
            .into_iter()
            .flatten()
            .collect()
    }
}

/// `isolate-function` (planned: `deadline` given): its groups recorded, then the isolation group,
/// confirmed by `deadline`; not applicable outside a VPC.
async fn isolate_after_record<S: FunctionsPort>(
    s: &S,
    facts: &FunctionFacts,
    budget: &Budget,
    vpc: Option<&FunctionVpc>,
    group: Option<Result<String, AwsError>>,
    planned: Option<Instant>,
) -> Option<Outcome> {
    let kind = ActionKind::IsolateFunction;
    let name = facts.arn.rsplit(':').next().unwrap_or_default();
    let deadline = planned?;
    let (Some(vpc), Some(group)) = (vpc, group) else {
        return Some(Outcome::new(
            kind,
            name,
            Status::Skipped,
            function::NO_NETWORK,
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
    let outcome = function::isolate(s, name, vpc, &isolation, &facts.last_update, deadline).await;
    Some(match (unrecorded, outcome.status) {
        (Some(why), Status::Succeeded) => {
            let before = format!("its groups were {}", vpc.groups.join(", "));
            outcome.unrecorded(before, why)
        }
        _ => outcome,
    })
}

/// The function as its release may read it: its sealed records, and those of its unsealed ones
/// (an earlier version's) that the facts confirm (`vet`).
struct Vetted {
    /// The facts, their tags holding the sealed records and the confirmed unsealed ones (the
    /// event-sources record under its first key), and an earlier version's markers (its status
    /// only ever makes a release refuse what it cannot confirm).
    facts: FunctionFacts,
    /// Every tag of the event-sources record to remove once it is restored: the sealed record's,
    /// and the unsealed record's when some of it was confirmed.
    sources_keys: Vec<String>,
    /// A failed outcome per check that could not be made (the release is then not complete).
    refused: Vec<Outcome>,
    /// Tampering, and the unsealed records the facts do not confirm (never restored).
    warnings: Vec<String>,
}

impl Vetted {
    fn keep(&mut self, key: &str, value: &str) {
        self.facts.tags.push((key.to_string(), value.to_string()));
    }
}

/// The unsealed records checked against the facts: the concurrency only when the function's
/// reserved concurrency is 0 now; a mapping only when it is this function's; the VPC groups only
/// when every one is in the function's VPC and none is Firebreak's.
async fn vet<S: FunctionsPort>(s: &S, name: &str, facts: &FunctionFacts) -> Vetted {
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

/// The undo (`FbRelease`): concurrency, mappings and VPC groups given back from the records (the
/// unsealed ones only where the facts confirm them), the sessions policy removed from the role,
/// then the records and markers removed.
pub async fn release<S: FunctionsPort, I: PrincipalsPort>(
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
    use std::sync::Mutex;

    use super::*;
    use crate::clock::FixedClock;
    use crate::incident::{Incident, Resource, Source};
    use crate::plan::Plan;
    use crate::ports::{FoundGroups, PrincipalFacts, QuarantineGroups, UpdateStatus};

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";
    /// The release's removal of the function's deny policy (named for its ARN).
    const DELETE_POLICY: &str =
        "delete-role-policy FirebreakRevokeSessionsOfFunction-orders-66d2e7d49f3e";

    /// One function in `vpc-1`; records the changes.
    struct Fake {
        facts: FunctionFacts,
        mappings: Vec<MappingFacts>,
        calls: Mutex<Vec<String>>,
        /// What `GetFunctionConfiguration` answers after a change (`Successful` unless set).
        update: UpdateStatus,
        /// Its provisioned concurrency.
        provisioned: Vec<ProvisionedFacts>,
    }

    impl Fake {
        fn new(facts: FunctionFacts) -> Fake {
            let mapping = |uuid: &str, function_arn: &str| MappingFacts {
                uuid: uuid.into(),
                state: "Disabled".into(),
                function_arn: function_arn.into(),
            };
            Fake {
                facts,
                // Its own mappings (one through an alias); Lambda lists no other function's.
                mappings: vec![
                    mapping("u-own", ARN),
                    mapping("u-alias", &format!("{ARN}:live")),
                ],
                calls: Mutex::new(Vec::new()),
                update: UpdateStatus {
                    status: "Successful".into(),
                    ..UpdateStatus::default()
                },
                provisioned: vec![],
            }
        }
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
        fn changes(&self) -> Vec<String> {
            let change = |c: &String| !c.starts_with("tag ") && !c.starts_with("untag ");
            self.calls().into_iter().filter(change).collect()
        }
    }

    impl FunctionsPort for Fake {
        async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
            Ok(Some(self.facts.clone()))
        }
        async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
            Ok(self.mappings.clone())
        }
        async fn set_concurrency(&self, _: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.log(format!("concurrency {n:?}"));
            Ok(())
        }
        async fn set_mapping_enabled(&self, uuid: &str, on: bool) -> Result<(), AwsError> {
            self.log(format!("mapping {uuid} {on}"));
            Ok(())
        }
        async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
            Ok(self.provisioned.clone())
        }
        async fn set_provisioned(&self, _: &str, q: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.log(format!("provisioned {q} {n:?}"));
            Ok(())
        }
        async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
            Ok(self.update.clone())
        }
        async fn set_function_groups(
            &self,
            _: &str,
            _: &FunctionVpc,
            groups: &[String],
        ) -> Result<(), AwsError> {
            self.log(format!("groups {}", groups.join(" ")));
            Ok(())
        }
        async fn tag_function(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
            let each: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            self.log(format!("tag {}", each.join(",")));
            Ok(())
        }
        async fn untag_function(&self, _: &str, keys: &[String]) -> Result<(), AwsError> {
            let mut keys = keys.to_vec();
            keys.sort();
            self.log(format!("untag {}", keys.join(",")));
            Ok(())
        }
        /// `sg-app…` groups are in vpc-1, `sg-elsewhere…` in vpc-2; nothing else exists.
        async fn security_group_vpcs(
            &self,
            ids: &[String],
        ) -> Result<Vec<(String, String)>, AwsError> {
            let vpc = |g: &String| match g {
                g if g.starts_with("sg-app") || g.starts_with("sg-iso") => Some("vpc-1"),
                g if g.starts_with("sg-elsewhere") => Some("vpc-2"),
                _ => None,
            };
            Ok(ids
                .iter()
                .filter_map(|g| Some((g.clone(), vpc(g)?.to_string())))
                .collect())
        }
        async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(vec!["sg-iso".into(), "sg-untrack".into()])
        }
    }

    impl PrincipalsPort for Fake {
        async fn user(&self, _: &str) -> Result<Option<PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn role(&self, _: &str) -> Result<Option<PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn put_user_policy(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn put_role_policy(&self, _: &str, name: &str, _: &str) -> Result<(), AwsError> {
            self.log(format!("put-role-policy {name}"));
            Ok(())
        }
        async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
            self.log(format!("delete-role-policy {name}"));
            Ok(())
        }
        async fn tag_user(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn tag_role(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no role tags")
        }
    }

    impl QuarantineGroupsPort for Fake {
        async fn find_quarantine_groups(&self, _: &str) -> Result<FoundGroups, AwsError> {
            unreachable!("not isolated in these tests")
        }
        async fn reconcile_quarantine_groups(&self, _: &str) -> Result<FoundGroups, AwsError> {
            Ok(FoundGroups {
                isolation: Some("sg-iso".into()),
                untracking: Some("sg-untrack".into()),
            })
        }
        async fn group_vpcs(&self, _: &[String]) -> Result<Vec<(String, String)>, AwsError> {
            unreachable!("not isolated in these tests")
        }
        async fn create_quarantine_groups(
            &self,
            _: &str,
            _: &FoundGroups,
        ) -> Result<QuarantineGroups, AwsError> {
            unreachable!("not isolated in these tests")
        }
    }

    fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Stopped and isolated by Firebreak: concurrency 0, in the isolation group.
    fn stopped(tags: &[(&str, &str)], legacy: &[(&str, &str)]) -> FunctionFacts {
        FunctionFacts {
            arn: ARN.into(),
            role_arn: Some("arn:aws:iam::123456789012:role/orders-role".into()),
            reserved_concurrency: Some(0),
            vpc: Some(FunctionVpc {
                vpc_id: "vpc-1".into(),
                subnets: vec!["subnet-1".into()],
                groups: vec!["sg-iso".into()],
                ipv6_dual_stack: None,
            }),
            tags: pairs(tags),
            legacy: pairs(legacy),
            forged: vec![],
            last_update: UpdateStatus::default(),
        }
    }

    fn function_ref() -> FunctionRef {
        FunctionRef {
            arn: ARN.into(),
            name: "orders".into(),
            role_name: None,
        }
    }

    async fn release_of(fake: &Fake) -> Execution {
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        release(fake, fake, &function_ref(), &clock, deadline).await
    }

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
            actions: vec![Action::StopFunction {
                function: "orders".into(),
            }],
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
        };
        let mut facts = stopped(&[], &[]);
        facts.reserved_concurrency = Some(5);
        facts.forged = vec![tags::STATUS.into()];
        let fake = Fake::new(facts);
        let done = run(&fake, &fake, &fake, r, &function_ref()).await;
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
                Action::StopFunction { function: name() },
                Action::DisableEventSources { function: name() },
                Action::IsolateFunction { function: name() },
                Action::RevokeFunctionSessions {
                    role_name: None,
                    function: name(),
                },
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
        };
        run(fake, fake, fake, r, &function_ref()).await
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
