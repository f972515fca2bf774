//! End-to-end harness: the real Lambda binaries, served events through an emulated Lambda Runtime
//! API, against the local AWS that `scripts/local-aws` starts (`AWS_ENDPOINT_URL`).
//!
//! The Runtime API here speaks the same HTTP the Lambda service does (`/2018-06-01/runtime/...`):
//! the binary long-polls `invocation/next`, posts `response` or `error`, exactly as in Lambda.

pub mod faults;
pub mod fixtures;
pub mod tickets;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

/// The region every test uses.
pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

/// The key that seals the binaries' records in the local AWS (the secret the template creates in
/// a deployment: `RecordKey`).
pub const RECORD_KEY: &str = "e2e-record-key-0123456789abcdef0123456789abcdef";
/// Its secret's name.
pub const RECORD_KEY_SECRET: &str = "firebreak-record-key";

/// The record key's secret in the local AWS, created by the first test that needs it (every test
/// binary shares one local AWS: a secret another created is used as it is).
pub async fn record_key_secret() -> &'static str {
    static CREATED: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    CREATED
        .get_or_init(|| async {
            let sm = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
            let value = serde_json::json!({ "key": RECORD_KEY }).to_string();
            let created = sm
                .create_secret()
                .name(RECORD_KEY_SECRET)
                .secret_string(value)
                .send()
                .await;
            if let Err(e) = created {
                let e = e.into_service_error();
                assert!(e.is_resource_exists_exception(), "record key secret: {e:?}");
            }
        })
        .await;
    RECORD_KEY_SECRET
}

/// The local AWS endpoint; the tests are meaningless without it, so its absence is a failure.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| {
        panic!("AWS_ENDPOINT_URL is not set: run the tests with scripts/test (it starts the local AWS)")
    })
}

/// SDK configuration for the local AWS (test-side clients, used to set up and read back state).
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_in(REGION).await
}

/// SDK configuration for the local AWS in `account` (reached, as Firebreak reaches it, through
/// role `role` there: moto keeps the state of each account apart and maps the assumed-role
/// credentials to the account of the role).
pub async fn sdk_config_for_account(account: &str, role: &str) -> aws_config::SdkConfig {
    let home = sdk_config().await;
    let assumed = aws_sdk_sts::Client::new(&home)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{role}"))
        .role_session_name("e2e-setup")
        .send()
        .await
        .unwrap();
    let c = assumed.credentials().unwrap();
    local_config(
        REGION,
        aws_sdk_ec2::config::Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "e2e-member",
        ),
    )
    .await
}

/// SDK configuration for the local AWS in `region`.
pub async fn sdk_config_in(region: &str) -> aws_config::SdkConfig {
    local_config(
        region,
        aws_sdk_ec2::config::Credentials::new("test", "test", None, None, "e2e"),
    )
    .await
}

async fn local_config(
    region: &str,
    credentials: aws_sdk_ec2::config::Credentials,
) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint())
        .credentials_provider(credentials)
        .load()
        .await
}

