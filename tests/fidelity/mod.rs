//! The project's local-AWS launcher fixes moto where Firebreak depends on real EC2 behaviour.
//! Without `scripts/local_aws.py`'s patch these tests fail against plain moto 5.2.5. The tests of
//! the launcher's test controls (`firebreak_tests::faults`) fail there too: it has no such API.
//!
//! One module per service the launcher patches (as `scripts/localaws/` has one per service), and
//! `faults` for the test controls; the helpers they share are here:
//!
//! ```text
//! ec2           ENI and instance groups, addresses, security group visibility, launch addresses,
//!               Spot attributes, snapshot permissions, interface types
//! network_acls  rule numbers, the default deny, the 20-rule limit, missing entries, the id filter
//! autoscaling   Standby instances out of the group's target groups
//! securityhub   BatchUpdateFindings, custom action targets
//! sns           Publish checks, e-mail deliveries
//! iam           the inline policy size quota
//! lambda        concurrency, VPC configuration, update outcomes, event source mapping states
//! ecs           a task runs until it is stopped
//! ssm           DescribeInstanceInformation; SendCommand's document, parameter and node checks
//! faults        injected failures and stalls on the way into isolation, failing IAM reads
//! ```

mod autoscaling;
mod ec2;
mod ecs;
mod faults;
mod iam;
mod lambda;
mod network_acls;
mod securityhub;
mod sns;
mod ssm;

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use firebreak_tests::fixtures::{unique, Aws};

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
