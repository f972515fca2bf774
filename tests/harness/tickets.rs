//! A local ticket server that answers as Jira Cloud's REST API v3, ServiceNow's Table API and a
//! webhook receiver do, for the end-to-end tests: it keeps the tickets (read back by the tests),
//! checks each request's credentials and shape as the real API would refuse them, and answers
//! 429 with `Retry-After` or 5xx when a test asks (`fail_next`, `down`).
//!
//! Plain HTTP/1.1 on a loopback port, one request per connection (`Connection: close`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A Jira issue as the server keeps it.
#[derive(Debug, Clone)]
pub struct Issue {
    pub key: String,
    pub project: String,
    pub summary: String,
    pub labels: Vec<String>,
    pub description: Value,
    pub comments: Vec<Value>,
    /// The status category's key: `new` or `done`.
    pub category: String,
}

/// A ServiceNow incident as the server keeps it: its fields as posted and patched.
#[derive(Debug, Clone)]
pub struct Incident {
    pub sys_id: String,
    pub number: String,
    pub fields: serde_json::Map<String, Value>,
    pub work_notes: Vec<String>,
}

/// A webhook delivery: its headers (lowercased names) and body.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub headers: HashMap<String, String>,
    pub body: String,
}

#[derive(Default)]
struct State {
    issues: Vec<Issue>,
    incidents: Vec<Incident>,
    deliveries: Vec<Delivery>,
    /// (method, path, status answered)
    log: Vec<(String, String, u16)>,
    fail_next: VecDeque<(u16, Option<u64>)>,
    down: bool,
}

/// The server.
#[derive(Clone)]
pub struct TicketServer {
    pub url: String,
    state: Arc<Mutex<State>>,
    /// `user:password` (ServiceNow) or `email:token` (Jira) expected in `Authorization: Basic`.
    credentials: String,
}

/// A parsed request.
struct Request {
    method: String,
    path: String,
    query: HashMap<String, String>,
    headers: HashMap<String, String>,
    body: String,
}

impl TicketServer {
    /// Starts a server expecting these basic-auth credentials (`user:password`).
    pub async fn start(credentials: &str) -> TicketServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = TicketServer {
            url: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::new(Mutex::new(State::default())),
            credentials: credentials.to_string(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move { s.serve(stream).await });
            }
        });
        server
    }

    /// The next requests answered with these statuses (and `Retry-After` seconds), one each.
    pub fn fail_next(&self, answers: &[(u16, Option<u64>)]) {
        self.state
            .lock()
            .unwrap()
            .fail_next
            .extend(answers.iter().copied());
    }

    /// Every request answered 503 while `down`.
    pub fn set_down(&self, down: bool) {
        self.state.lock().unwrap().down = down;
    }

    pub fn issues(&self) -> Vec<Issue> {
        self.state.lock().unwrap().issues.clone()
    }

    pub fn incidents(&self) -> Vec<Incident> {
        self.state.lock().unwrap().incidents.clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().unwrap().deliveries.clone()
    }

    /// Every request: (method, path, status answered).
    pub fn log(&self) -> Vec<(String, String, u16)> {
        self.state.lock().unwrap().log.clone()
    }

    async fn serve(&self, mut stream: TcpStream) {
        let Some(req) = read(&mut stream).await else {
            return;
        };
        let (status, body, retry_after) = self.answer(&req);
        self.state
            .lock()
            .unwrap()
            .log
            .push((req.method.clone(), req.path.clone(), status));
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        if let Some(s) = retry_after {
            head.push_str(&format!("retry-after: {s}\r\n"));
        }
        head.push_str("\r\n");
        let _ = stream.write_all(head.as_bytes()).await;
        let _ = stream.write_all(body.as_bytes()).await;
        let _ = stream.shutdown().await;
    }

    fn answer(&self, req: &Request) -> (u16, String, Option<u64>) {
        let mut st = self.state.lock().unwrap();
        if st.down {
            return (503, "{\"error\":\"down\"}".into(), None);
        }
        if let Some((status, after)) = st.fail_next.pop_front() {
            return (status, json!({"error": "injected"}).to_string(), after);
        }
        if req.path == "/hook" {
            return webhook(&mut st, req);
        }
        if !self.authorized(req) {
            return (401, "{\"errorMessages\":[\"unauthorized\"]}".into(), None);
        }
        let (status, body) = if req.path.starts_with("/rest/api/3/") {
            jira(&mut st, req)
        } else if req.path.starts_with("/api/now/table/incident") {
            servicenow(&mut st, req)
        } else {
            (404, json!({"error": "no such path"}))
        };
        (status, body.to_string(), None)
    }

    fn authorized(&self, req: &Request) -> bool {
        use base64::Engine;
        let want = base64::engine::general_purpose::STANDARD.encode(&self.credentials);
        req.headers.get("authorization") == Some(&format!("Basic {want}"))
    }
}

async fn read(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), decode(v)))
        .collect();
    Some(Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    })
}

/// Percent-decoding (and `+` as a space, as query strings have it).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).to_string()
}

/// An Atlassian Document Format document, as Jira refuses anything else (400).
fn is_adf(doc: &Value) -> bool {
    doc["type"] == "doc" && doc["version"] == 1 && doc["content"].is_array()
}

