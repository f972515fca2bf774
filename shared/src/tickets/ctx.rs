//! What one try of a ticket operation works with, shared by the ticket systems' adapters.

use std::collections::HashMap;
use std::sync::Mutex;

use ::http::Method;
use serde_json::Value;

use super::http::{Answer, Failure, Http};
use crate::config::TicketSettings;
use crate::ports::TicketRequest;

/// What one try of a ticket operation works with.
pub struct Ctx<'a> {
    pub http: &'a Http,
    pub settings: &'a TicketSettings,
    /// The secret's JSON object.
    pub credentials: &'a Value,
    /// Tickets this container opened, by ticket id: Jira's search is eventually consistent, and
    /// a redelivery seconds after the create must still find it.
    pub opened: &'a Mutex<HashMap<String, String>>,
}

impl Ctx<'_> {
    /// The secret's string field `name`.
    pub fn credential(&self, name: &str) -> Result<&str, Failure> {
        (self.credentials.get(name).and_then(Value::as_str))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Failure::fatal(format!(
                    "the secret {} has no \"{name}\"",
                    self.settings.secret
                ))
            })
    }

    /// One call to the ticket system: `path` on its URL, the JSON `body`, the `auth` header, within
    /// the request's deadline (Jira's and ServiceNow's adapters).
    pub async fn call(
        &self,
        auth: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        r: &TicketRequest,
    ) -> Result<Answer, Failure> {
        let url = format!("{}{path}", self.settings.url);
        let body = body.map(|b| b.to_string().into_bytes());
        let headers = [("authorization", auth.to_string())];
        self.http
            .call(method, &url, &headers, body, r.deadline)
            .await
    }

    /// The ticket this container opened for `id`, if any.
    pub fn opened(&self, id: &str) -> Option<String> {
        self.opened.lock().ok()?.get(id).cloned()
    }

    /// Remembers the ticket opened for `id`.
    pub fn remember(&self, id: &str, key: &str) {
        if let Ok(mut m) = self.opened.lock() {
            m.insert(id.to_string(), key.to_string());
        }
    }
}

/// A one-line summary of at most `max` characters (ticket systems' summary fields).
pub fn one_line(text: &str, max: usize) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    match line.trim() {
        "" => "Firebreak finding".to_string(),
        l => l.to_string(),
    }
}
