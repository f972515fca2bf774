//! Configuration, read once at start-up from environment variables. A bad value stops the function
//! at init (a clear init error), never halfway through an incident.

use thiserror::Error;

/// Apply the plan, or only show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Carry out the plan.
    Apply,
    /// Log and notify the plan; change nothing.
    DryRun,
}

impl Mode {
    /// `apply` or `dry-run`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Apply => "apply",
            Mode::DryRun => "dry-run",
        }
    }
}

/// A configuration value that cannot be used.
#[derive(Debug, Error, PartialEq)]
#[error("configuration {name}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

/// Everything the responders need to know about their deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `FIREBREAK_MODE`: `apply` (default) or `dry-run`.
    pub mode: Mode,
    /// `FIREBREAK_TOPIC_ARN`: where notifications go (required).
    pub topic_arn: String,
    /// `FIREBREAK_SEVERITY_THRESHOLD`: minimum severity for containment (default 7.0).
    pub severity_threshold: f64,
    /// `FIREBREAK_EXEMPT_TAG`: instances with this tag set to `true` are never touched (default `firebreak:exempt`).
    pub exempt_tag: String,
    /// `FIREBREAK_ACT_ON_SAMPLE_FINDINGS`: treat console sample findings as real (default false).
    pub act_on_sample_findings: bool,
    /// `FIREBREAK_REMOVE_LOGIN_SEVERITY`: minimum severity at which revoking an IAM user's
    /// credentials also removes its console password (default 7.0, GuardDuty's HIGH; `never` to keep it).
    pub remove_login_severity: Option<f64>,
    /// `FIREBREAK_MAX_CONCURRENT_FINDINGS`: findings of one custom action handled at a time
    /// (default 5, so one analyst's click on 100 findings stays under EC2's mutating-API rates).
    pub max_concurrent_findings: usize,
    /// `FIREBREAK_MAX_QUARANTINES_PER_HOUR`: the blast-radius cap. At most this many instances of
    /// one account and region are quarantined automatically per rolling hour (default 10;
    /// `unlimited` to lift it). Beyond it, GuardDuty findings get evidence only and a human is asked
    /// to decide; an analyst's custom action is never capped.
    pub max_quarantines_per_hour: Option<usize>,
    /// `FIREBREAK_MEMBER_ROLE`: the role assumed in an account other than the function's own
    /// (default `FirebreakResponder`, as `infra/member-role.yaml` creates it).
    pub member_role: String,
    /// `FIREBREAK_MEMBER_EXTERNAL_ID`: the external id the member role's trust policy requires
    /// (unset: none is sent).
    pub member_external_id: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): the session name in member accounts.
    pub function_name: String,
}

/// `FIREBREAK_MODE`.
fn mode(get: &impl Fn(&str) -> Option<String>) -> Result<Mode, ConfigError> {
    match get("FIREBREAK_MODE").as_deref().map(str::trim) {
        None | Some("") | Some("apply") => Ok(Mode::Apply),
        Some("dry-run") | Some("dryrun") | Some("dry_run") => Ok(Mode::DryRun),
        Some(other) => Err(ConfigError {
            name: "FIREBREAK_MODE",
            value: other.into(),
            reason: "expected apply or dry-run",
        }),
    }
}

