//! `isolate-function`: a function in a VPC moved to the VPC's isolation group, its groups
//! recorded, confirmed once Lambda has applied it (`LastUpdateStatus`); not applicable outside a
//! VPC. The undo gives the recorded groups back, confirmed the same way.

use tokio::time::Instant;

use crate::actions::function::concurrency::touched;
use crate::actions::function::poll::until_deadline;
use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{FunctionFacts, FunctionVpc, FunctionsPort, UpdateStatus};
use crate::retry::until_settled;
use crate::tags;

/// What an isolation outside a VPC reports: not applicable, and why.
pub const NO_NETWORK: &str = "not applicable: the function is not attached to a VPC, so it has no \
    network to isolate (nothing changed; reserved concurrency 0 is what stops it)";

/// What `isolate-function` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ActionKind::IsolateFunction,
    permissions: &[
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
        "lambda:TagResource",
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ],
    tags: &[tags::VPC_GROUPS],
    undo_permissions: &[
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
        "lambda:UntagResource",
    ],
};

/// How Lambda's last update of the function stands once it is applied, or at `deadline`.
async fn settled<S: FunctionsPort>(
    s: &S,
    name: &str,
    deadline: Instant,
) -> Result<UpdateStatus, AwsError> {
    let busy = |r: &Result<UpdateStatus, AwsError>| matches!(r, Ok(u) if u.in_progress());
    until_deadline(deadline, busy, || s.update_status(name)).await
}

/// The outcome of a configuration change once Lambda reports how it went: `done` when it was
/// applied; failed with Lambda's reason code when it was not; not confirmed while in progress.
fn confirmed(
    kind: ActionKind,
    name: &str,
    read: Result<UpdateStatus, AwsError>,
    done: Outcome,
) -> Outcome {
    match read {
        Err(e) => {
            let why = "changed, but whether Lambda applied it could not be read";
            Outcome::failed(kind, name, why, &e)
        }
        Ok(u) if u.failed() => {
            let e = AwsError {
                code: Some(
                    u.reason_code
                        .unwrap_or_else(|| "LastUpdateStatusFailed".into()),
                ),
                message: u.reason.unwrap_or_else(|| "no reason given".into()),
            };
            let why = "Lambda could not apply the change (LastUpdateStatus Failed); the function \
                       keeps its previous configuration";
            Outcome::failed(kind, name, why, &e)
        }
        Ok(u) if u.in_progress() => Outcome::refused(
            kind,
            name,
            "NOT CONFIRMED: Lambda was still applying the change (LastUpdateStatus InProgress) at \
             the incident's deadline; a redelivery confirms it",
        ),
        Ok(_) => done,
    }
}

/// The VPC-groups record to write: the function's groups now, unless one is recorded (sealed, or
/// an earlier version's, which stays for a release to check) or it is in the isolation group
/// already.
pub fn groups_record(facts: &FunctionFacts, isolation: &str) -> Vec<(String, String)> {
    let recorded = [&facts.tags, &facts.legacy]
        .iter()
        .any(|t| tag_value(t, tags::VPC_GROUPS).is_some());
    match &facts.vpc {
        Some(vpc) if !recorded && vpc.groups != [isolation] => {
            vec![(tags::VPC_GROUPS.to_string(), vpc.groups.join("+"))]
        }
        _ => Vec::new(),
    }
}

/// What every version and alias runs with once the isolation group is applied.
const ISOLATION_SCOPE: &str = "$LATEST and versions published from now on run in it; published \
    versions keep the groups they were published with (a version's configuration is fixed), and \
    reserved concurrency 0 stops them all";

/// The function's VPC configuration moved to the isolation group, confirmed once Lambda has applied
/// it (`LastUpdateStatus`, polled until `deadline`): its new execution environments reach nothing,
/// and nothing reaches them. `last`: how Lambda's last update stood when the function was read (a
/// redelivery confirms an update still in progress, and applies one that failed again).
pub async fn isolate<S: FunctionsPort>(
    s: &S,
    name: &str,
    vpc: &FunctionVpc,
    isolation: &str,
    last: &UpdateStatus,
    deadline: Instant,
) -> Outcome {
    let kind = ActionKind::IsolateFunction;
    if vpc.groups == [isolation] && !last.failed() {
        let done = Outcome::new(
            kind,
            name,
            Status::AlreadyDone,
            format!("in the isolation group, applied: {ISOLATION_SCOPE}"),
        );
        return match last.in_progress() {
            true => confirmed(kind, name, settled(s, name, deadline).await, done),
            false => done,
        };
    }
    let isolation_only = [isolation.to_string()];
    let moved = until_settled(|| s.set_function_groups(name, vpc, &isolation_only)).await;
    if let Err(e) = moved {
        return Outcome::failed(kind, name, "could not move it to the isolation group", &e);
    }
    let was = match vpc.groups == [isolation] {
        true => "again: Lambda had failed to apply it".to_string(),
        false => format!("was {}", vpc.groups.join(", ")),
    };
    let done = Outcome::new(
        kind,
        name,
        Status::Succeeded,
        format!(
            "moved to isolation group {isolation} in {} ({was}), applied: {ISOLATION_SCOPE}",
            vpc.vpc_id
        ),
    );
    confirmed(kind, name, settled(s, name, deadline).await, done)
}

/// The undo: the recorded groups back (same subnets), confirmed once Lambda has applied them;
/// `None` when nothing is recorded.
pub async fn restore_groups<S: FunctionsPort>(
    s: &S,
    name: &str,
    facts: &FunctionFacts,
    deadline: Instant,
) -> Option<Outcome> {
    let kind = ActionKind::IsolateFunction;
    let Some(recorded) = tag_value(&facts.tags, tags::VPC_GROUPS) else {
        // Stopped by Firebreak, in a VPC, and no record: its groups are not known.
        return (touched(&facts.tags) && facts.vpc.is_some()).then(|| {
            let why = "no record of its security groups before Firebreak: left as they are \
                       (set them by hand)";
            Outcome::refused(kind, name, why)
        });
    };
    let groups: Vec<String> = recorded.split('+').map(String::from).collect();
    let readable = groups.iter().all(|g| g.starts_with("sg-"));
    let Some(vpc) = facts
        .vpc
        .as_ref()
        .filter(|_| readable && !groups.is_empty())
    else {
        let why = format!("its VPC record {recorded:?} no longer applies: left as it is");
        return Some(Outcome::refused(kind, name, why));
    };
    let last = &facts.last_update;
    if vpc.groups == groups && !last.failed() {
        let done = Outcome::new(kind, name, Status::AlreadyDone, "in its groups");
        return Some(match last.in_progress() {
            true => confirmed(kind, name, settled(s, name, deadline).await, done),
            false => done,
        });
    }
    let moved = until_settled(|| s.set_function_groups(name, vpc, &groups)).await;
    if let Err(e) = moved {
        return Some(Outcome::failed(
            kind,
            name,
            "could not give its groups back",
            &e,
        ));
    }
    let done = Outcome::new(
        kind,
        name,
        Status::Succeeded,
        format!("back in {}", groups.join(", ")),
    );
    Some(confirmed(
        kind,
        name,
        settled(s, name, deadline).await,
        done,
    ))
}
