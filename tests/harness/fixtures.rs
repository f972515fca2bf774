//! Building real state in the local AWS, and reading it back.

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, Filter, IpPermission, IpRange, ResourceType, Tag,
    TagSpecification,
};
use serde_json::{json, Value};

use crate::{sdk_config_in, REGION};

/// Test-side clients for the local AWS.
pub struct Aws {
    /// EC2.
    pub ec2: aws_sdk_ec2::Client,
    /// SNS.
    pub sns: aws_sdk_sns::Client,
    /// SQS.
    pub sqs: aws_sdk_sqs::Client,
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// Security Hub.
    pub securityhub: aws_sdk_securityhub::Client,
    /// Auto Scaling.
    pub asg: aws_sdk_autoscaling::Client,
    /// Elastic Load Balancing v2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// Lambda.
    pub lambda: aws_sdk_lambda::Client,
    /// ECS.
    pub ecs: aws_sdk_ecs::Client,
    /// S3 (path-style addressing: the local AWS has no per-bucket host names).
    pub s3: aws_sdk_s3::Client,
    /// The region of these clients.
    pub region: String,
}

/// A unique suffix, so parallel tests never share names.
/// An instance's evidence settings ([`Aws::protection`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    /// `DeleteOnTermination` of each volume.
    pub deleted_on_termination: Vec<bool>,
    /// Termination protection.
    pub termination_protection: bool,
    /// What an OS shutdown does.
    pub shutdown_behaviour: String,
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The text a person reads in a notification that reached a queue: the chat notification's
/// description (a code block holding Firebreak's text, which escapes only backticks and angle
/// brackets, so what the text says reads the same). Panics if the message is not a chat
/// notification with a code-block description.
pub fn readable(envelope: &Value) -> String {
    let message = envelope["Message"].as_str().expect("an SNS envelope");
    let chat: Value = serde_json::from_str(message)
        .unwrap_or_else(|e| panic!("not a chat notification ({e}): {message}"));
    let description = chat["content"]["description"]
        .as_str()
        .unwrap_or_else(|| panic!("no content.description: {chat}"));
    description
        .strip_prefix("```\n")
        .and_then(|d| d.strip_suffix("\n```"))
        .unwrap_or_else(|| panic!("the description is not a code block: {description}"))
        .to_string()
}

/// An EC2 filter with one value.
pub fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

impl Aws {
    /// Clients for the local AWS.
    pub async fn new() -> Aws {
        Aws::in_region(REGION).await
    }

    /// Clients for the local AWS in `region` (moto keeps each region's state apart).
    pub async fn in_region(region: &str) -> Aws {
        Aws::with_config(&sdk_config_in(region).await, region)
    }

    /// Clients for member account `account` (us-east-1), through its role `role`.
    pub async fn in_account(account: &str, role: &str) -> Aws {
        Aws::with_config(&crate::sdk_config_for_account(account, role).await, REGION)
    }

    /// Attaches a trunk interface (as EKS's VPC resource controller does for security groups for
    /// pods) to `instance` in `subnet`, at device index 1: its id.
    pub async fn attach_trunk(&self, instance: &str, subnet: &str) -> String {
        let eni = self
            .ec2
            .create_network_interface()
            .subnet_id(subnet)
            .interface_type(aws_sdk_ec2::types::NetworkInterfaceCreationType::Trunk)
            .description("aws-k8s-trunk-eni")
            .send()
            .await
            .unwrap();
        let eni = eni
            .network_interface()
            .unwrap()
            .network_interface_id()
            .unwrap()
            .to_string();
        self.ec2
            .attach_network_interface()
            .network_interface_id(&eni)
            .instance_id(instance)
            .device_index(1)
            .send()
            .await
            .unwrap();
        eni
    }

    /// Clients for member account `account` in `region`, through its role `role`.
    pub async fn in_account_and_region(account: &str, role: &str, region: &str) -> Aws {
        let conf = crate::sdk_config_for_account(account, role).await;
        let conf = (conf.into_builder())
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Aws::with_config(&conf, region)
    }

