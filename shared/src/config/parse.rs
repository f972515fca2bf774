//! The readers every setting shares: a flag, a number (or `off`), a list, a text.

use super::error::ConfigError;

/// `true` or `false` (blank: `default`).
pub(super) fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            value: other.into(),
            reason: "expected true or false".into(),
        }),
    }
}

/// Variable `name`, trimmed; `None` when unset or blank.
pub(super) fn text(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Whether `s` is an AWS account id (12 digits).
pub(super) fn account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Variable `name` as a list, comma- or space-separated (empty when unset), each item checked by
/// `valid`; the first that fails is the error, with `reason`.
pub(super) fn listed(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    valid: fn(&str) -> bool,
    reason: &str,
) -> Result<Vec<String>, ConfigError> {
    let value = get(name).unwrap_or_default();
    let items: Vec<String> = (value.split(|c: char| c == ',' || c.is_whitespace()))
        .filter(|v| !v.is_empty())
        .map(String::from)
        .collect();
    match items.iter().find(|v| !valid(v)) {
        Some(bad) => Err(ConfigError {
            name,
            value: bad.clone(),
            reason: reason.into(),
        }),
        None => Ok(items),
    }
}

/// Like [`number`], but the word `off` (`never`, `unlimited`) turns the setting off: `None`.
pub(super) fn number_or_off<T: std::str::FromStr + PartialOrd>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    off: &str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    reason: &'static str,
) -> Result<Option<T>, ConfigError> {
    match get(name) {
        Some(v) if v.trim() == off => Ok(None),
        _ => number(get, name, default, range, reason).map(Some),
    }
}

/// Variable `name` as a number in `range`, `default` when unset.
pub(super) fn number<T: std::str::FromStr + PartialOrd>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
    reason: &'static str,
) -> Result<T, ConfigError> {
    let Some(value) = get(name) else {
        return Ok(default);
    };
    match value.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError {
            name,
            value,
            reason: reason.into(),
        }),
    }
}
