//! Lambda through the SDK: a function's configuration, concurrency, event source mappings and
//! tags ([`FunctionsPort`]); its records sealed for its unqualified ARN (`seal.rs`). And, through
//! EC2, what a release checks an unsealed record of its groups against.

use std::collections::HashMap;

use aws_sdk_lambda::types::VpcConfig;

use crate::aws::ec2::Ec2;
use crate::aws::secrets;
use crate::error::AwsError;
use crate::ports::{
    FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, ProvisionedFacts,
    QuarantineGroupsPort, UpdateStatus,
};
use crate::seal::Seal;

/// The unqualified ARN (a version's or alias's suffix taken off): what a function's records are
/// sealed for, whichever ARN a caller names it by.
fn unqualified(arn: &str) -> &str {
    match arn.split(':').count() {
        8 => arn.rsplit_once(':').map(|(a, _)| a).unwrap_or(arn),
        _ => arn,
    }
}

/// `LastUpdateStatus` and its reason, as Lambda reports them.
fn update_status(status: Option<&str>, code: Option<&str>, reason: Option<&str>) -> UpdateStatus {
    UpdateStatus {
        status: status.unwrap_or_default().to_string(),
        reason_code: code.map(String::from),
        reason: reason.map(String::from),
    }
}

/// Lambda of one account and region, with EC2 for what a release checks a function's groups
/// against; with a [`Seal`] (every incident's), the `firebreak:*` tags it writes are sealed and
/// those it reads opened.
#[derive(Clone)]
pub struct Lambda {
    /// The client.
    pub lambda: aws_sdk_lambda::Client,
    /// EC2 of the same account and region.
    pub ec2: Ec2,
    /// The incident's sealing.
    pub seal: Option<Seal>,
}

impl Lambda {
    /// The mappings Lambda lists for `function` (a name, or an alias's ARN).
    async fn mappings_of(&self, function: &str) -> Result<Vec<MappingFacts>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .lambda
            .list_event_source_mappings()
            .function_name(function)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for m in page?.event_source_mappings() {
                if let Some(uuid) = m.uuid() {
                    out.push(MappingFacts {
                        uuid: uuid.to_string(),
                        state: m.state().unwrap_or_default().to_string(),
                        function_arn: m.function_arn().unwrap_or_default().to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The ARNs of the function's aliases.
    async fn alias_arns(&self, name: &str) -> Result<Vec<String>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .lambda
            .list_aliases()
            .function_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            out.extend(
                page?
                    .aliases()
                    .iter()
                    .filter_map(|a| a.alias_arn())
                    .map(String::from),
            );
        }
        Ok(out)
    }
}

impl FunctionsPort for Lambda {
    async fn function(&self, name: &str) -> Result<Option<FunctionFacts>, AwsError> {
        // The keys are awaited beside the call: on a cold start their fetch is not a round trip of
        // its own.
        let call = self.lambda.get_function().function_name(name).send();
        let (out, keys) = futures::join!(call, secrets::keys(self.seal.as_ref()));
        let keys = keys?;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = AwsError::from(e);
                return match e.is_not_found() {
                    true => Ok(None),
                    false => Err(e),
                };
            }
        };
        let Some(config) = out.configuration() else {
            return Ok(None);
        };
        // Without lambda:ListTags (an SCP, a permissions boundary) GetFunction leaves the tags
        // out and says why: the exemption and the records cannot be read, so nothing is done.
        if let Some(e) = out.tags_error() {
            return Err(AwsError {
                code: Some(e.error_code().to_string()),
                message: format!("its tags could not be read: {}", e.message()),
            });
        }
        let vpc = config
            .vpc_config()
            .and_then(|v| {
                Some(FunctionVpc {
                    vpc_id: v.vpc_id().filter(|id| !id.is_empty())?.to_string(),
                    subnets: v.subnet_ids().to_vec(),
                    groups: v.security_group_ids().to_vec(),
                    ipv6_dual_stack: v.ipv6_allowed_for_dual_stack(),
                })
            })
            .filter(|v| !v.subnets.is_empty());
        // The unqualified ARN, whatever GetFunction returned.
        let arn = unqualified(config.function_arn().unwrap_or_default());
        let mut tags: Vec<(String, String)> = out
            .tags()
            .unwrap_or(&HashMap::new())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.sort();
        let (tags, legacy, forged) =
            secrets::opened(self.seal.as_ref(), keys.as_deref(), arn, tags).await;
        Ok(Some(FunctionFacts {
            arn: arn.to_string(),
            role_arn: config.role().map(String::from),
            reserved_concurrency: out
                .concurrency()
                .and_then(|c| c.reserved_concurrent_executions()),
            vpc,
            tags,
            legacy,
            forged,
            last_update: update_status(
                config.last_update_status().map(|s| s.as_str()),
                config.last_update_status_reason_code().map(|c| c.as_str()),
                config.last_update_status_reason(),
            ),
        }))
    }

