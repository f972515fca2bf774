//! Time-to-containment benchmark (not part of the test run; `scripts/bench` drives it).
//!
//! The function under test reaches AWS through `aws-latency-proxy.py` (a fixed delay per call, every
//! call logged); this program sets up state directly on the local AWS, delivers events through the
//! emulated Lambda Runtime API and reads the proxy's log to find when containment completed: the
//! answer to the incident's last group change. With `--peer-python` it measures the Python peer
//! (`tests/bench/python_peer`, under `awslambdaric`) the same way and prints both side by side;
//! with `--burst N` it also delivers N findings about N instances through a second, throttling proxy;
//! with `--sequence N` one attack sequence over N instances, in one invocation (its 60 s deadline).
//!
//! Usage: bench-containment --binary PATH --proxy URL --proxy-log FILE [--delay-ms 40] [--runs 15]
//!        [--peer-python PATH --peer-dir DIR] [--burst N --burst-proxy URL --burst-log FILE
//!        --concurrency C] [--sequence N [--sequence-runs R]]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use firebreak_tests::fixtures::{guardduty_event, unique, Aws};
use firebreak_tests::{Function, Invocation};
use serde_json::Value;

struct Args {
    binary: std::path::PathBuf,
    proxy: String,
    proxy_log: std::path::PathBuf,
    delay_ms: f64,
    runs: usize,
    peer_python: Option<std::path::PathBuf>,
    peer_dir: Option<String>,
    burst: usize,
    burst_proxy: String,
    burst_log: std::path::PathBuf,
    concurrency: usize,
    sequence: usize,
    sequence_runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        binary: "target/release/guardduty-responder".into(),
        proxy: String::new(),
        proxy_log: "calls.jsonl".into(),
        delay_ms: 40.0,
        runs: 15,
        peer_python: None,
        peer_dir: None,
        burst: 0,
        burst_proxy: String::new(),
        burst_log: "burst-calls.jsonl".into(),
        concurrency: 5,
        sequence: 0,
        sequence_runs: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--binary" => a.binary = v.into(),
            "--proxy" => a.proxy = v,
            "--proxy-log" => a.proxy_log = v.into(),
            "--delay-ms" => a.delay_ms = v.parse().expect("--delay-ms"),
            "--runs" => a.runs = v.parse().expect("--runs"),
            "--peer-python" => a.peer_python = Some(v.into()),
            "--peer-dir" => a.peer_dir = Some(v),
            "--burst" => a.burst = v.parse().expect("--burst"),
            "--burst-proxy" => a.burst_proxy = v,
            "--burst-log" => a.burst_log = v.into(),
            "--concurrency" => a.concurrency = v.parse().expect("--concurrency"),
            "--sequence" => a.sequence = v.parse().expect("--sequence"),
            "--sequence-runs" => a.sequence_runs = v.parse().expect("--sequence-runs"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.proxy.is_empty(), "--proxy URL is required");
    a
}

/// What is measured: a Lambda runtime process and the call that completes its containment.
struct Subject {
    name: &'static str,
    program: std::path::PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The proxy-logged action whose answer completes isolation.
    containment_action: &'static str,
}

impl Subject {
    async fn start(&self, endpoint: &str) -> Function {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Function::start_command(&self.program, &args, endpoint, &env).await
    }
}

struct Call {
    t0: f64,
    t1: f64,
    action: String,
}

fn calls_since(log: &std::path::Path, since: f64) -> Vec<Call> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| Call {
            t0: v["t0"].as_f64().unwrap_or(0.0),
            t1: v["t1"].as_f64().unwrap_or(0.0),
            action: v["action"].as_str().unwrap_or_default().to_string(),
        })
        .filter(|c| c.t0 >= since)
        .collect()
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

/// The longest chain of strictly sequential calls that ends by `end` (greedy earliest-finish).
fn sequential_round_trips(calls: &[Call], start: f64, end: f64) -> usize {
    let mut frontier = start;
    let mut n = 0;
    while let Some(next) = calls
        .iter()
        .filter(|c| c.t0 >= frontier && c.t1 <= end + 1e-6)
        .min_by(|a, b| a.t1.total_cmp(&b.t1))
    {
        frontier = next.t1;
        n += 1;
    }
    n
}