/// `FIREBREAK_MEMBER_ROLE`.
fn member_role(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let member_role =
        text(get, "FIREBREAK_MEMBER_ROLE").unwrap_or_else(|| "FirebreakResponder".into());
    if !crate::incident::is_iam_name(&member_role) {
        return Err(ConfigError {
            name: "FIREBREAK_MEMBER_ROLE",
            value: member_role,
            reason: "expected an IAM role name",
        });
    }
    Ok(member_role)
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mode = mode(&get)?;
        let topic_arn = get("FIREBREAK_TOPIC_ARN").unwrap_or_default();
        if !topic_arn.starts_with("arn:") || !topic_arn.contains(":sns:") {
            return Err(ConfigError {
                name: "FIREBREAK_TOPIC_ARN",
                value: topic_arn,
                reason: "expected an SNS topic ARN",
            });
        }
        let severity_threshold = number(
            &get,
            "FIREBREAK_SEVERITY_THRESHOLD",
            7.0,
            0.0..=10.0,
            "expected a number from 0 to 10",
        )?;
        let exempt_tag = get("FIREBREAK_EXEMPT_TAG")
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| crate::tags::DEFAULT_EXEMPT.into());
        let act_on_sample_findings = match get("FIREBREAK_ACT_ON_SAMPLE_FINDINGS").as_deref() {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError {
                    name: "FIREBREAK_ACT_ON_SAMPLE_FINDINGS",
                    value: other.into(),
                    reason: "expected true or false",
                })
            }
        };
        let remove_login_severity = number_or_off(
            &get,
            "FIREBREAK_REMOVE_LOGIN_SEVERITY",
            "never",
            7.0,
            0.0..=10.0,
            "expected a number from 0 to 10, or never",
        )?;
        let max_concurrent_findings = number(
            &get,
            "FIREBREAK_MAX_CONCURRENT_FINDINGS",
            5,
            1..=100,
            "expected a number from 1 to 100",
        )?;
        let max_quarantines_per_hour = number_or_off(
            &get,
            "FIREBREAK_MAX_QUARANTINES_PER_HOUR",
            "unlimited",
            10,
            1..=10_000,
            "expected a number from 1 to 10000, or unlimited",
        )?;
        let member_role = member_role(&get)?;
        let member_external_id = text(&get, "FIREBREAK_MEMBER_EXTERNAL_ID");
        let function_name = get("AWS_LAMBDA_FUNCTION_NAME")
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "firebreak".into());
        Ok(Config {
            mode,
            member_role,
            member_external_id,
            function_name,
            max_concurrent_findings,
            max_quarantines_per_hour,
            topic_arn,
            severity_threshold,
            exempt_tag,
            act_on_sample_findings,
            remove_login_severity,
        })
    }

    /// Defaults with a placeholder topic, for unit tests.
    #[cfg(test)]
    pub fn for_tests() -> Config {
        Config::from_lookup(|name| {
            (name == "FIREBREAK_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".into())
        })
        .unwrap()
    }
}

/// Variable `name`, trimmed; `None` when unset or blank.
fn text(get: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    get(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Like [`number`], but the word `off` (`never`, `unlimited`) turns the setting off: `None`.
fn number_or_off<T: std::str::FromStr + PartialOrd>(
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
fn number<T: std::str::FromStr + PartialOrd>(
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
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bad_values() {
        let c = Config::for_tests();
        assert_eq!(c.mode, Mode::Apply);
        assert_eq!(c.severity_threshold, 7.0);
        assert_eq!(c.exempt_tag, "firebreak:exempt");
        let with = |k: &'static str, v: &'static str| {
            Config::from_lookup(move |name| match name {
                "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:1:t".into()),
                n if n == k => Some(v.into()),
                _ => None,
            })
        };
        assert_eq!(
            with("FIREBREAK_MODE", "dry-run").unwrap().mode,
            Mode::DryRun
        );
        assert!(with("FIREBREAK_MODE", "yolo").is_err());
        assert!(with("FIREBREAK_SEVERITY_THRESHOLD", "eleven").is_err());
        assert_eq!(c.remove_login_severity, Some(7.0));
        assert_eq!(
            with("FIREBREAK_REMOVE_LOGIN_SEVERITY", "never")
                .unwrap()
                .remove_login_severity,
            None
        );
        assert!(with("FIREBREAK_REMOVE_LOGIN_SEVERITY", "high").is_err());
        assert_eq!(c.max_quarantines_per_hour, Some(10));
        assert_eq!(
            with("FIREBREAK_MAX_QUARANTINES_PER_HOUR", "unlimited")
                .unwrap()
                .max_quarantines_per_hour,
            None
        );
        assert!(with("FIREBREAK_MAX_QUARANTINES_PER_HOUR", "0").is_err());
        assert_eq!(c.member_role, "FirebreakResponder");
        assert_eq!(c.member_external_id, None);
        assert!(with("FIREBREAK_MEMBER_ROLE", "not a role/name").is_err());
        assert!(Config::from_lookup(|_| None).is_err());
    }
}
