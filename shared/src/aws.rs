//! The ports implemented with the AWS SDK, and the per-(account, region) client factory.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::SharedCredentialsProvider;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, CopyTagsFromSource, EbsInstanceBlockDeviceSpecification,
    Filter, InstanceAttributeName, InstanceBlockDeviceMappingSpecification, InstanceSpecification,
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, Tag, TagSpecification,
};
use aws_sdk_sns::types::MessageAttributeValue;

use crate::error::AwsError;
use crate::estate::{AddressFacts, EstatePort, GroupMembership, Registration};
use crate::ports::{
    AccessKeyFacts, Ec2Port, FoundGroups, IamPort, InstanceFacts, InterfaceFacts,
    LoginProfileFacts, Notification, Notifier, PrincipalFacts, ProfileAssociation,
    QuarantineGroups, SnapshotFacts, VolumeFacts,
};

/// Tag that marks Firebreak's quarantine groups, with value `isolation` or `untracking`.
pub const GROUP_ROLE_TAG: &str = "firebreak:quarantine-role";

/// AWS clients built once from the function's configuration, handed out per (account, region).
/// An account other than the function's own is reached through its member role (see
/// [`AwsClients::with_member_role`]).
pub struct AwsClients {
    base: SdkConfig,
    /// The function's own account, learnt from the first invocation's function ARN.
    home_account: std::sync::OnceLock<String>,
    member: Option<MemberRole>,
    /// Per member account: the assumed-role credentials provider (the SDK's identity cache keeps
    /// its credentials until shortly before they expire, for every client of that account).
    assumed: Mutex<HashMap<String, SharedCredentialsProvider>>,
    ec2: Mutex<HashMap<(String, String), aws_sdk_ec2::Client>>,
    iam: Mutex<HashMap<String, aws_sdk_iam::Client>>,
    securityhub: Mutex<HashMap<String, aws_sdk_securityhub::Client>>,
    estate: Mutex<HashMap<(String, String), Estate>>,
}

/// The role Firebreak assumes in member accounts.
#[derive(Debug, Clone)]
struct MemberRole {
    name: String,
    external_id: Option<String>,
    session_name: String,
}

/// The partition of a region: `aws`, `aws-cn` or `aws-us-gov`.
pub fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A valid `RoleSessionName` (`[\w+=,.@-]{2,64}`) made from `name`.
fn session_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if cleaned.len() < 2 {
        "firebreak".to_string()
    } else {
        cleaned
    }
}

/// The client cached under `key`, made by `make` the first time.
fn cached<K: std::hash::Hash + Eq, C: Clone>(
    cache: &Mutex<HashMap<K, C>>,
    key: K,
    make: impl FnOnce() -> C,
) -> C {
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    cache.entry(key).or_insert_with(make).clone()
}

