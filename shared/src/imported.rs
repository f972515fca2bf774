//! Every region from one deployment: GuardDuty findings that Security Hub's cross-region
//! aggregation imports into this region (`Security Hub Findings - Imported`), acted on in the
//! finding's own region and account, as automatically as the native event (the playbook, the
//! blast-radius cap).
//!
//! Deduplicated against the native event: a finding of this function's own region is left to the
//! native GuardDuty event (the template's rule does not even send it, and this checks again); and
//! when the finding was already handled — by the native event in a deployment of its own region,
//! or by an earlier import of the same finding (Security Hub sends one on every update, Firebreak's
//! own notes included) — the response finds everything already done and, as for any automatic
//! delivery that changes nothing (`responder::Trigger`), sends no second message.

use serde::Serialize;

use crate::config::Config;
use crate::error::FirebreakError;
use crate::incident::Incident;
use crate::ports::{Ec2Ports, IamPorts, Notifier, ServicePorts};
use crate::report::verdict::Verdict;
use crate::respond::{changed_nothing, respond};

/// What happened to one imported finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Imported {
    /// A finding of this region: the native GuardDuty event handles it.
    LeftToTheNativeEvent,
    /// Handled before (natively or by an earlier import): nothing changed, nothing sent.
    AlreadyHandled,
    /// Responded to, and the team told.
    Responded {
        /// The verdict.
        verdict: Verdict,
    },
    /// Not a finding Firebreak can act on (another product's, or malformed): logged.
    Rejected {
        /// Why.
        reason: String,
    },
}

/// Responds to one imported finding (see the module documentation).
pub async fn respond_imported<E: Ec2Ports, S: ServicePorts, I: IamPorts, N: Notifier>(
    incident: &Incident,
    config: &Config,
    (ec2, service, iam): (&E, &S, &I),
    notifier: &N,
    home_region: &str,
) -> Result<Imported, FirebreakError> {
    // GuardDuty's own findings of this region arrive natively; Inspector's and Macie's only here.
    let other_product = ["Inspector:", "Macie:"]
        .iter()
        .any(|p| incident.finding_type.starts_with(p));
    if incident.region == home_region && !other_product {
        return Ok(Imported::LeftToTheNativeEvent);
    }
    let report = respond(incident, config, ec2, service, iam, notifier).await?;
    if changed_nothing(&report) {
        return Ok(Imported::AlreadyHandled);
    }
    Ok(Imported::Responded {
        verdict: report.verdict,
    })
}
