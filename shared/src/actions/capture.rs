//! `capture-memory`: the instance's memory captured by Systems Manager Run Command into the
//! evidence bucket, once per finding, after isolation (never before it: the scheduler runs it once
//! the instance's plan is carried out).
//!
//! The capture document (the template's `AWS::SSM::Document`) downloads the capture tool (AVML, a
//! static Linux binary the team uploads to the bucket as `tools/avml`) from a presigned GET URL,
//! checks its SHA-256 against the pinned one, captures memory compressed (`avml --compress`) and
//! uploads the image with a presigned PUT URL: the instance needs no S3 permission of its own.
//! Only an instance whose SSM Agent is online, on Linux, is captured; Windows and macOS are not
//! (AVML is Linux only). An isolated instance's agent can reach Systems Manager only through the
//! VPC's interface endpoints (`ssm`, `ssmmessages`, `ec2messages`) and S3's gateway endpoint, and
//! only when the team opted in (`CaptureThroughEndpoints`): the isolation group then allows HTTPS
//! to exactly those (described [`tags::CAPTURE_EGRESS`]); otherwise the capture is reported as not
//! run, with the reason.
//!
//! One capture per finding: the object key and the command id are recorded on the instance
//! (`firebreak:memory`, sealed), the key first, before the command is sent; a redelivery finds the
//! record and sends nothing. No undo: the image is evidence (Object Lock keeps it).

use sha2::{Digest, Sha256};

use crate::actions::spec::ActionSpec;
use crate::incident::Incident;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{CaptureSettings, EgressTo, InstanceFacts, InstancesPort, MemoryPort, Presign};
use crate::tags::{self, MemoryRecord};

const ACTION: ActionKind = ActionKind::CaptureMemory;

/// What `capture-memory` calls and writes. The presigned URLs are signed with Firebreak's own
/// credentials: S3 authorizes the download and the upload (and KMS the bucket key) as Firebreak's.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeInstances",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribePrefixLists",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:CreateTags",
        "ssm:DescribeInstanceInformation",
        "ssm:SendCommand",
        "s3:GetObject",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    ],
    tags: &[tags::MEMORY],
    // The image is evidence: a release keeps it (and the isolation group's endpoint rules, which
    // serve every capture in the VPC).
    undo_permissions: &[],
};

/// The capture tool's key in the evidence bucket.
pub const TOOL_KEY: &str = "tools/avml";

/// EC2's limit on an instance's tags.
const TAG_LIMIT: usize = 50;

/// The interface endpoints SSM Agent needs (`com.amazonaws.<region>.<service>`).
const AGENT_ENDPOINTS: [&str; 3] = ["ssm", "ssmmessages", "ec2messages"];

/// The image's key for this instance and finding: `memory/<instance>/<16 hex of the finding's
/// SHA-256>.lime` (a finding id is not always a safe key).
pub fn object_key(instance_id: &str, finding_id: &str) -> String {
    let digest = Sha256::digest(finding_id.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("memory/{instance_id}/{hex}.lime")
}

/// Where the isolated instance stands: `Some(group)` when its interfaces are in the VPC's
/// isolation group (the capture then needs the endpoint rules on that group).
#[derive(Debug, Clone, Copy)]
pub struct Network<'a> {
    /// The VPC.
    pub vpc_id: &'a str,
    /// The isolation group the instance is in, if it is isolated.
    pub isolation_group: Option<&'a str>,
}