    fn with_config(conf: &aws_config::SdkConfig, region: &str) -> Aws {
        let conf = conf.clone();
        Aws {
            region: region.to_string(),
            ec2: aws_sdk_ec2::Client::new(&conf),
            sns: aws_sdk_sns::Client::new(&conf),
            sqs: aws_sdk_sqs::Client::new(&conf),
            iam: aws_sdk_iam::Client::new(&conf),
            securityhub: aws_sdk_securityhub::Client::new(&conf),
            asg: aws_sdk_autoscaling::Client::new(&conf),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
            ecs: aws_sdk_ecs::Client::new(&conf),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&conf)
                    .force_path_style(true)
                    .build(),
            ),
        }
    }

    /// A VPC with one subnet in `<region>a`: (vpc id, subnet id).
    pub async fn vpc(&self, cidr: &str) -> (String, String) {
        let vpc = self.ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        let subnet = self
            .ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(cidr)
            .availability_zone(format!("{}a", self.region))
            .send()
            .await
            .unwrap();
        (
            vpc_id,
            subnet.subnet().unwrap().subnet_id().unwrap().to_string(),
        )
    }

    /// An application group allowing SSH from the VPC (plus the default allow-all egress).
    pub async fn app_group(&self, vpc_id: &str) -> String {
        let g = self
            .ec2
            .create_security_group()
            .group_name(unique("app"))
            .description("application")
            .vpc_id(vpc_id)
            .send()
            .await
            .unwrap();
        let id = g.group_id().unwrap().to_string();
        self.ec2
            .authorize_security_group_ingress()
            .group_id(&id)
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(22)
                    .to_port(22)
                    .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        id
    }

    /// An image id to launch.
    pub async fn image(&self) -> String {
        let images = self.ec2.describe_images().send().await.unwrap();
        images.images()[0].image_id().unwrap().to_string()
    }

    /// A running instance with a root volume and one data volume, whose OS shutdown *terminates* it
    /// (the worst case for evidence, so that protecting it is visible).
    pub async fn instance(
        &self,
        subnet_id: &str,
        groups: &[String],
        tags: &[(&str, &str)],
    ) -> String {
        let mut made = self.instances(subnet_id, groups, tags, 1).await;
        made.remove(0).0
    }

    /// `count` such instances in one call: (instance id, its (ENI, VPC) pairs) each.
    pub async fn instances(
        &self,
        subnet_id: &str,
        groups: &[String],
        tags: &[(&str, &str)],
        count: i32,
    ) -> Vec<(String, Vec<(String, String)>)> {
        let mut run = self.launch(subnet_id, groups, count).await;
        if !tags.is_empty() {
            run = run.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::Instance)
                    .set_tags(Some(
                        tags.iter()
                            .map(|(k, v)| Tag::builder().key(*k).value(*v).build())
                            .collect(),
                    ))
                    .build(),
            );
        }
        let out = run.send().await.unwrap();
        out.instances()
            .iter()
            .map(|i| {
                let enis = i
                    .network_interfaces()
                    .iter()
                    .map(|e| {
                        (
                            e.network_interface_id().unwrap().to_string(),
                            e.vpc_id().unwrap().to_string(),
                        )
                    })
                    .collect();
                (i.instance_id().unwrap().to_string(), enis)
            })
            .collect()
    }

    /// `count` instances in `subnet_id` with a root volume and one data volume (both deleted on
    /// termination), whose OS shutdown terminates them: what [`instances`](Aws::instances) and
    /// [`spot_instance`](Aws::spot_instance) launch.
    async fn launch(
        &self,
        subnet_id: &str,
        groups: &[String],
        count: i32,
    ) -> aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder {
        let ebs = |size| {
            EbsBlockDevice::builder()
                .volume_size(size)
                .delete_on_termination(true)
                .build()
        };
        self.ec2
            .run_instances()
            .image_id(self.image().await)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(count)
            .max_count(count)
            .subnet_id(subnet_id)
            .instance_initiated_shutdown_behavior(aws_sdk_ec2::types::ShutdownBehavior::Terminate)
            .set_security_group_ids(Some(groups.to_vec()))
            // moto replaces the root volume unless /dev/sda1 is listed.
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/sda1")
                    .ebs(ebs(8))
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/sdf")
                    .ebs(ebs(4))
                    .build(),
            )
    }

    /// A running (one-time) Spot instance, otherwise like [`instance`](Aws::instance): a root
    /// volume and one data volume, OS shutdown terminates it. DescribeInstances reports its
    /// `InstanceLifecycle` as `spot`.
    pub async fn spot_instance(&self, subnet_id: &str, groups: &[String]) -> String {
        let out = self
            .launch(subnet_id, groups, 1)
            .await
            .instance_market_options(
                aws_sdk_ec2::types::InstanceMarketOptionsRequest::builder()
                    .market_type(aws_sdk_ec2::types::MarketType::Spot)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.instances()[0].instance_id().unwrap().to_string()
    }

    /// A new VPC Elastic IP: its allocation id.
    pub async fn elastic_ip(&self) -> String {
        self.ec2
            .allocate_address()
            .domain(aws_sdk_ec2::types::DomainType::Vpc)
            .send()
            .await
            .unwrap()
            .allocation_id()
            .unwrap()
            .to_string()
    }

    /// An HTTP target group for instances in `vpc_id`, on `port`.
    pub async fn target_group(&self, vpc_id: &str, port: i32) -> String {
        use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
        self.elb
            .create_target_group()
            .name(unique("tg").chars().take(32).collect::<String>())
            .protocol(ProtocolEnum::Http)
            .port(port)
            .vpc_id(vpc_id)
            .target_type(TargetTypeEnum::Instance)
            .send()
            .await
            .unwrap()
            .target_groups()[0]
            .target_group_arn()
            .unwrap()
            .to_string()
    }

    /// An Auto Scaling group of one instance (launched in `subnet_id` with `groups`) that registers
    /// its instances with `target_group`: (group name, instance id).
    pub async fn auto_scaled_instance(
        &self,
        subnet_id: &str,
        groups: &[String],
        target_group: &str,
    ) -> (String, String) {
        let template = self
            .ec2
            .create_launch_template()
            .launch_template_name(unique("lt"))
            .launch_template_data(
                aws_sdk_ec2::types::RequestLaunchTemplateData::builder()
                    .image_id(self.image().await)
                    .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                    .set_security_group_ids(Some(groups.to_vec()))
                    .build(),
            )
            .send()
            .await
            .unwrap()
            .launch_template()
            .unwrap()
            .launch_template_id()
            .unwrap()
            .to_string();
        let group = unique("asg");
        self.asg
            .create_auto_scaling_group()
            .auto_scaling_group_name(&group)
            .launch_template(
                aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                    .launch_template_id(&template)
                    .build(),
            )
            .min_size(1)
            .max_size(3)
            .desired_capacity(1)
            .vpc_zone_identifier(subnet_id)
            .target_group_arns(target_group)
            .send()
            .await
            .unwrap();
        let described = self
            .asg
            .describe_auto_scaling_groups()
            .auto_scaling_group_names(&group)
            .send()
            .await
            .unwrap();
        let instance = described.auto_scaling_groups()[0].instances()[0]
            .instance_id()
            .unwrap()
            .to_string();
        (group, instance)
    }

    /// Creates an ENI in `subnet_id` with `groups` and attaches it at `index`.
    pub async fn attach_eni(
        &self,
        instance_id: &str,
        subnet_id: &str,
        groups: &[String],
        index: i32,
    ) -> String {
        let eni = self
            .ec2
            .create_network_interface()
            .subnet_id(subnet_id)
            .set_groups(Some(groups.to_vec()))
            .send()
            .await
            .unwrap();
        let eni_id = eni
            .network_interface()
            .unwrap()
            .network_interface_id()
            .unwrap()
            .to_string();
        self.ec2
            .attach_network_interface()
            .network_interface_id(&eni_id)
            .instance_id(instance_id)
            .device_index(index)
            .send()
            .await
            .unwrap();
        eni_id
    }

    /// The instance as EC2 reports it.
    pub async fn describe(&self, instance_id: &str) -> aws_sdk_ec2::types::Instance {
        let out = self
            .ec2
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .unwrap();
        out.reservations()[0].instances()[0].clone()
    }

    /// Every network ACL entry of the VPC: (ACL id, rule number, egress, allow, CIDR).
    pub async fn acl_entries(&self, vpc_id: &str) -> Vec<(String, i32, bool, bool, String)> {
        let out = self
            .ec2
            .describe_network_acls()
            .filters(filter("vpc-id", vpc_id))
            .send()
            .await
            .unwrap();
        let mut entries = Vec::new();
        for acl in out.network_acls() {
            for e in acl.entries() {
                entries.push((
                    acl.network_acl_id().unwrap().to_string(),
                    e.rule_number().unwrap(),
                    e.egress().unwrap_or(false),
                    e.rule_action().map(|a| a.as_str()) == Some("allow"),
                    e.cidr_block()
                        .or(e.ipv6_cidr_block())
                        .unwrap_or_default()
                        .to_string(),
                ));
            }
        }
        entries.sort();
        entries
    }

    /// The VPC's deny entries for `cidr` that come before every allow entry of their ACL and
    /// direction (the entries that take effect): (ACL id, rule number, egress).
    pub async fn effective_denies(&self, vpc_id: &str, cidr: &str) -> Vec<(String, i32, bool)> {
        let entries = self.acl_entries(vpc_id).await;
        let first_allow = |acl: &str, egress: bool| {
            entries
                .iter()
                .filter(|e| e.0 == acl && e.2 == egress && e.3 && e.1 != 32767)
                .map(|e| e.1)
                .min()
                .unwrap_or(32767)
        };
        entries
            .iter()
            .filter(|e| !e.3 && e.4 == cidr && e.1 < first_allow(&e.0, e.2))
            .map(|e| (e.0.clone(), e.1, e.2))
            .collect()
    }

    /// The network interfaces of the instance as a GuardDuty finding lists them: id, VPC, subnet,
    /// private addresses and security groups (what the instance had when GuardDuty saw it).
    pub async fn finding_interfaces(&self, instance_id: &str) -> Vec<Value> {
        let i = self.describe(instance_id).await;
        i.network_interfaces()
            .iter()
            .map(|n| {
                json!({
                    "networkInterfaceId": n.network_interface_id(),
                    "vpcId": n.vpc_id(),
                    "subnetId": n.subnet_id(),
                    "privateIpAddress": n.private_ip_address(),
                    "privateIpAddresses": n.private_ip_addresses().iter()
                        .map(|a| json!({"privateIpAddress": a.private_ip_address()}))
                        .collect::<Vec<_>>(),
                    "securityGroups": n.groups().iter()
                        .map(|g| json!({"groupId": g.group_id(), "groupName": g.group_name()}))
                        .collect::<Vec<_>>(),
                })
            })
            .collect()
    }

    /// (ENI id, VPC id, group ids) of every interface of the instance, read from DescribeNetworkInterfaces.
    pub async fn interfaces(&self, instance_id: &str) -> Vec<(String, String, Vec<String>)> {
        let out = self
            .ec2
            .describe_network_interfaces()
            .filters(filter("attachment.instance-id", instance_id))
            .send()
            .await
            .unwrap();
        let mut enis: Vec<_> = out
            .network_interfaces()
            .iter()
            .map(|n| {
                (
                    n.network_interface_id().unwrap().to_string(),
                    n.vpc_id().unwrap_or_default().to_string(),
                    n.groups()
                        .iter()
                        .map(|g| g.group_id().unwrap().to_string())
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        enis.sort();
        enis
    }

    /// Every security group of every interface of the instance.
    pub async fn groups_of(&self, instance_id: &str) -> Vec<String> {
        self.interfaces(instance_id)
            .await
            .into_iter()
            .flat_map(|(_, _, g)| g)
            .collect()
    }

    /// The instance's evidence settings as EC2 reports them: `DeleteOnTermination` per volume,
    /// termination protection, the shutdown behaviour.
    pub async fn protection(&self, instance_id: &str) -> Protection {
        use aws_sdk_ec2::types::InstanceAttributeName as Name;
        let described = self.describe(instance_id).await;
        let deleted_on_termination = described
            .block_device_mappings()
            .iter()
            .map(|b| b.ebs().and_then(|e| e.delete_on_termination()) == Some(true))
            .collect();
        let attr = |name| {
            self.ec2
                .describe_instance_attribute()
                .instance_id(instance_id)
                .attribute(name)
                .send()
        };
        let termination = attr(Name::DisableApiTermination).await.unwrap();
        let shutdown = attr(Name::InstanceInitiatedShutdownBehavior).await.unwrap();
        Protection {
            deleted_on_termination,
            termination_protection: termination
                .disable_api_termination()
                .and_then(|v| v.value())
                == Some(true),
            shutdown_behaviour: shutdown
                .instance_initiated_shutdown_behavior()
                .and_then(|v| v.value())
                .unwrap_or_default()
                .to_string(),
        }
    }

    /// A 1 GiB volume's snapshot (`snap-…`).
    pub async fn snapshot(&self) -> String {
        let volume = self
            .ec2
            .create_volume()
            .availability_zone(format!("{}a", self.region))
            .size(1)
            .send()
            .await
            .unwrap();
        self.ec2
            .create_snapshot()
            .volume_id(volume.volume_id().unwrap())
            .send()
            .await
            .unwrap()
            .snapshot_id()
            .unwrap()
            .to_string()
    }

    /// (ENI id, VPC id) of every interface of the instance: what a finding lists.
    pub async fn eni_vpcs(&self, instance_id: &str) -> Vec<(String, String)> {
        self.interfaces(instance_id)
            .await
            .into_iter()
            .map(|(eni, vpc, _)| (eni, vpc))
            .collect()
    }

    /// (VPC id, ingress rule count, egress rule count) of a group.
    pub async fn group_rules(&self, group_id: &str) -> (String, usize, usize) {
        let out = self
            .ec2
            .describe_security_groups()
            .group_ids(group_id)
            .send()
            .await
            .unwrap();
        let g = &out.security_groups()[0];
        (
            g.vpc_id().unwrap_or_default().to_string(),
            g.ip_permissions().len(),
            g.ip_permissions_egress().len(),
        )
    }

    /// The instance's tags as (key, value).
    /// The instance's tags as Firebreak reads them: a `firebreak:*` value whose seal verifies
    /// (the e2e record key, on this instance) without its seal; any other value as it is.
    pub async fn tags(&self, instance_id: &str) -> Vec<(String, String)> {
        unsealed(instance_id, self.raw_tags(instance_id).await)
    }

    /// The instance's tags exactly as EC2 holds them.
    pub async fn raw_tags(&self, instance_id: &str) -> Vec<(String, String)> {
        self.describe(instance_id)
            .await
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// (snapshot id, volume id) of every snapshot tagged with the finding id.
    pub async fn finding_snapshots(&self, finding_id: &str) -> Vec<(String, String)> {
        let out = self
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(filter("tag:firebreak:finding-id", finding_id))
            .send()
            .await
            .unwrap();
        out.snapshots()
            .iter()
            .map(|s| {
                (
                    s.snapshot_id().unwrap().to_string(),
                    s.volume_id().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// A topic with an SQS queue subscribed: (topic ARN, queue URL).
    pub async fn topic_with_queue(&self) -> (String, String) {
        let name = unique("firebreak");
        let topic = self.sns.create_topic().name(&name).send().await.unwrap();
        let topic_arn = topic.topic_arn().unwrap().to_string();
        let queue = self
            .sqs
            .create_queue()
            .queue_name(&name)
            .send()
            .await
            .unwrap();
        let queue_url = queue.queue_url().unwrap().to_string();
        self.subscribe_queue(&topic_arn, &queue_url).await;
        (topic_arn, queue_url)
    }

    /// The queue subscribed to the topic (SQS protocol).
    pub async fn subscribe_queue(&self, topic_arn: &str, queue_url: &str) {
        let attrs = self
            .sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        self.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .unwrap();
    }

    /// An e-mail subscription of `topic` (moto confirms it at once): its ARN, whose deliveries
    /// `faults::email_deliveries` reads back.
    pub async fn email_subscription(&self, topic_arn: &str, protocol: &str) -> String {
        self.sns
            .subscribe()
            .topic_arn(topic_arn)
            .protocol(protocol)
            .endpoint(format!("{}@example.com", unique("team")))
            .return_subscription_arn(true)
            .send()
            .await
            .unwrap()
            .subscription_arn()
            .unwrap()
            .to_string()
    }

    /// The SNS envelopes (`Subject`, `Message`, `MessageAttributes`) that reached the queue, waiting
    /// up to `wait` for at least `at_least` of them. `Message` is the chat notification (the
    /// structure's `default`); [`readable`] is the text it carries.
    pub async fn messages(&self, queue_url: &str, at_least: usize, wait: Duration) -> Vec<Value> {
        let start = Instant::now();
        let mut got = Vec::new();
        while got.len() < at_least && start.elapsed() < wait {
            let out = self
                .sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for m in out.messages() {
                got.push(serde_json::from_str(m.body().unwrap()).unwrap());
            }
        }
        got
    }
}

/// IAM policy documents come back URL-encoded (as the IAM API specifies); moto may send them plain.
fn policy_json(document: &str) -> Value {
    let mut bytes = Vec::new();
    let raw = document.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' && i + 2 < raw.len() {
            let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    let text = if document.trim_start().starts_with('{') {
        document.to_string()
    } else {
        String::from_utf8(bytes).unwrap()
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("policy {document}: {e}"))
}

/// Everything about one IAM user that Firebreak could change.
#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    /// (key id, status), sorted.
    pub keys: Vec<(String, String)>,
    /// (inline policy name, document).
    pub policies: Vec<(String, Value)>,
    /// Whether the user has a console password.
    pub login: bool,
    /// Tags, sorted, as Firebreak reads them (a seal that verifies taken off: [`unsealed`]).
    pub tags: Vec<(String, String)>,
}

/// Everything about one IAM role that Firebreak could change.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleState {
    /// (inline policy name, document).
    pub policies: Vec<(String, Value)>,
    /// Tags, sorted, as Firebreak reads them (a seal that verifies taken off: [`unsealed`]).
    pub tags: Vec<(String, String)>,
}

impl Aws {
    /// A user with two active access keys and a console password: (user name, [key ids]).
    pub async fn user_with_keys(&self) -> (String, Vec<String>) {
        let name = unique("alice");
        self.iam
            .create_user()
            .user_name(&name)
            .send()
            .await
            .unwrap();
        let mut keys = Vec::new();
        for _ in 0..2 {
            let k = self
                .iam
                .create_access_key()
                .user_name(&name)
                .send()
                .await
                .unwrap();
            keys.push(k.access_key().unwrap().access_key_id().to_string());
        }
        self.iam
            .create_login_profile()
            .user_name(&name)
            .password("Correct-Horse-Battery-9")
            .send()
            .await
            .unwrap();
        (name, keys)
    }

    /// The user's keys, inline policies, console password and tags.
    pub async fn user_state(&self, user: &str) -> UserState {
        let keys = self
            .iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let mut keys: Vec<(String, String)> = keys
            .access_key_metadata()
            .iter()
            .map(|k| {
                (
                    k.access_key_id().unwrap().to_string(),
                    k.status().unwrap().as_str().to_string(),
                )
            })
            .collect();
        keys.sort();
        let names = self
            .iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let mut policies = Vec::new();
        for name in names.policy_names() {
            let p = self
                .iam
                .get_user_policy()
                .user_name(user)
                .policy_name(name)
                .send()
                .await
                .unwrap();
            policies.push((name.clone(), policy_json(p.policy_document())));
        }
        let login = match self.iam.get_login_profile().user_name(user).send().await {
            Ok(_) => true,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_no_such_entity_exception()) =>
            {
                false
            }
            Err(e) => panic!("GetLoginProfile: {e:?}"),
        };
        let tags = self
            .iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let tags = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let mut tags = unsealed(&principal(user), tags);
        tags.sort();
        UserState {
            keys,
            policies,
            login,
            tags,
        }
    }

    /// A role EC2 can assume, with an instance profile of the same name: (role name, profile ARN).
    pub async fn role_with_profile(&self) -> (String, String) {
        let name = unique("web");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        self.iam
            .create_role()
            .role_name(&name)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        let profile = self
            .iam
            .create_instance_profile()
            .instance_profile_name(&name)
            .send()
            .await
            .unwrap();
        self.iam
            .add_role_to_instance_profile()
            .instance_profile_name(&name)
            .role_name(&name)
            .send()
            .await
            .unwrap();
        (name, profile.instance_profile().unwrap().arn().to_string())
    }

    /// A role Lambda may assume: (name, ARN).
    pub async fn lambda_role(&self) -> (String, String) {
        let role = unique("fn-role");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let arn = self
            .iam
            .create_role()
            .role_name(&role)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_string();
        (role, arn)
    }

    /// A Lambda function in `subnet` with `group` and an execution role of its own:
    /// (name, ARN, role name). Its code is an empty archive: the local AWS never runs it.
    pub async fn lambda_function(&self, subnet: &str, group: &str) -> (String, String, String) {
        use aws_sdk_lambda::primitives::Blob;
        use aws_sdk_lambda::types::{FunctionCode, Runtime, VpcConfig};
        const EMPTY_ZIP: &[u8] = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let (role, role_arn) = self.lambda_role().await;
        let name = unique("orders");
        let vpc = VpcConfig::builder()
            .subnet_ids(subnet)
            .security_group_ids(group)
            .build();
        let created = self
            .lambda
            .create_function()
            .function_name(&name)
            .runtime(Runtime::Providedal2023)
            .handler("bootstrap")
            .role(&role_arn)
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(EMPTY_ZIP))
                    .build(),
            )
            .vpc_config(vpc)
            .send()
            .await
            .unwrap();
        (name, created.function_arn().unwrap().to_string(), role)
    }

    /// A running Fargate task in a VPC: (cluster ARN, task ARN).
    pub async fn fargate_task(&self) -> (String, String) {
        use aws_sdk_ecs::types::{
            AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
            NetworkConfiguration, NetworkMode,
        };
        let (aws, ecs) = (self, &self.ecs);
        let (vpc, subnet) = aws.vpc("10.200.0.0/16").await;
        // ECS names the task's interface by its DNS name: the VPC has them.
        aws.ec2
            .modify_vpc_attribute()
            .vpc_id(&vpc)
            .enable_dns_hostnames(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let group = aws.app_group(&vpc).await;
        let cluster = ecs
            .create_cluster()
            .cluster_name(unique("payments"))
            .send()
            .await
            .unwrap()
            .cluster()
            .unwrap()
            .cluster_arn()
            .unwrap()
            .to_string();
        let family = unique("web");
        ecs.register_task_definition()
            .family(&family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image("public.ecr.aws/nginx/nginx:latest")
                    .essential(true)
                    .memory(512)
                    .cpu(256)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .subnets(subnet)
                    .security_groups(group)
                    .build()
                    .unwrap(),
            )
            .build();
        let task = ecs
            .run_task()
            .cluster(&cluster)
            .task_definition(&family)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .task_arn()
            .unwrap()
            .to_string();
        (cluster, task)
    }

    /// `FbRelease` on a GuardDuty finding as Security Hub has it, about `resource` (an ASFF
    /// resource), through `securityhub-action`: the finding's result (its `verdict`, …).
    pub async fn fb_release(
        &self,
        topic: &str,
        finding: &str,
        finding_type: &str,
        resource: Value,
    ) -> Value {
        let mut asff = guardduty_asff(finding, finding_type, 8.0, json!({}));
        asff["Resources"] = json!([resource]);
        self.import_findings(std::slice::from_ref(&asff)).await;
        let f =
            crate::Function::start("securityhub-action", &[("FIREBREAK_TOPIC_ARN", topic)]).await;
        let got = f
            .invoke(&custom_action_event("FbRelease", &[asff]))
            .await
            .unwrap();
        got["results"][0].clone()
    }

    /// An ECS task's `lastStatus`.
    pub async fn task_status(&self, cluster: &str, task: &str) -> String {
        self.ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(task)
            .send()
            .await
            .unwrap()
            .tasks()[0]
            .last_status()
            .unwrap_or_default()
            .to_string()
    }

    /// The VPC's isolation group (Firebreak's, found by its tag).
    pub async fn isolation_group(&self, vpc_id: &str) -> String {
        self.ec2
            .describe_security_groups()
            .filters(filter("vpc-id", vpc_id))
            .filters(filter("tag:firebreak:quarantine-role", "isolation"))
            .send()
            .await
            .unwrap()
            .security_groups()
            .first()
            .and_then(|g| g.group_id())
            .expect("the VPC has an isolation group")
            .to_string()
    }

    /// The role's inline policies and tags.
    pub async fn role_state(&self, role: &str) -> RoleState {
        let names = self
            .iam
            .list_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let mut policies = Vec::new();
        for name in names.policy_names() {
            let p = self
                .iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .unwrap();
            policies.push((name.clone(), policy_json(p.policy_document())));
        }
        let tags = self
            .iam
            .list_role_tags()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let tags = tags
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let mut tags = unsealed(&principal(role), tags);
        tags.sort();
        RoleState { policies, tags }
    }

    /// Associates the instance profile with the instance.
    pub async fn associate_profile(&self, instance_id: &str, profile_arn: &str) {
        self.ec2
            .associate_iam_instance_profile()
            .instance_id(instance_id)
            .iam_instance_profile(
                aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                    .arn(profile_arn)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// (association id, profile ARN) of the instance's live profile associations.
    pub async fn profile_associations(&self, instance_id: &str) -> Vec<(String, String)> {
        let out = self
            .ec2
            .describe_iam_instance_profile_associations()
            .filters(filter("instance-id", instance_id))
            .send()
            .await
            .unwrap();
        out.iam_instance_profile_associations()
            .iter()
            .filter(|a| {
                matches!(
                    a.state().map(|s| s.as_str()),
                    Some("associating") | Some("associated")
                )
            })
            .map(|a| {
                (
                    a.association_id().unwrap().to_string(),
                    a.iam_instance_profile().unwrap().arn().unwrap().to_string(),
                )
            })
            .collect()
    }
}

/// GuardDuty's product ARN in Security Hub.
pub const GUARDDUTY_PRODUCT: &str = "arn:aws:securityhub:us-east-1::product/aws/guardduty";

/// A GuardDuty finding as Security Hub holds it (ASFF), about `resource` (an ASFF resource).
pub fn guardduty_asff(finding_id: &str, gd_type: &str, severity: f64, resource: Value) -> Value {
    let (family, rest) = gd_type.split_once(':').unwrap();
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:guardduty:{REGION}:{}:detector/d0e2e/finding/{finding_id}", crate::ACCOUNT),
        "ProductArn": GUARDDUTY_PRODUCT,
        "GeneratorId": format!("arn:aws:guardduty:{REGION}:{}:detector/d0e2e", crate::ACCOUNT),
        "AwsAccountId": crate::ACCOUNT,
        "Types": [format!("TTPs/{family}:{}", rest.replacen('/', "-", 1))],
        "CreatedAt": "2026-11-22T02:59:00.000Z",
        "UpdatedAt": "2026-11-22T03:00:00.000Z",
        "Severity": {"Product": severity, "Label": if severity >= 7.0 { "HIGH" } else { "MEDIUM" },
                     "Normalized": (severity * 10.0) as i64},
        "Title": format!("e2e {gd_type}"),
        "Description": "e2e finding",
        "ProductFields": {"aws/securityhub/ProductName": "GuardDuty", "resourceRole": "ACTOR"},
        "Resources": [resource],
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE"
    })
}

/// The ASFF resource of an instance.
pub fn asff_instance(instance_id: &str, vpc_id: &str) -> Value {
    json!({"Type": "AwsEc2Instance", "Region": REGION, "Partition": "aws",
           "Id": format!("arn:aws:ec2:{REGION}:{}:instance/{instance_id}", crate::ACCOUNT),
           "Details": {"AwsEc2Instance": {"VpcId": vpc_id}}})
}

/// The custom-action event Security Hub sends when an analyst picks `action` for `findings`.
pub fn custom_action_event(action: &str, findings: &[Value]) -> Value {
    json!({
        "version": "0",
        "id": crate::fixtures::unique("event"),
        "detail-type": "Security Hub Findings - Custom Action",
        "source": "aws.securityhub",
        "account": crate::ACCOUNT,
        "time": "2026-11-22T03:05:00Z",
        "region": REGION,
        "resources": [format!("arn:aws:securityhub:{REGION}:{}:action/custom/{action}", crate::ACCOUNT)],
        "detail": {"actionName": action, "actionDescription": "e2e", "findings": findings}
    })
}

/// The typed SDK form of an ASFF finding built by [`guardduty_asff`] (the fields it sets).
fn sdk_finding(f: &Value) -> aws_sdk_securityhub::types::AwsSecurityFinding {
    use aws_sdk_securityhub::types::{
        AwsEc2InstanceDetails, AwsIamAccessKeyDetails, AwsSecurityFinding, Resource,
        ResourceDetails, Severity, SeverityLabel,
    };
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let resources = f["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut details = ResourceDetails::builder();
            if let Some(vpc) = r["Details"]["AwsEc2Instance"]["VpcId"].as_str() {
                details =
                    details.aws_ec2_instance(AwsEc2InstanceDetails::builder().vpc_id(vpc).build());
            }
            if let Some(k) = r["Details"].get("AwsIamAccessKey") {
                details = details.aws_iam_access_key(
                    AwsIamAccessKeyDetails::builder()
                        .principal_name(s(&k["PrincipalName"]))
                        .principal_type(s(&k["PrincipalType"]))
                        .build(),
                );
            }
            Resource::builder()
                .r#type(s(&r["Type"]))
                .id(s(&r["Id"]))
                .region(s(&r["Region"]))
                .partition(aws_sdk_securityhub::types::Partition::Aws)
                .details(details.build())
                .build()
        })
        .collect();
    AwsSecurityFinding::builder()
        .schema_version(s(&f["SchemaVersion"]))
        .id(s(&f["Id"]))
        .product_arn(s(&f["ProductArn"]))
        .generator_id(s(&f["GeneratorId"]))
        .aws_account_id(s(&f["AwsAccountId"]))
        .set_types(Some(f["Types"].as_array().unwrap().iter().map(s).collect()))
        .created_at(s(&f["CreatedAt"]))
        .updated_at(s(&f["UpdatedAt"]))
        .severity(
            Severity::builder()
                .product(f["Severity"]["Product"].as_f64().unwrap_or_default())
                .label(SeverityLabel::from(
                    f["Severity"]["Label"].as_str().unwrap_or("MEDIUM"),
                ))
                .normalized(f["Severity"]["Normalized"].as_i64().unwrap_or_default() as i32)
                .build(),
        )
        .title(s(&f["Title"]))
        .description(s(&f["Description"]))
        .set_product_fields(Some(
            f["ProductFields"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), s(v)))
                .collect(),
        ))
        .set_resources(Some(resources))
        .build()
}

/// Runs a Security Hub call on a thread with a large stack: the SDK's ASFF types are big enough
/// that (de)serialising them in a debug build overflows a test thread's 2 MiB stack.
async fn on_big_stack<T, F>(f: impl FnOnce() -> F + Send + 'static) -> T
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let _ = tx.send(rt.block_on(f()));
        })
        .unwrap();
    rx.await.expect("the Security Hub call panicked")
}

