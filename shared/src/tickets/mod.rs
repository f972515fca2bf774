//! The ticket systems (`FIREBREAK_TICKETS`): Jira Cloud (`jira.rs`), ServiceNow (`servicenow.rs`)
//! and a generic signed webhook (`webhook.rs`) behind [`TicketsPort`], over one HTTP client
//! (`http.rs`); their credentials read once from Secrets Manager; and [`Ticketed`], the notifier
//! that asks for a finding's ticket before its message goes out (`ticketing.rs`).

pub mod ctx;
pub mod http;
pub mod jira;
pub mod servicenow;
pub mod webhook;

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;

use self::ctx::Ctx;
use self::http::{Failure, Http};
use crate::config::{TicketSettings, TicketSystem};
use crate::error::AwsError;
use crate::ports::{Notification, Notifier, Ticket, TicketError, TicketRequest, TicketsPort};

/// The configured ticket system.
pub struct Tickets {
    settings: TicketSettings,
    http: Result<Http, String>,
    secrets: aws_sdk_secretsmanager::Client,
    credentials: tokio::sync::OnceCell<Value>,
    opened: Mutex<HashMap<String, String>>,
}

impl Tickets {
    /// The ticket system of `settings`, its credentials read (with `sdk`, the function's own
    /// account) when the first ticket needs them, then kept for the container's life.
    pub fn new(settings: TicketSettings, sdk: &aws_config::SdkConfig) -> Tickets {
        Tickets {
            settings,
            http: Http::new(),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            credentials: tokio::sync::OnceCell::new(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// The secret's JSON, read once (a failed read is tried again by the next ticket).
    async fn credentials(&self) -> Result<&Value, Failure> {
        let secret = &self.settings.secret;
        self.credentials
            .get_or_try_init(|| async {
                let got = (self
                    .secrets
                    .get_secret_value()
                    .secret_id(secret)
                    .send()
                    .await)
                    .map_err(|e| Failure {
                        message: format!(
                            "the secret {secret} could not be read: {}",
                            AwsError::from(e)
                        ),
                        retryable: true,
                        retry_after: None,
                    })?;
                let text = got.secret_string().unwrap_or_default();
                match serde_json::from_str::<Value>(text) {
                    Ok(v) if v.is_object() => Ok(v),
                    _ => Err(Failure::fatal(format!(
                        "the secret {secret} is not a JSON object"
                    ))),
                }
            })
            .await
    }

    /// One try of the operation.
    async fn once(&self, request: &TicketRequest) -> Result<Option<Ticket>, Failure> {
        let http = self.http.as_ref().map_err(|e| Failure::fatal(e.clone()))?;
        let credentials = self.credentials().await?;
        let ctx = Ctx {
            http,
            settings: &self.settings,
            credentials,
            opened: &self.opened,
        };
        match self.settings.system {
            TicketSystem::Jira => Box::pin(jira::ticket(&ctx, request)).await,
            TicketSystem::ServiceNow => Box::pin(servicenow::ticket(&ctx, request)).await,
            TicketSystem::Webhook => Box::pin(webhook::ticket(&ctx, request)).await,
        }
    }
}

impl TicketsPort for Tickets {
    fn system(&self) -> &'static str {
        self.settings.system.name()
    }

    async fn ticket(&self, request: &TicketRequest) -> Result<Option<Ticket>, TicketError> {
        // The webhook's signature carries its send time: each try signs anew.
        http::retried(request.deadline, || self.once(request)).await
    }
}

/// A notifier with the ticket system beside it (none: tickets are off).
pub struct Ticketed<N, T = Tickets> {
    /// Where messages go.
    pub inner: N,
    /// Where tickets are kept.
    pub tickets: Option<T>,
}

impl<N: Notifier, T: TicketsPort> Notifier for Ticketed<N, T> {
    async fn publish(&self, notification: &Notification) -> Result<String, AwsError> {
        self.inner.publish(notification).await
    }

    fn holds(&self) -> bool {
        self.inner.holds()
    }

    async fn ticket(
        &self,
        request: &TicketRequest,
    ) -> Option<(&'static str, Result<Option<Ticket>, TicketError>)> {
        let tickets = self.tickets.as_ref()?;
        // Boxed: it runs inside the response's deep nest of futures.
        let ticket = Box::pin(tickets.ticket(request));
        Some((tickets.system(), ticket.await))
    }
}
