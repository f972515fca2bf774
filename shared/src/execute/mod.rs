//! The schedulers: each carries out one shape of plan as concurrent rounds of actions (the actions
//! themselves are in `actions/`). `instance` quarantines an instance, `credentials` revokes a user's
//! or a role's credentials, `release` runs the undos of an instance's quarantine, `artifact` unshares
//! an EBS snapshot or AMI (and gives its sharing back).

pub mod artifact;
pub mod credentials;
pub mod function;
pub mod instance;
pub mod release;

use tokio::time::Instant;

use crate::clock::Clock;
use crate::incident::Incident;
use crate::plan::Plan;

/// What every scheduler is given besides the ports.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// The playbook's plan for it.
    pub plan: &'a Plan,
    /// The exemption tag (`FIREBREAK_EXEMPT_TAG`), read live on the resource.
    pub exempt_tag: &'a str,
    /// Where "now" comes from.
    pub clock: &'a dyn Clock,
    /// When to stop waiting for AWS, put back what is half done, and report.
    pub deadline: Instant,
}