/// Captures the instance's memory once for this finding (see the module's documentation).
pub async fn capture_memory<E: InstancesPort, M: MemoryPort>(
    ec2: &E,
    memory: &M,
    settings: &CaptureSettings,
    incident: &Incident,
    facts: &InstanceFacts,
    network: Option<Network<'_>>,
) -> Outcome {
    let id = facts.instance_id.as_str();
    let key = object_key(id, &incident.finding_id);
    if let Some(done) = already(facts, &key, settings) {
        return done;
    }
    let not_run = |why: String| Outcome::new(ACTION, id, Status::Skipped, why);
    if let Err(why) = can_run(settings, memory, facts) {
        return not_run(why);
    }
    match memory.managed_instance(id).await {
        Err(e) => return Outcome::failed(ACTION, id, "could not ask Systems Manager", &e),
        Ok(agent) => {
            if let Err(why) = agent_ready(agent.as_ref()) {
                return not_run(why);
            }
        }
    }
    if let Some(Network {
        vpc_id,
        isolation_group: Some(group),
    }) = network
    {
        match endpoint_egress(memory, settings, &incident.region, vpc_id).await {
            Err(e) => return Outcome::failed(ACTION, id, "could not read the VPC endpoints", &e),
            Ok(Err(why)) => return not_run(why),
            Ok(Ok(to)) => {
                if let Err(e) = memory.allow_capture_egress(group, &to).await {
                    let what = "could not let the isolation group reach the VPC endpoints";
                    return Outcome::failed(ACTION, id, what, &e);
                }
            }
        }
    }
    send(ec2, memory, settings, facts, key).await
}

/// A capture this finding already has (the record names its key): reported, not sent again.
fn already(facts: &InstanceFacts, key: &str, settings: &CaptureSettings) -> Option<Outcome> {
    let record = facts.tag(tags::MEMORY).and_then(MemoryRecord::decode)?;
    if record.key != key {
        return None;
    }
    let id = facts.instance_id.as_str();
    let at = format!("s3://{}/{}", settings.bucket, record.key);
    let detail = match record.command_id {
        Some(c) => format!("captured already for this finding: command {c}, image {at}"),
        None => format!(
            "a capture was started for this finding (its command id was not recorded): image {at}"
        ),
    };
    Some(Outcome::new(ACTION, id, Status::AlreadyDone, detail))
}

/// What rules a capture out before asking anyone: not configured, not here, not running, no room
/// for its record.
fn can_run<M: MemoryPort>(
    settings: &CaptureSettings,
    memory: &M,
    facts: &InstanceFacts,
) -> Result<(), String> {
    if !settings.configured() {
        return Err(
            "not captured: memory capture is not configured (the evidence bucket, the \
                    capture document and the tool's SHA-256: see docs/memory.md)"
                .into(),
        );
    }
    if !memory.capture_here() {
        return Err(
            "not captured: the evidence bucket and the capture document are in \
                    Firebreak's own account and region, not the instance's"
                .into(),
        );
    }
    if facts.state != "running" {
        return Err(format!(
            "not captured: the instance is {} (its memory is gone)",
            facts.state
        ));
    }
    let used = facts.tags.len() + facts.legacy.len() + facts.forged.len();
    if used >= TAG_LIMIT && facts.tag(tags::MEMORY).is_none() {
        return Err(
            "not captured: no room for its record under EC2's 50 tags (one capture per \
                    finding needs it)"
                .into(),
        );
    }
    Ok(())
}

/// Whether the instance's SSM Agent can run the capture: online, on Linux.
fn agent_ready(agent: Option<&crate::ports::ManagedInstance>) -> Result<(), String> {
    let Some(agent) = agent else {
        return Err(
            "not captured: Systems Manager does not manage the instance (no SSM Agent \
                    registered: no agent, no instance profile or Default Host Management \
                    Configuration, or no route to Systems Manager)"
                .into(),
        );
    };
    if agent.ping_status != "Online" {
        return Err(format!(
            "not captured: the instance's SSM Agent is {} (an instance profile removed by \
             detach-instance-profile takes the agent's credentials away)",
            agent.ping_status
        ));
    }
    match agent.platform_type.as_str() {
        "Linux" => Ok(()),
        other => Err(format!(
            "not captured: the instance runs {other}; Firebreak captures Linux memory only (AVML): \
             capture it by hand (docs/memory.md)"
        )),
    }
}

