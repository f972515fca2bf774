//! Round 1: the instance and, speculatively, the quarantine groups and network ACLs of the VPCs
//! the finding names and (under a cap) the recent quarantines, at the same time; then the gate:
//! the instance to act on, or the execution that ends there.

use std::collections::HashMap;

use futures::future::join_all;

use crate::actions::network_acl;
use crate::error::AwsError;
use crate::execute::Request;
use crate::incident::InstanceRef;
use crate::kind::ActionKind;
use crate::outcome::Outcome;
use crate::plan::skip_all;
use crate::ports::{Ec2Ports, FoundGroups, InstanceFacts, NetworkAclFacts};
use crate::tags;

const ISOLATE: ActionKind = ActionKind::IsolateInstance;

/// Round 1: the instance and, speculatively, the quarantine groups of the VPCs the finding names
/// and (under a cap) the recent quarantines, at the same time.
pub(super) struct Round1 {
    pub(super) described: Result<Option<InstanceFacts>, AwsError>,
    pub(super) early: Early,
    pub(super) recent: Option<Result<Vec<(String, String)>, AwsError>>,
}

/// What round 1 found of the VPCs the finding names: their quarantine groups and network ACLs.
#[derive(Default)]
pub(super) struct Early {
    pub(super) groups: HashMap<String, FoundGroups>,
    pub(super) acls: HashMap<String, Vec<NetworkAclFacts>>,
}

pub(super) async fn round1<E: Ec2Ports>(
    ec2: &E,
    r: Request<'_>,
    instance: &InstanceRef,
    isolate: bool,
    cap: bool,
) -> Round1 {
    let named_vpcs = match isolate {
        true => instance.vpc_ids(),
        false => Vec::new(),
    };
    let acl_vpcs = match r.plan.has(ActionKind::DenyNetworkAcl) {
        true => named_vpcs.clone(),
        false => Vec::new(),
    };
    let (described, groups, acls, recent) = futures::join!(
        ec2.describe_instance(&instance.instance_id),
        join_all(
            named_vpcs
                .iter()
                .map(|v| async move { (v.clone(), ec2.reconcile_quarantine_groups(v).await) })
        ),
        network_acl::acls_of(ec2, &acl_vpcs),
        async {
            match isolate && cap {
                true => Some(ec2.quarantine_starts().await),
                false => None,
            }
        }
    );
    Round1 {
        described,
        early: Early {
            groups: groups.into_iter().filter_map(found).collect(),
            acls: acls.into_iter().filter_map(found).collect(),
        },
        recent,
    }
}

/// A lookup that answered: what round 1 speculatively found (one that failed is looked up again).
fn found<T>((vpc, r): (String, Result<T, AwsError>)) -> Option<(String, T)> {
    r.ok().map(|f| (vpc, f))
}

/// An execution that ends before any change: its outcomes, and whether containment failed.
pub(super) struct Ended(pub(super) Vec<Outcome>, pub(super) Option<bool>);

/// The instance to act on, or the execution that ends here (gone, terminated, exempt, unreadable).
pub(super) fn gate(
    r: Request<'_>,
    id: &str,
    described: Result<Option<InstanceFacts>, AwsError>,
    isolate: bool,
) -> Result<InstanceFacts, Ended> {
    let ends = |outcomes, completed| Err(Ended(outcomes, completed));
    match described {
        Ok(Some(f)) if f.state == "terminated" || f.state == "shutting-down" => ends(
            skip_all(r.plan, &format!("the instance is {}", f.state)),
            None,
        ),
        Ok(Some(f)) if f.tag(r.exempt_tag) == Some(tags::TRUE) => ends(
            skip_all(
                r.plan,
                &format!("the instance is tagged {}=true", r.exempt_tag),
            ),
            None,
        ),
        Ok(Some(f)) => Ok(f),
        Ok(None) => ends(skip_all(r.plan, "the instance no longer exists"), None),
        Err(e) => ends(
            vec![Outcome::failed(
                ISOLATE,
                id,
                "could not describe the instance",
                &e,
            )],
            isolate.then_some(false),
        ),
    }
}
