//! `deny-network-acl`: a deny entry for each of the instance's addresses, all protocols, both ways,
//! in every network ACL of its VPC, numbered ahead of that ACL's allow entries. Network ACLs are
//! stateless: unlike a security group change, an entry cuts *existing* flows at once — among them
//! the connections EC2 tracks whatever the group rules say (through NAT gateways, load balancers,
//! interface endpoints, transit gateway attachments, Network Firewall).
//!
//! Why every ACL of the VPC and not only the one of the instance's subnet: an ACL rule matches the
//! *source* of inbound traffic and the *destination* of outbound traffic (VPC guide, "Network ACL
//! rules"). The instance's own traffic never has its own address on the far side of its own
//! subnet's boundary, but it does at the boundary of every other subnet it talks through (the NAT
//! gateway's, the endpoint's, the load balancer's). The entries name only the instance's addresses:
//! no other instance's traffic matches them. The entries are recorded on the instance before they
//! are added; the undo removes exactly the recorded entries that are still Firebreak's.

use futures::future::join_all;

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{AclEntryFacts, InstanceFacts, InstancesPort, NetworkAclFacts, NetworkAclsPort};
use crate::records::{self, AclDenies, Room};
use crate::tags::{self, AclEntryRecord, NetworkAclRecord};

const ACTION: ActionKind = ActionKind::DenyNetworkAcl;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What `deny-network-acl` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeNetworkAcls",
        "ec2:CreateNetworkAclEntry",
        "ec2:CreateTags",
    ],
    tags: &[tags::ACL_DENIES],
    undo_permissions: &[
        "ec2:DescribeNetworkAcls",
        "ec2:DeleteNetworkAclEntry",
        "ec2:DeleteTags",
    ],
};

/// Rules per direction of a network ACL, for IPv4 and for IPv6 separately, the default deny rule
/// included (the default quota; VPC guide, "Amazon VPC quotas").
pub const ENTRY_QUOTA: usize = 20;
/// The default rules (`*`, 32767 for IPv4 and 32768 for IPv6): never numbered against.
const DEFAULT_RULES: [i32; 2] = [32767, 32768];

fn is_ipv6(cidr: &str) -> bool {
    cidr.contains(':')
}

/// The addresses of the instance's interfaces in `vpc_id` as CIDRs: `/32` for IPv4, `/128` for
/// IPv6, each once (another VPC's ACLs never see them: its addresses may overlap).
pub fn cidrs_in(facts: &InstanceFacts, vpc_id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let interfaces = facts.interfaces.iter().filter(|i| i.vpc_id == vpc_id);
    for a in interfaces.flat_map(|i| &i.addresses) {
        let cidr = match a.contains(':') {
            true => format!("{a}/128"),
            false => format!("{a}/32"),
        };
        if !out.contains(&cidr) {
            out.push(cidr);
        }
    }
    out
}

/// What to do in one network ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclPlan {
    /// The ACL.
    pub network_acl_id: String,
    /// Every entry that denies the instance there once the plan is carried out (the record).
    pub record: NetworkAclRecord,
    /// The entries to add.
    pub to_add: Vec<AclEntryRecord>,
    /// Why some address could not be denied (quota, no free rule number, record size).
    pub refused: Vec<String>,
}

fn direction(egress: bool) -> &'static str {
    match egress {
        true => "outbound",
        false => "inbound",
    }
}

