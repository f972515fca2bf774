//! Round 1: the function, its event source mappings and its provisioned concurrency read, or the
//! execution that ends there (gone, unreadable, exempt, running as a protected role).

use crate::error::AwsError;
use crate::execute::{each_planned, Request};
use crate::incident::{tag_value, FunctionRef};
use crate::kind::ActionKind;
use crate::outcome::{Execution, Status};
use crate::ports::{FunctionFacts, FunctionsPort, MappingFacts, ProvisionedFacts};

fn not_notify(k: ActionKind) -> bool {
    k != ActionKind::Notify
}

/// Round 1's reads: the function, its mappings, its provisioned concurrency.
pub(super) struct Read {
    pub(super) facts: FunctionFacts,
    pub(super) mappings: Result<Vec<MappingFacts>, AwsError>,
    pub(super) provisioned: Result<Vec<ProvisionedFacts>, AwsError>,
}

/// The function now, its mappings and provisioned concurrency, or the execution that ends here
/// (gone, unreadable, exempt).
pub(super) async fn read<S: FunctionsPort>(
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
pub(super) fn role_name(facts: &FunctionFacts) -> Option<&str> {
    let arn = facts.role_arn.as_deref()?;
    arn.rsplit('/').next().filter(|n| !n.is_empty())
}