fn jira(st: &mut State, req: &Request) -> (u16, Value) {
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let parts: Vec<&str> = req
        .path
        .trim_start_matches("/rest/api/3/")
        .split('/')
        .collect();
    match (req.method.as_str(), parts.as_slice()) {
        // The search that replaced /rest/api/3/search: `jql`, `fields`, `maxResults`.
        ("GET", ["search", "jql"]) => {
            let jql = req.query.get("jql").cloned().unwrap_or_default();
            let quoted = |field: &str| -> Option<String> {
                let at = jql.find(&format!("{field} = \""))? + field.len() + 4;
                Some(jql[at..].split('"').next()?.to_string())
            };
            let (Some(project), Some(label)) = (quoted("project"), quoted("labels")) else {
                return (400, json!({"errorMessages": ["unbounded or unparsed JQL"]}));
            };
            let found: Vec<Value> = (st.issues.iter())
                .filter(|i| i.project == project && i.labels.contains(&label))
                .map(|i| {
                    json!({"id": i.key, "key": i.key,
                                "fields": {"status": {"statusCategory": {"key": i.category}}}})
                })
                .collect();
            (200, json!({"issues": found, "isLast": true}))
        }
        ("POST", ["issue"]) => {
            let f = &body["fields"];
            let ok = f["project"]["key"].is_string()
                && f["issuetype"]["name"].is_string()
                && f["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty() && !s.contains('\n'))
                && is_adf(&f["description"]);
            if !ok {
                return (400, json!({"errors": {"fields": "invalid"}}));
            }
            let project = f["project"]["key"].as_str().unwrap().to_string();
            let key = format!("{project}-{}", st.issues.len() + 1);
            st.issues.push(Issue {
                key: key.clone(),
                project,
                summary: f["summary"].as_str().unwrap().to_string(),
                labels: (f["labels"].as_array().into_iter().flatten())
                    .filter_map(|l| l.as_str().map(String::from))
                    .collect(),
                description: f["description"].clone(),
                comments: Vec::new(),
                category: "new".into(),
            });
            (201, json!({"id": "10000", "key": key, "self": "x"}))
        }
        (method, ["issue", key, rest]) => {
            let Some(issue) = st.issues.iter_mut().find(|i| i.key == *key) else {
                return (404, json!({"errorMessages": ["Issue does not exist"]}));
            };
            match (method, *rest) {
                ("POST", "comment") if is_adf(&body["body"]) => {
                    issue.comments.push(body["body"].clone());
                    (201, json!({"id": "1"}))
                }
                ("GET", "transitions") => (
                    200,
                    json!({"transitions": [
                        {"id": "11", "name": "To Do", "to": {"statusCategory": {"key": "new"}}},
                        {"id": "31", "name": "Done", "to": {"statusCategory": {"key": "done"}}}
                    ]}),
                ),
                ("POST", "transitions") => match body["transition"]["id"].as_str() {
                    Some("31") => {
                        issue.category = "done".into();
                        (204, json!({}))
                    }
                    Some("11") => (204, json!({})),
                    _ => (400, json!({"errorMessages": ["no such transition"]})),
                },
                _ => (400, json!({"errorMessages": ["bad request"]})),
            }
        }
        _ => (404, json!({"errorMessages": ["no such resource"]})),
    }
}

fn servicenow(st: &mut State, req: &Request) -> (u16, Value) {
    let body: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
    let view = |i: &Incident| {
        let mut v = i.fields.clone();
        v.insert("sys_id".into(), json!(i.sys_id));
        v.insert("number".into(), json!(i.number));
        Value::Object(v)
    };
    let rest = req.path.trim_start_matches("/api/now/table/incident");
    match (req.method.as_str(), rest) {
        ("GET", "") => {
            // An encoded query: `field=value` terms joined by `^`.
            let query = req.query.get("sysparm_query").cloned().unwrap_or_default();
            let wanted: Vec<(String, String)> = (query.split('^'))
                .filter_map(|t| t.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let rows: Vec<Value> = (st.incidents.iter())
                .filter(|i| {
                    wanted
                        .iter()
                        .all(|(k, v)| i.fields.get(k) == Some(&json!(v)))
                })
                .map(view)
                .collect();
            (200, json!({"result": rows}))
        }
        ("POST", "") => {
            let Some(fields) = body.as_object().cloned() else {
                return (400, json!({"error": {"message": "not JSON"}}));
            };
            let n = st.incidents.len() + 1;
            let mut fields = fields;
            fields.entry("state").or_insert(json!("1"));
            let incident = Incident {
                sys_id: format!("{n:032x}"),
                number: format!("INC{n:07}"),
                fields,
                work_notes: Vec::new(),
            };
            let v = view(&incident);
            st.incidents.push(incident);
            (201, json!({"result": v}))
        }
        ("PATCH", id) => {
            let id = id.trim_start_matches('/');
            let Some(i) = st.incidents.iter_mut().find(|i| i.sys_id == id) else {
                return (404, json!({"error": {"message": "No Record found"}}));
            };
            for (k, v) in body.as_object().into_iter().flatten() {
                match k.as_str() {
                    "work_notes" => i.work_notes.push(v.as_str().unwrap_or_default().into()),
                    _ => {
                        i.fields.insert(k.clone(), v.clone());
                    }
                }
            }
            let v = view(i);
            (200, json!({"result": v}))
        }
        _ => (400, json!({"error": {"message": "bad request"}})),
    }
}

/// A receiver that keeps one ticket per `X-Firebreak-Ticket` and answers its key.
fn webhook(st: &mut State, req: &Request) -> (u16, String, Option<u64>) {
    let ticket = req
        .headers
        .get("x-firebreak-ticket")
        .cloned()
        .unwrap_or_default();
    let seen = (st.deliveries.iter()).any(|d| d.headers.get("x-firebreak-ticket") == Some(&ticket));
    st.deliveries.push(Delivery {
        headers: req.headers.clone(),
        body: req.body.clone(),
    });
    let n = (st.deliveries.iter())
        .map(|d| d.headers.get("x-firebreak-ticket"))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let done = if seen { "updated" } else { "opened" };
    (
        200,
        json!({"key": format!("HOOK-{n}"), "done": done}).to_string(),
        None,
    )
}
