//! Test controls of the local AWS (`scripts/localaws/faults.py`, `/_firebreak/faults`): eventual
//! consistency of new security groups in a VPC, injected faults on the way into a quarantine
//! group, failing IAM reads of one user or role, a Lambda function's VPC change that Lambda
//! gives up (`LastUpdateStatus` `Failed`); and what SNS sent an e-mail subscriber
//! (`/_firebreak/sns/deliveries`, [`email_deliveries`]).
//!
//! Every test shares one local AWS, so a rule is keyed by an id of the test's own (use
//! [`unique`](crate::fixtures::unique)) and stays installed until it is removed: hold a
//! [`ClearOnDrop`] for it, which removes it however the test ends, or call [`clear`].
//!
//! ```text
//! use firebreak_tests::{faults, fixtures::unique};
//! let id = unique("deny-isolation");
//! let _rule = faults::ClearOnDrop::new(&id); // not `let _ =`: that drops (removes) it at once
//! faults::fail_isolation(&id, &eni, "UnauthorizedOperation", 403).await;
//! // ... ModifyNetworkInterfaceAttribute(eni, [isolation group]) now fails, every time
//! ```

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATH: &str = "/_firebreak/faults";

/// Makes a just-created security group in `vpc_id` answer `InvalidGroup.NotFound` (as EC2's
/// eventual consistency may) to calls that use its id, until it is `seconds` old.
pub async fn eventual_consistency(id: &str, vpc_id: &str, seconds: f64) {
    install(json!({"id": id, "eventual_consistency": {"vpc_id": vpc_id, "seconds": seconds}})).await
}

/// Makes every `ModifyNetworkInterfaceAttribute` on `eni` into a group tagged
/// `firebreak:quarantine-role` = `isolation` fail with `code` and HTTP `status`; any other group
/// change on that ENI still succeeds.
pub async fn fail_isolation(id: &str, eni: &str, code: &str, status: u16) {
    install(json!({"id": id, "fault": {
        "action": "ModifyNetworkInterfaceAttribute",
        "network_interface_id": eni,
        "into_group_role": "isolation",
        "effect": "fail",
        "code": code,
        "message": format!("injected by test rule {id}"),
        "status": status,
    }}))
    .await
}

/// Makes every `ModifyNetworkInterfaceAttribute` on `eni` into a group tagged
/// `firebreak:quarantine-role` = `isolation` wait `seconds` before it is carried out normally
/// (the change happens, late). Other requests are served meanwhile.
pub async fn stall_isolation(id: &str, eni: &str, seconds: f64) {
    install(json!({"id": id, "fault": {
        "action": "ModifyNetworkInterfaceAttribute",
        "network_interface_id": eni,
        "into_group_role": "isolation",
        "effect": "stall",
        "seconds": seconds,
    }}))
    .await
}

/// Lets every `CreateSnapshots` of `instance` take its snapshots, then answer `code` with HTTP
/// `status`: a call that did its work and still failed (a 500, or a timeout, after EC2 started the
/// snapshots).
pub async fn fail_after_snapshots(id: &str, instance: &str, code: &str, status: u16) {
    install(json!({"id": id, "fault": {
        "action": "CreateSnapshots",
        "instance_id": instance,
        "effect": "fail_after",
        "code": code,
        "message": format!("injected by test rule {id}"),
        "status": status,
    }}))
    .await
}

/// Lets every VPC change of the Lambda function `function_name` (`UpdateFunctionConfiguration`
/// with a `VpcConfig`) be accepted — `LastUpdateStatus` `InProgress` — and then end `Failed` with
/// `LastUpdateStatusReasonCode` `code` (`SubnetOutOfIPAddresses`, …) once the launcher's update
/// window has passed, the function's previous VPC configuration back.
pub async fn fail_function_update(id: &str, function_name: &str, code: &str) {
    install(json!({"id": id, "fault": {
        "action": "UpdateFunctionConfiguration",
        "function_name": function_name,
        "effect": "fail_after",
        "code": code,
        "message": format!("injected by test rule {id}"),
    }}))
    .await
}