impl AwsClients {
    /// Loads the standard configuration (credentials, `AWS_REGION`, `AWS_ENDPOINT_URL`). Each call
    /// is tried up to 5 times (throttling and 5xx, with the SDK's backoff) unless `AWS_MAX_ATTEMPTS`
    /// says otherwise: an incident burst is exactly when EC2 throttles.
    pub async fn from_env() -> AwsClients {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if std::env::var_os("AWS_MAX_ATTEMPTS").is_none() {
            loader = loader
                .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(5));
        }
        AwsClients::new(loader.load().await)
    }

    /// Wraps an already loaded configuration.
    pub fn new(base: SdkConfig) -> AwsClients {
        AwsClients {
            base,
            home_account: std::sync::OnceLock::new(),
            member: None,
            assumed: Mutex::new(HashMap::new()),
            ec2: Mutex::new(HashMap::new()),
            iam: Mutex::new(HashMap::new()),
            securityhub: Mutex::new(HashMap::new()),
            estate: Mutex::new(HashMap::new()),
        }
    }

    /// Reach accounts other than the function's own through `arn:<partition>:iam::<account>:role/<name>`,
    /// assumed with `external_id` (when set) and the session name `session` (the function's name, so
    /// the member account's CloudTrail says which Firebreak function acted).
    pub fn with_member_role(
        mut self,
        name: &str,
        external_id: Option<&str>,
        session: &str,
    ) -> AwsClients {
        self.member = Some(MemberRole {
            name: name.to_string(),
            external_id: external_id.map(String::from),
            session_name: session_name(session),
        });
        self
    }

    /// Records the function's own account, from the invoked function's ARN (first call wins).
    pub fn learn_home_account(&self, function_arn: &str) {
        if let Some(account) = function_arn.split(':').nth(4).filter(|a| !a.is_empty()) {
            let _ = self.home_account.set(account.to_string());
        }
    }

    /// The member role's ARN when `account` is not the function's own (and a member role is set).
    pub fn member_role_arn(&self, account: &str, region: &str) -> Option<String> {
        let member = self.member.as_ref()?;
        let home = self.home_account.get()?;
        (home != account && !account.is_empty()).then(|| {
            format!(
                "arn:{}:iam::{account}:role/{}",
                partition_of(region),
                member.name
            )
        })
    }

    /// The function's own credentials, or the member role's in another account.
    async fn credentials_for(
        &self,
        account: &str,
        region: &str,
    ) -> Option<SharedCredentialsProvider> {
        let role_arn = self.member_role_arn(account, region)?;
        if let Some(p) = self
            .assumed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
        {
            return Some(p.clone());
        }
        let member = self.member.as_ref()?;
        let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name(member.session_name.clone())
            .region(Region::new(region.to_string()))
            .configure(&self.base);
        if let Some(id) = &member.external_id {
            builder = builder.external_id(id.clone());
        }
        let provider = SharedCredentialsProvider::new(builder.build().await);
        Some(cached(&self.assumed, account.to_string(), || provider))
    }

    /// The configuration for the incident's account and region: the function's own, in that
    /// region, with the member role's credentials in another account. Every client of an account
    /// shares the one credentials provider (and so the SDK's cache of its credentials).
    async fn config_for(&self, account: &str, region: &str) -> SdkConfig {
        let mut conf = self
            .base
            .clone()
            .into_builder()
            .region(Region::new(region.to_string()));
        if let Some(credentials) = self.credentials_for(account, region).await {
            conf = conf.credentials_provider(credentials);
        }
        conf.build()
    }

    /// IAM of the incident's account (a global service: the SDK picks the partition's endpoint
    /// from the region).
    pub async fn iam_for(&self, account: &str, region: &str) -> Iam {
        let conf = self.config_for(account, region).await;
        Iam(cached(&self.iam, account.to_string(), || {
            aws_sdk_iam::Client::new(&conf)
        }))
    }

    /// EC2 in the incident's account and region.
    pub async fn ec2_for(&self, account: &str, region: &str) -> Ec2 {
        let conf = self.config_for(account, region).await;
        let key = (account.to_string(), region.to_string());
        Ec2(cached(&self.ec2, key, || aws_sdk_ec2::Client::new(&conf)))
    }

    /// Auto Scaling, load balancers and Elastic IPs in the incident's account and region.
    pub async fn estate_for(&self, account: &str, region: &str) -> Estate {
        let conf = self.config_for(account, region).await;
        let ec2 = self.ec2_for(account, region).await.0;
        let key = (account.to_string(), region.to_string());
        cached(&self.estate, key, || Estate {
            asg: aws_sdk_autoscaling::Client::new(&conf),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(&conf),
            ec2,
        })
    }

    /// Security Hub in the region that holds the finding, with the function's own credentials
    /// (custom actions run in the Security Hub administrator account).
    pub fn securityhub_for(&self, region: &str) -> SecurityHub {
        SecurityHub(cached(&self.securityhub, region.to_string(), || {
            let conf = aws_sdk_securityhub::config::Builder::from(&self.base)
                .region(Region::new(region.to_string()))
                .build();
            aws_sdk_securityhub::Client::from_conf(conf)
        }))
    }

    /// SNS in the topic's region.
    pub fn sns_for_topic(&self, topic_arn: &str) -> Sns {
        let region = topic_arn.split(':').nth(3).filter(|r| !r.is_empty());
        let mut conf = aws_sdk_sns::config::Builder::from(&self.base);
        if let Some(region) = region {
            conf = conf.region(Region::new(region.to_string()));
        }
        Sns {
            client: aws_sdk_sns::Client::from_conf(conf.build()),
            topic_arn: topic_arn.to_string(),
        }
    }
}

