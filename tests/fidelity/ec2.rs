//! EC2: groups of interfaces and instances, addresses, security group visibility, launch
//! addresses, Spot attributes, snapshot permissions, interface types.

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{IpPermission, IpRange};
use firebreak_tests::faults;
use firebreak_tests::fixtures::{filter, unique, Aws};

use super::{new_group, refusal};

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
