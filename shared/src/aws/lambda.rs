//! Lambda through the SDK: a function's configuration, concurrency, event source mappings and
//! tags ([`FunctionsPort`]).

use std::collections::HashMap;

use aws_sdk_lambda::types::VpcConfig;

use crate::aws::autoscaling_elb::Services;
use crate::error::AwsError;
use crate::ports::{FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts};

impl FunctionsPort for Services {
    async fn function(&self, name: &str) -> Result<Option<FunctionFacts>, AwsError> {
        let out = match self.lambda.get_function().function_name(name).send().await {
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
        let arn = config.function_arn().unwrap_or_default();
        // The unqualified ARN, whatever GetFunction returned.
        let arn = match arn.split(':').count() {
            8 => arn.rsplit_once(':').map(|(a, _)| a).unwrap_or(arn),
            _ => arn,
        };
        let mut tags: Vec<(String, String)> = out
            .tags()
            .unwrap_or(&HashMap::new())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.sort();
        Ok(Some(FunctionFacts {
            arn: arn.to_string(),
            role_arn: config.role().map(String::from),
            reserved_concurrency: out
                .concurrency()
                .and_then(|c| c.reserved_concurrent_executions()),
            vpc,
            tags,
        }))
    }

    async fn mappings(&self, name: &str) -> Result<Vec<MappingFacts>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .lambda
            .list_event_source_mappings()
            .function_name(name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for m in page?.event_source_mappings() {
                if let Some(uuid) = m.uuid() {
                    out.push(MappingFacts {
                        uuid: uuid.to_string(),
                        state: m.state().unwrap_or_default().to_string(),
                    });
                }
            }
        }
        Ok(out)
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
        let mut call = self.lambda.tag_resource().resource(arn);
        for (k, v) in tags {
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
}
