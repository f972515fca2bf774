//! Decisions from chat: the Approve, Reject and Release buttons AWS Chatbot (Amazon Q Developer in
//! chat applications) puts on a notification, through its custom actions.
//!
//! A custom action runs one AWS CLI command of at most 100 characters in which `$name` is replaced
//! by a value the action's attachment reads from the notification
//! (`event.metadata.additionalContext.<key>`). Firebreak's command (the template's
//! `ChatApproveAction`, …) is
//! `lambda invoke --function-name $f --region $r --payload {"fb-chat":"approve","x":"$x","t":"$t"}`:
//! the notification carries the function (`fbFunction`), its region (`fbRegion`), what is decided
//! about (`fbAwaiting` on an `ask`, `fbContained` on a containment: `<account>/<region>/<instance>/
//! <finding id>`) and the finding's type (`fbType`), each only when every character is one a CLI
//! word and a JSON string keep as they are.
//!
//! The clicker can change every value before running it, and anyone allowed to invoke the function
//! can send the same payload: nothing in it is trusted but as a question. `decide.rs` acts only on
//! an instance whose own sealed record names that finding and is waiting for that decision. Who
//! clicked is not in the payload: Chatbot reports it to CloudTrail (the `Invoke` data event's
//! `userIdentity`, the session of the channel's or the user's role), so the decision records the
//! invocation's request id, which finds that event.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::approval::{Approval, Decision, Via};
use crate::config::{ChatDecisions, Config};
use crate::error::ParseError;
use crate::incident::ids::{is_instance_id, Arn};
use crate::incident::{Incident, InstanceRef, Resource, Source};
use crate::shell;

/// The key of a chat decision's payload.
pub const CHAT_KEY: &str = "fb-chat";
/// The notification's keys the custom actions read (`additionalContext`).
pub const FUNCTION: &str = "fbFunction";
/// The function's region.
pub const REGION: &str = "fbRegion";
/// On an `ask`: what Approve and Reject decide about.
pub const AWAITING: &str = "fbAwaiting";
/// On a containment: what Release releases.
pub const CONTAINED: &str = "fbContained";
/// The finding's type, when it is one CLI word.
pub const TYPE: &str = "fbType";

/// The longest finding id a button carries.
const MAX_FINDING_ID: usize = 512;

/// A character a CLI word and a JSON string keep as they are (no space, quote or backslash).
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_FINDING_ID
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '.' | '_' | '-' | '&' | '+' | '=')
        })
}

/// The buttons' values for a notification about `incident` with this verdict: none unless the
/// deployment turned chat decisions on and every value is plain.
pub fn context(
    incident: &Incident,
    config: &Config,
    awaiting: bool,
    contained: bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(instance) = incident.instance() else {
        return out;
    };
    let Some(function) = config.approval_function.as_deref() else {
        return out;
    };
    let home = Arn::lenient(&config.topic_arn).region;
    let key = match (config.chat_decisions, awaiting, contained) {
        (ChatDecisions::Off, ..) => return out,
        (_, true, _) => AWAITING,
        (ChatDecisions::ApproveRejectRelease, false, true) => CONTAINED,
        _ => return out,
    };
    let target = format!(
        "{}/{}/{}/{}",
        incident.account, incident.region, instance.instance_id, incident.finding_id
    );
    if !(shell::lambda_function(function) && shell::region(home) && plain(&target)) {
        return out;
    }
    out.insert(FUNCTION.into(), function.into());
    out.insert(REGION.into(), home.into());
    out.insert(key.into(), target);
    let kind = &incident.finding_type;
    out.insert(
        TYPE.into(),
        if plain(kind) { kind } else { "unknown" }.into(),
    );
    out
}

fn invalid(field: &'static str, reason: String) -> ParseError {
    ParseError::InvalidField { field, reason }
}

/// Whether an event is a chat decision.
pub fn is_chat(event: &Value) -> bool {
    event.get(CHAT_KEY).is_some()
}