/// EC2 through the SDK.
#[derive(Clone)]
pub struct Ec2(pub aws_sdk_ec2::Client);

fn filter(name: &str, values: &[&str]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
        .build()
}

fn tag_spec(kind: ResourceType, tags: &[(String, String)]) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(
            tags.iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .build()
}

fn all_traffic_v4() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build()
}

fn all_traffic_v6() -> IpPermission {
    IpPermission::builder()
        .ip_protocol("-1")
        .ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build())
        .build()
}

fn allows_all(perms: &[IpPermission], v6: bool) -> bool {
    perms.iter().any(|p| {
        p.ip_protocol() == Some("-1")
            && if v6 {
                p.ipv6_ranges()
                    .iter()
                    .any(|r| r.cidr_ipv6() == Some("::/0"))
            } else {
                p.ip_ranges()
                    .iter()
                    .any(|r| r.cidr_ip() == Some("0.0.0.0/0"))
            }
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum GroupRole {
    Isolation,
    Untracking,
}

impl GroupRole {
    fn tag_value(self) -> &'static str {
        match self {
            GroupRole::Isolation => "isolation",
            GroupRole::Untracking => "untracking",
        }
    }

    fn description(self) -> &'static str {
        match self {
            GroupRole::Isolation => {
                "Firebreak isolation: no inbound, no outbound. Firebreak removes any rule added here."
            }
            GroupRole::Untracking => {
                "Firebreak untracking: allow-all, used for a moment to untrack connections before isolation."
            }
        }
    }
}

/// A rule change that another invocation made at the same moment is not a failure: the rule is
/// gone (revoke) or there (authorize), which is what was wanted.
fn converged(r: Result<(), AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e)
            if matches!(
                e.code.as_deref(),
                Some("InvalidPermission.NotFound") | Some("InvalidPermission.Duplicate")
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

impl Ec2 {
    /// Makes the group's rules exactly what its role requires, from the rules it has now.
    async fn converge(
        &self,
        group_id: &str,
        role: GroupRole,
        ingress: &[IpPermission],
        egress: &[IpPermission],
    ) -> Result<(), AwsError> {
        let c = &self.0;
        match role {
            GroupRole::Isolation => {
                let revoke_in = async {
                    if !ingress.is_empty() {
                        c.revoke_security_group_ingress()
                            .group_id(group_id)
                            .set_ip_permissions(Some(ingress.to_vec()))
                            .send()
                            .await?;
                    }
                    Ok::<_, AwsError>(())
                };
                let revoke_out = async {
                    if !egress.is_empty() {
                        c.revoke_security_group_egress()
                            .group_id(group_id)
                            .set_ip_permissions(Some(egress.to_vec()))
                            .send()
                            .await?;
                    }
                    Ok::<_, AwsError>(())
                };
                futures::try_join!(async { converged(revoke_in.await) }, async {
                    converged(revoke_out.await)
                })?;
            }
            GroupRole::Untracking => {
                let missing = |perms: &[IpPermission]| {
                    let mut m = Vec::new();
                    if !allows_all(perms, false) {
                        m.push(all_traffic_v4());
                    }
                    if !allows_all(perms, true) {
                        m.push(all_traffic_v6());
                    }
                    m
                };
                let (missing_in, missing_out) = (missing(ingress), missing(egress));
                let allow_in = async {
                    if !missing_in.is_empty() {
                        c.authorize_security_group_ingress()
                            .group_id(group_id)
                            .set_ip_permissions(Some(missing_in))
                            .send()
                            .await?;
                    }
                    Ok::<_, AwsError>(())
                };
                let allow_out = async {
                    if !missing_out.is_empty() {
                        c.authorize_security_group_egress()
                            .group_id(group_id)
                            .set_ip_permissions(Some(missing_out))
                            .send()
                            .await?;
                    }
                    Ok::<_, AwsError>(())
                };
                futures::try_join!(async { converged(allow_in.await) }, async {
                    converged(allow_out.await)
                })?;
            }
        }
        Ok(())
    }

    async fn converge_existing(
        &self,
        group: &SecurityGroup,
        role: GroupRole,
    ) -> Result<String, AwsError> {
        let id = group.group_id().unwrap_or_default().to_string();
        self.converge(
            &id,
            role,
            group.ip_permissions(),
            group.ip_permissions_egress(),
        )
        .await?;
        Ok(id)
    }

    async fn create_group(&self, vpc_id: &str, role: GroupRole) -> Result<String, AwsError> {
        let name = format!("firebreak-{}-{vpc_id}", role.tag_value());
        let created = self
            .0
            .create_security_group()
            .group_name(&name)
            .description(role.description())
            .vpc_id(vpc_id)
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &[
                    (GROUP_ROLE_TAG.to_string(), role.tag_value().to_string()),
                    ("Name".to_string(), name.clone()),
                ],
            ))
            .send()
            .await
            .map_err(AwsError::from);
        match created {
            // A new group has exactly the default egress rule (all IPv4 out) and no ingress.
            Ok(out) => {
                let id = out.group_id().unwrap_or_default().to_string();
                self.converge(&id, role, &[], &[all_traffic_v4()]).await?;
                Ok(id)
            }
            // Another invocation created it a moment ago (or its tag was removed): use it as it is.
            Err(e) if e.code.as_deref() == Some("InvalidGroup.Duplicate") => {
                let found = self
                    .0
                    .describe_security_groups()
                    .filters(filter("vpc-id", &[vpc_id]))
                    .filters(filter("group-name", &[&name]))
                    .send()
                    .await?;
                let group = found.security_groups().first().ok_or(e)?;
                self.converge_existing(group, role).await
            }
            Err(e) => Err(e),
        }
    }
}

