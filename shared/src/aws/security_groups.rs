//! Firebreak's two security groups per VPC through the SDK: found by tag, created when missing, and
//! their rules kept exactly as their role requires.

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup};

use crate::aws::ec2::Ec2;
use crate::aws::sdk::{filter, tag_spec};
use crate::error::AwsError;
use crate::ports::{FoundGroups, QuarantineGroups, QuarantineGroupsPort};
use crate::retry;
use crate::tags::{self, GroupRole};

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

/// The egress an isolation group must lose: every rule but Firebreak's memory-capture rules (HTTPS
/// to one address or to a prefix list, described [`tags::CAPTURE_EGRESS`], added by
/// `capture-memory` when the team opted in: `aws/memory.rs`).
fn not_capture_rules(perms: &[IpPermission]) -> Vec<IpPermission> {
    let ours = |d: Option<&str>| d == Some(tags::CAPTURE_EGRESS);
    perms
        .iter()
        .filter_map(|p| {
            let https = p.ip_protocol() == Some("tcp")
                && p.from_port() == Some(443)
                && p.to_port() == Some(443);
            let ranges: Vec<IpRange> = (p.ip_ranges().iter())
                .filter(|r| !(https && ours(r.description()) && is_host(r.cidr_ip())))
                .cloned()
                .collect();
            let lists: Vec<_> = (p.prefix_list_ids().iter())
                .filter(|l| !(https && ours(l.description())))
                .cloned()
                .collect();
            let (v6, groups) = (p.ipv6_ranges(), p.user_id_group_pairs());
            if ranges.is_empty() && lists.is_empty() && v6.is_empty() && groups.is_empty() {
                return None;
            }
            Some(
                IpPermission::builder()
                    .set_ip_protocol(p.ip_protocol().map(String::from))
                    .set_from_port(p.from_port())
                    .set_to_port(p.to_port())
                    .set_ip_ranges(Some(ranges))
                    .set_prefix_list_ids(Some(lists))
                    .set_ipv6_ranges(Some(v6.to_vec()))
                    .set_user_id_group_pairs(Some(groups.to_vec()))
                    .build(),
            )
        })
        .collect()
}

/// One IPv4 address (`/32`): an interface endpoint's.
fn is_host(cidr: Option<&str>) -> bool {
    cidr.is_some_and(|c| c.ends_with("/32"))
}

fn description(role: GroupRole) -> &'static str {
    match role {
        GroupRole::Isolation => {
            "Firebreak isolation: no inbound, no outbound. Firebreak removes any rule added here."
        }
        GroupRole::Untracking => {
            "Firebreak untracking: allow-all, used for a moment to untrack connections before isolation."
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
                let egress = not_capture_rules(egress);
                let revoke_out = async {
                    if !egress.is_empty() {
                        c.revoke_security_group_egress()
                            .group_id(group_id)
                            .set_ip_permissions(Some(egress))
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
        let name = role.group_name(vpc_id);
        let created = self
            .0
            .create_security_group()
            .group_name(&name)
            .description(description(role))
            .vpc_id(vpc_id)
            .tag_specifications(tag_spec(
                ResourceType::SecurityGroup,
                &[
                    tags::pair(tags::GROUP_ROLE, role.tag_value()),
                    ("Name".to_string(), name.clone()),
                ],
            ))
            .send()
            .await
            .map_err(AwsError::from);
        match created {
            // A new group has exactly the default egress rule (all IPv4 out) and no ingress.
            // EC2 may not know the new group everywhere yet: its first rule change can answer
            // InvalidGroup.NotFound for a moment.
            Ok(out) => {
                let id = out.group_id().unwrap_or_default().to_string();
                let default_egress = [all_traffic_v4()];
                retry::until_visible(|| self.converge(&id, role, &[], &default_egress)).await?;
                Ok(id)
            }
            // Another invocation created it a moment ago (or its tag was removed): use it as it is.
            // EC2 may not list it yet either (eventual consistency): looked for again a moment later.
            Err(e) if e.code.as_deref() == Some("InvalidGroup.Duplicate") => {
                let group = retry::until_visible(|| async {
                    let found = self
                        .0
                        .describe_security_groups()
                        .filters(filter("vpc-id", &[vpc_id]))
                        .filters(filter("group-name", &[&name]))
                        .send()
                        .await?;
                    found.security_groups().first().cloned().ok_or(AwsError {
                        code: Some("InvalidGroup.NotFound".into()),
                        message: format!("{name} exists ({}) but is not listed yet", e.message),
                    })
                })
                .await?;
                self.converge_existing(&group, role).await
            }
            Err(e) => Err(e),
        }
    }
}

impl Ec2 {
    /// The VPC's groups tagged as Firebreak's (one `DescribeSecurityGroups`).
    async fn tagged_groups(&self, vpc_id: &str) -> Result<Vec<SecurityGroup>, AwsError> {
        let found = self
            .0
            .describe_security_groups()
            .filters(filter("vpc-id", &[vpc_id]))
            .filters(filter(
                &format!("tag:{}", tags::GROUP_ROLE),
                &[
                    GroupRole::Isolation.tag_value(),
                    GroupRole::Untracking.tag_value(),
                ],
            ))
            .send()
            .await?;
        Ok(found.security_groups().to_vec())
    }
}

/// The group of `role` among `groups`, in `vpc_id`.
fn with_role<'a>(
    groups: &'a [SecurityGroup],
    vpc_id: &str,
    role: GroupRole,
) -> Option<&'a SecurityGroup> {
    groups.iter().find(|g| {
        g.vpc_id() == Some(vpc_id)
            && g.tags()
                .iter()
                .any(|t| t.key() == Some(tags::GROUP_ROLE) && t.value() == Some(role.tag_value()))
    })
}

impl QuarantineGroupsPort for Ec2 {
    async fn find_quarantine_groups(&self, vpc_id: &str) -> Result<FoundGroups, AwsError> {
        let groups = self.tagged_groups(vpc_id).await?;
        let id =
            |role| with_role(&groups, vpc_id, role).and_then(|g| g.group_id().map(String::from));
        Ok(FoundGroups {
            isolation: id(GroupRole::Isolation),
            untracking: id(GroupRole::Untracking),
        })
    }

    async fn group_vpcs(&self, group_ids: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        // By filter, not by id: an id that does not exist is left out rather than failing the call.
        let ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
        let found = self
            .0
            .describe_security_groups()
            .filters(filter("group-id", &ids))
            .send()
            .await?;
        Ok(found
            .security_groups()
            .iter()
            .filter_map(|g| Some((g.group_id()?.to_string(), g.vpc_id()?.to_string())))
            .collect())
    }

    async fn reconcile_quarantine_groups(&self, vpc_id: &str) -> Result<FoundGroups, AwsError> {
        let groups = self.tagged_groups(vpc_id).await?;
        let get = |role: GroupRole| {
            let existing = with_role(&groups, vpc_id, role);
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
            created: found.isolation.is_none() || found.untracking.is_none(),
        })
    }
}