impl Aws {
    /// Imports findings into the local Security Hub.
    pub async fn import_findings(&self, findings: &[Value]) {
        let hub = self.securityhub.clone();
        let findings = findings.to_vec();
        on_big_stack(move || async move {
            let _ = hub.enable_security_hub().send().await;
            let out = hub
                .batch_import_findings()
                .set_findings(Some(findings.iter().map(sdk_finding).collect()))
                .send()
                .await
                .unwrap();
            assert_eq!(out.failed_count(), Some(0), "{out:?}");
        })
        .await
    }

    /// (workflow status, note text, note updated by) of the finding as GetFindings returns it now.
    pub async fn finding_state(&self, id: &str) -> (String, Option<String>, Option<String>) {
        let hub = self.securityhub.clone();
        let id = id.to_string();
        on_big_stack(move || async move {
            let mut token = None;
            loop {
                let out = hub
                    .get_findings()
                    .max_results(100)
                    .set_next_token(token)
                    .send()
                    .await
                    .unwrap();
                if let Some(f) = out.findings().iter().find(|f| f.id() == Some(id.as_str())) {
                    return (
                        f.workflow()
                            .and_then(|w| w.status())
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_else(|| "NEW".into()),
                        f.note().and_then(|n| n.text()).map(String::from),
                        f.note().and_then(|n| n.updated_by()).map(String::from),
                    );
                }
                token = out.next_token().filter(|t| !t.is_empty()).map(String::from);
                if token.is_none() {
                    panic!("no finding {id} in the local Security Hub");
                }
            }
        })
        .await
    }
}

