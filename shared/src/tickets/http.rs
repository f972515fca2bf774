//! The ticket systems' HTTP: one client (hyper 1 over rustls, the system's root certificates),
//! one attempt per call, and the retries of a whole ticket operation within its deadline (429
//! after its `Retry-After`, 5xx and transport errors after a backoff).

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::ports::TicketError;

/// The most of an answer read (a search's or a create's answer is a few kilobytes).
const BODY_LIMIT: usize = 1 << 20;
/// One attempt's longest wait for an answer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first backoff after a 5xx or a transport error; doubled each time.
const BACKOFF: Duration = Duration::from_millis(250);
/// The most attempts of one operation.
const ATTEMPTS: u32 = 5;

/// An answer: its status, `Retry-After` (seconds) and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

/// Why an attempt failed, and whether (and when) it may be tried again.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub retryable: bool,
    pub retry_after: Option<Duration>,
}

impl Failure {
    /// A failure not worth retrying (a refusal: 4xx, a malformed answer, missing credentials).
    pub fn fatal(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }
}

impl Answer {
    /// The answer when its status is 2xx; else the failure: 429 and 5xx retryable (after
    /// `Retry-After` when given), every other status not.
    pub fn ok(self, what: &str) -> Result<Answer, Failure> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let excerpt: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(160)
            .collect();
        Err(Failure {
            message: format!("{what}: HTTP {} {}", self.status, excerpt.trim()),
            retryable: self.status == 429 || self.status >= 500,
            retry_after: self.retry_after,
        })
    }

    /// The body as JSON.
    pub fn json(&self, what: &str) -> Result<serde_json::Value, Failure> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Failure::fatal(format!("{what}: the answer is not JSON ({e})")))
    }
}

/// The client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Http {
    /// A client trusting the system's root certificates (`https://`; `http://` only where the
    /// configuration allowed it: a loopback host, `config/tickets.rs`).
    pub fn new() -> Result<Http, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("no root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// One attempt of `method url` with `headers` and `body`, bounded by `deadline`.
    pub async fn call(
        &self,
        method: http::Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let mut request = http::Request::builder().method(method).uri(url);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request
            .header("accept", "application/json")
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| Failure::fatal(format!("bad request to {}: {e}", redact(url))))?;
        let wait = ATTEMPT_TIMEOUT.min(deadline.saturating_duration_since(Instant::now()));
        let transport = |message: String| Failure {
            message,
            retryable: true,
            retry_after: None,
        };
        let answer = tokio::time::timeout(wait, async {
            let response =
                self.client.request(request).await.map_err(|e| {
                    transport(format!("{} unreachable: {}", redact(url), chain(&e)))
                })?;
            let status = response.status().as_u16();
            let retry_after = (response.headers().get("retry-after"))
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = Limited::new(response.into_body(), BODY_LIMIT)
                .collect()
                .await
                .map_err(|e| transport(format!("{}: answer cut: {e}", redact(url))))?;
            Ok::<Answer, Failure>(Answer {
                status,
                retry_after,
                body: body.to_bytes().to_vec(),
            })
        })
        .await;
        answer.unwrap_or_else(|_| Err(transport(format!("{}: no answer in time", redact(url)))))
    }
}

/// `url` without its query (a query may hold a search; never credentials, which go in headers).
fn redact(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// An error and its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// `operation` until it succeeds, fails for good, or the next try would end past `deadline`:
/// after a 429, the answer's `Retry-After` (the whole wait within the deadline, or no retry); after
/// a 5xx or a transport error, 250 ms doubled each time. A whole operation is tried again (search,
/// then create or comment), never one request of it: a create whose answer was lost is found by
/// the next try's search rather than created twice.
pub async fn retried<T, F, Fut>(deadline: Instant, mut operation: F) -> Result<T, TicketError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Failure>>,
{
    let mut backoff = BACKOFF;
    let mut attempt = 1;
    loop {
        let failure = match operation().await {
            Ok(t) => return Ok(t),
            Err(f) => f,
        };
        let wait = failure.retry_after.unwrap_or(backoff);
        let tries = format!("{attempt} attempt{}", if attempt == 1 { "" } else { "s" });
        if !failure.retryable || attempt >= ATTEMPTS || Instant::now() + wait >= deadline {
            let why = match (failure.retryable, failure.retry_after) {
                (false, _) => String::new(),
                (true, Some(after)) => format!(" ({tries}; Retry-After {} s)", after.as_secs()),
                (true, None) => format!(" ({tries})"),
            };
            return Err(TicketError(format!("{}{why}", failure.message)));
        }
        tokio::time::sleep(wait).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// `value` percent-encoded for a URL's query (RFC 3986's unreserved characters kept).
pub fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `Authorization: Basic …` for `user` and `password`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded_and_basic_auth_is_rfc_7617() {
        assert_eq!(
            query_value("labels = \"a&b\" ORDER BY created"),
            "labels%20%3D%20%22a%26b%22%20ORDER%20BY%20created"
        );
        assert_eq!(
            basic("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[tokio::test]
    async fn a_refusal_is_not_retried_and_a_retry_after_past_the_deadline_ends_the_tries() {
        let mut calls = 0;
        let deadline = Instant::now() + Duration::from_secs(5);
        let refused: Result<(), _> = retried(deadline, || {
            calls += 1;
            async { Err(Failure::fatal("HTTP 400")) }
        })
        .await;
        assert_eq!((calls, refused.unwrap_err().0.as_str()), (1, "HTTP 400"));
        let mut calls = 0;
        let throttled: Result<(), _> = retried(deadline, || {
            calls += 1;
            async {
                Err(Failure {
                    message: "HTTP 429".into(),
                    retryable: true,
                    retry_after: Some(Duration::from_secs(30)),
                })
            }
        })
        .await;
        assert_eq!(
            calls, 1,
            "a Retry-After beyond the deadline is not waited for"
        );
        assert!(throttled.unwrap_err().0.contains("Retry-After 30 s"));
        let mut calls = 0;
        let flaky = retried(deadline, || {
            calls += 1;
            let n = calls;
            async move {
                match n {
                    1 | 2 => Err(Failure {
                        message: "HTTP 503".into(),
                        retryable: true,
                        retry_after: None,
                    }),
                    _ => Ok(n),
                }
            }
        })
        .await;
        assert_eq!(flaky.unwrap(), 3);
    }
}
