//! Carrying out a human's decision about an `ask` (`approval.rs` reads it).

use crate::approval::{Approval, Decision};
use crate::config::Config;
use crate::error::{FirebreakError, ParseError};
use crate::incident::asff::CustomAction;
use crate::incident::{tag_value, DatabaseRef};
use crate::playbook::analyst::plan_for_action;
use crate::ports::{DatabasesPort, Ec2Ports, IamPorts, Notifier, ServicePorts};
use crate::report::Report;
use crate::respond::{answer, carry_out, Trigger};
use crate::tags::{self, status};

/// A decision is taken only about what is waiting for one: an instance that exists, tagged
/// `awaiting-approval` for this very finding (a chat's release: quarantined for it). Anything else (another instance, another finding,
/// one already decided) is refused: the approval command is not a general quarantine or release
/// (those are the custom actions, with Security Hub's permissions).
async fn check<E: Ec2Ports, S: DatabasesPort>(
    approval: &Approval,
    ec2: &E,
    service: &S,
) -> Result<(), FirebreakError> {
    let incident = &approval.incident;
    if let Some(db) = incident.database() {
        return check_database(approval, db, service).await;
    }
    let id = incident
        .instance()
        .map(|i| i.instance_id.as_str())
        .unwrap_or_default();
    let refuse = |reason: String| {
        FirebreakError::from(ParseError::InvalidField {
            field: "firebreak-approval",
            reason,
        })
    };
    let facts = ec2
        .describe_instance(id)
        .await
        .map_err(|e| refuse(format!("could not read {id}: {e}")))?
        .ok_or_else(|| refuse(format!("{id} does not exist")))?;
    let state = tags::status_of(&facts);
    let same = facts.tag(tags::FINDING) == Some(incident.finding_id.as_str());
    let (waiting, what) = match approval.decision {
        Decision::Release => (
            matches!(
                state,
                Some(status::QUARANTINED | status::CONTAINMENT_FAILED)
            ),
            "quarantined",
        ),
        _ => (
            state == Some(status::AWAITING_APPROVAL),
            "awaiting approval",
        ),
    };
    match (waiting, same) {
        (true, true) => Ok(()),
        (false, _) => Err(refuse(format!("{id} is not {what}"))),
        (true, false) => Err(refuse(format!("{id} is {what} for another finding"))),
    }
}

/// The same check of an RDS database: it exists and its record (the cluster's, for Aurora) says
/// it awaits approval for this finding.
async fn check_database<S: DatabasesPort>(
    approval: &Approval,
    db: &DatabaseRef,
    service: &S,
) -> Result<(), FirebreakError> {
    let name = db.name();
    let refuse = |reason: String| {
        FirebreakError::from(ParseError::InvalidField {
            field: "firebreak-approval",
            reason,
        })
    };
    let facts = service
        .database(&db.db_instance)
        .await
        .map_err(|e| refuse(format!("could not read {name}: {e}")))?
        .ok_or_else(|| refuse(format!("{name} does not exist")))?;
    let waiting =
        tag_value(&facts.tags, tags::STATUS).map(status::word) == Some(status::AWAITING_APPROVAL);
    let same = tag_value(&facts.tags, tags::FINDING) == Some(approval.incident.finding_id.as_str());
    match (
        waiting,
        same,
        facts.cluster.as_deref() == db.cluster.as_deref(),
    ) {
        (true, true, true) => Ok(()),
        (false, _, _) => Err(refuse(format!("{name} is not awaiting approval"))),
        (true, false, _) => Err(refuse(format!(
            "{name} awaits approval for another finding"
        ))),
        (true, true, false) => Err(refuse(format!("{name} is not in the cluster named"))),
    }
}

/// Carries out a decision: an approval is the analyst's quarantine (never capped: a human
/// decided), a rejection the release; the instance records who decided. A step that failed fails
/// the invocation, so the caller sees it.
pub async fn decide<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    approval: &Approval,
    config: &Config,
    ec2: &E,
    service: &S,
    iam: &I,
    notifier: &N,
) -> Result<Report, FirebreakError> {
    let action = match approval.decision {
        Decision::Approve => CustomAction::FbQuarantine,
        Decision::Reject | Decision::Release => CustomAction::FbRelease,
    };
    let incident = &approval.incident;
    check(approval, ec2, service).await?;
    let mut plan = plan_for_action(action, incident, config);
    plan.decided_by = Some(format!("{} ({})", approval.by, approval.via.name()));
    let (report, published) = carry_out(
        incident,
        plan,
        config,
        Trigger::Human,
        ec2,
        service,
        iam,
        notifier,
    )
    .await;
    answer(report, published)
}