/// Where the isolation group must let HTTPS go for the agent and the upload: each agent
/// interface endpoint's addresses and S3's prefix list; `Ok(Err(why))` when the team did not opt
/// in or the VPC lacks an endpoint.
async fn endpoint_egress<M: MemoryPort>(
    memory: &M,
    settings: &CaptureSettings,
    region: &str,
    vpc_id: &str,
) -> Result<Result<Vec<EgressTo>, String>, crate::error::AwsError> {
    if !settings.through_endpoints {
        return Ok(Err(
            "not captured: the instance is isolated and its isolation group allows no egress, so \
             its SSM Agent cannot reach Systems Manager (CaptureThroughEndpoints is off)"
                .into(),
        ));
    }
    let endpoints = memory.vpc_endpoints(vpc_id).await?;
    let service = |s: &str| format!("com.amazonaws.{region}.{s}");
    let usable = |name: &str, kind: &str| {
        endpoints
            .iter()
            .find(|e| e.service_name == name && e.endpoint_type == kind && e.state == "available")
    };
    let mut to = Vec::new();
    let mut missing = Vec::new();
    for s in AGENT_ENDPOINTS {
        match usable(&service(s), "Interface") {
            Some(e) if e.private_dns && !e.addresses.is_empty() => to.extend(
                e.addresses
                    .iter()
                    .map(|a| EgressTo::Address(format!("{a}/32"))),
            ),
            _ => missing.push(format!("{} (interface, private DNS)", service(s))),
        }
    }
    let s3 = service("s3");
    match usable(&s3, "Gateway") {
        Some(_) => match memory.prefix_list(&s3).await? {
            Some(pl) => to.push(EgressTo::PrefixList(pl)),
            None => missing.push(format!("{s3}'s prefix list")),
        },
        None => missing.push(format!("{s3} (gateway)")),
    }
    if !missing.is_empty() {
        return Ok(Err(format!(
            "not captured: the instance is isolated and VPC {vpc_id} lacks the endpoints its SSM \
             Agent needs: {}",
            missing.join(", ")
        )));
    }
    Ok(Ok(to))
}