/// A number that spreads instances over an ACL's free rule numbers (FNV-1a of the instance id):
/// two instances quarantined at once in one VPC rarely pick the same ones, and a redelivery of one
/// picks the same ones again.
pub fn seed(instance_id: &str) -> u64 {
    instance_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The entries `acl` needs so that every address in `cidrs` is denied both ways ahead of its allow
/// entries. Numbers are free ones below the lowest allow entry, from a point `seed` chooses. A deny
/// entry for the address that is already there counts as Firebreak's only when `recorded` (the
/// instance's record for this ACL) lists it; one someone else wrote is left out of the record, so
/// a release never removes it.
pub fn plan_acl(
    acl: &NetworkAclFacts,
    cidrs: &[String],
    recorded: Option<&NetworkAclRecord>,
    seed: u64,
) -> AclPlan {
    let mut plan = AclPlan {
        network_acl_id: acl.network_acl_id.clone(),
        record: NetworkAclRecord::default(),
        to_add: Vec::new(),
        refused: Vec::new(),
    };
    for egress in [false, true] {
        let entries: Vec<&AclEntryFacts> =
            acl.entries.iter().filter(|e| e.egress == egress).collect();
        let lowest_allow = entries
            .iter()
            .filter(|e| e.allow && !DEFAULT_RULES.contains(&e.rule_number))
            .map(|e| e.rule_number)
            .min()
            .unwrap_or(DEFAULT_RULES[0]);
        let used = |n: i32| entries.iter().any(|e| e.rule_number == n);
        let candidates: Vec<i32> = (1..lowest_allow).rev().filter(|n| !used(*n)).collect();
        let start = match candidates.len() {
            0 => 0,
            n => (seed % n.min(64) as u64) as usize,
        };
        let mut free = candidates[start..]
            .iter()
            .chain(&candidates[..start])
            .copied();
        // Rules of each family in this direction (the default deny counted), IPv4 then IPv6.
        let of_family = |v6: bool| entries.iter().filter(|e| is_ipv6(&e.cidr) == v6).count();
        let mut count = [of_family(false), of_family(true)];
        for cidr in cidrs {
            let family = usize::from(is_ipv6(cidr));
            let present = entries
                .iter()
                .find(|e| !e.allow && &e.cidr == cidr && e.rule_number < lowest_allow);
            let entry = |rule_number| AclEntryRecord {
                rule_number,
                egress,
                cidr: cidr.clone(),
            };
            if let Some(e) = present {
                let ours = recorded.is_some_and(|r| r.0.contains(&entry(e.rule_number)));
                if ours {
                    plan.record.0.push(entry(e.rule_number));
                }
                continue;
            }
            let full = count[family] >= ENTRY_QUOTA;
            let why = match (full, if full { None } else { free.next() }) {
                (false, Some(n)) => {
                    plan.record.0.push(entry(n));
                    plan.to_add.push(entry(n));
                    count[family] += 1;
                    continue;
                }
                (true, _) => format!(
                    "{} {} rules, the quota is {ENTRY_QUOTA}",
                    count[family],
                    direction(egress)
                ),
                (false, None) => format!(
                    "no free {} rule number below the first allow entry ({lowest_allow})",
                    direction(egress)
                ),
            };
            plan.refused
                .push(format!("{cidr} not denied {}: {why}", direction(egress)));
        }
    }
    plan
}

/// The record's tags, when the plans change what the instance records: every ACL's entries in the
/// one [`AclDenies`] record (empty when nothing changes).
pub fn records(facts: &InstanceFacts, plans: &[AclPlan]) -> Vec<(String, String)> {
    let recorded = AclDenies::read(&facts.tags);
    // What is recorded stays recorded (an address the instance no longer has, an entry now behind
    // an allow): only a release removes it, so no entry Firebreak added outlives its record.
    let mut record = AclDenies::packed(&facts.tags);
    let mut changed = false;
    for p in plans {
        let have = recorded.0.get(&p.network_acl_id);
        let new: Vec<&AclEntryRecord> = p
            .record
            .0
            .iter()
            .filter(|e| !have.is_some_and(|h| h.0.contains(e)))
            .collect();
        if new.is_empty() {
            continue;
        }
        let entries = &mut record.0.entry(p.network_acl_id.clone()).or_default().0;
        entries.extend(new.into_iter().cloned());
        changed = true;
    }
    match changed {
        true => records::chunked(tags::ACL_DENIES, &record.tokens(), &facts.tags),
        false => Vec::new(),
    }
}

/// Writes the record (in a call of its own: a failure here never costs the record of the original
/// groups) when the budget made room; `None` when there is nothing new to write. No entry is added
/// without its record: one that is not recorded would outlive the release and cut off the
/// address's next holder.
pub async fn write_records<E: InstancesPort>(
    ec2: &E,
    facts: &InstanceFacts,
    room: Room,
) -> Option<Outcome> {
    let id = facts.instance_id.as_str();
    let add = match room {
        Room::Nothing => return None,
        Room::Refused(no) => {
            let why = format!(
                "no network ACL entry added: {no} (an entry that is not recorded would outlive \
                 the release and cut off the address's next holder); the security groups \
                 isolate it"
            );
            return Some(Outcome::new(ACTION, id, Status::Skipped, why));
        }
        Room::Write(add) => add,
    };
    Some(match ec2.tag_instance(id, &add).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            "recorded the network ACL entries in tags",
        ),
        Err(e) => Outcome::failed(
            ACTION,
            id,
            "could not record the network ACL entries (none added)",
            &e,
        ),
    })
}

/// Adds the planned entries (every ACL and entry concurrently); one outcome per ACL.
pub async fn deny<E: NetworkAclsPort>(ec2: &E, plans: &[AclPlan]) -> Vec<Outcome> {
    join_all(plans.iter().map(|p| deny_in(ec2, p))).await
}

