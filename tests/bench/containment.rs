//! Time-to-containment benchmark (not part of the test run; `scripts/bench` drives it).
//!
//! The function binary reaches AWS through `aws-latency-proxy.py` (a fixed delay per call, every call
//! logged); this program sets up state directly on the local AWS, delivers events through the
//! emulated Lambda Runtime API and reads the proxy's log to find when containment completed: the
//! answer to the last `ModifyNetworkInterfaceAttribute` of the incident.
//!
//! Usage: bench-containment --binary PATH --proxy URL --proxy-log FILE [--delay-ms 40] [--runs 15]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firebreak_tests::fixtures::{guardduty_event, unique, Aws};
use firebreak_tests::Function;
use serde_json::Value;

struct Args {
    binary: std::path::PathBuf,
    proxy: String,
    proxy_log: std::path::PathBuf,
    delay_ms: f64,
    runs: usize,
}

fn args() -> Args {
    let mut a = Args {
        binary: "target/release/guardduty-responder".into(),
        proxy: String::new(),
        proxy_log: "calls.jsonl".into(),
        delay_ms: 40.0,
        runs: 15,
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
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(!a.proxy.is_empty(), "--proxy URL is required");
    a
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

async fn incident(aws: &Aws, f: &Function, args: &Args, subnet: &str, vpc: &str) -> Sample {
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
    assert_eq!(report["verdict"], "contained", "{report}");
    tokio::time::sleep(Duration::from_millis(100)).await; // the proxy writes its log line after answering
    let start = epoch(delivered);
    let calls = calls_since(&args.proxy_log, start - 0.001);
    let end = calls
        .iter()
        .filter(|c| c.action == "ModifyNetworkInterfaceAttribute")
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

#[tokio::main]
async fn main() {
    let args = args();
    let aws = Aws::new().await;
    let topic = aws.topic_with_queue().await.0;
    let env = [
        ("FIREBREAK_TOPIC_ARN", topic.as_str()),
        ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
    ];

    // Cold start: process spawn → first poll of invocation/next; and spawn → first event answered.
    let mut cold = Vec::new();
    let mut cold_first = Vec::new();
    let mut rss = Vec::new();
    let (vpc, subnet) = aws.vpc("10.90.0.0/16").await;
    for _ in 0..args.runs.min(10) {
        let f = Function::start_binary(&args.binary, &args.proxy, &env).await;
        let ready = f.ready().await;
        cold.push((ready - f.started()).as_secs_f64() * 1000.0);
        // Set-up between readiness and delivery is not the function's time: count from delivery.
        let s = incident(&aws, &f, &args, &subnet, &vpc).await;
        cold_first.push((ready - f.started()).as_secs_f64() * 1000.0 + s.total_ms);
        if let Some(kb) = f.pid().and_then(peak_rss_kb) {
            rss.push(kb as f64 / 1024.0);
        }
    }

    // One warm process: first incident in a new VPC, then warm incidents in a VPC it has seen.
    let f = Function::start_binary(&args.binary, &args.proxy, &env).await;
    f.ready().await;
    let mut first = Vec::new();
    let mut warm = Vec::new();
    for i in 0..args.runs.min(8) {
        let (vpc, subnet) = aws.vpc(&format!("10.{}.0.0/16", 100 + i)).await;
        first.push(incident(&aws, &f, &args, &subnet, &vpc).await);
    }
    let (vpc, subnet) = aws.vpc("10.91.0.0/16").await;
    incident(&aws, &f, &args, &subnet, &vpc).await; // creates the VPC's groups
    for _ in 0..args.runs {
        warm.push(incident(&aws, &f, &args, &subnet, &vpc).await);
    }
    if let Some(kb) = f.pid().and_then(peak_rss_kb) {
        rss.push(kb as f64 / 1024.0);
    }

    let d = args.delay_ms;
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
    let size = std::fs::metadata(&args.binary)
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "binary: {} ({:.1} MiB), per-call delay {d} ms\n",
        args.binary.display(),
        size as f64 / 1048576.0
    );
    println!("| path | runs | median time to containment | sequential round trips | of which injected delay | emulator processing on the path | Firebreak's own time (no call in flight) | API calls (whole incident) | median whole invocation | literal target (RTs × delay + 20 ms) | RTs within budget and own time ≤ 20 ms |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    row("first incident in a VPC", &first, 5);
    row("warm (VPC groups exist)", &warm, 3);
    println!();
    let cold_med = median(cold.clone());
    println!(
        "cold start (spawn → ready for the first event): median {cold_med:.1} ms over {} starts (min {:.1}, max {:.1}); target ≤ 20 ms: {}",
        cold.len(),
        cold.iter().cloned().fold(f64::INFINITY, f64::min),
        cold.iter().cloned().fold(0.0, f64::max),
        if cold_med <= 20.0 { "met" } else { "MISSED" }
    );
    println!("cold first event (spawn → first event answered, excluding set-up between): median {:.1} ms", median(cold_first));
    let rss_max = rss.iter().cloned().fold(0.0, f64::max);
    println!(
        "peak RSS (VmHWM): median {:.1} MiB, max {rss_max:.1} MiB over {} processes; target ≤ 30 MB: {}",
        median(rss.clone()),
        rss.len(),
        if rss_max * 1.048576 <= 30.0 { "met" } else { "MISSED" }
    );
}
