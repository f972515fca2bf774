//! EC2 network ACLs: rule numbers, the default deny, the 20-rule limit, missing entries, the id
//! filter.

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{NetworkAcl, RuleAction};
use firebreak_tests::fixtures::{filter, Aws};

use super::{code, refusal};

/// A custom network ACL in `vpc`.
async fn network_acl(aws: &Aws, vpc: &str) -> String {
    aws.ec2
        .create_network_acl()
        .vpc_id(vpc)
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_string()
}

/// The ACL as DescribeNetworkAcls returns it.
async fn describe_acl(aws: &Aws, acl: &str) -> NetworkAcl {
    aws.ec2
        .describe_network_acls()
        .network_acl_ids(acl)
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .clone()
}

/// (rule number, egress, action, IPv4 CIDR, IPv6 CIDR) of one entry.
type Entry = (i32, bool, String, Option<String>, Option<String>);

/// Every entry of the ACL, sorted.
fn entries(acl: &NetworkAcl) -> Vec<Entry> {
    let mut all: Vec<_> = acl
        .entries()
        .iter()
        .map(|e| {
            (
                e.rule_number().unwrap(),
                e.egress().unwrap(),
                e.rule_action().unwrap().as_str().to_string(),
                e.cidr_block().map(String::from),
                e.ipv6_cidr_block().map(String::from),
            )
        })
        .collect();
    all.sort();
    all
}

