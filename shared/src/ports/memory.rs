//! Memory capture (`capture-memory`): what Systems Manager knows of an instance's agent, Run
//! Command, the evidence bucket's presigned URLs, and the VPC endpoints an isolated instance's
//! agent may still reach.

use serde::Serialize;

use crate::error::AwsError;

/// What Systems Manager knows of an instance's SSM Agent (`DescribeInstanceInformation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagedInstance {
    /// `Online`, `ConnectionLost`, `Inactive`.
    pub ping_status: String,
    /// `Linux`, `Windows`, `MacOS`.
    pub platform_type: String,
}

/// One VPC endpoint of the instance's VPC, as capture needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VpcEndpointFacts {
    /// `com.amazonaws.<region>.ssm`, …
    pub service_name: String,
    /// `Interface` or `Gateway`.
    pub endpoint_type: String,
    /// `available`, `pending`, …
    pub state: String,
    /// Whether an interface endpoint's private DNS names are on (the agent resolves the
    /// service's own name to the endpoint).
    pub private_dns: bool,
    /// An interface endpoint's network interfaces' private IPv4 addresses.
    pub addresses: Vec<String>,
}

/// Where the isolation group may send HTTPS (443) for a capture: an endpoint's address, or the
/// S3 gateway endpoint's prefix list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum EgressTo {
    /// An interface endpoint's private IPv4 address (`/32`).
    Address(String),
    /// A managed prefix list (`pl-…`: S3's, routed through the gateway endpoint).
    PrefixList(String),
}

/// A presigned URL's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presign {
    /// Download (the capture tool).
    Get,
    /// Upload (the memory image).
    Put,
}

/// Systems Manager, the evidence bucket, and the VPC endpoints of one account and region.
pub trait MemoryPort: Sync {
    /// Whether a capture can run here: the evidence bucket and the capture document are in
    /// Firebreak's own account and region.
    fn capture_here(&self) -> bool;
    /// The instance's SSM Agent, or `None` when Systems Manager does not know it.
    async fn managed_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<ManagedInstance>, AwsError>;
    /// The VPC's endpoints (interface endpoints with their addresses).
    async fn vpc_endpoints(&self, vpc_id: &str) -> Result<Vec<VpcEndpointFacts>, AwsError>;
    /// The id of the AWS-managed prefix list of that name (`com.amazonaws.<region>.s3`).
    async fn prefix_list(&self, name: &str) -> Result<Option<String>, AwsError>;
    /// Adds HTTPS egress to each destination on the group, described as Firebreak's capture
    /// rule; a rule the group has already is not an error.
    async fn allow_capture_egress(&self, group_id: &str, to: &[EgressTo]) -> Result<(), AwsError>;
    /// A presigned URL for `bucket`/`key`, valid `seconds`.
    async fn presign(
        &self,
        method: Presign,
        bucket: &str,
        key: &str,
        seconds: u64,
    ) -> Result<String, AwsError>;
    /// Runs `document` on the instance with `parameters`; the command id.
    async fn send_command(
        &self,
        document: &str,
        instance_id: &str,
        parameters: &[(&str, String)],
        comment: &str,
    ) -> Result<String, AwsError>;
}

/// Where and how captures run (the template's evidence bucket, capture document and parameters).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureSettings {
    /// The evidence bucket (`FIREBREAK_EVIDENCE_BUCKET`); empty: capture is not configured.
    pub bucket: String,
    /// The capture document's name (`FIREBREAK_CAPTURE_DOCUMENT`).
    pub document: String,
    /// The capture tool's SHA-256, hex (`FIREBREAK_CAPTURE_TOOL_SHA256`).
    pub tool_sha256: String,
    /// Whether the isolation group may allow HTTPS to the VPC's endpoints
    /// (`FIREBREAK_CAPTURE_THROUGH_ENDPOINTS`, the template's `CaptureThroughEndpoints`).
    pub through_endpoints: bool,
    /// How long the presigned URLs are valid, in seconds (`FIREBREAK_CAPTURE_URL_SECONDS`).
    pub url_seconds: u64,
}

impl CaptureSettings {
    /// Whether the bucket, the document and the tool's hash are all set.
    pub fn configured(&self) -> bool {
        !self.bucket.is_empty() && !self.document.is_empty() && is_sha256(&self.tool_sha256)
    }
}

/// 64 hexadecimal digits.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|c| c.is_ascii_hexdigit())
}
