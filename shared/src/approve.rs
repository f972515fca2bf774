//! Carrying out a human's decision about an `ask` (`approval.rs` reads it).

use crate::approval::{Approval, Decision};
use crate::asff::CustomAction;
use crate::config::Config;
use crate::error::FirebreakError;
use crate::playbook::plan_for_action;
use crate::ports::{Ec2Ports, IamPorts, Notifier, ServicePorts};
use crate::report::Report;
use crate::responder::{answer, carry_out, Trigger};

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
        Decision::Reject => CustomAction::FbRelease,
    };
    let incident = &approval.incident;
    let mut plan = plan_for_action(action, incident, config);
    plan.decided_by = Some(format!("{} (approval command)", approval.by));
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