/// A GuardDuty finding event as EventBridge delivers it (camelCase `detail`), about `resource`.
pub fn guardduty_envelope(
    finding_id: &str,
    finding_type: &str,
    severity: f64,
    title: &str,
    resource: Value,
    service: Value,
) -> Value {
    json!({
        "version": "0",
        "id": crate::fixtures::unique("event"),
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": crate::ACCOUNT,
        "time": "2026-11-22T03:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {
            "schemaVersion": "2.0",
            "accountId": crate::ACCOUNT,
            "region": REGION,
            "partition": "aws",
            "id": finding_id,
            "arn": format!("arn:aws:guardduty:{REGION}:{}:detector/d/finding/{finding_id}", crate::ACCOUNT),
            "type": finding_type,
            "title": title,
            "description": title,
            "severity": severity,
            "createdAt": "2026-11-22T02:59:00.000Z",
            "updatedAt": "2026-11-22T03:00:00.000Z",
            "resource": resource,
            "service": service
        }
    })
}

/// A GuardDuty IAM finding (resource type `AccessKey`) as EventBridge delivers it.
pub fn credential_event(
    finding_id: &str,
    finding_type: &str,
    severity: f64,
    access_key: &Value,
    instance_id: Option<&str>,
) -> Value {
    let mut resource = json!({"resourceType": "AccessKey", "accessKeyDetails": access_key});
    if let Some(id) = instance_id {
        resource["instanceDetails"] = json!({"instanceId": id});
    }
    guardduty_envelope(
        finding_id,
        finding_type,
        severity,
        "e2e credential finding",
        resource,
        json!({"serviceName": "guardduty", "resourceRole": "TARGET", "count": 1,
               "action": {"actionType": "AWS_API_CALL",
                          "awsApiCallAction": {"api": "ListBuckets", "serviceName": "s3.amazonaws.com",
                                               "callerType": "Remote IP"}},
               "additionalInfo": {}, "archived": false}),
    )
}