impl Ec2Port for Ec2 {
    async fn describe_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<InstanceFacts>, AwsError> {
        let out = match self
            .0
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                return if e.is_not_found() { Ok(None) } else { Err(e) };
            }
        };
        let Some(i) = out
            .reservations()
            .iter()
            .flat_map(|r| r.instances())
            .find(|i| i.instance_id() == Some(instance_id))
        else {
            return Ok(None);
        };
        let mut interfaces: Vec<_> = i.network_interfaces().to_vec();
        interfaces.sort_by_key(|n| n.attachment().and_then(|a| a.device_index()).unwrap_or(0));
        Ok(Some(InstanceFacts {
            instance_id: instance_id.to_string(),
            state: i
                .state()
                .and_then(|s| s.name())
                .map(|n| n.as_str().to_string())
                .unwrap_or_default(),
            interfaces: interfaces
                .iter()
                .map(|n| InterfaceFacts {
                    network_interface_id: n.network_interface_id().unwrap_or_default().to_string(),
                    vpc_id: n.vpc_id().unwrap_or_default().to_string(),
                    group_ids: n
                        .groups()
                        .iter()
                        .filter_map(|g| g.group_id().map(String::from))
                        .collect(),
                })
                .collect(),
            volumes: i
                .block_device_mappings()
                .iter()
                .filter_map(|b| {
                    Some(VolumeFacts {
                        volume_id: b.ebs()?.volume_id()?.to_string(),
                        device_name: b.device_name()?.to_string(),
                    })
                })
                .collect(),
            tags: i
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_string(),
                        t.value().unwrap_or_default().to_string(),
                    ))
                })
                .collect(),
        }))
    }

    async fn find_quarantine_groups(&self, vpc_id: &str) -> Result<FoundGroups, AwsError> {
        let found = self
            .0
            .describe_security_groups()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter(
                &format!("tag:{GROUP_ROLE_TAG}"),
                &["isolation", "untracking"],
            ))
            .send()
            .await?;
        let get = |role: GroupRole| {
            let existing = found.security_groups().iter().find(|g| {
                g.vpc_id() == Some(vpc_id)
                    && g.tags().iter().any(|t| {
                        t.key() == Some(GROUP_ROLE_TAG) && t.value() == Some(role.tag_value())
                    })
            });
            async move {
                match existing {
                    Some(g) => self.converge_existing(g, role).await.map(Some),
                    None => Ok(None),
                }
            }
        };
        let (isolation, untracking) =
            futures::try_join!(get(GroupRole::Isolation), get(GroupRole::Untracking))?;
        Ok(FoundGroups {
            isolation,
            untracking,
        })
    }

    async fn create_quarantine_groups(
        &self,
        vpc_id: &str,
        found: &FoundGroups,
    ) -> Result<QuarantineGroups, AwsError> {
        let get = |role: GroupRole, existing: &Option<String>| {
            let existing = existing.clone();
            async move {
                match existing {
                    Some(id) => Ok(id),
                    None => self.create_group(vpc_id, role).await,
                }
            }
        };
        let (isolation, untracking) = futures::try_join!(
            get(GroupRole::Isolation, &found.isolation),
            get(GroupRole::Untracking, &found.untracking)
        )?;
        Ok(QuarantineGroups {
            isolation,
            untracking,
        })
    }

    async fn set_interface_groups(&self, eni: &str, group_ids: &[String]) -> Result<(), AwsError> {
        self.0
            .modify_network_interface_attribute()
            .network_interface_id(eni)
            .set_groups(Some(group_ids.to_vec()))
            .send()
            .await?;
        Ok(())
    }

    async fn quarantine_starts(&self) -> Result<Vec<(String, String)>, AwsError> {
        let key = crate::executor::QUARANTINE_STARTED_TAG;
        let mut starts = Vec::new();
        let mut pages = self
            .0
            .describe_instances()
            .filters(filter("tag-key", &[key]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for i in page?.reservations().iter().flat_map(|r| r.instances()) {
                let at = i.tags().iter().find(|t| t.key() == Some(key));
                if let (Some(id), Some(at)) = (i.instance_id(), at.and_then(|t| t.value())) {
                    starts.push((id.to_string(), at.to_string()));
                }
            }
        }
        Ok(starts)
    }

    async fn tag_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), AwsError> {
        self.0
            .create_tags()
            .resources(instance_id)
            .set_tags(Some(
                tags.iter()
                    .map(|(k, v)| Tag::builder().key(k).value(v).build())
                    .collect(),
            ))
            .send()
            .await?;
        Ok(())
    }

    async fn termination_protection(&self, instance_id: &str) -> Result<bool, AwsError> {
        let out = self
            .0
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::DisableApiTermination)
            .send()
            .await?;
        Ok(out
            .disable_api_termination()
            .and_then(|v| v.value())
            .unwrap_or(false))
    }

    async fn enable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await?;
        Ok(())
    }

    async fn set_shutdown_behaviour_stop(&self, instance_id: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .instance_initiated_shutdown_behavior(AttributeValue::builder().value("stop").build())
            .send()
            .await?;
        Ok(())
    }

    async fn keep_volumes_on_termination(
        &self,
        instance_id: &str,
        device_names: &[String],
    ) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .set_block_device_mappings(Some(
                device_names
                    .iter()
                    .map(|d| {
                        InstanceBlockDeviceMappingSpecification::builder()
                            .device_name(d)
                            .ebs(
                                EbsInstanceBlockDeviceSpecification::builder()
                                    .delete_on_termination(false)
                                    .build(),
                            )
                            .build()
                    })
                    .collect(),
            ))
            .send()
            .await?;
        Ok(())
    }

    async fn finding_snapshots(
        &self,
        finding_id: &str,
        volume_ids: &[String],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        let vols: Vec<&str> = volume_ids.iter().map(String::as_str).collect();
        let out = self
            .0
            .describe_snapshots()
            .owner_ids("self")
            .filters(filter(
                &format!("tag:{}", crate::executor::FINDING_TAG),
                &[finding_id],
            ))
            .filters(filter("volume-id", &vols))
            .send()
            .await?;
        Ok(out
            .snapshots()
            .iter()
            .filter_map(|s| {
                Some(SnapshotFacts {
                    volume_id: s.volume_id()?.to_string(),
                    snapshot_id: s.snapshot_id()?.to_string(),
                })
            })
            .collect())
    }

    async fn snapshot_instance(
        &self,
        instance_id: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<SnapshotFacts>, AwsError> {
        let out = self
            .0
            .create_snapshots()
            .instance_specification(
                InstanceSpecification::builder()
                    .instance_id(instance_id)
                    .exclude_boot_volume(false)
                    .build(),
            )
            .description(format!("Firebreak evidence of {instance_id}"))
            .tag_specifications(tag_spec(ResourceType::Snapshot, tags))
            .copy_tags_from_source(CopyTagsFromSource::Volume)
            .send()
            .await?;
        Ok(out
            .snapshots()
            .iter()
            .filter_map(|s| {
                Some(SnapshotFacts {
                    volume_id: s.volume_id()?.to_string(),
                    snapshot_id: s.snapshot_id()?.to_string(),
                })
            })
            .collect())
    }

    async fn snapshot_volume(
        &self,
        volume_id: &str,
        tags: &[(String, String)],
    ) -> Result<SnapshotFacts, AwsError> {
        let out = self
            .0
            .create_snapshot()
            .volume_id(volume_id)
            .description(format!("Firebreak evidence of {volume_id}"))
            .tag_specifications(tag_spec(ResourceType::Snapshot, tags))
            .send()
            .await?;
        Ok(SnapshotFacts {
            volume_id: volume_id.to_string(),
            snapshot_id: out.snapshot_id().unwrap_or_default().to_string(),
        })
    }

    async fn instance_profile_association(
        &self,
        instance_id: &str,
    ) -> Result<Option<ProfileAssociation>, AwsError> {
        let out = self
            .0
            .describe_iam_instance_profile_associations()
            .filters(filter("instance-id", &[instance_id]))
            .filters(filter("state", &["associating", "associated"]))
            .send()
            .await?;
        Ok(out
            .iam_instance_profile_associations()
            .iter()
            .find(|a| a.instance_id() == Some(instance_id))
            .and_then(|a| {
                Some(ProfileAssociation {
                    association_id: a.association_id()?.to_string(),
                    instance_profile_arn: a.iam_instance_profile()?.arn()?.to_string(),
                })
            }))
    }

    async fn disassociate_instance_profile(&self, association_id: &str) -> Result<(), AwsError> {
        self.0
            .disassociate_iam_instance_profile()
            .association_id(association_id)
            .send()
            .await?;
        Ok(())
    }

    async fn associate_instance_profile(
        &self,
        instance_id: &str,
        profile_arn: &str,
    ) -> Result<(), AwsError> {
        self.0
            .associate_iam_instance_profile()
            .instance_id(instance_id)
            .iam_instance_profile(
                aws_sdk_ec2::types::IamInstanceProfileSpecification::builder()
                    .arn(profile_arn)
                    .build(),
            )
            .send()
            .await?;
        Ok(())
    }

    async fn disable_termination_protection(&self, instance_id: &str) -> Result<(), AwsError> {
        self.0
            .modify_instance_attribute()
            .instance_id(instance_id)
            .disable_api_termination(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await?;
        Ok(())
    }

    async fn untag_instance(&self, instance_id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.0
            .delete_tags()
            .resources(instance_id)
            .set_tags(Some(
                keys.iter().map(|k| Tag::builder().key(k).build()).collect(),
            ))
            .send()
            .await?;
        Ok(())
    }
}

/// Security Hub through the SDK.
#[derive(Clone)]
pub struct SecurityHub(pub aws_sdk_securityhub::Client);

impl crate::ports::FindingsPort for SecurityHub {
    async fn update_finding(
        &self,
        finding: &crate::incident::FindingRef,
        note: &str,
        workflow: Option<crate::ports::Workflow>,
    ) -> Result<(), AwsError> {
        use aws_sdk_securityhub::types::{
            AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
        };
        let mut req = self
            .0
            .batch_update_findings()
            .finding_identifiers(
                AwsSecurityFindingIdentifier::builder()
                    .id(&finding.id)
                    .product_arn(&finding.product_arn)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text(note)
                    .updated_by("firebreak")
                    .build(),
            );
        if let Some(w) = workflow {
            req = req.workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::from(w.as_str()))
                    .build(),
            );
        }
        let out = req.send().await?;
        match out.unprocessed_findings().first() {
            None => Ok(()),
            Some(u) => Err(AwsError {
                code: u.error_code().map(String::from),
                message: u
                    .error_message()
                    .unwrap_or("the finding was not updated")
                    .to_string(),
            }),
        }
    }
}

