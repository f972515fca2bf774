//! Memory capture's settings (`capture-memory`, docs/memory.md).

use super::error::ConfigError;
use super::parse::{flag, number, text};
use crate::ports::{is_sha256, CaptureSettings};

/// `FIREBREAK_EVIDENCE_BUCKET`, `FIREBREAK_CAPTURE_DOCUMENT`, `FIREBREAK_CAPTURE_TOOL_SHA256`,
/// `FIREBREAK_CAPTURE_THROUGH_ENDPOINTS`, `FIREBREAK_CAPTURE_URL_SECONDS`.
pub(super) fn memory_capture(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<CaptureSettings, ConfigError> {
    let tool_sha256 = text(get, "FIREBREAK_CAPTURE_TOOL_SHA256").unwrap_or_default();
    if !tool_sha256.is_empty() && !is_sha256(&tool_sha256) {
        return Err(ConfigError {
            name: "FIREBREAK_CAPTURE_TOOL_SHA256",
            value: tool_sha256,
            reason: "expected a SHA-256: 64 hexadecimal digits".into(),
        });
    }
    Ok(CaptureSettings {
        bucket: text(get, "FIREBREAK_EVIDENCE_BUCKET").unwrap_or_default(),
        document: text(get, "FIREBREAK_CAPTURE_DOCUMENT").unwrap_or_default(),
        tool_sha256,
        through_endpoints: flag(get, "FIREBREAK_CAPTURE_THROUGH_ENDPOINTS", false)?,
        url_seconds: number(
            get,
            "FIREBREAK_CAPTURE_URL_SECONDS",
            3600,
            60..=43_200,
            "expected seconds from 60 to 43200",
        )?,
    })
}
