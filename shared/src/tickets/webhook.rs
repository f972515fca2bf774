//! A generic webhook: the finding's ticket as one signed JSON `POST`, for any receiver (a ticket
//! system Firebreak does not speak, a SOAR, a queue's HTTP endpoint).
//!
//! - `X-Firebreak-Signature: t=<unix seconds>,v1=<hex>`: HMAC-SHA-256 with the secret's
//!   `hmac_key` over `<t>.<body>`; a receiver recomputes it, compares in constant time and
//!   refuses a `t` more than five minutes away from its clock (`docs/tickets.md`).
//! - `X-Firebreak-Ticket`: `firebreak-<hash>` (`ports::ticket_id`), the same for every message
//!   of a finding: the receiver's key for the finding's one ticket (open it, or update it).
//! - `Idempotency-Key`: the SHA-256 of the body (which holds no time): the same for each retry
//!   of one message, so a receiver that saw it already drops the copy.
//!
//! The receiver answers 2xx, optionally with `{"key": "…"}` (its ticket's key, shown in the
//! message) and `"done": "opened" | "updated" | "resolved"`.

use ::http::Method;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::ctx::Ctx;
use super::http::Failure;
use crate::ports::{ticket_id, Ticket, TicketDone, TicketEvent, TicketRequest};

/// One try: the message posted.
pub async fn ticket(ctx: &Ctx<'_>, r: &TicketRequest) -> Result<Option<Ticket>, Failure> {
    let id = ticket_id(&r.finding_id);
    let key = ctx.credential("hmac_key")?;
    let body = body(&id, r).to_string();
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let headers = [
        ("x-firebreak-signature", signature(key.as_bytes(), t, &body)),
        ("x-firebreak-ticket", id.clone()),
        (
            "idempotency-key",
            hex(&Sha256::digest(body.as_bytes())[..16]),
        ),
    ];
    let url = &ctx.settings.url;
    let answer = (ctx.http)
        .call(
            Method::POST,
            url,
            &headers,
            Some(body.into_bytes()),
            r.deadline,
        )
        .await?;
    let answer = answer.ok("webhook")?;
    let said: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let done = match (said["done"].as_str(), r.event) {
        (_, TicketEvent::Resolve) => TicketDone::Resolved,
        (Some("updated"), _) => TicketDone::Commented,
        _ => TicketDone::Opened,
    };
    let key = said["key"].as_str().map(shown).filter(|k| !k.is_empty());
    Ok(Some(Ticket {
        system: "webhook",
        key: key.unwrap_or(id),
        done,
    }))
}

/// The message: the ticket id, the finding, the event, the text and the structured report.
pub fn body(id: &str, r: &TicketRequest) -> Value {
    let report: Value = serde_json::from_str(&r.report).unwrap_or(Value::Null);
    json!({
        "ticket_id": id,
        "finding_id": r.finding_id,
        "event": r.event,
        "summary": r.summary,
        "severity": r.severity,
        "text": r.text,
        "report": report,
    })
}

/// `t=<t>,v1=<hex HMAC-SHA-256(key, "<t>.<body>")>`.
pub fn signature(key: &[u8], t: u64, body: &str) -> String {
    // HMAC takes a key of any length (RFC 2104): new_from_slice cannot fail for it.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A receiver's key as shown in a message: printable ASCII, at most 64 characters.
fn shown(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_graphic())
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_time_dot_body() {
        // Computed independently (Python's hmac module), as a receiver would.
        let s = signature(b"Jefe", 1700000000, "{\"a\":1}");
        assert_eq!(
            s,
            "t=1700000000,v1=fa5f6481efc59da48b19c9dc10196c9953e5651f8304b3a318b6b87d70272e0a"
        );
        assert_eq!(shown("SEC-1\n<b>"), "SEC-1<b>");
    }
}
