//! What every round after the gate works with: the instance, the time the response started, and
//! the tags the instance can still take.

use crate::execute::Request;
use crate::kind::ActionKind;
use crate::ports::InstanceFacts;
use crate::records::{self, Budget};
use crate::tags;

/// The instance acted on, the time the response started, and the tags it can still take.
#[derive(Clone, Copy)]
pub(super) struct Here<'a> {
    pub(super) facts: &'a InstanceFacts,
    pub(super) now: &'a str,
    pub(super) budget: &'a Budget,
}

/// The tags the instance can still take (EC2 allows 50), with a place kept for the status and the
/// finding the response ends by writing.
pub(super) fn tag_budget(r: Request<'_>, facts: &InstanceFacts) -> Budget {
    let markers = match r.plan.has(ActionKind::TagInstance) {
        true => [tags::FINDING, tags::STATUS]
            .iter()
            .filter(|k| facts.tag(k).is_none())
            .count(),
        false => 0,
    };
    // Tags Firebreak does not trust still take their place among EC2's 50.
    let untrusted = facts.legacy.len() + facts.forged.len();
    Budget::new(records::counted(&facts.tags) + untrusted, markers)
}