/// A GuardDuty finding event about an instance, its interfaces as GuardDuty lists them
/// ([`Aws::finding_interfaces`]).
pub fn guardduty_event_with(
    finding_id: &str,
    finding_type: &str,
    severity: f64,
    instance_id: &str,
    interfaces: Vec<Value>,
    resource_role: &str,
) -> Value {
    guardduty_envelope(
        finding_id,
        finding_type,
        severity,
        "e2e finding",
        json!({"resourceType": "Instance",
               "instanceDetails": {"instanceId": instance_id, "networkInterfaces": interfaces}}),
        json!({"serviceName": "guardduty", "resourceRole": resource_role, "count": 1,
               "additionalInfo": {}, "archived": false}),
    )
}

/// A GuardDuty finding event about an instance with these (ENI, VPC) interfaces.
pub fn guardduty_event(
    finding_id: &str,
    finding_type: &str,
    severity: f64,
    instance_id: &str,
    enis: &[(String, String)],
    resource_role: &str,
) -> Value {
    let interfaces: Vec<Value> = enis
        .iter()
        .map(|(eni, vpc)| json!({"networkInterfaceId": eni, "vpcId": vpc, "privateIpAddress": "10.0.0.10"}))
        .collect();
    guardduty_event_with(
        finding_id,
        finding_type,
        severity,
        instance_id,
        interfaces,
        resource_role,
    )
}

/// `value` sealed as Firebreak seals `key` on `resource` for finding `finding_id` (the e2e record
/// key): what Firebreak would have written there earlier.
pub fn sealed(resource: &str, finding_id: &str, key: &str, value: &str) -> String {
    let keys = firebreak::seal::Keyring::new(crate::RECORD_KEY, &[]).unwrap();
    keys.seal(resource, finding_id, key, value)
}

/// What the records of IAM user or role `name` are sealed for: its name in lower case (IAM names
/// are unique whatever their case).
pub fn principal(name: &str) -> String {
    name.to_lowercase()
}

/// `tags` of `resource` with every seal that verifies (the e2e record key) taken off.
pub fn unsealed(resource: &str, tags: Vec<(String, String)>) -> Vec<(String, String)> {
    let keys = firebreak::seal::Keyring::new(crate::RECORD_KEY, &[]).unwrap();
    tags.into_iter()
        .map(|(k, v)| match keys.open(resource, &k, &v) {
            firebreak::seal::Opened::Sealed { content, .. } => {
                let content = content.to_string();
                (k, content)
            }
            _ => (k, v),
        })
        .collect()
}
