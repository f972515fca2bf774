//! The fake AWS the function's tests share: one function in `vpc-1`, its calls recorded.

use std::sync::Mutex;

use tokio::time::Instant;

use crate::clock::FixedClock;
use crate::error::AwsError;
use crate::execute::function::release::release_it;
use crate::incident::FunctionRef;
use crate::outcome::Execution;
use crate::ports::{
    FoundGroups, FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalFacts,
    PrincipalsPort, ProvisionedFacts, QuarantineGroups, QuarantineGroupsPort, UpdateStatus,
};

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";
/// The release's removal of the function's deny policy (named for its ARN).
pub(super) const DELETE_POLICY: &str =
    "delete-role-policy FirebreakRevokeSessionsOfFunction-orders-66d2e7d49f3e";

/// One function in `vpc-1`; records the changes.
pub(super) struct Fake {
    facts: FunctionFacts,
    mappings: Vec<MappingFacts>,
    calls: Mutex<Vec<String>>,
    /// What `GetFunctionConfiguration` answers after a change (`Successful` unless set).
    pub(super) update: UpdateStatus,
    /// Its provisioned concurrency.
    pub(super) provisioned: Vec<ProvisionedFacts>,
}

impl Fake {
    pub(super) fn new(facts: FunctionFacts) -> Fake {
        let mapping = |uuid: &str, function_arn: &str| MappingFacts {
            uuid: uuid.into(),
            state: "Disabled".into(),
            function_arn: function_arn.into(),
        };
        Fake {
            facts,
            // Its own mappings (one through an alias); Lambda lists no other function's.
            mappings: vec![
                mapping("u-own", ARN),
                mapping("u-alias", &format!("{ARN}:live")),
            ],
            calls: Mutex::new(Vec::new()),
            update: UpdateStatus {
                status: "Successful".into(),
                ..UpdateStatus::default()
            },
            provisioned: vec![],
        }
    }
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    pub(super) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
    pub(super) fn changes(&self) -> Vec<String> {
        let change = |c: &String| !c.starts_with("tag ") && !c.starts_with("untag ");
        self.calls().into_iter().filter(change).collect()
    }
}

impl FunctionsPort for Fake {
    async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
        Ok(Some(self.facts.clone()))
    }
    async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
        Ok(self.mappings.clone())
    }
    async fn set_concurrency(&self, _: &str, n: Option<i32>) -> Result<(), AwsError> {
        self.log(format!("concurrency {n:?}"));
        Ok(())
    }
    async fn set_mapping_enabled(&self, uuid: &str, on: bool) -> Result<(), AwsError> {
        self.log(format!("mapping {uuid} {on}"));
        Ok(())
    }
    async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
        Ok(self.provisioned.clone())
    }
    async fn set_provisioned(&self, _: &str, q: &str, n: Option<i32>) -> Result<(), AwsError> {
        self.log(format!("provisioned {q} {n:?}"));
        Ok(())
    }
    async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
        Ok(self.update.clone())
    }
    async fn set_function_groups(
        &self,
        _: &str,
        _: &FunctionVpc,
        groups: &[String],
    ) -> Result<(), AwsError> {
        self.log(format!("groups {}", groups.join(" ")));
        Ok(())
    }
    async fn tag_function(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let each: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.log(format!("tag {}", each.join(",")));
        Ok(())
    }
    async fn untag_function(&self, _: &str, keys: &[String]) -> Result<(), AwsError> {
        let mut keys = keys.to_vec();
        keys.sort();
        self.log(format!("untag {}", keys.join(",")));
        Ok(())
    }
    /// `sg-app…` groups are in vpc-1, `sg-elsewhere…` in vpc-2; nothing else exists.
    async fn security_group_vpcs(&self, ids: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        let vpc = |g: &String| match g {
            g if g.starts_with("sg-app") || g.starts_with("sg-iso") => Some("vpc-1"),
            g if g.starts_with("sg-elsewhere") => Some("vpc-2"),
            _ => None,
        };
        Ok(ids
            .iter()
            .filter_map(|g| Some((g.clone(), vpc(g)?.to_string())))
            .collect())
    }
    async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
        Ok(vec!["sg-iso".into(), "sg-untrack".into()])
    }
}

impl PrincipalsPort for Fake {
    async fn user(&self, _: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        Ok(None)
    }
    async fn role(&self, _: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        Ok(None)
    }
    async fn put_user_policy(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
        unreachable!("no user")
    }
    async fn put_role_policy(&self, _: &str, name: &str, _: &str) -> Result<(), AwsError> {
        self.log(format!("put-role-policy {name}"));
        Ok(())
    }
    async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
        self.log(format!("delete-role-policy {name}"));
        Ok(())
    }
    async fn tag_user(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
        unreachable!("no user")
    }
    async fn tag_role(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
        unreachable!("no role tags")
    }
}

impl QuarantineGroupsPort for Fake {
    async fn find_quarantine_groups(&self, _: &str) -> Result<FoundGroups, AwsError> {
        unreachable!("not isolated in these tests")
    }
    async fn reconcile_quarantine_groups(&self, _: &str) -> Result<FoundGroups, AwsError> {
        Ok(FoundGroups {
            isolation: Some("sg-iso".into()),
            untracking: Some("sg-untrack".into()),
        })
    }
    async fn group_vpcs(&self, _: &[String]) -> Result<Vec<(String, String)>, AwsError> {
        unreachable!("not isolated in these tests")
    }
    async fn create_quarantine_groups(
        &self,
        _: &str,
        _: &FoundGroups,
    ) -> Result<QuarantineGroups, AwsError> {
        unreachable!("not isolated in these tests")
    }
}

fn pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Stopped and isolated by Firebreak: concurrency 0, in the isolation group.
pub(super) fn stopped(tags: &[(&str, &str)], legacy: &[(&str, &str)]) -> FunctionFacts {
    FunctionFacts {
        arn: ARN.into(),
        role_arn: Some("arn:aws:iam::123456789012:role/orders-role".into()),
        reserved_concurrency: Some(0),
        vpc: Some(FunctionVpc {
            vpc_id: "vpc-1".into(),
            subnets: vec!["subnet-1".into()],
            groups: vec!["sg-iso".into()],
            ipv6_dual_stack: None,
        }),
        tags: pairs(tags),
        legacy: pairs(legacy),
        forged: vec![],
        last_update: UpdateStatus::default(),
    }
}

pub(super) fn function_ref() -> FunctionRef {
    FunctionRef {
        arn: ARN.into(),
        name: "orders".into(),
        role_name: None,
    }
}

pub(super) async fn release_of(fake: &Fake) -> Execution {
    let clock = FixedClock::at("2026-12-01T00:00:00Z");
    let deadline = Instant::now() + std::time::Duration::from_secs(5);
    release_it(fake, fake, &function_ref(), &clock, deadline).await
}