/// Makes every IAM read of the user or role named `principal` fail with `code` and HTTP `status`:
/// `GetUser`, `ListUserTags`, `ListAccessKeys` and `GetLoginProfile` of that user, `GetRole` and
/// `ListRoleTags` of that role, in IAM's XML error format (so the SDK error's `code()` is `code`).
/// Reads of any other principal, and every IAM write, still succeed. The message is IAM's own
/// "Rate exceeded" for `Throttling`, else one naming the rule.
///
/// `Throttling` is a code the SDK retries (standard mode, 3 attempts, with backoff): a call fails
/// after its retries, a few seconds later.
pub async fn fail_iam_reads(id: &str, principal: &str, code: &str, status: u16) {
    let message = if code == "Throttling" {
        "Rate exceeded".to_string()
    } else {
        format!("injected by test rule {id}")
    };
    install(json!({"id": id, "fault": {
        "action": "IamRead",
        "principal": principal,
        "effect": "fail",
        "code": code,
        "message": message,
        "status": status,
    }}))
    .await
}

/// Removes rule `id` (nothing happens if there is none).
pub async fn clear(id: &str) {
    let (status, body) = send("DELETE", &rule_path(id), "").await;
    expect_ok(status, &body, &format!("removing rule {id}"));
}

/// Removes rule `id` when dropped, also when the test panics.
#[must_use = "the rule is removed when this is dropped: bind it with `let _rule = ...`"]
pub struct ClearOnDrop(String);

impl ClearOnDrop {
    /// A guard for rule `id` (install the rule after taking it).
    pub fn new(id: &str) -> ClearOnDrop {
        ClearOnDrop(id.to_string())
    }
}

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        // Synchronous: `drop` cannot await. A local call, done in milliseconds.
        match send_blocking("DELETE", &rule_path(&self.0), "") {
            Ok((200, _)) => {}
            Ok((status, body)) => {
                eprintln!("faults: removing rule {}: HTTP {status}: {body}", self.0)
            }
            Err(e) => eprintln!("faults: removing rule {}: {e}", self.0),
        }
    }
}

async fn install(rule: Value) {
    let (status, body) = send("POST", PATH, &rule.to_string()).await;
    expect_ok(status, &body, &format!("installing {rule}"));
}

fn rule_path(id: &str) -> String {
    let encoded: String = id
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{PATH}/{encoded}")
}

fn expect_ok(status: u16, body: &str, what: &str) {
    if status != 200 {
        let message = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(String::from))
            .unwrap_or_else(|| body.to_string());
        panic!("local AWS fault control: {what}: HTTP {status}: {message}");
    }
}

/// `host:port` of the local AWS endpoint (`AWS_ENDPOINT_URL`).
fn authority() -> Result<String, String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .map_err(|_| "AWS_ENDPOINT_URL is not set: start the local AWS (scripts/test does)")?;
    let rest = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("the local AWS endpoint {endpoint} is not http://"))?;
    Ok(rest.split('/').next().unwrap_or(rest).to_string())
}

fn request(method: &str, path: &str, body: &str, host: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// (status, body) of a whole `Connection: close` response.
fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP status line: {head:?}"))?;
    Ok((status, body.to_string()))
}

async fn send(method: &str, path: &str, body: &str) -> (u16, String) {
    let host = authority().unwrap_or_else(|e| panic!("local AWS fault control: {e}"));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(&host)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request(method, path, body, &host).as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| e.to_string())?;
        parse_response(&raw)
    };
    exchange
        .await
        .unwrap_or_else(|e| panic!("local AWS fault control at {host}: {method} {path}: {e}"))
}

fn send_blocking(method: &str, path: &str, body: &str) -> Result<(u16, String), String> {
    use std::io::{Read, Write};
    let host = authority()?;
    let mut stream = std::net::TcpStream::connect(&host).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(request(method, path, body, &host).as_bytes())
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    parse_response(&raw)
}

/// What the e-mail or email-json subscription `subscription_arn` was sent, in order: `message_id`,
/// `subject`, `message` (the e-mail body SNS sends; recorded by `scripts/localaws/sns.py`).
pub async fn email_deliveries(subscription_arn: &str) -> Vec<Value> {
    let encoded: String = subscription_arn
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let path = format!("/_firebreak/sns/deliveries?subscription={encoded}");
    let (status, body) = send("GET", &path, "").await;
    expect_ok(
        status,
        &body,
        "reading e-mail deliveries (restart an older local AWS)",
    );
    let answer: Value = serde_json::from_str(&body).unwrap();
    answer["deliveries"].as_array().cloned().unwrap_or_default()
}