/// Records the capture (its key, command pending), sends it, records its command id.
async fn send<E: InstancesPort, M: MemoryPort>(
    ec2: &E,
    memory: &M,
    settings: &CaptureSettings,
    facts: &InstanceFacts,
    key: String,
) -> Outcome {
    let id = facts.instance_id.as_str();
    let mut record = MemoryRecord {
        key,
        command_id: None,
    };
    let tag = |r: &MemoryRecord| vec![tags::pair(tags::MEMORY, r.encode())];
    if let Err(e) = ec2.tag_instance(id, &tag(&record)).await {
        let what = "not captured: could not record it first (one capture per finding)";
        return Outcome::failed(ACTION, id, what, &e);
    }
    let (bucket, seconds) = (settings.bucket.as_str(), settings.url_seconds);
    let urls = futures::try_join!(
        memory.presign(Presign::Get, bucket, TOOL_KEY, seconds),
        memory.presign(Presign::Put, bucket, &record.key, seconds),
    );
    let (tool_url, upload_url) = match urls {
        Ok(urls) => urls,
        Err(e) => return Outcome::failed(ACTION, id, "could not presign the URLs", &e),
    };
    let parameters = [
        ("ToolUrl", tool_url),
        ("ToolSha256", settings.tool_sha256.to_ascii_lowercase()),
        ("UploadUrl", upload_url),
    ];
    let comment = format!("Firebreak memory capture {}", record.key);
    let command = match memory
        .send_command(&settings.document, id, &parameters, &comment)
        .await
    {
        Ok(c) => c,
        Err(e) => return Outcome::failed(ACTION, id, "Run Command refused the capture", &e),
    };
    let at = format!("s3://{bucket}/{}", record.key);
    let detail = format!("command {command} sent: the image goes to {at}");
    record.command_id = Some(command.clone());
    let done = Outcome::new(ACTION, id, Status::Succeeded, detail);
    match ec2.tag_instance(id, &tag(&record)).await {
        Ok(()) => done,
        Err(e) => done.unrecorded(format!("command {command}"), e.message),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::error::AwsError;
    use crate::playbook::tests::incident;
    use crate::ports::{InterfaceFacts, ManagedInstance, VpcEndpointFacts};

    /// Systems Manager, the endpoints and the instance's tags, recording every call in order.
    struct Fake {
        agent: Option<ManagedInstance>,
        endpoints: Vec<VpcEndpointFacts>,
        calls: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(platform: &str, ping: &str) -> Fake {
            let interface = |s: &str, ip: &str| VpcEndpointFacts {
                service_name: format!("com.amazonaws.us-east-1.{s}"),
                endpoint_type: "Interface".into(),
                state: "available".into(),
                private_dns: true,
                addresses: vec![ip.into()],
            };
            Fake {
                agent: Some(ManagedInstance {
                    ping_status: ping.into(),
                    platform_type: platform.into(),
                }),
                endpoints: vec![
                    interface("ssm", "10.0.0.5"),
                    interface("ssmmessages", "10.0.0.6"),
                    interface("ec2messages", "10.0.0.7"),
                    VpcEndpointFacts {
                        service_name: "com.amazonaws.us-east-1.s3".into(),
                        endpoint_type: "Gateway".into(),
                        state: "available".into(),
                        private_dns: false,
                        addresses: vec![],
                    },
                ],
                calls: Mutex::new(Vec::new()),
            }
        }
        fn log(&self, call: String) {
            self.calls.lock().unwrap().push(call);
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
    }

    impl InstancesPort for Fake {
        async fn describe_instance(&self, _: &str) -> Result<Option<InstanceFacts>, AwsError> {
            unreachable!()
        }
        async fn waiting_for_a_human(&self) -> Result<Vec<InstanceFacts>, AwsError> {
            unreachable!()
        }
        async fn quarantine_starts(&self) -> Result<Vec<(String, String)>, AwsError> {
            unreachable!()
        }
        async fn tag_instance(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
            self.log(format!("tag {}", tags[0].1));
            Ok(())
        }
        async fn untag_instance(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
            unreachable!()
        }
    }

    impl MemoryPort for Fake {
        fn capture_here(&self) -> bool {
            true
        }
        async fn managed_instance(&self, _: &str) -> Result<Option<ManagedInstance>, AwsError> {
            Ok(self.agent.clone())
        }
        async fn vpc_endpoints(&self, _: &str) -> Result<Vec<VpcEndpointFacts>, AwsError> {
            Ok(self.endpoints.clone())
        }
        async fn prefix_list(&self, name: &str) -> Result<Option<String>, AwsError> {
            Ok((name == "com.amazonaws.us-east-1.s3").then(|| "pl-63a5400a".into()))
        }
        async fn allow_capture_egress(&self, g: &str, to: &[EgressTo]) -> Result<(), AwsError> {
            self.log(format!("egress {g} {to:?}"));
            Ok(())
        }
        async fn presign(&self, m: Presign, _: &str, k: &str, _: u64) -> Result<String, AwsError> {
            Ok(format!("https://s3.example/{m:?}/{k}?X-Amz-Signature=00"))
        }
        async fn send_command(
            &self,
            document: &str,
            _: &str,
            parameters: &[(&str, String)],
            _: &str,
        ) -> Result<String, AwsError> {
            let names: Vec<&str> = parameters.iter().map(|(n, _)| *n).collect();
            self.log(format!("send {document} {names:?}"));
            Ok("cmd-1".into())
        }
    }

    fn settings(through_endpoints: bool) -> CaptureSettings {
        CaptureSettings {
            bucket: "evidence".into(),
            document: "FirebreakCapture".into(),
            tool_sha256: "ab".repeat(32),
            through_endpoints,
            url_seconds: 3600,
        }
    }

    fn facts(tags: Vec<(String, String)>) -> InstanceFacts {
        InstanceFacts {
            instance_id: "i-0123456789abcdef0".into(),
            state: "running".into(),
            interfaces: vec![InterfaceFacts {
                network_interface_id: "eni-1".into(),
                vpc_id: "vpc-1".into(),
                group_ids: vec!["sg-iso".into()],
                addresses: vec![],
                trunk: false,
            }],
            volumes: vec![],
            tags,
            spot: false,
            legacy: vec![],
            forged: vec![],
        }
    }

    const ISOLATED: Option<Network<'static>> = Some(Network {
        vpc_id: "vpc-1",
        isolation_group: Some("sg-iso"),
    });

    async fn capture(fake: &Fake, s: &CaptureSettings, f: &InstanceFacts) -> Outcome {
        let i = incident("Backdoor:EC2/C&CActivity.B", 8.0, None);
        capture_memory(fake, fake, s, &i, f, ISOLATED).await
    }

    #[tokio::test]
    async fn an_isolated_instance_gets_the_endpoint_rules_then_its_record_then_the_command() {
        let fake = Fake::new("Linux", "Online");
        let o = capture(&fake, &settings(true), &facts(vec![])).await;
        assert_eq!(o.status, Status::Succeeded, "{o:?}");
        let key = object_key("i-0123456789abcdef0", "f");
        assert!(
            o.detail.contains("cmd-1") && o.detail.contains(&key),
            "{o:?}"
        );
        let calls = fake.calls();
        assert_eq!(calls.len(), 4, "{calls:?}");
        assert!(calls[0].starts_with("egress sg-iso") && calls[0].contains("10.0.0.5/32"));
        assert!(calls[0].contains("pl-63a5400a"), "{calls:?}");
        assert_eq!(calls[1], format!("tag {key} pending"));
        assert!(calls[2].starts_with("send FirebreakCapture"), "{calls:?}");
        assert_eq!(calls[3], format!("tag {key} cmd-1"));
    }

    #[tokio::test]
    async fn a_recorded_capture_of_this_finding_is_not_sent_again() {
        let fake = Fake::new("Linux", "Online");
        let key = object_key("i-0123456789abcdef0", "f");
        let record = vec![tags::pair(tags::MEMORY, format!("{key} cmd-0"))];
        let o = capture(&fake, &settings(true), &facts(record)).await;
        assert_eq!(o.status, Status::AlreadyDone, "{o:?}");
        assert!(o.detail.contains("cmd-0"), "{o:?}");
        assert!(fake.calls().is_empty());
        // Another finding's record: this finding is captured.
        let other = vec![tags::pair(tags::MEMORY, "memory/i-0/other.lime cmd-0")];
        let o = capture(&fake, &settings(true), &facts(other)).await;
        assert_eq!(o.status, Status::Succeeded, "{o:?}");
    }

    #[tokio::test]
    async fn what_cannot_run_is_reported_with_its_reason_and_nothing_is_sent() {
        let cases = [
            (Fake::new("Windows", "Online"), true, "Windows"),
            (Fake::new("Linux", "ConnectionLost"), true, "ConnectionLost"),
            (
                Fake::new("Linux", "Online"),
                false,
                "CaptureThroughEndpoints",
            ),
        ];
        for (fake, opt_in, why) in cases {
            let o = capture(&fake, &settings(opt_in), &facts(vec![])).await;
            assert_eq!(o.status, Status::Skipped, "{o:?}");
            assert!(o.detail.contains(why), "{why}: {o:?}");
            assert!(fake.calls().is_empty(), "{why}: {:?}", fake.calls());
        }
        let mut missing = Fake::new("Linux", "Online");
        missing.endpoints.remove(2);
        let o = capture(&missing, &settings(true), &facts(vec![])).await;
        assert_eq!(o.status, Status::Skipped, "{o:?}");
        assert!(
            o.detail.contains("com.amazonaws.us-east-1.ec2messages"),
            "{o:?}"
        );
        assert!(missing.calls().is_empty());
        let unmanaged = Fake {
            agent: None,
            ..Fake::new("Linux", "Online")
        };
        let o = capture(&unmanaged, &settings(true), &facts(vec![])).await;
        assert!(o.detail.contains("does not manage"), "{o:?}");
        let o = capture(&unmanaged, &CaptureSettings::default(), &facts(vec![])).await;
        assert!(o.detail.contains("not configured"), "{o:?}");
    }

    #[test]
    fn the_object_key_is_the_instance_and_a_digest_of_the_finding() {
        let key = object_key("i-0123456789abcdef0", "arn:aws:securityhub:x/y z'$");
        assert!(key.starts_with("memory/i-0123456789abcdef0/") && key.ends_with(".lime"));
        let digest = &key["memory/i-0123456789abcdef0/".len()..key.len() - 5];
        assert_eq!(digest.len(), 16);
        assert!(digest.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
