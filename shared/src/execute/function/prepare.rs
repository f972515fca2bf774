//! Round 2 (and the isolation's record in round 3): the records written on the function within
//! its tag budget, and its VPC's isolation group found or made.

use crate::error::AwsError;
use crate::ports::{FunctionFacts, FunctionVpc, FunctionsPort, QuarantineGroupsPort};
use crate::records::Budget;

/// The isolation group of the function's VPC, found (and put right) or made.
pub(super) async fn isolation_group<E: QuarantineGroupsPort>(
    ec2: &E,
    vpc: &FunctionVpc,
) -> Result<String, AwsError> {
    vpc_isolation_group(ec2, &vpc.vpc_id).await
}

/// The isolation group of a VPC, found (and put right) or made: a function's, a database's.
pub async fn vpc_isolation_group<E: QuarantineGroupsPort>(
    ec2: &E,
    vpc_id: &str,
) -> Result<String, AwsError> {
    let found = ec2.reconcile_quarantine_groups(vpc_id).await?;
    match found.isolation {
        Some(g) => Ok(g),
        None => Ok(ec2
            .create_quarantine_groups(vpc_id, &found)
            .await?
            .isolation),
    }
}

/// Writes `write` on the function within the tag budget; why not, when it was not written.
pub(super) async fn record<S: FunctionsPort>(
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
