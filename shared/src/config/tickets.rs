//! The ticket system's settings (`FIREBREAK_TICKETS*`), validated at start-up.

use std::time::Duration;

/// A setting that cannot be used (`config.rs` makes it its `ConfigError`).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// Why it cannot be used.
    pub reason: String,
}

/// Which ticket system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSystem {
    /// Jira Cloud (REST API v3, basic auth with an e-mail and an API token).
    Jira,
    /// ServiceNow (Table API, `incident`, basic auth).
    ServiceNow,
    /// A generic webhook: JSON, HMAC-SHA-256-signed.
    Webhook,
}

impl TicketSystem {
    /// The name of `FIREBREAK_TICKETS`, logs and the report.
    pub fn name(self) -> &'static str {
        match self {
            TicketSystem::Jira => "jira",
            TicketSystem::ServiceNow => "servicenow",
            TicketSystem::Webhook => "webhook",
        }
    }
}

/// Where the team's tickets are kept, and how to reach it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketSettings {
    /// `FIREBREAK_TICKETS`: `jira`, `servicenow`, `webhook` (`off`, the default: no settings).
    pub system: TicketSystem,
    /// `FIREBREAK_TICKETS_URL`: the site (`https://acme.atlassian.net`,
    /// `https://acme.service-now.com`) or the webhook's URL. `https://` only; `http://` only to a
    /// loopback host (a local test server).
    pub url: String,
    /// `FIREBREAK_TICKETS_SECRET`: the Secrets Manager secret (ARN or name) with the credentials:
    /// `{"email","token"}` (Jira), `{"user","password"}` (ServiceNow), `{"hmac_key"}` (webhook).
    pub secret: String,
    /// `FIREBREAK_TICKETS_PROJECT`: the Jira project key (required for Jira).
    pub project: String,
    /// `FIREBREAK_TICKETS_ISSUE_TYPE`: the Jira issue type (default `Task`).
    pub issue_type: String,
    /// `FIREBREAK_TICKETS_CLOSE_CODE`: ServiceNow's resolution code (default `Solution provided`).
    pub close_code: String,
    /// `FIREBREAK_TICKETS_TIMEOUT_SECONDS`: how long the ticket may take, retries included, before
    /// the notification goes out without it (default 10, at most 60).
    pub timeout: Duration,
}

/// The ticket settings, `None` when `FIREBREAK_TICKETS` is unset or `off`.
pub fn tickets(get: &impl Fn(&str) -> Option<String>) -> Result<Option<TicketSettings>, Invalid> {
    let bad = |name: &'static str, value: &str, reason: &str| Invalid {
        name,
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let text = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let system = match text("FIREBREAK_TICKETS").as_deref() {
        None | Some("off") => return Ok(None),
        Some("jira") => TicketSystem::Jira,
        Some("servicenow") => TicketSystem::ServiceNow,
        Some("webhook") => TicketSystem::Webhook,
        Some(other) => {
            return Err(bad(
                "FIREBREAK_TICKETS",
                other,
                "expected jira, servicenow, webhook or off",
            ))
        }
    };
    let url = text("FIREBREAK_TICKETS_URL").unwrap_or_default();
    if let Err(reason) = check_url(&url) {
        return Err(bad("FIREBREAK_TICKETS_URL", &url, &reason));
    }
    let secret = text("FIREBREAK_TICKETS_SECRET").ok_or_else(|| {
        bad(
            "FIREBREAK_TICKETS_SECRET",
            "",
            "required when FIREBREAK_TICKETS is set",
        )
    })?;
    let project = text("FIREBREAK_TICKETS_PROJECT").unwrap_or_default();
    if system == TicketSystem::Jira && !project_key(&project) {
        return Err(bad(
            "FIREBREAK_TICKETS_PROJECT",
            &project,
            "expected a Jira project key (an uppercase letter, then uppercase letters, digits or _)",
        ));
    }
    let timeout = match text("FIREBREAK_TICKETS_TIMEOUT_SECONDS") {
        None => 10.0,
        Some(v) => match v.parse::<f64>() {
            Ok(s) if (1.0..=60.0).contains(&s) => s,
            _ => {
                return Err(bad(
                    "FIREBREAK_TICKETS_TIMEOUT_SECONDS",
                    &v,
                    "expected 1 to 60",
                ))
            }
        },
    };
    Ok(Some(TicketSettings {
        system,
        url: url.trim_end_matches('/').to_string(),
        secret,
        project,
        issue_type: text("FIREBREAK_TICKETS_ISSUE_TYPE").unwrap_or_else(|| "Task".into()),
        close_code: text("FIREBREAK_TICKETS_CLOSE_CODE")
            .unwrap_or_else(|| "Solution provided".into()),
        timeout: Duration::from_secs_f64(timeout),
    }))
}

/// A Jira project key as Jira's default pattern has it.
fn project_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `https://host[:port][/path]`, or `http://` to a loopback host only: credentials and finding
/// details never cross a network in the clear.
pub fn check_url(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "expected https://host[/path]".to_string())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || url.chars().any(char::is_whitespace) {
        return Err("expected https://host[/path] (no credentials in the URL)".into());
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err("http:// only to a loopback host (a local test server): use https://".into()),
        _ => Err("expected https://".into()),
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)]) -> Result<Option<TicketSettings>, Invalid> {
        let pairs: Vec<(String, String)> = (pairs.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tickets(&|name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn off_by_default_and_each_setting_checked() {
        assert_eq!(with(&[]).unwrap(), None);
        assert_eq!(with(&[("FIREBREAK_TICKETS", "off")]).unwrap(), None);
        assert!(with(&[("FIREBREAK_TICKETS", "email")]).is_err());
        let jira = [
            ("FIREBREAK_TICKETS", "jira"),
            ("FIREBREAK_TICKETS_URL", "https://acme.atlassian.net/"),
            ("FIREBREAK_TICKETS_SECRET", "firebreak/jira"),
            ("FIREBREAK_TICKETS_PROJECT", "SEC"),
        ];
        let s = with(&jira).unwrap().unwrap();
        assert_eq!(
            (s.system, s.url.as_str()),
            (TicketSystem::Jira, "https://acme.atlassian.net")
        );
        assert_eq!(s.timeout, Duration::from_secs(10));
        let mut no_project = jira;
        no_project[3].1 = "sec\" OR 1=1";
        assert!(with(&no_project).is_err());
        let mut clear = jira;
        clear[1].1 = "http://acme.atlassian.net";
        assert!(with(&clear).is_err());
        let mut no_secret = jira;
        no_secret[2].1 = " ";
        assert!(with(&no_secret).is_err());
    }

    #[test]
    fn http_only_to_loopback() {
        assert!(check_url("https://acme.service-now.com").is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(check_url("http://localhost:1/").is_ok());
        assert!(check_url("http://[::1]:1/").is_ok());
        assert!(check_url("http://10.0.0.1/hook").is_err());
        assert!(check_url("http://127.0.0.1.evil.example/").is_err());
        assert!(check_url("https://user:pw@host/").is_err());
        assert!(check_url("ftp://host/").is_err());
        assert!(check_url("host/").is_err());
    }
}
