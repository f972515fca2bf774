//! What a release may restore: the records of an instance checked against the facts, before any
//! undo reads them. Defence in depth for sealed records, and the only check for the unsealed ones
//! an earlier version wrote:
//! - an interface's recorded groups are restored only if every one is in the interface's VPC and
//!   none is Firebreak's own; an unsealed record only for an interface that is in its VPC's
//!   isolation group now (what a quarantine left);
//! - a network ACL entry is removed only if its CIDR is one of the instance's own addresses (a
//!   terminated instance, whose addresses EC2 no longer reports, only from a sealed record);
//! - anything else unsealed (evidence settings, instance profile, Auto Scaling group, target
//!   groups, Elastic IPs) is never restored: the team is told what it says, escaped, to check.

use std::collections::{BTreeMap, HashMap};

use futures::future::join_all;

use crate::kind::ActionKind;
use crate::outcome::Outcome;
use crate::ports::{InstanceFacts, QuarantineGroupsPort};
use crate::records::{AclDenies, Isolation};
use crate::seal;
use crate::tags::{NetworkAclRecord, OriginalGroups};

const RELEASE: ActionKind = ActionKind::ReleaseInstance;

/// The instance as a release may read it, and what the checks refused.
pub struct Vetted {
    /// The facts, their tags holding only the isolation and network ACL records that passed (in
    /// the one-tag-per-item format; every other sealed record as it was).
    pub facts: InstanceFacts,
    /// The keys that hold the isolation and network ACL records on the instance (sealed and
    /// unsealed): removed with the vetted ones once released.
    pub isolation_keys: Vec<String>,
    /// As `isolation_keys`, for the network ACL records.
    pub acl_keys: Vec<String>,
    /// A refused outcome per record that failed a check (the release is then not complete).
    pub refused: Vec<Outcome>,
    /// What the team must know: tampering, and unsealed records not restored.
    pub warnings: Vec<String>,
}

/// Firebreak's own groups and each VPC's isolation group, for the instance's VPCs.
struct Ours {
    all: Vec<String>,
    isolation: HashMap<String, String>,
}

async fn ours<E: QuarantineGroupsPort>(ec2: &E, facts: &InstanceFacts) -> Result<Ours, Outcome> {
    let vpcs = facts.vpc_ids();
    let found = join_all(vpcs.iter().map(|v| ec2.find_quarantine_groups(v))).await;
    let mut out = Ours {
        all: Vec::new(),
        isolation: HashMap::new(),
    };
    for (vpc, f) in vpcs.iter().zip(found) {
        let f = f.map_err(|e| {
            Outcome::failed(RELEASE, vpc, "could not look up the quarantine groups", &e)
        })?;
        out.all.extend(f.untracking.clone());
        if let Some(g) = f.isolation {
            out.all.push(g.clone());
            out.isolation.insert(vpc.clone(), g);
        }
    }
    Ok(out)
}

/// The checks, run once before the undos.
pub async fn vet<E: QuarantineGroupsPort>(ec2: &E, facts: &InstanceFacts) -> Vetted {
    let mut v = Vetted {
        facts: facts.clone(),
        isolation_keys: Isolation::keys(&facts.tags),
        acl_keys: AclDenies::keys(&facts.tags),
        refused: Vec::new(),
        warnings: Vec::new(),
    };
    let id = facts.instance_id.as_str();
    if !facts.forged.is_empty() {
        v.warnings.push(seal::tampering(id, &facts.forged));
    }
    v.isolation_keys.extend(Isolation::keys(&facts.legacy));
    v.acl_keys.extend(AclDenies::keys(&facts.legacy));
    let ours = match ours(ec2, facts).await {
        Ok(o) => o,
        Err(failed) => {
            // Nothing of the isolation record can be checked: none of it is restored now.
            v.refused.push(failed);
            v.facts.tags = without(&facts.tags, &v.isolation_keys);
            return v;
        }
    };
    let groups = vetted_groups(ec2, facts, &ours, &mut v).await;
    let acls = vetted_acls(facts, &mut v);
    let mut tags = without(
        &facts.tags,
        &[v.isolation_keys.clone(), v.acl_keys.clone()].concat(),
    );
    tags.extend(
        groups
            .into_iter()
            .map(|(eni, gs)| (OriginalGroups::key(&eni), OriginalGroups(gs).encode())),
    );
    tags.extend(
        acls.0
            .into_iter()
            .map(|(acl, r)| (NetworkAclRecord::key(&acl), r.encode())),
    );
    v.facts.tags = tags;
    let left = unsealed_rest(facts);
    if !left.is_empty() {
        v.warnings.push(seal::unverified(id, &left));
    }
    v
}

fn without(tags: &[(String, String)], keys: &[String]) -> Vec<(String, String)> {
    tags.iter()
        .filter(|(k, _)| !keys.contains(k))
        .cloned()
        .collect()
}

