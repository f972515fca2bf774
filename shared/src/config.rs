//! Configuration, read once at start-up from environment variables. A bad value stops the function
//! at init (a clear init error), never halfway through an incident.

use std::time::Duration;

use tokio::time::Instant;

use crate::playbook::file::Rules;
use crate::ports::CaptureSettings;

mod capture;
mod chat;
mod error;
mod parse;
pub mod tickets;

pub use chat::ChatDecisions;
pub use error::ConfigError;
pub use tickets::{TicketSettings, TicketSystem};

use capture::memory_capture;
use chat::chat_decisions;
use parse::{account_id, flag, listed, number, number_or_off, text};

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

/// Everything the responders need to know about their deployment.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// `FIREBREAK_MODE`: `apply` (default) or `dry-run`.
    pub mode: Mode,
    /// `FIREBREAK_MALWARE_READERS`: the role ARNs (`*` allowed) that may still read an S3 object
    /// GuardDuty found malware in, once Firebreak's statement denies it to everyone else.
    pub malware_readers: Vec<String>,
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
    /// `FIREBREAK_NETWORK_ACL_DENY`: quarantine also denies the instance's addresses in the network
    /// ACLs of its VPC, which cuts connections a security group change cannot (default true).
    pub network_acl_deny: bool,
    /// `FIREBREAK_CALL_TIMEOUT_SECONDS`: how long one attempt of an AWS call may take (default 5).
    pub call_timeout: Duration,
    /// `FIREBREAK_OPERATION_TIMEOUT_SECONDS`: how long an AWS call may take with its retries
    /// (default 15; at least the call timeout).
    pub operation_timeout: Duration,
    /// `FIREBREAK_INCIDENT_TIMEOUT_SECONDS`: the deadline for containing one incident (default 40);
    /// each invocation also keeps [`DEADLINE_RESERVE`] of Lambda's own deadline for reporting and
    /// cleaning up. Past it, an interface not yet isolated is put back into its own groups.
    pub incident_timeout: Duration,
    /// `FIREBREAK_EXFILTRATION_REVOCATION`: `instance` (default) denies only the sessions a role
    /// issued to the instance whose credentials were used elsewhere; `role` denies every session of
    /// the role (every instance, task or function using it fails until its credentials rotate).
    pub revoke_whole_role_on_exfiltration: bool,
    /// `FIREBREAK_PROTECTED_PRINCIPALS`: IAM users and roles (names or ARNs, separated by commas or
    /// spaces) Firebreak never revokes; its own roles belong here (the template lists them), and the
    /// member role always is. Revoking them would deny Firebreak's own sessions.
    pub protected_principals: Vec<String>,
    /// Set per invocation by [`Config::within`]: Lambda's deadline less [`DEADLINE_RESERVE`].
    pub invocation_deadline: Option<Instant>,
    /// `FIREBREAK_REMIND_AFTER_MINUTES`: an instance nobody decided about (awaiting approval, or
    /// held by the cap) is reminded once after this long (default 60; `never`: no reminder).
    pub remind_after_minutes: Option<u64>,
    /// The accounts and regions the reminders look in beside the function's own
    /// (`FIREBREAK_REMIND_ACCOUNTS`, `FIREBREAK_REMIND_REGIONS`: comma-separated): every account
    /// and region Firebreak acts in, each account in each region.
    pub remind_in: (Vec<String>, Vec<String>),
    /// `FIREBREAK_APPROVAL_FUNCTION`: the function that takes an `ask`'s approval
    /// (`securityhub-action`), named in the ready command of the notification.
    pub approval_function: Option<String>,
    /// `FIREBREAK_CHAT_DECISIONS`: which decisions the chat's buttons may send (`off`, the default;
    /// `approve-reject`; `approve-reject-release`), `approval/chat.rs`.
    pub chat_decisions: ChatDecisions,
    /// `FIREBREAK_PLAYBOOK_FILE`: the playbook (a TOML file read once at start-up; unset: the
    /// built-in default, `infra/playbooks/default.toml`).
    pub playbook: Rules,
    /// `FIREBREAK_RECORD_KEY_SECRET`: the Secrets Manager secret (ARN or name) holding the key that
    /// seals Firebreak's records (`seal.rs`). Unset: every response fails, as nothing recorded can
    /// be trusted or written (`RecordKeyUnavailable`).
    pub record_key_secret: Option<String>,
    /// `FIREBREAK_TICKETS` and its settings (`config/tickets.rs`): the ticket system a finding's
    /// ticket is kept in; `None` (`off`, the default): no tickets.
    pub tickets: Option<TicketSettings>,
    /// Memory capture (`capture-memory`, docs/memory.md): `FIREBREAK_EVIDENCE_BUCKET`,
    /// `FIREBREAK_CAPTURE_DOCUMENT`, `FIREBREAK_CAPTURE_TOOL_SHA256`,
    /// `FIREBREAK_CAPTURE_THROUGH_ENDPOINTS`, `FIREBREAK_CAPTURE_URL_SECONDS`.
    pub memory_capture: CaptureSettings,
}