/// IAM through the SDK.
#[derive(Clone)]
pub struct Iam(pub aws_sdk_iam::Client);

fn iam_tags(tags: &[(String, String)]) -> Result<Vec<aws_sdk_iam::types::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| AwsError {
                    code: None,
                    message: e.to_string(),
                })
        })
        .collect()
}

fn iam_principal(arn: &str, tags: &[aws_sdk_iam::types::Tag]) -> PrincipalFacts {
    PrincipalFacts {
        arn: arn.to_string(),
        tags: tags
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }
}

/// `Ok(None)` for `NoSuchEntity`.
fn absent<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl IamPort for Iam {
    async fn user(&self, user_name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        let out = absent(
            self.0
                .get_user()
                .user_name(user_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| o.user().map(|u| iam_principal(u.arn(), u.tags()))))
    }

    async fn role(&self, role_name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        let out = absent(
            self.0
                .get_role()
                .role_name(role_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| o.role().map(|r| iam_principal(r.arn(), r.tags()))))
    }

    async fn access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyFacts>, AwsError> {
        // A user has at most two keys: one page.
        let out = self
            .0
            .list_access_keys()
            .user_name(user_name)
            .send()
            .await?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|k| {
                Some(AccessKeyFacts {
                    access_key_id: k.access_key_id()?.to_string(),
                    status: k.status()?.as_str().to_string(),
                })
            })
            .collect())
    }

    async fn login_profile(&self, user_name: &str) -> Result<Option<LoginProfileFacts>, AwsError> {
        let out = absent(
            self.0
                .get_login_profile()
                .user_name(user_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| {
            o.login_profile().map(|p| LoginProfileFacts {
                created: p
                    .create_date()
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default(),
                password_reset_required: p.password_reset_required(),
            })
        }))
    }

    async fn deactivate_access_key(
        &self,
        user_name: &str,
        access_key_id: &str,
    ) -> Result<(), AwsError> {
        self.0
            .update_access_key()
            .user_name(user_name)
            .access_key_id(access_key_id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await?;
        Ok(())
    }

    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.0
            .put_user_policy()
            .user_name(user_name)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await?;
        Ok(())
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.0
            .put_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await?;
        Ok(())
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<(), AwsError> {
        self.0
            .delete_login_profile()
            .user_name(user_name)
            .send()
            .await?;
        Ok(())
    }

    async fn tag_user(&self, user_name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.0
            .tag_user()
            .user_name(user_name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
        Ok(())
    }

    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.0
            .tag_role()
            .role_name(role_name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
        Ok(())
    }
}

/// SNS through the SDK, bound to the notification topic.
#[derive(Clone)]
pub struct Sns {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl Notifier for Sns {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        let attributes = n
            .attributes
            .iter()
            .map(|(name, value, number)| {
                let attr = MessageAttributeValue::builder()
                    .data_type(if *number { "Number" } else { "String" })
                    .string_value(value)
                    .build()
                    .map_err(|e| AwsError {
                        code: None,
                        message: e.to_string(),
                    })?;
                Ok((name.clone(), attr))
            })
            .collect::<Result<HashMap<_, _>, AwsError>>()?;
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            .message(&n.body)
            .set_message_attributes(Some(attributes))
            .send()
            .await?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// [`EstatePort`] with the AWS SDK: Auto Scaling, Elastic Load Balancing v2 and EC2 addresses.
#[derive(Clone)]
pub struct Estate {
    asg: aws_sdk_autoscaling::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    ec2: aws_sdk_ec2::Client,
}

impl EstatePort for Estate {
    async fn auto_scaling_group(
        &self,
        instance_id: &str,
    ) -> Result<Option<GroupMembership>, AwsError> {
        let out = self
            .asg
            .describe_auto_scaling_instances()
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(out
            .auto_scaling_instances()
            .iter()
            .find(|i| i.instance_id() == Some(instance_id))
            .map(|i| GroupMembership {
                group: i.auto_scaling_group_name().unwrap_or_default().to_string(),
                lifecycle_state: i.lifecycle_state().unwrap_or_default().to_string(),
            }))
    }

    async fn enter_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .enter_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await?;
        Ok(())
    }

    async fn detach_from_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .detach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .should_decrement_desired_capacity(false)
            .send()
            .await?;
        Ok(())
    }

    async fn exit_standby(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .exit_standby()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(())
    }

    async fn attach_to_group(&self, group: &str, instance_id: &str) -> Result<(), AwsError> {
        self.asg
            .attach_instances()
            .auto_scaling_group_name(group)
            .instance_ids(instance_id)
            .send()
            .await?;
        Ok(())
    }

    async fn registrations(
        &self,
        instance_id: &str,
        vpc_ids: &[String],
    ) -> Result<Vec<Registration>, AwsError> {
        let mut groups = Vec::new();
        let mut pages = self.elb.describe_target_groups().into_paginator().send();
        while let Some(page) = pages.next().await {
            for g in page?.target_groups() {
                let instance_targets = g.target_type().is_none_or(|t| t.as_str() == "instance");
                let in_vpc = g.vpc_id().is_some_and(|v| vpc_ids.iter().any(|x| x == v));
                if let (true, true, Some(arn)) = (instance_targets, in_vpc, g.target_group_arn()) {
                    groups.push(arn.to_string());
                }
            }
        }
        let healths = futures::future::join_all(groups.iter().map(|arn| {
            self.elb
                .describe_target_health()
                .target_group_arn(arn)
                .send()
        }))
        .await;
        let mut found = Vec::new();
        for (arn, health) in groups.iter().zip(healths) {
            for d in health?.target_health_descriptions() {
                let Some(target) = d.target() else { continue };
                if target.id() == Some(instance_id) {
                    found.push(Registration {
                        target_group_arn: arn.clone(),
                        port: target.port(),
                    });
                }
            }
        }
        Ok(found)
    }

    async fn deregister(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        let result = self
            .elb
            .deregister_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(elb_target(instance_id, r.port))
            .send()
            .await;
        let Err(e) = result else { return Ok(()) };
        let e = AwsError::from(e);
        // Not registered (any more): Auto Scaling deregisters an instance entering Standby, at
        // the same time. The end state holds if the target group no longer lists it.
        if e.code.as_deref() == Some("InvalidTarget") {
            let health = self
                .elb
                .describe_target_health()
                .target_group_arn(&r.target_group_arn)
                .send()
                .await?;
            let still = health.target_health_descriptions().iter().any(|d| {
                d.target()
                    .is_some_and(|t| t.id() == Some(instance_id) && t.port() == r.port)
            });
            if !still {
                return Ok(());
            }
        }
        Err(e)
    }

    async fn register(&self, r: &Registration, instance_id: &str) -> Result<(), AwsError> {
        self.elb
            .register_targets()
            .target_group_arn(&r.target_group_arn)
            .targets(elb_target(instance_id, r.port))
            .send()
            .await?;
        Ok(())
    }

    async fn addresses(&self, instance_id: &str) -> Result<Vec<AddressFacts>, AwsError> {
        let out = self
            .ec2
            .describe_addresses()
            .filters(filter("instance-id", &[instance_id]))
            .send()
            .await?;
        Ok(out
            .addresses()
            .iter()
            .filter_map(|a| {
                Some(AddressFacts {
                    allocation_id: a.allocation_id()?.to_string(),
                    association_id: a.association_id()?.to_string(),
                    public_ip: a.public_ip().unwrap_or_default().to_string(),
                    network_interface_id: a.network_interface_id().unwrap_or_default().to_string(),
                    private_ip: a.private_ip_address().unwrap_or_default().to_string(),
                })
            })
            .collect())
    }

    async fn disassociate_address(&self, association_id: &str) -> Result<(), AwsError> {
        match self
            .ec2
            .disassociate_address()
            .association_id(association_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = AwsError::from(e);
                // Gone already (a redelivery after the change): the end state holds.
                if e.code.as_deref() == Some("InvalidAssociationID.NotFound") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn associate_address(
        &self,
        allocation_id: &str,
        network_interface_id: &str,
        private_ip: &str,
    ) -> Result<(), AwsError> {
        let mut call = self
            .ec2
            .associate_address()
            .allocation_id(allocation_id)
            .allow_reassociation(false);
        if !network_interface_id.is_empty() {
            call = call.network_interface_id(network_interface_id);
        }
        if !private_ip.is_empty() {
            call = call.private_ip_address(private_ip);
        }
        call.send().await?;
        Ok(())
    }
}

fn elb_target(
    instance_id: &str,
    port: Option<i32>,
) -> aws_sdk_elasticloadbalancingv2::types::TargetDescription {
    aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
        .id(instance_id)
        .set_port(port)
        .build()
}
