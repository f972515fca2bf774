//! Network ACLs through the SDK: the VPC's ACLs and their entries, deny entries added and removed.

use aws_sdk_ec2::types::{NetworkAcl, RuleAction};

use crate::aws::ec2::Ec2;
use crate::aws::sdk::filter;
use crate::error::AwsError;
use crate::ports::{AclEntryFacts, NetworkAclFacts, NetworkAclsPort};

fn acl_facts(acl: &NetworkAcl) -> NetworkAclFacts {
    NetworkAclFacts {
        network_acl_id: acl.network_acl_id().unwrap_or_default().to_string(),
        vpc_id: acl.vpc_id().unwrap_or_default().to_string(),
        entries: acl
            .entries()
            .iter()
            .filter_map(|e| {
                Some(AclEntryFacts {
                    rule_number: e.rule_number()?,
                    egress: e.egress().unwrap_or(false),
                    allow: e.rule_action() == Some(&RuleAction::Allow),
                    cidr: e.cidr_block().or(e.ipv6_cidr_block())?.to_string(),
                })
            })
            .collect(),
    }
}

impl NetworkAclsPort for Ec2 {
    async fn network_acls(&self, vpc_id: &str) -> Result<Vec<NetworkAclFacts>, AwsError> {
        let mut acls = Vec::new();
        let mut pages = self
            .0
            .describe_network_acls()
            .filters(filter("vpc-id", &[vpc_id]))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            acls.extend(page?.network_acls().iter().map(acl_facts));
        }
        Ok(acls)
    }

    async fn network_acls_by_id(&self, ids: &[String]) -> Result<Vec<NetworkAclFacts>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // A filter, not `NetworkAclIds`: an ACL deleted since is simply absent, not an error.
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut acls = Vec::new();
        let mut pages = self
            .0
            .describe_network_acls()
            .filters(filter("network-acl-id", &ids))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            acls.extend(page?.network_acls().iter().map(acl_facts));
        }
        Ok(acls)
    }

    async fn add_deny_entry(
        &self,
        network_acl_id: &str,
        rule_number: i32,
        egress: bool,
        cidr: &str,
    ) -> Result<(), AwsError> {
        let call = self
            .0
            .create_network_acl_entry()
            .network_acl_id(network_acl_id)
            .rule_number(rule_number)
            .egress(egress)
            .protocol("-1")
            .rule_action(RuleAction::Deny);
        let call = match cidr.contains(':') {
            true => call.ipv6_cidr_block(cidr),
            false => call.cidr_block(cidr),
        };
        call.send().await?;
        Ok(())
    }

    async fn delete_entry(
        &self,
        network_acl_id: &str,
        rule_number: i32,
        egress: bool,
    ) -> Result<(), AwsError> {
        self.0
            .delete_network_acl_entry()
            .network_acl_id(network_acl_id)
            .rule_number(rule_number)
            .egress(egress)
            .send()
            .await?;
        Ok(())
    }
}