/// What an invocation keeps of Lambda's deadline to put back what is half done (one call, at most
/// the operation timeout's default, 15 s), report and notify.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(20);

/// `FIREBREAK_TOPIC_ARN`.
fn topic_arn(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let arn = get("FIREBREAK_TOPIC_ARN").unwrap_or_default();
    if arn.starts_with("arn:") && arn.contains(":sns:") {
        return Ok(arn);
    }
    Err(ConfigError {
        name: "FIREBREAK_TOPIC_ARN",
        value: arn,
        reason: "expected an SNS topic ARN".into(),
    })
}

/// `FIREBREAK_MODE`.
fn mode(get: &impl Fn(&str) -> Option<String>) -> Result<Mode, ConfigError> {
    match get("FIREBREAK_MODE").as_deref().map(str::trim) {
        None | Some("") | Some("apply") => Ok(Mode::Apply),
        Some("dry-run") | Some("dryrun") | Some("dry_run") => Ok(Mode::DryRun),
        Some(other) => Err(ConfigError {
            name: "FIREBREAK_MODE",
            value: other.into(),
            reason: "expected apply or dry-run".into(),
        }),
    }
}

/// The call, operation and incident timeouts.
fn timeouts(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<(Duration, Duration, Duration), ConfigError> {
    let seconds = |name, default, max: f64| {
        number(get, name, default, 0.1..=max, "expected seconds, from 0.1")
            .map(Duration::from_secs_f64)
    };
    let call = seconds("FIREBREAK_CALL_TIMEOUT_SECONDS", 5.0, 60.0)?;
    let operation = seconds("FIREBREAK_OPERATION_TIMEOUT_SECONDS", 15.0, 300.0)?;
    if operation < call {
        return Err(ConfigError {
            name: "FIREBREAK_OPERATION_TIMEOUT_SECONDS",
            value: format!("{}", operation.as_secs_f64()),
            reason: "expected at least FIREBREAK_CALL_TIMEOUT_SECONDS".into(),
        });
    }
    let incident = seconds("FIREBREAK_INCIDENT_TIMEOUT_SECONDS", 40.0, 900.0)?;
    Ok((call, operation, incident))
}

/// `FIREBREAK_EXFILTRATION_REVOCATION`: true for `role`.
fn exfiltration_scope(get: &impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match get("FIREBREAK_EXFILTRATION_REVOCATION")
        .as_deref()
        .map(str::trim)
    {
        None | Some("") | Some("instance") => Ok(false),
        Some("role") => Ok(true),
        Some(other) => Err(ConfigError {
            name: "FIREBREAK_EXFILTRATION_REVOCATION",
            value: other.into(),
            reason: "expected instance or role".into(),
        }),
    }
}

/// `FIREBREAK_PROTECTED_PRINCIPALS` as names (an ARN's last path segment), with the member role.
fn protected_principals(get: &impl Fn(&str) -> Option<String>, member_role: &str) -> Vec<String> {
    let listed = get("FIREBREAK_PROTECTED_PRINCIPALS").unwrap_or_default();
    let mut names: Vec<String> = listed
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit('/').next().unwrap_or(p).to_string())
        .collect();
    names.push(member_role.to_string());
    names
}

/// `FIREBREAK_MALWARE_READERS`: role ARNs, comma- or space-separated.
fn malware_readers(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let role_arn = |a: &str| a.starts_with("arn:") && a.contains(":iam::");
    listed(
        get,
        "FIREBREAK_MALWARE_READERS",
        role_arn,
        "expected IAM role ARNs",
    )
}