async fn deny_in<E: NetworkAclsPort>(ec2: &E, plan: &AclPlan) -> Outcome {
    let acl = plan.network_acl_id.as_str();
    let added = join_all(plan.to_add.iter().map(|e| async move {
        let r = ec2
            .add_deny_entry(acl, e.rule_number, e.egress, &e.cidr)
            .await;
        (e, r)
    }))
    .await;
    let listed = |entries: &[&AclEntryRecord]| {
        let each = |e: &&AclEntryRecord| {
            format!(
                "{} {} (rule {})",
                e.cidr,
                direction(e.egress),
                e.rule_number
            )
        };
        entries.iter().map(each).collect::<Vec<_>>().join(", ")
    };
    // A concurrent quarantine in the same VPC (an attack sequence's members, a custom action on
    // many findings) may take the rule number or the last of the quota between the read and the
    // write: that address is not denied, as when the quota was full at the read (the security
    // groups isolate it; a redelivery plans it again). Any other error fails the step.
    let raced = |err: &AwsError| {
        matches!(
            err.code.as_deref(),
            Some("NetworkAclEntryAlreadyExists" | "NetworkAclEntryLimitExceeded")
        )
    };
    let failed = added
        .iter()
        .find(|(_, r)| r.as_ref().is_err_and(|e| !raced(e)));
    if let Some((e, Err(err))) = failed {
        let detail = format!("could not deny {} in {acl}", listed(&[e]));
        return Outcome::failed(ACTION, acl, &detail, err);
    }
    let mut refused = plan.refused.clone();
    for (e, r) in &added {
        if let Err(err) = r {
            refused.push(format!(
                "{} not denied {}: taken by a concurrent quarantine ({})",
                e.cidr,
                direction(e.egress),
                err.code.as_deref().unwrap_or_default()
            ));
        }
    }
    let all: Vec<&AclEntryRecord> = (plan.record.0.iter())
        .filter(|e| !added.iter().any(|(a, r)| r.is_err() && a == e))
        .collect();
    let status = match (plan.to_add.is_empty(), refused.is_empty()) {
        (_, false) => Status::Skipped,
        (true, true) => Status::AlreadyDone,
        (false, true) => Status::Succeeded,
    };
    let mut detail = match all.is_empty() {
        true => String::new(),
        false => format!("denies {}", listed(&all)),
    };
    if !refused.is_empty() {
        let sep = if detail.is_empty() { "" } else { "; " };
        detail = format!("{detail}{sep}{}", refused.join("; "));
    }
    Outcome::new(ACTION, acl, status, detail)
}

/// Round 1 or 2: the ACLs of every VPC, concurrently.
pub async fn acls_of<E: NetworkAclsPort>(
    ec2: &E,
    vpcs: &[String],
) -> Vec<(String, Result<Vec<NetworkAclFacts>, AwsError>)> {
    join_all(
        vpcs.iter()
            .map(|v| async move { (v.clone(), ec2.network_acls(v).await) }),
    )
    .await
}

/// The undo: removes the recorded entries that are still Firebreak's deny entries (an entry someone
/// else has since put at that number stays); with the outcomes, the record's keys to remove once
/// every ACL is done.
pub async fn remove<E: NetworkAclsPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> (Vec<Outcome>, Vec<String>) {
    let recorded = AclDenies::read(&facts.tags);
    if recorded.0.is_empty() {
        return (Vec::new(), AclDenies::keys(&facts.tags));
    }
    // By the recorded ids: a terminated instance may no longer name its interfaces or VPC.
    let ids: Vec<String> = recorded.0.keys().cloned().collect();
    let acls = match ec2.network_acls_by_id(&ids).await {
        Ok(acls) => acls,
        Err(e) => {
            let failed =
                Outcome::failed(UNDO, &ids.join(" "), "could not read the network ACLs", &e);
            return (vec![failed], Vec::new());
        }
    };
    let outcomes = join_all(recorded.0.iter().map(|(acl, record)| {
        let current = acls.iter().find(|a| &a.network_acl_id == acl);
        remove_from(ec2, acl, current, record)
    }))
    .await;
    let done = match outcomes.iter().all(Outcome::is_ok) {
        true => AclDenies::keys(&facts.tags),
        false => Vec::new(),
    };
    (outcomes, done)
}