/// Path of a workspace binary built by `cargo build --bins` (scripts/test does it first).
pub fn binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --bins` (scripts/test does)",
        path.display()
    );
    path
}

/// What one invocation returned.
#[derive(Debug, Clone)]
pub enum Invocation {
    /// The handler's response body.
    Response(Value),
    /// The handler's error (`errorType`, `errorMessage`).
    Error { error_type: String, message: String },
}

impl Invocation {
    /// The response, or a panic naming the error.
    pub fn unwrap(self) -> Value {
        match self {
            Invocation::Response(v) => v,
            Invocation::Error {
                error_type,
                message,
            } => panic!("invocation failed: {error_type}: {message}"),
        }
    }
}

type Pending = (String, Value, oneshot::Sender<Invocation>);

struct Shared {
    queue: tokio::sync::Mutex<mpsc::UnboundedReceiver<Pending>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Invocation>>>,
    init_error: Mutex<Option<String>>,
    first_poll: Mutex<Option<std::time::Instant>>,
    delivered: Mutex<HashMap<String, std::time::SystemTime>>,
}

/// A running function: its process and the Runtime API it polls.
pub struct Function {
    child: Child,
    send: mpsc::UnboundedSender<Pending>,
    shared: Arc<Shared>,
    logs: Arc<Mutex<Vec<String>>>,
    next_id: AtomicU64,
    started: std::time::Instant,
}

impl Function {
    /// Starts workspace binary `name` with the local AWS endpoint and these extra environment variables.
    pub async fn start(name: &str, env: &[(&str, &str)]) -> Function {
        Function::start_binary(&binary(name), &endpoint(), env).await
    }

    /// Starts the binary at `path`, reaching AWS at `endpoint`.
    pub async fn start_binary(
        path: &std::path::Path,
        endpoint: &str,
        env: &[(&str, &str)],
    ) -> Function {
        Function::start_command(path, &[], endpoint, env).await
    }

    /// Starts `program args…` as a Lambda runtime (a function binary, or e.g. a Python interpreter
    /// running `-m awslambdaric handler`), reaching AWS at `endpoint`.
    pub async fn start_command(
        program: &std::path::Path,
        args: &[&str],
        endpoint: &str,
        env: &[(&str, &str)],
    ) -> Function {
        let name = program.file_name().unwrap().to_string_lossy().into_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (send, recv) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue: tokio::sync::Mutex::new(recv),
            waiting: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            first_poll: Mutex::new(None),
            delivered: Mutex::new(HashMap::new()),
        });
        let server = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, server.clone()));
            }
        });
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", &name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .env("AWS_REGION", REGION)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", endpoint)
            // The tests quarantine dozens of instances of one account within the hour: the
            // blast-radius cap would hold them back. Its own test sets it.
            .env("FIREBREAK_MAX_QUARANTINES_PER_HOUR", "unlimited")
            .env("FIREBREAK_RECORD_KEY_SECRET", record_key_secret().await)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = std::time::Instant::now();
        let mut child = cmd.spawn().expect("start the function binary");
        let logs = Arc::new(Mutex::new(Vec::new()));
        for pipe in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let logs = logs.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(pipe).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    logs.lock().unwrap().push(line);
                }
            });
        }
        Function {
            child,
            send,
            shared,
            logs,
            next_id: AtomicU64::new(1),
            started,
        }
    }

    /// Delivers one event and waits for the function's answer.
    pub async fn invoke(&self, event: &Value) -> Invocation {
        self.invoke_timed(event).await.0
    }

    /// Delivers one event; also returns when the runtime took it from `invocation/next`.
    pub async fn invoke_timed(&self, event: &Value) -> (Invocation, std::time::SystemTime) {
        let id = format!("req-{}", self.next_id.fetch_add(1, Ordering::SeqCst));
        let (tx, rx) = oneshot::channel();
        self.send.send((id.clone(), event.clone(), tx)).unwrap();
        match tokio::time::timeout(Duration::from_secs(120), rx).await {
            Ok(Ok(result)) => {
                let delivered = self.shared.delivered.lock().unwrap().remove(&id).unwrap();
                (result, delivered)
            }
            _ => panic!(
                "no answer from the function; init error: {:?}; logs:\n{}",
                self.shared.init_error.lock().unwrap(),
                self.logs().join("\n")
            ),
        }
    }

    /// Waits until the runtime first polls for an event (it is initialised); returns when that was.
    pub async fn ready(&self) -> std::time::Instant {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(t) = *self.shared.first_poll.lock().unwrap() {
                return t;
            }
            let init_error = self.shared.init_error.lock().unwrap().clone();
            if init_error.is_some() || std::time::Instant::now() > deadline {
                panic!(
                    "the function did not start: init error {init_error:?}; logs:\n{}",
                    self.logs().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }

    /// When the process was spawned.
    pub fn started(&self) -> std::time::Instant {
        self.started
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Everything the function printed so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).await.ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => length = v.trim().parse().unwrap_or(0),
                "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, body))
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let mut reader = BufReader::new(stream);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let reply = if method == "GET" && path.ends_with("/runtime/invocation/next") {
            shared
                .first_poll
                .lock()
                .unwrap()
                .get_or_insert_with(std::time::Instant::now);
            let next = shared.queue.lock().await.recv().await;
            let Some((id, event, tx)) = next else { return };
            shared.waiting.lock().unwrap().insert(id.clone(), tx);
            shared
                .delivered
                .lock()
                .unwrap()
                .insert(id.clone(), std::time::SystemTime::now());
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 60_000;
            let body = event.to_string();
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:{REGION}:{ACCOUNT}:function:e2e\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        } else if method == "POST" && path.contains("/runtime/invocation/") {
            let id = path.split('/').nth(4).unwrap_or_default().to_string();
            let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let result = if path.ends_with("/error") {
                Invocation::Error {
                    error_type: value["errorType"].as_str().unwrap_or_default().to_string(),
                    message: value["errorMessage"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                }
            } else {
                Invocation::Response(value)
            };
            if let Some(tx) = shared.waiting.lock().unwrap().remove(&id) {
                let _ = tx.send(result);
            }
            "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_string()
        } else if method == "POST" && path.ends_with("/runtime/init/error") {
            *shared.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
            "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_string()
        } else {
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// `../shared/tools/aws-latency-proxy.py` in front of the local AWS, for fault tests: every call is
/// logged (one JSON line each) and faults are injected as asked. Stopped on drop.
pub struct LatencyProxy {
    child: std::process::Child,
    port: u16,
    args: Vec<String>,
    /// `http://127.0.0.1:PORT`: give it to a function as its `AWS_ENDPOINT_URL`.
    pub url: String,
    /// The call log (appended to across restarts).
    pub log: PathBuf,
}

