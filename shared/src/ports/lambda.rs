//! Lambda functions: concurrency, event source mappings, VPC configuration, tags.

use crate::error::AwsError;

/// A Lambda function as it is now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionFacts {
    /// Its unqualified ARN.
    pub arn: String,
    /// Its execution role's ARN.
    pub role_arn: Option<String>,
    /// Its reserved concurrency; `None` when it has none (it uses the account's pool).
    pub reserved_concurrency: Option<i32>,
    /// Its VPC configuration, when it is attached to a VPC.
    pub vpc: Option<FunctionVpc>,
    /// Its tags: others' as they are, Firebreak's only where their seal verifies (`seal.rs`),
    /// without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (written by a version before sealing): trusted only by
    /// a release that checks the facts they describe.
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    pub forged: Vec<String>,
    /// How Lambda's last update of its configuration stands (`LastUpdateStatus`).
    pub last_update: UpdateStatus,
}

/// How Lambda's last update of a function's configuration stands: an update (a VPC change among
/// them) is applied asynchronously, `InProgress` then `Successful` or `Failed` (Lambda Developer
/// Guide, "Lambda function states"; API reference, UpdateFunctionConfiguration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateStatus {
    /// `LastUpdateStatus`: `InProgress`, `Successful`, `Failed` (empty when Lambda reports none).
    pub status: String,
    /// `LastUpdateStatusReasonCode` (`SubnetOutOfIPAddresses`, …), when it failed.
    pub reason_code: Option<String>,
    /// `LastUpdateStatusReason`, in Lambda's words.
    pub reason: Option<String>,
}

impl UpdateStatus {
    /// Lambda is still applying it.
    pub fn in_progress(&self) -> bool {
        self.status == "InProgress"
    }

    /// Lambda gave it up: the function's previous configuration stays in effect.
    pub fn failed(&self) -> bool {
        self.status == "Failed"
    }
}

/// One provisioned concurrency configuration of a function (on an alias or a published version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedFacts {
    /// The alias or version number it is configured on.
    pub qualifier: String,
    /// `RequestedProvisionedConcurrentExecutions`.
    pub requested: i32,
}

/// A function's VPC configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionVpc {
    /// The VPC.
    pub vpc_id: String,
    /// Its subnets.
    pub subnets: Vec<String>,
    /// Its security groups.
    pub groups: Vec<String>,
    /// `Ipv6AllowedForDualStack`, kept as it is when the groups change.
    pub ipv6_dual_stack: Option<bool>,
}

/// One event source mapping of a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingFacts {
    /// Its UUID.
    pub uuid: String,
    /// `Enabled`, `Enabling`, `Disabled`, `Disabling`, `Creating`, `Updating`, `Deleting`.
    pub state: String,
    /// The ARN of the function it invokes (qualified when it invokes a version or an alias).
    pub function_arn: String,
}

impl MappingFacts {
    /// True when it invokes the function whose unqualified ARN is `arn` (any version or alias).
    pub fn invokes(&self, arn: &str) -> bool {
        let own = |m: &str| m == arn || m.strip_prefix(arn).is_some_and(|q| q.starts_with(':'));
        !arn.is_empty() && own(&self.function_arn)
    }

    /// True when it delivers events, or is about to.
    pub fn delivers(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Enabled" | "Enabling" | "Creating" | "Updating"
        )
    }
}

/// Lambda functions: concurrency, event source mappings, VPC configuration, tags.
pub trait FunctionsPort: Sync {
    /// The function now, `None` when it no longer exists.
    async fn function(&self, name: &str) -> Result<Option<FunctionFacts>, AwsError>;
    /// Its event source mappings: those Lambda lists for its name and for each of its aliases.
    async fn mappings(&self, name: &str) -> Result<Vec<MappingFacts>, AwsError>;
    /// Sets its reserved concurrency (`None`: removes it, back to the account's pool).
    async fn set_concurrency(&self, name: &str, reserved: Option<i32>) -> Result<(), AwsError>;
    /// Its provisioned concurrency configurations (its aliases' and versions').
    async fn provisioned(&self, name: &str) -> Result<Vec<ProvisionedFacts>, AwsError>;
    /// Sets the provisioned concurrency of one alias or version (`None`: removes it).
    async fn set_provisioned(
        &self,
        name: &str,
        qualifier: &str,
        executions: Option<i32>,
    ) -> Result<(), AwsError>;
    /// How Lambda's last update of its configuration stands now (`GetFunctionConfiguration`).
    async fn update_status(&self, name: &str) -> Result<UpdateStatus, AwsError>;
    /// Enables or disables one event source mapping.
    async fn set_mapping_enabled(&self, uuid: &str, enabled: bool) -> Result<(), AwsError>;
    /// Replaces the security groups of its VPC configuration (its subnets and IPv6 setting kept).
    async fn set_function_groups(
        &self,
        name: &str,
        vpc: &FunctionVpc,
        groups: &[String],
    ) -> Result<(), AwsError>;
    /// Adds or overwrites tags on it (by ARN).
    async fn tag_function(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes these tag keys from it (by ARN).
    async fn untag_function(&self, arn: &str, keys: &[String]) -> Result<(), AwsError>;
    /// The VPC of each of these security groups that exists, `(group, vpc)` (EC2): a release
    /// checks an unsealed record of the function's groups against it.
    async fn security_group_vpcs(
        &self,
        group_ids: &[String],
    ) -> Result<Vec<(String, String)>, AwsError>;
    /// Firebreak's own quarantine groups in the VPC (EC2; isolation and untracking), which no
    /// record of a function's own groups may name.
    async fn quarantine_group_ids(&self, vpc_id: &str) -> Result<Vec<String>, AwsError>;
}
