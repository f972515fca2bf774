//! The project's local-AWS launcher fixes moto where Firebreak depends on real EC2 behaviour.
//! Without `scripts/local_aws.py`'s patch these tests fail against plain moto 5.2.5. The tests of
//! the launcher's test controls (`firebreak_tests::faults`) fail there too: it has no such API.

use std::time::{Duration, Instant};

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::modify_network_interface_attribute::ModifyNetworkInterfaceAttributeError;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, NetworkAcl, ResourceType, RuleAction, Tag, TagSpecification,
};
use firebreak_tests::faults;
use firebreak_tests::fixtures::{filter, unique, Aws};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_primary_eni_s_groups_replaces_them() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.50.0.0/16").await;
    let old = aws.app_group(&vpc).await;
    let new = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&old), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();

    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(&eni)
        .groups(&new)
        .send()
        .await
        .unwrap();

    // Real EC2: exactly the new group, on the ENI and on the instance.
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![new.clone()]);
    let described = aws.describe(&instance).await;
    let primary: Vec<String> = described.network_interfaces()[0]
        .groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    assert_eq!(primary, vec![new.clone()]);
    let top: Vec<String> = described
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    assert_eq!(top, vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_an_instance_s_groups_changes_its_primary_eni() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.51.0.0/16").await;
    let old = aws.app_group(&vpc).await;
    let new = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&old), &[]).await;

    aws.ec2
        .modify_instance_attribute()
        .instance_id(&instance)
        .groups(&new)
        .send()
        .await
        .unwrap();

    assert_eq!(aws.interfaces(&instance).await[0].2, vec![new]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setting_the_shutdown_behaviour_sets_it_and_keeps_the_groups() {
    use aws_sdk_ec2::types::{AttributeValue, InstanceAttributeName};
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.52.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let read = || async {
        aws.ec2
            .describe_instance_attribute()
            .instance_id(&instance)
            .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
            .send()
            .await
            .unwrap()
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value())
            .map(String::from)
    };
    assert_eq!(read().await.as_deref(), Some("terminate"));

    aws.ec2
        .modify_instance_attribute()
        .instance_id(&instance)
        .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
        .send()
        .await
        .unwrap();

    assert_eq!(read().await.as_deref(), Some("stop"));
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![app]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_update_findings_changes_what_get_findings_returns() {
    use aws_sdk_securityhub::types::{
        AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
    };
    use firebreak_tests::fixtures::{asff_instance, guardduty_asff, GUARDDUTY_PRODUCT};
    let aws = Aws::new().await;
    let finding = guardduty_asff(
        &unique("fidelity"),
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        asff_instance("i-0123456789abcdef0", "vpc-1"),
    );
    let id = finding["Id"].as_str().unwrap().to_string();
    aws.import_findings(std::slice::from_ref(&finding)).await;
    assert_eq!(
        aws.finding_state(&id).await,
        ("NEW".to_string(), None, None)
    );

    let ident = |id: &str| {
        AwsSecurityFindingIdentifier::builder()
            .id(id)
            .product_arn(GUARDDUTY_PRODUCT)
            .build()
    };
    let out = aws
        .securityhub
        .batch_update_findings()
        .finding_identifiers(ident(&id))
        .finding_identifiers(ident("no-such-finding"))
        .note(
            NoteUpdate::builder()
                .text("contained")
                .updated_by("firebreak")
                .build(),
        )
        .workflow(
            WorkflowUpdate::builder()
                .status(WorkflowStatus::Notified)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // As in Security Hub: the known finding processed, the unknown one reported, not an error.
    assert_eq!(out.processed_findings().len(), 1);
    assert_eq!(out.unprocessed_findings().len(), 1);
    assert_eq!(
        out.unprocessed_findings()[0].error_code(),
        Some("FindingNotFound")
    );
    assert_eq!(
        aws.finding_state(&id).await,
        (
            "NOTIFIED".to_string(),
            Some("contained".to_string()),
            Some("firebreak".to_string())
        )
    );
    // A note over Security Hub's 512 characters is refused.
    let long = aws
        .securityhub
        .batch_update_findings()
        .finding_identifiers(ident(&id))
        .note(
            NoteUpdate::builder()
                .text("x".repeat(513))
                .updated_by("firebreak")
                .build(),
        )
        .send()
        .await;
    assert!(long.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_action_targets_can_be_created_once_and_described() {
    let aws = Aws::new().await;
    let id: String = unique("Fb")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    let arn = aws
        .securityhub
        .create_action_target()
        .name("Quarantine")
        .description("Firebreak: quarantine the instance")
        .id(&id)
        .send()
        .await
        .unwrap()
        .action_target_arn()
        .unwrap()
        .to_string();
    assert_eq!(
        arn,
        format!("arn:aws:securityhub:us-east-1:123456789012:action/custom/{id}")
    );
    let described = aws
        .securityhub
        .describe_action_targets()
        .action_target_arns(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(described.action_targets().len(), 1);
    assert_eq!(described.action_targets()[0].name(), Some("Quarantine"));
    let again = aws
        .securityhub
        .create_action_target()
        .name("Quarantine")
        .description("again")
        .id(&id)
        .send()
        .await;
    assert!(
        again.is_err(),
        "a second target with the same id is a conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_associated_with_an_attached_eni_belongs_to_its_instance() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.53.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, &[app], &[]).await;
    let (eni, _, _) = aws.interfaces(&instance).await.remove(0);
    let allocation = aws.elastic_ip().await;
    aws.ec2
        .associate_address()
        .allocation_id(&allocation)
        .network_interface_id(&eni)
        .send()
        .await
        .unwrap();
    let found = aws
        .ec2
        .describe_addresses()
        .filters(filter("instance-id", &instance))
        .send()
        .await
        .unwrap();
    let ids: Vec<(Option<&str>, Option<&str>)> = found
        .addresses()
        .iter()
        .map(|a| (a.allocation_id(), a.instance_id()))
        .collect();
    assert_eq!(
        ids,
        vec![(Some(allocation.as_str()), Some(instance.as_str()))],
        "moto 5.2.5 records no instance for an address associated by ENI"
    );
}

/// An EKS node's trunk interface is reported as one: Firebreak warns that the pods with their own
/// security groups are not isolated with the node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trunk_interface_keeps_its_type() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.54.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, &[app], &[]).await;
    let trunk = aws.attach_trunk(&instance, &subnet).await;
    let described = aws
        .ec2
        .describe_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    let types: Vec<(String, String)> = described.reservations()[0].instances()[0]
        .network_interfaces()
        .iter()
        .map(|n| {
            let kind = n.interface_type().unwrap_or_default().to_string();
            (n.network_interface_id().unwrap().to_string(), kind)
        })
        .filter(|(id, _)| *id == trunk)
        .collect();
    assert_eq!(
        types,
        vec![(trunk.clone(), "trunk".to_string())],
        "moto 5.2.5 creates every interface as `interface`"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_in_standby_is_not_registered_in_its_group_s_target_groups() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.54.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let tg = aws.target_group(&vpc, 80).await;
    let (group, instance) = aws.auto_scaled_instance(&subnet, &[app], &tg).await;
    aws.asg
        .enter_standby()
        .auto_scaling_group_name(&group)
        .instance_ids(&instance)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .unwrap();
    let health = aws
        .elb
        .describe_target_health()
        .target_group_arn(&tg)
        .send()
        .await
        .unwrap();
    let targets: Vec<&str> = health
        .target_health_descriptions()
        .iter()
        .filter_map(|d| d.target().and_then(|t| t.id()))
        .collect();
    assert_eq!(targets.len(), 1, "the replacement only: {targets:?}");
    assert!(
        !targets.contains(&instance.as_str()),
        "moto 5.2.5 keeps (and re-registers) Standby instances in the group's target groups"
    );
}

/// (code, message, HTTP status) of a call that must have been refused.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> (String, String, u16) {
    let err = result.expect_err("the call should have been refused");
    (
        err.code().unwrap_or_default().to_string(),
        err.message().unwrap_or_default().to_string(),
        err.raw_response()
            .map(|r| r.status().as_u16())
            .unwrap_or_default(),
    )
}

/// The refusal's error code.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, HttpResponse>>,
) -> String {
    refusal(result).0
}

/// An SSH-from-the-VPC permission, for rule calls.
fn ssh() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
        .build()
}

/// The default allow-all egress permission of a new group.
fn all_egress() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

/// A new, empty group in `vpc` (no rules added: in an opted-in VPC it is not visible yet).
async fn new_group(aws: &Aws, vpc: &str, role: Option<&str>) -> String {
    let mut create = aws
        .ec2
        .create_security_group()
        .group_name(unique("fidelity"))
        .description("fidelity")
        .vpc_id(vpc);
    if let Some(role) = role {
        create = create.tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(
                    Tag::builder()
                        .key("firebreak:quarantine-role")
                        .value(role)
                        .build(),
                )
                .build(),
        );
    }
    create.send().await.unwrap().group_id().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_security_group_is_not_found_until_its_vpc_s_window_has_passed() {
    const WINDOW: f64 = 4.0;
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.55.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();
    let id = unique("consistency");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::eventual_consistency(&id, &vpc, WINDOW).await;

    let before = Instant::now();
    let new = new_group(&aws, &vpc, None).await;
    let created = Instant::now();
    // EC2's eventual consistency: the id the create call returned is not found, for a while.
    let not_found = (
        "InvalidGroup.NotFound".to_string(),
        format!("The security group '{new}' does not exist"),
        400,
    );
    let ec2 = &aws.ec2;
    let calls = [
        (
            "DescribeSecurityGroups",
            refusal(ec2.describe_security_groups().group_ids(&new).send().await),
        ),
        (
            "ModifyNetworkInterfaceAttribute",
            refusal(
                ec2.modify_network_interface_attribute()
                    .network_interface_id(&eni)
                    .groups(&new)
                    .send()
                    .await,
            ),
        ),
        (
            "ModifyInstanceAttribute",
            refusal(
                ec2.modify_instance_attribute()
                    .instance_id(&instance)
                    .groups(&new)
                    .send()
                    .await,
            ),
        ),
        (
            "AuthorizeSecurityGroupIngress",
            refusal(
                ec2.authorize_security_group_ingress()
                    .group_id(&new)
                    .ip_permissions(ssh())
                    .send()
                    .await,
            ),
        ),
        (
            "AuthorizeSecurityGroupEgress",
            refusal(
                ec2.authorize_security_group_egress()
                    .group_id(&new)
                    .ip_permissions(ssh())
                    .send()
                    .await,
            ),
        ),
        (
            "RevokeSecurityGroupEgress",
            refusal(
                ec2.revoke_security_group_egress()
                    .group_id(&new)
                    .ip_permissions(all_egress())
                    .send()
                    .await,
            ),
        ),
        (
            "RevokeSecurityGroupIngress",
            refusal(
                ec2.revoke_security_group_ingress()
                    .group_id(&new)
                    .ip_permissions(ssh())
                    .send()
                    .await,
            ),
        ),
    ];
    assert!(
        before.elapsed().as_secs_f64() < WINDOW,
        "the calls outlasted the {WINDOW} s window: the refusals prove nothing"
    );
    for (call, answer) in calls {
        assert_eq!(answer, not_found, "{call} on a group {WINDOW} s young");
    }
    // Opt-in per VPC: elsewhere a new group is usable at once (what the other tests rely on).
    let (other_vpc, _) = aws.vpc("10.56.0.0/16").await;
    aws.app_group(&other_vpc).await;

    tokio::time::sleep_until((created + Duration::from_secs_f64(WINDOW + 0.2)).into()).await;
    // Then it behaves as usual.
    assert_eq!(aws.group_rules(&new).await, (vpc.clone(), 0, 1));
    ec2.authorize_security_group_ingress()
        .group_id(&new)
        .ip_permissions(ssh())
        .send()
        .await
        .unwrap();
    ec2.revoke_security_group_ingress()
        .group_id(&new)
        .ip_permissions(ssh())
        .send()
        .await
        .unwrap();
    ec2.revoke_security_group_egress()
        .group_id(&new)
        .ip_permissions(all_egress())
        .send()
        .await
        .unwrap();
    ec2.authorize_security_group_egress()
        .group_id(&new)
        .ip_permissions(ssh())
        .send()
        .await
        .unwrap();
    ec2.modify_network_interface_attribute()
        .network_interface_id(&eni)
        .groups(&new)
        .send()
        .await
        .unwrap();
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![new.clone()]);
    ec2.modify_instance_attribute()
        .instance_id(&instance)
        .groups(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![app]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_a_security_group_that_does_not_exist_is_refused() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.57.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();
    let missing = "sg-0f1e2d3c4b5a69788";
    let not_found = (
        "InvalidGroup.NotFound".to_string(),
        format!("The security group '{missing}' does not exist"),
        400,
    );
    // moto 5.2.5 accepts both and leaves a group it does not have on the ENI and the instance.
    assert_eq!(
        refusal(
            aws.ec2
                .modify_network_interface_attribute()
                .network_interface_id(&eni)
                .groups(missing)
                .send()
                .await
        ),
        not_found
    );
    assert_eq!(
        refusal(
            aws.ec2
                .modify_instance_attribute()
                .instance_id(&instance)
                .groups(missing)
                .send()
                .await
        ),
        not_found
    );
    // moto 5.2.5 says "The security group '{'sg-…'}' does not exist".
    assert_eq!(
        refusal(
            aws.ec2
                .describe_security_groups()
                .group_ids(missing)
                .send()
                .await
        ),
        not_found
    );
    assert_eq!(aws.interfaces(&instance).await[0].2, vec![app]);
}

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
async fn run_instances_gives_an_interface_its_secondary_and_ipv6_addresses() {
    use aws_sdk_ec2::types::InstanceNetworkInterfaceSpecification;
    use std::net::{Ipv4Addr, Ipv6Addr};
    let aws = Aws::new().await;
    let vpc = aws
        .ec2
        .create_vpc()
        .cidr_block("10.49.0.0/16")
        .amazon_provided_ipv6_cidr_block(true)
        .send()
        .await
        .unwrap()
        .vpc()
        .unwrap()
        .clone();
    let vpc_id = vpc.vpc_id().unwrap().to_string();
    let v6_block = vpc.ipv6_cidr_block_association_set()[0]
        .ipv6_cidr_block()
        .unwrap()
        .replace("/56", "/64");
    let subnet = aws
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.49.0.0/24")
        .ipv6_cidr_block(&v6_block)
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet()
        .unwrap()
        .subnet_id()
        .unwrap()
        .to_string();
    let app = aws.app_group(&vpc_id).await;
    let launched = aws
        .ec2
        .run_instances()
        .image_id(aws.image().await)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&subnet)
                .groups(&app)
                .secondary_private_ip_address_count(2)
                .ipv6_address_count(1)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = launched.instances()[0].instance_id().unwrap().to_string();
    let addresses = || async {
        let described = aws.describe(&instance).await;
        let eni = described.network_interfaces()[0].clone();
        let private: Vec<(Ipv4Addr, bool)> = eni
            .private_ip_addresses()
            .iter()
            .map(|a| {
                (
                    a.private_ip_address().unwrap().parse().unwrap(),
                    a.primary().unwrap_or_default(),
                )
            })
            .collect();
        let v6: Vec<Ipv6Addr> = eni
            .ipv6_addresses()
            .iter()
            .map(|a| a.ipv6_address().unwrap().parse().unwrap())
            .collect();
        (eni, private, v6)
    };
    let (eni, private, v6) = addresses().await;
    assert_eq!(eni.subnet_id(), Some(subnet.as_str()));
    // moto 5.2.5 drops the interface's SecondaryPrivateIpAddressCount and Ipv6AddressCount.
    assert_eq!(private.len(), 3, "the primary and 2 secondary: {private:?}");
    let primary: Vec<_> = private.iter().filter(|a| a.1).collect();
    assert_eq!(primary.len(), 1, "{private:?}");
    assert_eq!(
        Some(primary[0].0.to_string().as_str()),
        eni.private_ip_address()
    );
    let mut distinct: Vec<_> = private.iter().map(|a| a.0).collect();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{private:?}");
    for (address, _) in &private {
        let [a, b, c, host] = address.octets();
        // In the subnet; not one of the 4 first or the last (reserved by AWS).
        assert!(
            [a, b, c] == [10, 49, 0] && (4..255).contains(&host),
            "{address} in 10.49.0.0/24"
        );
    }
    assert_eq!(v6.len(), 1, "{v6:?}");
    let prefix: Ipv6Addr = v6_block.split('/').next().unwrap().parse().unwrap();
    assert_eq!(
        v6[0].segments()[..4],
        prefix.segments()[..4],
        "{v6:?} in {v6_block}"
    );

    // moto 5.2.5 already reports addresses assigned later.
    let eni_id = eni.network_interface_id().unwrap().to_string();
    aws.ec2
        .assign_private_ip_addresses()
        .network_interface_id(&eni_id)
        .private_ip_addresses("10.49.0.200")
        .send()
        .await
        .unwrap();
    aws.ec2
        .assign_ipv6_addresses()
        .network_interface_id(&eni_id)
        .ipv6_address_count(1)
        .send()
        .await
        .unwrap();
    let (_, private, v6) = addresses().await;
    assert_eq!((private.len(), v6.len()), (4, 2), "{private:?} {v6:?}");
    assert!(private.contains(&("10.49.0.200".parse().unwrap(), false)));
}

/// ModifyNetworkInterfaceAttribute(eni, groups).
async fn set_groups(
    aws: &Aws,
    eni: &str,
    groups: &[&String],
) -> Result<(), SdkError<ModifyNetworkInterfaceAttributeError, HttpResponse>> {
    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(eni)
        .set_groups(Some(groups.iter().map(|g| g.to_string()).collect()))
        .send()
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_failure_fails_only_changes_into_the_isolation_group() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.58.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let isolation = new_group(&aws, &vpc, Some("isolation")).await;
    let untracking = new_group(&aws, &vpc, Some("untracking")).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 2)
        .await;
    let (eni, other) = (made[0].1[0].0.clone(), made[1].1[0].0.clone());
    let id = unique("fail");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::fail_isolation(&id, &eni, "UnauthorizedOperation", 403).await;

    let injected = (
        "UnauthorizedOperation".to_string(),
        format!("injected by test rule {id}"),
        403,
    );
    // Every time, whatever else is asked for with it.
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&isolation]).await),
        injected
    );
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&isolation]).await),
        injected
    );
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&app, &isolation]).await),
        injected
    );
    // Any other change on that ENI, and the same change on another ENI, go through.
    set_groups(&aws, &eni, &[&untracking]).await.unwrap();
    set_groups(&aws, &eni, &[&app]).await.unwrap();
    set_groups(&aws, &other, &[&isolation]).await.unwrap();
    let groups = |eni: String| {
        let aws = &aws;
        async move {
            aws.ec2
                .describe_network_interfaces()
                .network_interface_ids(eni)
                .send()
                .await
                .unwrap()
                .network_interfaces()[0]
                .groups()
                .iter()
                .map(|g| g.group_id().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(groups(eni.clone()).await, vec![app.clone()]);
    assert_eq!(groups(other.clone()).await, vec![isolation.clone()]);

    faults::clear(&id).await;
    set_groups(&aws, &eni, &[&isolation]).await.unwrap();
    assert_eq!(groups(eni).await, vec![isolation]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_change_answers_late_is_applied_and_holds_up_nothing_else() {
    // Longer than the SDK's 5 s stalled-stream grace period: a stall must still get its answer.
    const STALL: f64 = 6.0;
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.59.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let isolation = new_group(&aws, &vpc, Some("isolation")).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 2)
        .await;
    let (eni, other) = (made[0].1[0].0.clone(), made[1].1[0].0.clone());
    let id = unique("stall");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::stall_isolation(&id, &eni, STALL).await;

    let started = Instant::now();
    let stalled = {
        let (ec2, eni, isolation) = (aws.ec2.clone(), eni.clone(), isolation.clone());
        tokio::spawn(async move {
            let answer = ec2
                .modify_network_interface_attribute()
                .network_interface_id(eni)
                .groups(isolation)
                .send()
                .await;
            (answer.map(|_| ()), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile the same server answers at once: a read, and the same change on another ENI.
    let meanwhile = Instant::now();
    let during = aws.interfaces(&made[0].0).await[0].2.clone();
    set_groups(&aws, &other, &[&isolation]).await.unwrap();
    let took = meanwhile.elapsed();
    assert!(
        !stalled.is_finished(),
        "the stalled call answered within {:?}",
        started.elapsed()
    );
    assert!(
        took.as_secs_f64() < STALL / 3.0,
        "two other calls took {took:?} during the stall"
    );
    assert_eq!(during, vec![app], "not applied before the stall ends");

    let (answer, elapsed) = stalled.await.unwrap();
    answer.unwrap();
    assert!(
        elapsed.as_secs_f64() >= STALL,
        "answered after {elapsed:?}, less than the {STALL} s stall"
    );
    assert_eq!(aws.interfaces(&made[0].0).await[0].2, vec![isolation]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_instance_refuses_termination_protection_but_not_other_attributes() {
    use aws_sdk_ec2::types::{
        AttributeBooleanValue, AttributeValue, InstanceAttributeName, InstanceLifecycleType,
    };
    // Verbatim as EC2 answers (cloud-custodian/cloud-custodian#2083).
    const REFUSED: &str = "Modifying 'disableApiTermination' is not supported for spot instances.";
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.44.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let spot = aws.spot_instance(&subnet, std::slice::from_ref(&app)).await;
    let on_demand = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    assert_eq!(
        aws.describe(&spot).await.instance_lifecycle(),
        Some(&InstanceLifecycleType::Spot)
    );
    assert_eq!(aws.describe(&on_demand).await.instance_lifecycle(), None);
    let protect = |id: &str, on: bool| {
        aws.ec2
            .modify_instance_attribute()
            .instance_id(id)
            .disable_api_termination(AttributeBooleanValue::builder().value(on).build())
            .send()
    };
    let protected = |id: String| {
        let aws = &aws;
        async move {
            aws.ec2
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(InstanceAttributeName::DisableApiTermination)
                .send()
                .await
                .unwrap()
                .disable_api_termination()
                .and_then(|v| v.value())
        }
    };
    let refused = ("UnsupportedOperation".to_string(), REFUSED.to_string(), 400);

    assert_eq!(refusal(protect(&spot, true).await), refused);
    // The other request form, and turning it off (what cloud-custodian asked), are refused too.
    let attribute_form = aws
        .ec2
        .modify_instance_attribute()
        .instance_id(&spot)
        .attribute(InstanceAttributeName::DisableApiTermination)
        .value("true")
        .send()
        .await;
    assert_eq!(refusal(attribute_form), refused);
    assert_eq!(refusal(protect(&spot, false).await), refused);
    assert_eq!(protected(spot.clone()).await, Some(false));

    // An on-demand instance takes it.
    protect(&on_demand, true).await.unwrap();
    assert_eq!(protected(on_demand.clone()).await, Some(true));

    // The Spot instance's other attributes still change.
    aws.ec2
        .modify_instance_attribute()
        .instance_id(&spot)
        .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
        .send()
        .await
        .unwrap();
    let shutdown = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(&spot)
        .attribute(InstanceAttributeName::InstanceInitiatedShutdownBehavior)
        .send()
        .await
        .unwrap();
    assert_eq!(
        shutdown
            .instance_initiated_shutdown_behavior()
            .and_then(|v| v.value()),
        Some("stop")
    );
    assert_eq!(aws.interfaces(&spot).await[0].2, vec![app]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_iam_read_failures_hit_only_their_principal_until_cleared() {
    let aws = Aws::new().await;
    let (user, _) = aws.user_with_keys().await;
    let (other, _) = aws.user_with_keys().await;
    let (role, _) = aws.role_with_profile().await;
    let (user_rule, role_rule) = (unique("throttle-user"), unique("deny-role"));
    let _user_rule = faults::ClearOnDrop::new(&user_rule);
    let _role_rule = faults::ClearOnDrop::new(&role_rule);
    faults::fail_iam_reads(&user_rule, &user, "Throttling", 400).await;
    faults::fail_iam_reads(&role_rule, &role, "AccessDenied", 403).await;
    let get_user = |name: &str| aws.iam.get_user().user_name(name).send();

    // Every read of that user, every time (after the SDK's own retries of Throttling).
    let throttled = ("Throttling".to_string(), "Rate exceeded".to_string(), 400);
    assert_eq!(refusal(get_user(&user).await), throttled);
    assert_eq!(refusal(get_user(&user).await), throttled);
    let tags = aws.iam.list_user_tags().user_name(&user).send().await;
    assert_eq!(code(tags), "Throttling");
    let keys = aws.iam.list_access_keys().user_name(&user).send().await;
    assert_eq!(code(keys), "Throttling");
    let login = aws.iam.get_login_profile().user_name(&user).send().await;
    assert_eq!(code(login), "Throttling");
    // The role's reads fail with the role's rule.
    let denied = (
        "AccessDenied".to_string(),
        format!("injected by test rule {role_rule}"),
        403,
    );
    assert_eq!(
        refusal(aws.iam.get_role().role_name(&role).send().await),
        denied
    );
    let role_tags = aws.iam.list_role_tags().role_name(&role).send().await;
    assert_eq!(code(role_tags), "AccessDenied");

    // Another user is read normally, and a write on the throttled user goes through.
    get_user(&other).await.unwrap();
    aws.iam
        .tag_user()
        .user_name(&user)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("k")
                .value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    faults::clear(&user_rule).await;
    let read = get_user(&user).await.unwrap();
    assert_eq!(read.user().map(|u| u.user_name()), Some(user.as_str()));
    assert_eq!(
        aws.user_state(&user).await.tags,
        vec![("k".into(), "v".into())]
    );
    faults::clear(&role_rule).await;
    aws.iam.get_role().role_name(&role).send().await.unwrap();
}

/// SNS Publish with `MessageStructure=json` (Publish API reference): the message must be a JSON
/// object with a top-level "default" key whose value is a string, whoever subscribes. Plain moto
/// checks only while delivering, so with no subscriber it accepts anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_structure_needs_a_default_string_even_with_no_subscriber() {
    let aws = Aws::new().await;
    let topic = aws
        .sns
        .create_topic()
        .name(unique("fidelity"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let publish = |message: &str| {
        aws.sns
            .publish()
            .topic_arn(&topic)
            .message_structure("json")
            .message(message)
            .send()
    };
    for refused in [
        r#"{"email": "only for e-mail"}"#,
        r#"{"default": {"not": "a string"}}"#,
        "not JSON",
    ] {
        let e = publish(refused).await.unwrap_err();
        assert_eq!(e.code(), Some("InvalidParameter"), "{refused}: {e:?}");
    }
    publish(r#"{"default": "for everyone", "email": "for people"}"#)
        .await
        .unwrap();
}

/// SNS's message size limit counts bytes ("262,144 bytes, not 262,144 characters"); plain moto
/// counts characters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_size_limit_counts_bytes() {
    let aws = Aws::new().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let publish = |message: String| aws.sns.publish().topic_arn(&topic).message(message).send();
    // 200,000 characters of two bytes each: 400,000 bytes.
    let e = publish("é".repeat(200_000)).await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidParameter"), "{e:?}");
    publish("a".repeat(262_144)).await.unwrap();
}

/// An e-mail subscriber gets the structure's "email" key (else "default") as its body, and an
/// email-json subscriber the JSON envelope; plain moto delivers (and records) nothing for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_mail_subscribers_get_their_key_of_the_message_structure() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let email = aws.email_subscription(&topic, "email").await;
    let email_json = aws.email_subscription(&topic, "email-json").await;

    aws.sns
        .publish()
        .topic_arn(&topic)
        .subject("the subject")
        .message_structure("json")
        .message(r#"{"default": "for everyone", "email": "for people"}"#)
        .send()
        .await
        .unwrap();

    let mails = faults::email_deliveries(&email).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0]["subject"], "the subject");
    assert_eq!(mails[0]["message"], "for people");
    let programs = faults::email_deliveries(&email_json).await;
    assert_eq!(programs.len(), 1, "{programs:?}");
    let envelope: serde_json::Value =
        serde_json::from_str(programs[0]["message"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["Message"], "for everyone");
    assert_eq!(envelope["Subject"], "the subject");
    let queued = aws.messages(&queue, 1, Duration::from_secs(5)).await;
    assert_eq!(queued[0]["Message"], "for everyone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_s_typed_permission_changes_take_effect() {
    use aws_sdk_ec2::types::{
        CreateVolumePermission, CreateVolumePermissionModifications, PermissionGroup,
        SnapshotAttributeName,
    };
    let aws = Aws::new().await;
    let snapshot = aws.snapshot().await;
    let permissions = || async {
        let out = aws
            .ec2
            .describe_snapshot_attribute()
            .snapshot_id(&snapshot)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await
            .unwrap();
        out.create_volume_permissions().len()
    };
    // The SDK's typed form (`CreateVolumePermission.Add`): moto accepts it and changes nothing.
    let change = |add: bool| {
        let perms = vec![
            CreateVolumePermission::builder()
                .group(PermissionGroup::All)
                .build(),
            CreateVolumePermission::builder()
                .user_id("111122223333")
                .build(),
        ];
        let mods = match add {
            true => CreateVolumePermissionModifications::builder().set_add(Some(perms)),
            false => CreateVolumePermissionModifications::builder().set_remove(Some(perms)),
        };
        aws.ec2
            .modify_snapshot_attribute()
            .snapshot_id(&snapshot)
            .create_volume_permission(mods.build())
            .send()
    };
    change(true).await.unwrap();
    assert_eq!(permissions().await, 2, "public and one account");
    change(false).await.unwrap();
    assert_eq!(permissions().await, 0);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_s_zero_concurrency_its_vpc_and_an_update_in_progress_are_as_lambda_reports_them(
) {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.161.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let other = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    aws.lambda
        .put_function_concurrency()
        .function_name(&name)
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let got = aws
        .lambda
        .get_function()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    // Plain moto leaves Concurrency out when it is 0 (it tests the number for truth).
    assert_eq!(
        got.concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        Some(0)
    );
    // Plain moto answers a hard-coded vpc-123abc.
    let config = got.configuration().unwrap().vpc_config().unwrap();
    assert_eq!(config.vpc_id(), Some(vpc.as_str()));

    let update = |groups: Vec<String>| {
        let vpc_config = aws_sdk_lambda::types::VpcConfig::builder()
            .subnet_ids(&subnet)
            .set_security_group_ids(Some(groups))
            .build();
        aws.lambda
            .update_function_configuration()
            .function_name(&name)
            .vpc_config(vpc_config)
            .send()
    };
    let first = update(vec![other.clone()]).await.unwrap();
    assert_eq!(
        first.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    // Plain moto takes a second update at once; Lambda refuses it while the first is applied.
    let second = update(vec![app.clone()]).await.unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&second),
        Some("ResourceConflictException")
    );
    // And a group that does not exist is refused, as Lambda's check with EC2 does.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let unknown = update(vec!["sg-0123456789abcdef0".into()])
        .await
        .unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&unknown),
        Some("InvalidParameterValueException")
    );
}

/// The function's `LastUpdateStatus`, its reason code, and its groups, as
/// `GetFunctionConfiguration` reports them.
async fn last_update(aws: &Aws, name: &str) -> (String, Option<String>, Vec<String>) {
    let c = aws
        .lambda
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .unwrap();
    let groups = c
        .vpc_config()
        .map(|v| v.security_group_ids().to_vec())
        .unwrap_or_default();
    (
        c.last_update_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        c.last_update_status_reason_code()
            .map(|r| r.as_str().to_string()),
        groups,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_update_is_in_progress_then_successful_or_failed_with_its_reason() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.163.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let other = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let update = |group: &String| {
        let vpc_config = aws_sdk_lambda::types::VpcConfig::builder()
            .subnet_ids(&subnet)
            .security_group_ids(group)
            .build();
        aws.lambda
            .update_function_configuration()
            .function_name(&name)
            .vpc_config(vpc_config)
            .send()
    };
    let settle = || tokio::time::sleep(Duration::from_millis(1100));
    // Plain moto reports Successful at once; Lambda applies a VPC change asynchronously.
    update(&other).await.unwrap();
    assert_eq!(last_update(&aws, &name).await.0, "InProgress");
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        ("Successful".to_string(), None, vec![other.clone()])
    );

    // A change Lambda gives up: Failed, with its reason code; the previous groups stay.
    let id = unique("no-ips");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::fail_function_update(&id, &name, "SubnetOutOfIPAddresses").await;
    let accepted = update(&app).await.unwrap();
    assert_eq!(
        accepted.last_update_status().map(|s| s.as_str()),
        Some("InProgress")
    );
    assert_eq!(last_update(&aws, &name).await.0, "InProgress");
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        (
            "Failed".to_string(),
            Some("SubnetOutOfIPAddresses".to_string()),
            vec![other.clone()]
        )
    );
    // The next change, the rule gone, succeeds.
    faults::clear(&id).await;
    update(&app).await.unwrap();
    settle().await;
    assert_eq!(
        last_update(&aws, &name).await,
        ("Successful".to_string(), None, vec![app])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_concurrency_counts_towards_reserved_concurrency() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.164.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let version = aws
        .lambda
        .publish_version()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    aws.lambda
        .create_alias()
        .function_name(&name)
        .name("live")
        .function_version(version.version().unwrap())
        .send()
        .await
        .unwrap();
    let provision = |qualifier: &str, n: i32| {
        aws.lambda
            .put_provisioned_concurrency_config()
            .function_name(&name)
            .qualifier(qualifier)
            .provisioned_concurrent_executions(n)
            .send()
    };
    let reserve = |n: i32| {
        aws.lambda
            .put_function_concurrency()
            .function_name(&name)
            .reserved_concurrent_executions(n)
            .send()
    };
    // Plain moto has no provisioned concurrency at all (HTTP 404).
    provision("live", 3).await.unwrap();
    let listed = aws
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    let configs = listed.provisioned_concurrency_configs();
    assert_eq!(configs.len(), 1);
    assert!(configs[0].function_arn().unwrap().ends_with(":live"));
    assert_eq!(
        configs[0].requested_provisioned_concurrent_executions(),
        Some(3)
    );
    // Never on $LATEST.
    assert_eq!(
        code(provision("$LATEST", 1).await),
        "InvalidParameterValueException"
    );
    // Reserved concurrency below the provisioned concurrency is refused, 0 included...
    assert_eq!(code(reserve(0).await), "InvalidParameterValueException");
    assert_eq!(code(reserve(2).await), "InvalidParameterValueException");
    reserve(3).await.unwrap();
    // ...and provisioned concurrency above the reserved concurrency.
    assert_eq!(
        code(provision("live", 4).await),
        "InvalidParameterValueException"
    );
    // Once it is removed, 0 is accepted.
    aws.lambda
        .delete_provisioned_concurrency_config()
        .function_name(&name)
        .qualifier("live")
        .send()
        .await
        .unwrap();
    reserve(0).await.unwrap();
    assert!(aws
        .lambda
        .list_provisioned_concurrency_configs()
        .function_name(&name)
        .send()
        .await
        .unwrap()
        .provisioned_concurrency_configs()
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_source_mapping_is_creating_and_cannot_be_updated_yet() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.165.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let (name, _, _) = aws.lambda_function(&subnet, &app).await;
    let queue = aws
        .sqs
        .create_queue()
        .queue_name(unique("mapped"))
        .send()
        .await
        .unwrap();
    let queue_arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let created = aws
        .lambda
        .create_event_source_mapping()
        .function_name(&name)
        .event_source_arn(queue_arn)
        .send()
        .await
        .unwrap();
    let uuid = created.uuid().unwrap().to_string();
    // Plain moto reports it Enabled at once and updates it at once.
    assert_eq!(created.state(), Some("Creating"));
    let disable = || {
        aws.lambda
            .update_event_source_mapping()
            .uuid(&uuid)
            .enabled(false)
            .send()
    };
    assert_eq!(code(disable().await), "ResourceInUseException");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    disable().await.unwrap();
    let state = aws
        .lambda
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(state.state(), Some("Disabled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_runs_until_it_is_stopped() {
    let aws = Aws::new().await;
    let (cluster, task) = aws.fargate_task().await;
    let status = || aws.task_status(&cluster, &task);
    // Plain moto moves the task on at every read: STOPPED after four.
    for read in 0..6 {
        assert_eq!(status().await, "RUNNING", "read {read}");
    }
    aws.ecs
        .stop_task()
        .cluster(&cluster)
        .task(&task)
        .reason("test")
        .send()
        .await
        .unwrap();
    assert_eq!(status().await, "STOPPED");
}

/// IAM's inline policy quotas (IAM User Guide, "IAM and AWS STS quotas"): a role's inline policies
/// hold 10,240 characters in all, a user's 2,048, white space not counted; past it PutRolePolicy /
/// PutUserPolicy answer 409 `LimitExceeded`. Plain moto takes any number of policies of any size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_policies_are_capped_in_all_per_role_and_user_white_space_not_counted() {
    let aws = Aws::new().await;
    let (role, _) = aws.role_with_profile().await;
    let (user, _) = aws.user_with_keys().await;
    // A document of exactly `size` characters as IAM counts them, padded with white space that
    // does not count.
    let document = |size: usize| {
        let head = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userId":""#;
        let tail = r#""}}}]}"#;
        let fill = size - head.len() - tail.len();
        format!(
            "{head}{}{tail}\n   \t\n{}",
            "x".repeat(fill),
            " ".repeat(4000)
        )
    };
    let put_role = |name: &str, size: usize| {
        aws.iam
            .put_role_policy()
            .role_name(&role)
            .policy_name(name)
            .policy_document(document(size))
            .send()
    };
    // 6,000 + 4,240 = 10,240: exactly the quota, however much white space.
    put_role("a", 6_000).await.unwrap();
    put_role("b", 4_240).await.unwrap();
    // One character more, in a third policy or by growing one: refused, and nothing changes.
    let refused = (
        "LimitExceeded".to_string(),
        format!("Maximum policy size of 10240 bytes exceeded for role {role}"),
        409,
    );
    assert_eq!(refusal(put_role("c", 200).await), refused);
    assert_eq!(refusal(put_role("b", 4_241).await), refused);
    assert_eq!(aws.role_state(&role).await.policies.len(), 2);
    // A document replaced by a smaller one, or one deleted, makes room again.
    put_role("b", 4_000).await.unwrap();
    put_role("c", 240).await.unwrap();
    aws.iam
        .delete_role_policy()
        .role_name(&role)
        .policy_name("a")
        .send()
        .await
        .unwrap();
    put_role("d", 6_000).await.unwrap();

    // A user's: 2,048.
    let put_user = |name: &str, size: usize| {
        aws.iam
            .put_user_policy()
            .user_name(&user)
            .policy_name(name)
            .policy_document(document(size))
            .send()
    };
    put_user("a", 1_048).await.unwrap();
    put_user("b", 1_000).await.unwrap();
    assert_eq!(
        refusal(put_user("c", 150).await),
        (
            "LimitExceeded".to_string(),
            format!("Maximum policy size of 2048 bytes exceeded for user {user}"),
            409,
        )
    );
    assert_eq!(aws.user_state(&user).await.policies.len(), 2);
}