/// `FIREBREAK_MEMBER_ROLE`.
fn member_role(get: &impl Fn(&str) -> Option<String>) -> Result<String, ConfigError> {
    let member_role =
        text(get, "FIREBREAK_MEMBER_ROLE").unwrap_or_else(|| "FirebreakResponder".into());
    if !crate::incident::ids::is_iam_name(&member_role) {
        return Err(ConfigError {
            name: "FIREBREAK_MEMBER_ROLE",
            value: member_role,
            reason: "expected an IAM role name".into(),
        });
    }
    Ok(member_role)
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// This configuration for an invocation with `remaining` time before Lambda stops it.
    pub fn within(&self, remaining: Duration) -> Config {
        Config {
            invocation_deadline: Some(Instant::now() + remaining.saturating_sub(DEADLINE_RESERVE)),
            ..self.clone()
        }
    }

    /// The deadline of an incident starting now: [`Config::incident_timeout`] from now, and no
    /// later than the invocation's.
    pub fn incident_deadline(&self) -> Instant {
        let own = Instant::now() + self.incident_timeout;
        self.invocation_deadline.map_or(own, |d| d.min(own))
    }

    /// True for a user or role Firebreak must never revoke (its own, or listed).
    pub fn is_protected(&self, principal_name: &str) -> bool {
        self.protected_principals
            .iter()
            .any(|p| p == principal_name)
    }

    /// Reads the configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let config = Config::settings(&get)?;
        // The team's side: the playbook, approvals and their reminders.
        let playbook = playbook(&get, config.severity_threshold)?;
        let remind_after_minutes = number_or_off(
            &get,
            "FIREBREAK_REMIND_AFTER_MINUTES",
            "never",
            60,
            1..=10_080,
            "expected minutes from 1 to 10080 (a week), or never",
        )?;
        let remind_in = (
            listed(
                &get,
                "FIREBREAK_REMIND_ACCOUNTS",
                account_id,
                "a 12-digit account id",
            )?,
            listed(
                &get,
                "FIREBREAK_REMIND_REGIONS",
                crate::shell::region,
                "a region",
            )?,
        );
        let tickets = tickets::tickets(&get).map_err(|e| ConfigError {
            name: e.name,
            value: e.value,
            reason: e.reason,
        })?;
        Ok(Config {
            playbook,
            tickets,
            approval_function: text(&get, "FIREBREAK_APPROVAL_FUNCTION"),
            chat_decisions: chat_decisions(&get)?,
            remind_after_minutes,
            remind_in,
            ..config
        })
    }

    /// Everything but the playbook.
    fn settings(get: &impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| get(name);
        let mode = mode(&get)?;
        let topic_arn = topic_arn(&get)?;
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
        let act_on_sample_findings = flag(&get, "FIREBREAK_ACT_ON_SAMPLE_FINDINGS", false)?;
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
        let (call_timeout, operation_timeout, incident_timeout) = timeouts(&get)?;
        Ok(Config {
            mode,
            malware_readers: malware_readers(&get)?,
            member_role: member_role.clone(),
            member_external_id,
            function_name,
            max_concurrent_findings,
            max_quarantines_per_hour,
            topic_arn,
            severity_threshold,
            exempt_tag,
            act_on_sample_findings,
            remove_login_severity,
            network_acl_deny: flag(&get, "FIREBREAK_NETWORK_ACL_DENY", true)?,
            call_timeout,
            operation_timeout,
            incident_timeout,
            protected_principals: protected_principals(&get, &member_role),
            revoke_whole_role_on_exfiltration: exfiltration_scope(&get)?,
            invocation_deadline: None,
            approval_function: None,
            chat_decisions: ChatDecisions::Off,
            remind_after_minutes: None,
            remind_in: (Vec::new(), Vec::new()),
            playbook: Rules::default(),
            record_key_secret: text(&get, "FIREBREAK_RECORD_KEY_SECRET"),
            tickets: None,
            memory_capture: memory_capture(&get)?,
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

/// The playbook: the file `FIREBREAK_PLAYBOOK_FILE` names, read and validated now, or the built-in
/// default. A playbook that cannot be read or used stops the function at start-up.
fn playbook(get: &impl Fn(&str) -> Option<String>, threshold: f64) -> Result<Rules, ConfigError> {
    let Some(path) = text(get, "FIREBREAK_PLAYBOOK_FILE") else {
        return Ok(Rules::default_playbook(threshold));
    };
    let fail = |reason: String| ConfigError {
        name: "FIREBREAK_PLAYBOOK_FILE",
        value: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    Rules::parse(&text, &path, threshold).map_err(|e| fail(e.message))
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
        assert!(c.network_acl_deny);
        assert!(c.is_protected("FirebreakResponder"));
        let listed = with(
            "FIREBREAK_PROTECTED_PRINCIPALS",
            "arn:aws:iam::1:role/stack-GuardDutyResponderRole-AB12, break-glass",
        )
        .unwrap();
        assert!(listed.is_protected("stack-GuardDutyResponderRole-AB12"));
        assert!(listed.is_protected("break-glass") && !listed.is_protected("alice"));
        assert!(
            !with("FIREBREAK_NETWORK_ACL_DENY", "false")
                .unwrap()
                .network_acl_deny
        );
        assert!(with("FIREBREAK_NETWORK_ACL_DENY", "off").is_err());
        let accounts = with("FIREBREAK_REMIND_ACCOUNTS", " 111111111111,222222222222 ,");
        assert_eq!(accounts.unwrap().remind_in.0.len(), 2);
        assert!(with("FIREBREAK_REMIND_ACCOUNTS", "1111").is_err());
        assert!(with("FIREBREAK_REMIND_REGIONS", "us-west-2;rm -rf").is_err());
        assert_eq!(c.remind_in, (Vec::new(), Vec::new()));
        assert_eq!(c.call_timeout, Duration::from_secs(5));
        assert_eq!(c.operation_timeout, Duration::from_secs(15));
        assert_eq!(c.incident_timeout, Duration::from_secs(40));
        assert!(with("FIREBREAK_OPERATION_TIMEOUT_SECONDS", "1").is_err());
        assert!(with("FIREBREAK_CALL_TIMEOUT_SECONDS", "0").is_err());
        let now = Instant::now();
        let short = c.within(Duration::from_secs(30)).incident_deadline();
        assert!(short <= now + Duration::from_secs(11) && short >= now + Duration::from_secs(9));
        let long = c.within(Duration::from_secs(900)).incident_deadline();
        assert!(long <= Instant::now() + Duration::from_secs(40));
        assert!(c.within(Duration::from_secs(15)).incident_deadline() <= Instant::now());
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