/// CreateNetworkAclEntry: deny `cidr` (IPv6 if it has a colon) at `number`, one way.
async fn deny_entry(
    aws: &Aws,
    acl: &str,
    number: i32,
    egress: bool,
    cidr: &str,
) -> Result<(), String> {
    let entry = aws
        .ec2
        .create_network_acl_entry()
        .network_acl_id(acl)
        .rule_number(number)
        .protocol("-1")
        .rule_action(RuleAction::Deny)
        .egress(egress);
    let entry = if cidr.contains(':') {
        entry.ipv6_cidr_block(cidr)
    } else {
        entry.cidr_block(cidr)
    };
    entry.send().await.map(|_| ()).map_err(|e| {
        format!(
            "{}: {}",
            e.code().unwrap_or_default(),
            e.message().unwrap_or_default()
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_acl_rule_numbers_are_1_to_32766_each_used_once_a_way() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.45.0.0/16").await;
    let acl = network_acl(&aws, &vpc).await;
    // moto 5.2.5 takes any number; 32767-65535 are reserved (32767: the default deny rule).
    for number in [0, -1, 32767, 32768, 65535, 70000] {
        let refused = deny_entry(&aws, &acl, number, false, "192.0.2.0/24").await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.starts_with("InvalidParameterValue:")),
            "rule {number}: {refused:?}"
        );
    }
    for number in [1, 32766] {
        deny_entry(&aws, &acl, number, false, "192.0.2.0/24")
            .await
            .unwrap();
    }
    // moto 5.2.5 already does the rest: a number once a way, IPv6 entries, the subnet filter.
    let again = deny_entry(&aws, &acl, 1, false, "198.51.100.0/24").await;
    assert!(
        again
            .as_ref()
            .is_err_and(|e| e.starts_with("NetworkAclEntryAlreadyExists:")),
        "{again:?}"
    );
    deny_entry(&aws, &acl, 1, true, "198.51.100.0/24")
        .await
        .unwrap();
    deny_entry(&aws, &acl, 200, false, "2001:db8::/32")
        .await
        .unwrap();
    let described = entries(&describe_acl(&aws, &acl).await);
    assert!(
        described.contains(&(
            200,
            false,
            "deny".to_string(),
            None,
            Some("2001:db8::/32".to_string())
        )),
        "{described:?}"
    );
    let of_subnet = || async {
        let out = aws
            .ec2
            .describe_network_acls()
            .filters(filter("association.subnet-id", &subnet))
            .send()
            .await
            .unwrap();
        out.network_acls().to_vec()
    };
    let before = of_subnet().await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].is_default(), Some(true));
    let association = before[0]
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(subnet.as_str()))
        .unwrap()
        .network_acl_association_id()
        .unwrap()
        .to_string();
    aws.ec2
        .replace_network_acl_association()
        .association_id(&association)
        .network_acl_id(&acl)
        .send()
        .await
        .unwrap();
    let after: Vec<_> = of_subnet()
        .await
        .iter()
        .map(|a| a.network_acl_id().unwrap().to_string())
        .collect();
    assert_eq!(after, vec![acl]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_network_acl_denies_everything_each_way() {
    let aws = Aws::new().await;
    let (vpc, _) = aws.vpc("10.46.0.0/16").await;
    let acl = network_acl(&aws, &vpc).await;
    let deny_all = |egress| {
        (
            32767,
            egress,
            "deny".to_string(),
            Some("0.0.0.0/0".to_string()),
            None,
        )
    };
    // moto 5.2.5 makes a custom ACL with no entries at all.
    assert_eq!(
        entries(&describe_acl(&aws, &acl).await),
        vec![deny_all(false), deny_all(true)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_acl_holds_20_rules_a_way_its_default_deny_included() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.47.0.0/16").await;
    let acl = network_acl(&aws, &vpc).await;
    let full = |result: Result<(), String>| {
        assert!(
            result
                .as_ref()
                .is_err_and(|e| e.starts_with("NetworkAclEntryLimitExceeded:")),
            "{result:?}"
        )
    };
    // 19 numbered IPv4 rules and the deny rule 32767, each way; moto 5.2.5 has no limit.
    for egress in [false, true] {
        for number in 1..=19 {
            deny_entry(&aws, &acl, number, egress, "192.0.2.0/24")
                .await
                .unwrap_or_else(|e| panic!("rule {number} (egress {egress}): {e}"));
        }
        full(deny_entry(&aws, &acl, 20, egress, "192.0.2.0/24").await);
    }
    // IPv6 rules count apart; a deleted rule frees its place.
    deny_entry(&aws, &acl, 100, false, "2001:db8::/32")
        .await
        .unwrap();
    aws.ec2
        .delete_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(19)
        .egress(false)
        .send()
        .await
        .unwrap();
    deny_entry(&aws, &acl, 21, false, "192.0.2.0/24")
        .await
        .unwrap();
    full(deny_entry(&aws, &acl, 22, false, "192.0.2.0/24").await);
    // The VPC's default ACL already has its allow-all rule 100: 18 more fit.
    let default_acl = aws
        .ec2
        .describe_network_acls()
        .filters(filter("association.subnet-id", &subnet))
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .network_acl_id()
        .unwrap()
        .to_string();
    for number in 1..=18 {
        deny_entry(&aws, &default_acl, number, false, "192.0.2.0/24")
            .await
            .unwrap_or_else(|e| panic!("default ACL rule {number}: {e}"));
    }
    full(deny_entry(&aws, &default_acl, 19, false, "192.0.2.0/24").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_or_replacing_a_missing_network_acl_entry_is_not_found() {
    let aws = Aws::new().await;
    let (vpc, _) = aws.vpc("10.48.0.0/16").await;
    let acl = network_acl(&aws, &vpc).await;
    let delete = |number: i32, egress: bool| {
        aws.ec2
            .delete_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(number)
            .egress(egress)
            .send()
    };
    // moto 5.2.5 answers both with an HTTP 500 (an uncaught StopIteration).
    let (missing, _, status) = refusal(delete(50, false).await);
    assert_eq!(
        (missing.as_str(), status),
        ("InvalidNetworkAclEntry.NotFound", 400)
    );
    let replaced = aws
        .ec2
        .replace_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(50)
        .protocol("-1")
        .rule_action(RuleAction::Deny)
        .egress(false)
        .cidr_block("192.0.2.0/24")
        .send()
        .await;
    assert_eq!(code(replaced), "InvalidNetworkAclEntry.NotFound");
    // An entry is found by number *and* direction.
    deny_entry(&aws, &acl, 50, false, "192.0.2.0/24")
        .await
        .unwrap();
    assert_eq!(
        code(delete(50, true).await),
        "InvalidNetworkAclEntry.NotFound"
    );
    delete(50, false).await.unwrap();
    assert_eq!(
        entries(&describe_acl(&aws, &acl).await)
            .iter()
            .map(|e| e.0)
            .collect::<Vec<_>>(),
        vec![32767, 32767]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_acls_are_found_by_their_id_filter() {
    let aws = Aws::new().await;
    let (vpc, _) = aws.vpc("10.160.0.0/16").await;
    let acl = network_acl(&aws, &vpc).await;
    // A filter (not `NetworkAclIds`): an id that no longer exists is simply not found.
    let out = aws
        .ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("network-acl-id")
                .values(&acl)
                .values("acl-0123456789abcdef0")
                .build(),
        )
        .send()
        .await
        .expect("EC2 takes the network-acl-id filter");
    let ids: Vec<&str> = out
        .network_acls()
        .iter()
        .filter_map(|a| a.network_acl_id())
        .collect();
    assert_eq!(ids, vec![acl.as_str()]);
}