async fn remove_from<E: NetworkAclsPort>(
    ec2: &E,
    acl: &str,
    current: Option<&NetworkAclFacts>,
    record: &NetworkAclRecord,
) -> Outcome {
    let Some(current) = current else {
        return Outcome::new(
            UNDO,
            acl,
            Status::AlreadyDone,
            "the network ACL no longer exists",
        );
    };
    let ours: Vec<&AclEntryRecord> = record
        .0
        .iter()
        .filter(|r| {
            current.entries.iter().any(|e| {
                e.rule_number == r.rule_number
                    && e.egress == r.egress
                    && !e.allow
                    && e.cidr == r.cidr
            })
        })
        .collect();
    if ours.is_empty() {
        return Outcome::new(
            UNDO,
            acl,
            Status::AlreadyDone,
            "no Firebreak deny entry left",
        );
    }
    let removed = join_all(
        ours.iter()
            .map(|e| ec2.delete_entry(acl, e.rule_number, e.egress)),
    )
    .await;
    match removed.into_iter().find_map(Result::err) {
        Some(e) => Outcome::failed(UNDO, acl, "could not remove a deny entry", &e),
        None => Outcome::new(
            UNDO,
            acl,
            Status::Succeeded,
            format!(
                "removed the deny entries {}",
                ours.iter()
                    .map(|e| format!(
                        "{} {} (rule {})",
                        e.cidr,
                        direction(e.egress),
                        e.rule_number
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(rule_number: i32, egress: bool, allow: bool, cidr: &str) -> AclEntryFacts {
        AclEntryFacts {
            rule_number,
            egress,
            allow,
            cidr: cidr.into(),
        }
    }

    fn default_acl() -> NetworkAclFacts {
        NetworkAclFacts {
            network_acl_id: "acl-1".into(),
            vpc_id: "vpc-1".into(),
            entries: vec![
                entry(100, false, true, "0.0.0.0/0"),
                entry(32767, false, false, "0.0.0.0/0"),
                entry(100, true, true, "0.0.0.0/0"),
                entry(32767, true, false, "0.0.0.0/0"),
            ],
        }
    }

    #[test]
    fn entries_go_ahead_of_the_first_allow_both_ways_and_a_redelivery_adds_none() {
        let cidrs = ["10.0.0.5/32".to_string(), "2001:db8::5/128".to_string()];
        let plan = plan_acl(&default_acl(), &cidrs, None, 0);
        assert!(plan.refused.is_empty(), "{:?}", plan.refused);
        let got: Vec<(i32, bool, &str)> = plan
            .to_add
            .iter()
            .map(|e| (e.rule_number, e.egress, e.cidr.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (99, false, "10.0.0.5/32"),
                (98, false, "2001:db8::5/128"),
                (99, true, "10.0.0.5/32"),
                (98, true, "2001:db8::5/128")
            ]
        );
        assert_eq!(
            plan.record.encode(),
            "i99=10.0.0.5/32 i98=2001:db8::5/128 o99=10.0.0.5/32 o98=2001:db8::5/128"
        );
        assert_eq!(NetworkAclRecord::decode(&plan.record.encode()), plan.record);

        // The entries exist now: nothing to add, the same record.
        let mut after = default_acl();
        after.entries.extend(
            plan.to_add
                .iter()
                .map(|e| entry(e.rule_number, e.egress, false, &e.cidr)),
        );
        let again = plan_acl(&after, &cidrs, Some(&plan.record), 0);
        assert!(again.to_add.is_empty());
        assert_eq!(again.record, plan.record);
        // Without the record they are someone else's: nothing added, nothing claimed.
        let foreign = plan_acl(&after, &cidrs, None, 0);
        assert!(foreign.to_add.is_empty() && foreign.record.0.is_empty());
        // Another instance starts elsewhere among the free numbers.
        let other = plan_acl(&default_acl(), &cidrs, None, 7);
        assert_eq!(other.to_add[0].rule_number, 92);
    }

    #[test]
    fn used_numbers_are_skipped_and_the_quota_and_room_are_respected() {
        let mut acl = default_acl();
        acl.entries.push(entry(99, false, false, "198.51.100.0/24"));
        let plan = plan_acl(&acl, &["10.0.0.5/32".into()], None, 0);
        assert_eq!(plan.to_add[0].rule_number, 98, "99 is taken inbound");
        assert_eq!(plan.to_add[1].rule_number, 99, "99 is free outbound");

        // An allow at rule 1: no number ahead of it.
        let mut first = default_acl();
        first.entries.push(entry(1, true, true, "10.0.0.0/8"));
        let plan = plan_acl(&first, &["10.0.0.5/32".into()], None, 0);
        assert_eq!(plan.to_add.len(), 1, "inbound only");
        assert!(
            plan.refused[0].contains("no free outbound rule number"),
            "{:?}",
            plan.refused
        );

        // 20 IPv4 rules inbound already, the default deny included: the quota.
        let mut full = default_acl();
        full.entries
            .extend((1..19).map(|n| entry(n, false, false, &format!("192.0.2.{n}/32"))));
        let plan = plan_acl(&full, &["2001:db8::5/128".into()], None, 0);
        assert_eq!(
            plan.to_add.len(),
            2,
            "IPv6 has its own quota: {:?}",
            plan.refused
        );
        let plan = plan_acl(&full, &["10.0.0.5/32".into()], None, 0);
        assert!(
            plan.refused[0].contains("the quota is 20"),
            "{:?}",
            plan.refused
        );
        assert_eq!(plan.to_add.len(), 1, "outbound still has room");
    }
}