fn proxy_tool() -> PathBuf {
    let tool = std::env::var_os("FIREBREAK_LATENCY_PROXY")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/tools/aws-latency-proxy.py")
        });
    assert!(tool.exists(), "{} is missing", tool.display());
    tool
}

impl LatencyProxy {
    /// Starts the proxy with these extra arguments (`--fail-every 5`, `--delay-ms 0`, …).
    pub fn start(args: &[&str]) -> LatencyProxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "firebreak-proxy-{}-{port}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&log);
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let child = LatencyProxy::spawn(port, &log, &args, None);
        LatencyProxy {
            child,
            port,
            args,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// The tool as shipped, or (with `cut_after`) through `harness/proxy_cut.py`, which runs the
    /// same tool and exits, dropping every open connection, once its `cut_after`-th call arrived.
    fn spawn(
        port: u16,
        log: &std::path::Path,
        args: &[String],
        cut_after: Option<usize>,
    ) -> std::process::Child {
        let upstream = endpoint()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let mut cmd = std::process::Command::new("python3");
        if let Some(k) = cut_after {
            cmd.arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("harness/proxy_cut.py"))
                .arg(k.to_string());
        }
        let child = cmd
            .arg(proxy_tool())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--upstream")
            .arg(&upstream)
            .arg("--log")
            .arg(log)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the latency proxy");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }

    /// Restarts the proxy on the same port; with `Some(k)` the path to AWS is cut (the proxy
    /// exits) once its `k`-th call since this restart arrived.
    pub fn restart(&mut self, cut_after: Option<usize>) {
        self.stop();
        self.child = LatencyProxy::spawn(self.port, &self.log, &self.args, cut_after);
    }

    /// Stops the proxy (a cut path to AWS: connections are refused until it restarts).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the proxy process has exited (for a cut: it reached its k-th call).
    pub fn has_stopped(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Every logged call: (service, action, HTTP status).
    pub fn calls(&self) -> Vec<(String, String, u16)> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| {
                (
                    v["service"].as_str().unwrap_or_default().to_string(),
                    v["action"].as_str().unwrap_or_default().to_string(),
                    v["status"].as_u64().unwrap_or_default() as u16,
                )
            })
            .collect()
    }
}

impl Drop for LatencyProxy {
    fn drop(&mut self) {
        self.stop();
    }
}