/// The part of [start, end] during which no call was in flight.
fn idle_time(calls: &[Call], start: f64, end: f64) -> f64 {
    let mut spans: Vec<(f64, f64)> = calls
        .iter()
        .filter(|c| c.t1 > start && c.t0 < end)
        .map(|c| (c.t0.max(start), c.t1.min(end)))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut busy, mut cursor) = (0.0, start);
    for (a, b) in spans {
        let a = a.max(cursor);
        if b > a {
            busy += b - a;
            cursor = b;
        }
    }
    (end - start) - busy
}

struct Sample {
    containment_ms: f64,
    /// Time on the path with no AWS call in flight: Firebreak's own work (and the loopback hops).
    own_ms: f64,
    round_trips: usize,
    calls: usize,
    total_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

async fn incident(
    aws: &Aws,
    f: &Function,
    subject: &Subject,
    log: &std::path::Path,
    subnet: &str,
    vpc: &str,
) -> Sample {
    let app = aws.app_group(vpc).await;
    let instance = aws.instance(subnet, &[app], &[]).await;
    let enis = aws.eni_vpcs(&instance).await;
    let event = guardduty_event(
        &unique("bench"),
        "Backdoor:EC2/C&CActivity.B",
        8.0,
        &instance,
        &enis,
        "ACTOR",
    );
    let (result, delivered) = f.invoke_timed(&event).await;
    let answered = SystemTime::now();
    let report = result.unwrap();
    assert_eq!(report["verdict"], "contained", "{}: {report}", subject.name);
    tokio::time::sleep(Duration::from_millis(100)).await; // the proxy writes its log line after answering
    let start = epoch(delivered);
    let calls: Vec<Call> = calls_since(log, start - 0.001)
        .into_iter()
        .filter(|c| c.t0 <= epoch(answered))
        .collect();
    let end = calls
        .iter()
        .filter(|c| c.action == subject.containment_action)
        .map(|c| c.t1)
        .fold(f64::NAN, f64::max);
    Sample {
        containment_ms: (end - start) * 1000.0,
        own_ms: idle_time(&calls, start, end) * 1000.0,
        round_trips: sequential_round_trips(&calls, start, end),
        calls: calls.len(),
        total_ms: (epoch(answered) - start) * 1000.0,
    }
}

/// Everything measured about one subject.
struct Results {
    cold: Vec<f64>,
    cold_first: Vec<f64>,
    rss: Vec<f64>,
    first: Vec<Sample>,
    warm: Vec<Sample>,
}

async fn measure(aws: &Aws, args: &Args, subject: &Subject, net: u8) -> Results {
    // Cold start: process spawn → first poll of invocation/next; and spawn → first event answered.
    let (mut cold, mut cold_first, mut rss) = (Vec::new(), Vec::new(), Vec::new());
    let (vpc, subnet) = aws.vpc(&format!("10.{net}.0.0/16")).await;
    for _ in 0..args.runs.min(10) {
        let f = subject.start(&args.proxy).await;
        let ready = f.ready().await;
        cold.push((ready - f.started()).as_secs_f64() * 1000.0);
        // Set-up between readiness and delivery is not the function's time: count from delivery.
        let s = incident(aws, &f, subject, &args.proxy_log, &subnet, &vpc).await;
        cold_first.push((ready - f.started()).as_secs_f64() * 1000.0 + s.total_ms);
        if let Some(kb) = f.pid().and_then(peak_rss_kb) {
            rss.push(kb as f64 / 1024.0);
        }
    }
    // One warm process: first incident in a new VPC, then warm incidents in a VPC it has seen.
    let f = subject.start(&args.proxy).await;
    f.ready().await;
    let mut first = Vec::new();
    for i in 0..args.runs.min(8) {
        let (vpc, subnet) = aws.vpc(&format!("10.{}.{}.0/24", net + 1, i)).await;
        first.push(incident(aws, &f, subject, &args.proxy_log, &subnet, &vpc).await);
    }
    let (vpc, subnet) = aws.vpc(&format!("10.{}.0.0/16", net + 2)).await;
    incident(aws, &f, subject, &args.proxy_log, &subnet, &vpc).await; // creates the VPC's group(s)
    let mut warm = Vec::new();
    for _ in 0..args.runs {
        warm.push(incident(aws, &f, subject, &args.proxy_log, &subnet, &vpc).await);
    }
    if let Some(kb) = f.pid().and_then(peak_rss_kb) {
        rss.push(kb as f64 / 1024.0);
    }
    Results {
        cold,
        cold_first,
        rss,
        first,
        warm,
    }
}

fn print_subject(args: &Args, subject: &Subject, r: &Results) {
    let d = args.delay_ms;
    println!("### {}\n", subject.name);
    let row = |name: &str, s: &[Sample], rt_budget: usize| {
        let c = median(s.iter().map(|x| x.containment_ms).collect());
        let own = median(s.iter().map(|x| x.own_ms).collect());
        let rts = median(s.iter().map(|x| x.round_trips as f64).collect());
        let calls = median(s.iter().map(|x| x.calls as f64).collect());
        let total = median(s.iter().map(|x| x.total_ms).collect());
        let target = rt_budget as f64 * d + 20.0;
        println!(
            "| {name} | {} | {c:.1} ms | {rts} | {:.1} ms | {:.1} ms | {own:.1} ms | {calls} | {total:.1} ms | ≤ {target:.0} ms: {} | {} |",
            s.len(),
            rts * d,
            c - own - rts * d,
            if c <= target { "met" } else { "missed" },
            if own <= 20.0 && rts <= rt_budget as f64 { "met" } else { "MISSED" }
        );
    };
    println!("| path | runs | median time to containment | sequential round trips | of which injected delay | emulator processing on the path | own time (no call in flight) | API calls (whole incident) | median whole invocation | literal target (RTs × delay + 20 ms) | RTs within budget and own time ≤ 20 ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    row("first incident in a VPC", &r.first, 5);
    row("warm (VPC group exists)", &r.warm, 3);
    println!(
        "\ncold start (spawn → ready for the first event): median {:.1} ms over {} starts (min {:.1}, max {:.1})",
        median(r.cold.clone()),
        r.cold.len(),
        r.cold.iter().cloned().fold(f64::INFINITY, f64::min),
        r.cold.iter().cloned().fold(0.0, f64::max),
    );
    println!(
        "cold first event (spawn → first event answered, excluding set-up between): median {:.1} ms",
        median(r.cold_first.clone())
    );
    println!(
        "peak RSS (VmHWM): median {:.1} MiB, max {:.1} MiB over {} processes\n",
        median(r.rss.clone()),
        r.rss.iter().cloned().fold(0.0, f64::max),
        r.rss.len()
    );
}

fn side_by_side(args: &Args, rust: &Results, peer: Option<&Results>) {
    let d = args.delay_ms;
    type Metric<'a> = (&'a str, Box<dyn Fn(&Results) -> f64>, &'a str, &'a str);
    let metrics: Vec<Metric> = vec![
        (
            "cold start (spawn → ready)",
            Box::new(|r: &Results| median(r.cold.clone())),
            "ms",
            "≤ 20 ms and ≥ 10× faster than the peer",
        ),
        (
            "cold first event (spawn → answered)",
            Box::new(|r: &Results| median(r.cold_first.clone())),
            "ms",
            "",
        ),
        (
            "warm time to containment",
            Box::new(|r: &Results| median(r.warm.iter().map(|s| s.containment_ms).collect())),
            "ms",
            "≤ 3 round trips + 20 ms",
        ),
        (
            "warm sequential round trips",
            Box::new(|r: &Results| median(r.warm.iter().map(|s| s.round_trips as f64).collect())),
            "",
            "",
        ),
        (
            "warm own time on the path",
            Box::new(|r: &Results| median(r.warm.iter().map(|s| s.own_ms).collect())),
            "ms",
            "≤ 20 ms",
        ),
        (
            "first-in-VPC time to containment",
            Box::new(|r: &Results| median(r.first.iter().map(|s| s.containment_ms).collect())),
            "ms",
            "",
        ),
        (
            "API calls per incident (warm)",
            Box::new(|r: &Results| median(r.warm.iter().map(|s| s.calls as f64).collect())),
            "",
            "",
        ),
        (
            "warm whole invocation",
            Box::new(|r: &Results| median(r.warm.iter().map(|s| s.total_ms).collect())),
            "ms",
            "",
        ),
        (
            "peak RSS (max over processes)",
            Box::new(|r: &Results| r.rss.iter().cloned().fold(0.0, f64::max)),
            "MiB",
            "≤ 30 MB",
        ),
    ];
    println!("### Side by side (medians; per-call delay {d} ms)\n");
    println!("| metric | guardduty-responder (Rust) | Python peer (boto3, awslambdaric) | peer ÷ Rust | target |");
    println!("|---|---|---|---|---|");
    for (name, f, unit, target) in &metrics {
        let a = f(rust);
        let (b, ratio) = match peer {
            Some(p) => {
                let b = f(p);
                (format!("{b:.1} {unit}"), format!("{:.1}×", b / a))
            }
            None => ("—".into(), "—".into()),
        };
        println!("| {name} | {a:.1} {unit} | {b} | {ratio} | {target} |");
    }
    let cold = median(rust.cold.clone());
    let warm = &rust.warm;
    let containment = median(warm.iter().map(|s| s.containment_ms).collect());
    let rts = median(warm.iter().map(|s| s.round_trips as f64).collect());
    let rss = rust.rss.iter().cloned().fold(0.0, f64::max);
    println!();
    println!(
        "- warm containment {containment:.1} ms vs 3 × {d} + 20 = {:.0} ms: {} (round trips {rts}, own time {:.1} ms)",
        3.0 * d + 20.0,
        if containment <= 3.0 * d + 20.0 { "met" } else { "missed (see emulator processing above)" },
        median(warm.iter().map(|s| s.own_ms).collect())
    );
    println!(
        "- cold start {cold:.1} ms ≤ 20 ms: {}",
        if cold <= 20.0 { "met" } else { "MISSED" }
    );
    if let Some(p) = peer {
        let ratio = median(p.cold.clone()) / cold;
        println!(
            "- cold start ≥ 10× faster than the peer: {ratio:.1}×: {}",
            if ratio >= 10.0 { "met" } else { "MISSED" }
        );
    }
    println!(
        "- peak RSS {:.1} MB ≤ 30 MB: {}\n",
        rss * 1.048576,
        if rss * 1.048576 <= 30.0 {
            "met"
        } else {
            "MISSED"
        }
    );
}

/// N findings about N distinct instances, delivered by `concurrency` function processes (the
/// template's reserved concurrency) through the throttling proxy; a failed invocation is
/// redelivered up to twice, as Lambda does for asynchronous events. Then the emulator is read back:
/// every instance isolated, one snapshot per volume per finding, none doubled.
async fn burst(aws: &Aws, args: &Args, binary_env: &[(String, String)]) {
    let n = args.burst;
    println!(
        "### Burst: {n} findings about {n} instances, concurrency {}\n",
        args.concurrency
    );
    let set_up = Instant::now();
    let per_vpc = 100;
    let mut scenes = Vec::new(); // (instance, finding, event)
    for v in 0..n.div_ceil(per_vpc) {
        let (vpc, subnet) = aws.vpc(&format!("10.{}.0.0/16", 200 + v)).await;
        let app = aws.app_group(&vpc).await;
        let count = per_vpc.min(n - v * per_vpc) as i32;
        for (instance, enis) in aws.instances(&subnet, &[app], &[], count).await {
            let finding = unique("burst");
            let event = guardduty_event(
                &finding,
                "Backdoor:EC2/C&CActivity.B",
                8.0,
                &instance,
                &enis,
                "ACTOR",
            );
            scenes.push((instance, finding, event));
        }
    }
    eprintln!(
        "burst: {n} instances set up in {:.0} s",
        set_up.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&args.burst_log);

    let queue: Arc<Mutex<VecDeque<(usize, Value, u32)>>> = Arc::new(Mutex::new(
        scenes
            .iter()
            .enumerate()
            .map(|(i, s)| (i, s.2.clone(), 1))
            .collect(),
    ));
    let outcomes: Arc<Mutex<Vec<(usize, u32, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let env: Vec<(&str, &str)> = binary_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut workers = Vec::new();
    let started = Instant::now();
    for _ in 0..args.concurrency {
        let f = Function::start_binary(&args.binary, &args.burst_proxy, &env).await;
        f.ready().await;
        let (queue, outcomes) = (queue.clone(), outcomes.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().unwrap().pop_front();
                let Some((i, event, attempt)) = next else {
                    break;
                };
                match f.invoke(&event).await {
                    Invocation::Response(_) => outcomes.lock().unwrap().push((i, attempt, true)),
                    Invocation::Error { .. } if attempt < 3 => {
                        queue.lock().unwrap().push_back((i, event, attempt + 1))
                    }
                    Invocation::Error { .. } => outcomes.lock().unwrap().push((i, attempt, false)),
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Read the emulator back in bulk.
    let groups = aws.ec2.describe_security_groups().send().await.unwrap();
    let role: HashMap<String, String> = groups
        .security_groups()
        .iter()
        .filter_map(|g| {
            let tag = g
                .tags()
                .iter()
                .find(|t| t.key() == Some("firebreak:quarantine-role"))?;
            Some((g.group_id()?.to_string(), tag.value()?.to_string()))
        })
        .collect();
    let mut enis: HashMap<String, Vec<String>> = HashMap::new();
    let mut token = None;
    loop {
        let page = aws
            .ec2
            .describe_network_interfaces()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for e in page.network_interfaces() {
            if let Some(instance) = e.attachment().and_then(|a| a.instance_id()) {
                enis.entry(instance.to_string()).or_default().push(
                    e.groups()
                        .iter()
                        .filter_map(|g| g.group_id())
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
        }
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    let snapshots = aws
        .ec2
        .describe_snapshots()
        .owner_ids("self")
        .send()
        .await
        .unwrap();
    let mut per_finding_volume: BTreeMap<(String, String), usize> = BTreeMap::new();
    for s in snapshots.snapshots() {
        if let Some(finding) = s
            .tags()
            .iter()
            .find(|t| t.key() == Some("firebreak:finding-id"))
        {
            *per_finding_volume
                .entry((
                    finding.value().unwrap_or_default().to_string(),
                    s.volume_id().unwrap_or_default().to_string(),
                ))
                .or_insert(0) += 1;
        }
    }
    let mut isolated = 0;
    let mut snapshotted = 0;
    for (instance, finding, _) in &scenes {
        let ok = enis.get(instance).is_some_and(|list| {
            !list.is_empty()
                && list
                    .iter()
                    .all(|g| role.get(g).map(String::as_str) == Some("isolation"))
        });
        isolated += ok as usize;
        let volumes = per_finding_volume
            .keys()
            .filter(|(f, _)| f == finding)
            .count();
        snapshotted += (volumes == 2) as usize;
    }
    let duplicates: usize = per_finding_volume
        .values()
        .map(|c| c.saturating_sub(1))
        .sum();
    let outcomes = outcomes.lock().unwrap();
    let succeeded = outcomes.iter().filter(|o| o.2).count();
    let redelivered = outcomes.iter().filter(|o| o.1 > 1).count();
    let log = std::fs::read_to_string(&args.burst_log).unwrap_or_default();
    let calls: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let injected = calls
        .iter()
        .filter(|c| c["status"].as_u64().unwrap_or(0) >= 400)
        .count();
    println!("| findings | contained (isolated, read back) | both volumes snapshotted | duplicate snapshots | invocations succeeded | findings redelivered | wall time | findings/s | API calls | per finding | throttled (injected) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {n} | {isolated}/{n} | {snapshotted}/{n} | {duplicates} | {succeeded}/{n} | {redelivered} | {wall:.1} s | {:.1} | {} | {:.1} | {injected} |\n",
        n as f64 / wall,
        calls.len(),
        calls.len() as f64 / n as f64,
    );
}

/// One attack sequence over `n` fresh instances (100 a VPC), as EventBridge delivers it.
async fn fleet_sequence(aws: &Aws, n: usize, net: usize) -> (Vec<(String, String)>, Value) {
    let mut made = Vec::new(); // (instance, its app group)
    for v in 0..n.div_ceil(100) {
        let (vpc, subnet) = aws.vpc(&format!("10.{}.0.0/16", net + v)).await;
        let app = aws.app_group(&vpc).await;
        let count = 100.min(n - v * 100) as i32;
        for (instance, _) in aws
            .instances(&subnet, std::slice::from_ref(&app), &[], count)
            .await
        {
            made.push((instance, app.clone()));
        }
    }
    let account = firebreak_tests::ACCOUNT;
    let resources: Vec<Value> = (made.iter())
        .map(|(i, _)| {
            serde_json::json!({"uid": format!("arn:aws:ec2:us-east-1:{account}:instance/{i}"),
                "resourceType": "EC2_INSTANCE", "accountId": account, "region": "us-east-1",
                "service": "ec2"})
        })
        .collect();
    let sequence = serde_json::json!({"uid": unique("seq"), "description": "sequence",
        "signals": [{"uid": "s1", "type": "FINDING", "name": "Backdoor:EC2/C&CActivity.B",
                     "createdAt": 1764471540, "updatedAt": 1764471540, "firstSeenAt": 1764471540,
                     "lastSeenAt": 1764471540, "count": 1}],
        "resources": resources});
    let service = serde_json::json!({"serviceName": "guardduty", "count": 1, "archived": false,
        "featureName": "Correlation", "resourceRole": "TARGET", "additionalInfo": {},
        "detection": {"sequence": sequence}});
    let event = firebreak_tests::fixtures::guardduty_envelope(
        &unique("sequence"),
        "AttackSequence:EC2/CompromisedInstanceGroup",
        9.0,
        "sequence over a fleet",
        serde_json::json!({"resourceType": "AttackSequence"}),
        service,
    );
    (made, event)
}

/// `--sequence N`: one sequence over N instances per run, through the delaying proxy; the
/// invocation's wall time, its verdict, the instances isolated, and the calls.
async fn sequence(aws: &Aws, args: &Args, binary_env: &[(String, String)]) {
    let n = args.sequence;
    println!(
        "### Attack sequence over {n} instances, one invocation, per-call delay {} ms\n",
        args.delay_ms
    );
    println!("| run | wall (s) | verdict | isolated | AWS calls | calls a member |");
    println!("|---|---|---|---|---|---|");
    let env: Vec<(&str, &str)> = (binary_env.iter())
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut walls = Vec::new();
    for run in 0..args.sequence_runs {
        let (made, event) = fleet_sequence(aws, n, 100 + run * 10).await;
        let f = Function::start_binary(&args.binary, &args.proxy, &env).await;
        f.ready().await;
        let since = epoch(SystemTime::now());
        let started = Instant::now();
        let answer = f.invoke(&event).await;
        let wall = started.elapsed().as_secs_f64();
        let verdict = match &answer {
            Invocation::Response(v) => v["verdict"].as_str().unwrap_or("?").to_string(),
            Invocation::Error { error_type, .. } => format!("error {error_type}"),
        };
        let mut isolated = 0;
        for (i, app) in &made {
            if aws.groups_of(i).await != vec![app.clone()] {
                isolated += 1;
            }
        }
        let calls = calls_since(&args.proxy_log, since).len();
        println!(
            "| {} | {wall:.1} | {verdict} | {isolated}/{n} | {calls} | {:.1} |",
            run + 1,
            calls as f64 / n as f64
        );
        walls.push(wall);
    }
    println!("\nmedian wall: {:.1} s for {n} members", median(walls));
}

#[tokio::main]
async fn main() {
    let args = args();
    let aws = Aws::new().await;
    let topic = aws.topic_with_queue().await.0;
    let env = vec![
        ("FIREBREAK_TOPIC_ARN".to_string(), topic.clone()),
        ("AWS_LAMBDA_LOG_LEVEL".to_string(), "WARN".to_string()),
        // Hundreds of quarantines in one account within the hour: lift the blast-radius cap.
        (
            "FIREBREAK_MAX_QUARANTINES_PER_HOUR".to_string(),
            "unlimited".to_string(),
        ),
    ];
    let rust = Subject {
        name: "guardduty-responder (Rust)",
        program: args.binary.clone(),
        args: vec![],
        env: env.clone(),
        containment_action: "ModifyNetworkInterfaceAttribute",
    };
    let size = std::fs::metadata(&args.binary)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "binary: {} ({:.1} MiB), per-call delay {} ms\n",
        args.binary.display(),
        size as f64 / 1048576.0,
        args.delay_ms
    );
    if args.runs == 0 {
        // `--runs 0`: the burst or the sequence alone.
        assert!(
            args.burst > 0 || args.sequence > 0,
            "--runs 0 needs --burst N or --sequence N"
        );
        if args.burst > 0 {
            burst(&aws, &args, &env).await;
        }
        if args.sequence > 0 {
            sequence(&aws, &args, &env).await;
        }
        return;
    }
    let rust_results = measure(&aws, &args, &rust, 90).await;
    print_subject(&args, &rust, &rust_results);
    let peer_results = match (&args.peer_python, &args.peer_dir) {
        (Some(python), Some(dir)) => {
            let mut peer_env = env.clone();
            peer_env.push(("PYTHONPATH".into(), dir.clone()));
            let peer = Subject {
                name: "Python peer (boto3 under awslambdaric)",
                program: python.clone(),
                args: vec![
                    "-m".into(),
                    "awslambdaric".into(),
                    "quarantine.lambda_handler".into(),
                ],
                env: peer_env,
                containment_action: "ModifyInstanceAttribute",
            };
            let r = measure(&aws, &args, &peer, 150).await;
            print_subject(&args, &peer, &r);
            Some(r)
        }
        _ => None,
    };
    side_by_side(&args, &rust_results, peer_results.as_ref());
    if args.burst > 0 {
        assert!(!args.burst_proxy.is_empty(), "--burst needs --burst-proxy");
        burst(&aws, &args, &env).await;
    }
    if args.sequence > 0 {
        sequence(&aws, &args, &env).await;
    }
}