/// A chat decision's payload, read as an [`Approval`] (via chat); `request_id`: the invocation's,
/// which CloudTrail's record of it carries. A verb the deployment did not turn on is refused.
pub fn from_event(
    event: &Value,
    enabled: ChatDecisions,
    request_id: &str,
) -> Result<Approval, ParseError> {
    let verb = event.get(CHAT_KEY).and_then(Value::as_str).unwrap_or("");
    let decision = match verb {
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        "release" => Decision::Release,
        other => {
            return Err(invalid(
                CHAT_KEY,
                format!("{other:?}: expected approve, reject or release"),
            ))
        }
    };
    let allowed = match decision {
        Decision::Release => enabled == ChatDecisions::ApproveRejectRelease,
        _ => enabled != ChatDecisions::Off,
    };
    if !allowed {
        return Err(invalid(
            CHAT_KEY,
            format!("{verb} from chat is not turned on (FIREBREAK_CHAT_DECISIONS)"),
        ));
    }
    let target = event.get("x").and_then(Value::as_str).unwrap_or("");
    let mut parts = target.splitn(4, '/');
    let mut next = || parts.next().unwrap_or("");
    let (account, region, instance, finding) = (next(), next(), next(), next());
    let ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !(ok && shell::region(region) && is_instance_id(instance) && plain(finding)) {
        return Err(invalid(
            "x",
            format!("{target:?}: expected <account>/<region>/<instance id>/<finding id>"),
        ));
    }
    let kind = event.get("t").and_then(Value::as_str).filter(|t| plain(t));
    let incident = Incident {
        source: Source::GuardDuty,
        finding_id: finding.to_string(),
        finding_arn: None,
        finding_type: kind.unwrap_or("unknown").to_string(),
        title: None,
        severity: 0.0,
        account: account.to_string(),
        region: region.to_string(),
        partition: "aws".to_string(),
        sample: false,
        archived: false,
        resource_role: None,
        resource: Resource::Instance(InstanceRef {
            instance_id: instance.to_string(),
            network_interfaces: Vec::new(),
            tags: Vec::new(),
            instance_profile_arn: None,
        }),
        security_hub: None,
    };
    let request: String = request_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    Ok(Approval {
        decision,
        by: format!("chat-request-{request}"),
        via: Via::Chat,
        incident,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(decisions: ChatDecisions) -> Config {
        let mut c = Config::for_tests();
        c.chat_decisions = decisions;
        c.approval_function = Some("firebreak-securityhub-action".into());
        c.topic_arn = "arn:aws:sns:eu-west-1:111122223333:firebreak".into();
        c
    }

    fn incident() -> Incident {
        let event = json!({ CHAT_KEY: "approve",
            "x": "123456789012/us-east-1/i-0123456789abcdef0/7ab3c0ffee",
            "t": "Backdoor:EC2/C&CActivity.B" });
        from_event(&event, ChatDecisions::ApproveReject, "r-1")
            .unwrap()
            .incident
    }

    #[test]
    fn an_ask_carries_approve_and_reject_and_a_containment_release_only_when_turned_on() {
        let i = incident();
        let on = config(ChatDecisions::ApproveReject);
        let c = context(&i, &on, true, false);
        assert_eq!(c[FUNCTION], "firebreak-securityhub-action");
        assert_eq!(c[REGION], "eu-west-1");
        assert_eq!(
            c[AWAITING],
            "123456789012/us-east-1/i-0123456789abcdef0/7ab3c0ffee"
        );
        assert_eq!(c[TYPE], "Backdoor:EC2/C&CActivity.B");
        assert!(context(&i, &on, false, true).is_empty());
        let release = config(ChatDecisions::ApproveRejectRelease);
        assert!(context(&i, &release, false, true).contains_key(CONTAINED));
        assert!(context(&i, &config(ChatDecisions::Off), true, false).is_empty());
        assert!(context(&i, &release, false, false).is_empty());
    }

    #[test]
    fn a_value_a_cli_word_would_not_keep_puts_no_button() {
        let mut i = incident();
        i.finding_id = "f 1\"".into();
        assert!(context(&i, &config(ChatDecisions::ApproveReject), true, false).is_empty());
        let mut i = incident();
        i.finding_type = "TTPs/Initial Access/x".into();
        let c = context(&i, &config(ChatDecisions::ApproveReject), true, false);
        assert_eq!(c[TYPE], "unknown");
    }

    #[test]
    fn the_payload_is_checked_and_who_decided_is_the_request() {
        let a = from_event(
            &json!({ CHAT_KEY: "reject", "x": "123456789012/us-east-1/i-0123456789abcdef0/a/b:c" }),
            ChatDecisions::ApproveReject,
            "4f1c-9e\"; rm",
        )
        .unwrap();
        assert_eq!(a.decision, Decision::Reject);
        assert_eq!(a.incident.finding_id, "a/b:c");
        assert_eq!(a.incident.finding_type, "unknown");
        assert_eq!(a.by, "chat-request-4f1c-9erm");
        for bad in [
            json!({ CHAT_KEY: "maybe", "x": "123456789012/us-east-1/i-0123456789abcdef0/f" }),
            json!({ CHAT_KEY: "approve", "x": "12345678901/us-east-1/i-0123456789abcdef0/f" }),
            json!({ CHAT_KEY: "approve", "x": "123456789012/us east/i-0123456789abcdef0/f" }),
            json!({ CHAT_KEY: "approve", "x": "123456789012/us-east-1/vol-0123/f" }),
            json!({ CHAT_KEY: "approve", "x": "123456789012/us-east-1/i-0123456789abcdef0/" }),
            json!({ CHAT_KEY: "approve" }),
            json!({ CHAT_KEY: 7 }),
        ] {
            assert!(
                from_event(&bad, ChatDecisions::ApproveRejectRelease, "r").is_err(),
                "{bad}"
            );
        }
        let release =
            json!({ CHAT_KEY: "release", "x": "123456789012/us-east-1/i-0123456789abcdef0/f" });
        assert!(from_event(&release, ChatDecisions::ApproveReject, "r").is_err());
        assert!(from_event(&release, ChatDecisions::ApproveRejectRelease, "r").is_ok());
        let approve =
            json!({ CHAT_KEY: "approve", "x": "123456789012/us-east-1/i-0123456789abcdef0/f" });
        assert!(from_event(&approve, ChatDecisions::Off, "r").is_err());
        assert!(is_chat(&approve) && !is_chat(&json!({"detail": {}})));
    }
}
