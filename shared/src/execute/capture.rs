//! `capture-memory`, once the instance's plan is carried out: never on containment's critical
//! path (warm containment stays three round trips), and never before isolation, so a capture
//! cannot delay it. The instance is read again (its groups now, the record of an earlier capture),
//! the VPC's isolation group found, then `actions::capture` decides and sends.

use tokio::time::Instant;

use crate::actions::capture::{capture_memory, Network};
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::ports::{CaptureSettings, InstancesPort, MemoryPort, Ports, QuarantineGroupsPort};

const ACTION: ActionKind = ActionKind::CaptureMemory;

/// Captures the instance's memory when the plan asks for it and the instance's own response did
/// not already answer the step (gone, exempt, terminated).
pub async fn run<E: InstancesPort + QuarantineGroupsPort, S: MemoryPort, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
    settings: &CaptureSettings,
    result: &mut Execution,
) {
    let Some(instance) = r.incident.instance() else {
        return;
    };
    if !r.plan.has(ACTION) || result.outcomes.iter().any(|o| o.action == ACTION) {
        return;
    }
    let id = instance.instance_id.as_str();
    result.outcomes.push(capture(p, r, settings, id).await);
}

async fn capture<E: InstancesPort + QuarantineGroupsPort, S: MemoryPort, I>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
    settings: &CaptureSettings,
    id: &str,
) -> Outcome {
    if Instant::now() >= r.deadline {
        let why = "not captured: the incident's deadline passed; the retry does it";
        return Outcome::refused(ACTION, id, why);
    }
    let facts = match p.ec2.describe_instance(id).await {
        Ok(Some(f)) => f,
        Ok(None) => return Outcome::new(ACTION, id, Status::Skipped, "it no longer exists"),
        Err(e) => return Outcome::failed(ACTION, id, "could not read the instance", &e),
    };
    let vpc = facts.interfaces.first().map(|i| i.vpc_id.clone());
    let group = match &vpc {
        None => None,
        Some(v) => match p.ec2.find_quarantine_groups(v).await {
            Ok(found) => found.isolation,
            Err(e) => return Outcome::failed(ACTION, id, "could not read the VPC's groups", &e),
        },
    };
    let isolated = group.as_deref().filter(|g| {
        facts
            .interfaces
            .iter()
            .any(|i| i.group_ids.iter().any(|x| x == g))
    });
    let network = vpc.as_deref().map(|vpc_id| Network {
        vpc_id,
        isolation_group: isolated,
    });
    capture_memory(p.ec2, p.service, settings, r.incident, &facts, network).await
}