    async fn mappings(&self, name: &str) -> Result<Vec<MappingFacts>, AwsError> {
        // Whether Lambda lists an alias's mappings for the function's name is not documented
        // (API reference, ListEventSourceMappings: FunctionName takes a name, or a version or
        // alias ARN): each alias is listed too, and a mapping counted once.
        let (own, aliases) = futures::join!(self.mappings_of(name), self.alias_arns(name));
        let aliases = aliases?;
        let each = futures::future::join_all(aliases.iter().map(|a| self.mappings_of(a))).await;
        let mut out = own?;
        for m in each
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
        {
            if !out.iter().any(|o| o.uuid == m.uuid) {
                out.push(m);
            }
        }
        Ok(out)
    }

    async fn provisioned(&self, name: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .lambda
            .list_provisioned_concurrency_configs()
            .function_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for c in page?.provisioned_concurrency_configs() {
                // The alias's or version's ARN: the qualifier is its last part.
                let arn = c.function_arn().unwrap_or_default();
                let qualifier = arn.rsplit(':').next().unwrap_or_default();
                let requested = c.requested_provisioned_concurrent_executions();
                if let (false, Some(requested)) = (qualifier.is_empty(), requested) {
                    out.push(ProvisionedFacts {
                        qualifier: qualifier.to_string(),
                        requested,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn set_provisioned(
        &self,
        name: &str,
        qualifier: &str,
        executions: Option<i32>,
    ) -> Result<(), AwsError> {
        match executions {
            Some(n) => {
                self.lambda
                    .put_provisioned_concurrency_config()
                    .function_name(name)
                    .qualifier(qualifier)
                    .provisioned_concurrent_executions(n)
                    .send()
                    .await?;
            }
            None => {
                self.lambda
                    .delete_provisioned_concurrency_config()
                    .function_name(name)
                    .qualifier(qualifier)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn update_status(&self, name: &str) -> Result<UpdateStatus, AwsError> {
        let out = self
            .lambda
            .get_function_configuration()
            .function_name(name)
            .send()
            .await?;
        Ok(update_status(
            out.last_update_status().map(|s| s.as_str()),
            out.last_update_status_reason_code().map(|c| c.as_str()),
            out.last_update_status_reason(),
        ))
    }

    async fn set_concurrency(&self, name: &str, reserved: Option<i32>) -> Result<(), AwsError> {
        match reserved {
            Some(n) => {
                self.lambda
                    .put_function_concurrency()
                    .function_name(name)
                    .reserved_concurrent_executions(n)
                    .send()
                    .await?;
            }
            None => {
                self.lambda
                    .delete_function_concurrency()
                    .function_name(name)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn set_mapping_enabled(&self, uuid: &str, enabled: bool) -> Result<(), AwsError> {
        self.lambda
            .update_event_source_mapping()
            .uuid(uuid)
            .enabled(enabled)
            .send()
            .await?;
        Ok(())
    }

    async fn set_function_groups(
        &self,
        name: &str,
        now: &FunctionVpc,
        groups: &[String],
    ) -> Result<(), AwsError> {
        let vpc = VpcConfig::builder()
            .set_subnet_ids(Some(now.subnets.clone()))
            .set_security_group_ids(Some(groups.to_vec()))
            .set_ipv6_allowed_for_dual_stack(now.ipv6_dual_stack)
            .build();
        self.lambda
            .update_function_configuration()
            .function_name(name)
            .vpc_config(vpc)
            .send()
            .await?;
        Ok(())
    }

    async fn tag_function(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags = secrets::sealing(self.seal.as_ref(), unqualified(arn), tags).await?;
        let mut call = self.lambda.tag_resource().resource(arn);
        for (k, v) in &tags {
            call = call.tags(k, v);
        }
        call.send().await?;
        Ok(())
    }

    async fn untag_function(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.lambda
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await?;
        Ok(())
    }

    async fn security_group_vpcs(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, AwsError> {
        if group_ids.is_empty() {
            return Ok(Vec::new());
        }
        self.ec2.group_vpcs(group_ids).await
    }

    async fn quarantine_group_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError> {
        let found = self.ec2.find_quarantine_groups(vpc_id).await?;
        Ok(found
            .isolation
            .into_iter()
            .chain(found.untracking)
            .collect())
    }
}
