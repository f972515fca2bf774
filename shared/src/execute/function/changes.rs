//! Round 3: every change at once (concurrency 0, mappings disabled, the role's sessions of the
//! function revoked, and the VPC groups replaced once their record is written).

use tokio::time::Instant;

use crate::actions::function;
use crate::error::AwsError;
use crate::execute::function::prepare::record;
use crate::execute::function::read::role_name;
use crate::execute::Request;
use crate::incident::FunctionRef;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::plan::Action;
use crate::ports::{
    FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalsPort, ProvisionedFacts,
};
use crate::records::Budget;

/// Round 3's inputs: what was read and the budget the records share.
pub(super) struct Changes<'a, S, I> {
    pub(super) s: &'a S,
    pub(super) iam: &'a I,
    pub(super) r: &'a Request<'a>,
    pub(super) f: &'a FunctionRef,
    pub(super) facts: &'a FunctionFacts,
    pub(super) mappings: &'a Result<Vec<MappingFacts>, AwsError>,
    pub(super) provisioned: &'a Result<Vec<ProvisionedFacts>, AwsError>,
    pub(super) budget: &'a Budget,
}

impl<S: FunctionsPort, I: PrincipalsPort> Changes<'_, S, I> {
    /// Concurrency 0, mappings disabled, sessions revoked, VPC isolated: at once.
    pub(super) async fn make(
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
            let named = r
                .plan
                .find(ActionKind::RevokeFunctionSessions)
                .map(Action::role_name);
            let kind = ActionKind::RevokeFunctionSessions;
            match named.map(|n| role_name(facts).or(n)) {
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