/// The unsealed records no check can confirm (all but isolation and network ACL entries).
fn unsealed_rest(facts: &InstanceFacts) -> Vec<(String, String)> {
    let checked = [
        Isolation::keys(&facts.legacy),
        AclDenies::keys(&facts.legacy),
    ]
    .concat();
    without(&facts.legacy, &checked)
}

/// Each interface's groups that pass: the sealed record's, and the unsealed record's for an
/// interface in its VPC's isolation group now; every group in the interface's VPC, none ours.
async fn vetted_groups<E: QuarantineGroupsPort>(
    ec2: &E,
    facts: &InstanceFacts,
    ours: &Ours,
    v: &mut Vetted,
) -> BTreeMap<String, Vec<String>> {
    let mut record = Isolation::read(&facts.tags).groups;
    let quarantined = |eni: &String| {
        facts.interfaces.iter().any(|i| {
            &i.network_interface_id == eni
                && ours
                    .isolation
                    .get(&i.vpc_id)
                    .is_some_and(|g| i.group_ids == [g.clone()])
        })
    };
    let mut unconfirmed = Vec::new();
    for (eni, gs) in Isolation::read(&facts.legacy).groups {
        match record.contains_key(&eni) || quarantined(&eni) {
            true => {
                record.entry(eni).or_insert(gs);
            }
            false => unconfirmed.push((eni, gs.join(" "))),
        }
    }
    if !unconfirmed.is_empty() {
        v.warnings
            .push(seal::unverified(&facts.instance_id, &unconfirmed));
    }
    let ids: Vec<String> = record.values().flatten().cloned().collect();
    let vpcs: HashMap<String, String> = match ids.is_empty() {
        true => HashMap::new(),
        false => match ec2.group_vpcs(&ids).await {
            Ok(found) => found.into_iter().collect(),
            Err(e) => {
                let what = "could not check the recorded groups";
                v.refused
                    .push(Outcome::failed(RELEASE, &facts.instance_id, what, &e));
                return BTreeMap::new();
            }
        },
    };
    record.retain(|eni, gs| match group_check(facts, ours, &vpcs, eni, gs) {
        Ok(()) => true,
        Err(why) => {
            v.refused.push(Outcome::refused(RELEASE, eni, why));
            false
        }
    });
    record
}

/// Why the recorded groups of `eni` must not be restored, if they must not.
fn group_check(
    facts: &InstanceFacts,
    ours: &Ours,
    vpcs: &HashMap<String, String>,
    eni: &str,
    groups: &[String],
) -> Result<(), String> {
    let Some(vpc) = facts
        .interfaces
        .iter()
        .find(|i| i.network_interface_id == eni)
        .map(|i| i.vpc_id.as_str())
    else {
        // Not attached: `isolate::restore_all` keeps the record and says so.
        return Ok(());
    };
    let refuse = |what: String| {
        Err(format!(
            "recorded groups {} not restored: {what}; the interface keeps its groups, choose \
             them by hand",
            groups
                .iter()
                .map(|g| format!("{g:?}"))
                .collect::<Vec<_>>()
                .join(" ")
        ))
    };
    if let Some(g) = groups.iter().find(|g| ours.all.contains(g)) {
        return refuse(format!("{g:?} is one of Firebreak's quarantine groups"));
    }
    match groups
        .iter()
        .find(|g| vpcs.get(*g).map(String::as_str) != Some(vpc))
    {
        Some(g) => refuse(format!("{g:?} is not a security group of {vpc}")),
        None => Ok(()),
    }
}

/// The network ACL entries that pass: those whose CIDR is one of the instance's own addresses
/// (a terminated instance's, which EC2 no longer reports, only when sealed).
fn vetted_acls(facts: &InstanceFacts, v: &mut Vetted) -> AclDenies {
    let own: Vec<String> = facts
        .interfaces
        .iter()
        .flat_map(|i| i.addresses.iter())
        .map(|a| match a.contains(':') {
            true => format!("{a}/128"),
            false => format!("{a}/32"),
        })
        .collect();
    let terminated = facts.interfaces.is_empty();
    let mut out = AclDenies::default();
    let mut unconfirmed = Vec::new();
    let sources = [
        (AclDenies::read(&facts.tags), true),
        (AclDenies::read(&facts.legacy), false),
    ];
    for (record, sealed) in sources {
        for (acl, entries) in record.0 {
            for e in entries.0 {
                let ok = own.contains(&e.cidr) || (sealed && terminated);
                let kept = &mut out.0.entry(acl.clone()).or_default().0;
                match ok {
                    true if !kept.contains(&e) => kept.push(e),
                    true => {}
                    false => unconfirmed.push((acl.clone(), e)),
                }
            }
        }
    }
    out.0.retain(|_, r| !r.0.is_empty());
    for (acl, e) in unconfirmed {
        let entry = NetworkAclRecord(vec![e]).encode();
        let why = format!(
            "network ACL entry {entry:?} not removed: its CIDR is not one of the instance's \
             addresses"
        );
        v.refused.push(Outcome::refused(RELEASE, &acl, why));
    }
    out
}
