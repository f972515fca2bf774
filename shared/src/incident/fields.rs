//! Reading an event's JSON: the EventBridge envelope and the string fields, as both parsers
//! ([`super::guardduty`], [`super::asff`]) read them.

use serde_json::{Map, Value};

use crate::error::ParseError;

/// The EventBridge envelope of an event of this `detail-type` from this `source`, or why not.
pub(crate) fn eventbridge_envelope<'a>(
    event: &'a Value,
    want_detail_type: &str,
    want_source: &str,
) -> Result<&'a Map<String, Value>, ParseError> {
    let envelope = event.as_object().ok_or(ParseError::NotAnObject)?;
    let detail_type = envelope.get("detail-type").and_then(Value::as_str);
    let source = envelope.get("source").and_then(Value::as_str);
    if detail_type != Some(want_detail_type) || source != Some(want_source) {
        return Err(ParseError::UnsupportedEvent {
            detail_type: detail_type.unwrap_or("<none>").to_string(),
            event_source: source.unwrap_or("<none>").to_string(),
        });
    }
    Ok(envelope)
}

pub(crate) fn required_str(v: &Value, field: &'static str) -> Result<String, ParseError> {
    match v.get(field) {
        None | Some(Value::Null) => Err(ParseError::MissingField(field)),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(other) => Err(ParseError::InvalidField {
            field,
            reason: format!("expected a non-empty string, got {other}"),
        }),
    }
}

pub(crate) fn opt_str(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(String::from)
}
