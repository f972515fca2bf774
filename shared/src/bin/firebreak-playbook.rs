//! `firebreak-playbook`: what a playbook decides for sample findings, without calling AWS.
//!
//! ```text
//! cargo run -p firebreak --bin firebreak-playbook -- [--playbook FILE] EVENT.json…
//! ```
//!
//! For each event file (a GuardDuty EventBridge event, one per file or one per line), prints one
//! JSON line: the finding, the rule that decided, and the plan as a dry run would show it. The
//! playbook is validated first (the same check as the functions' start-up); the configuration is
//! read from the same `FIREBREAK_*` variables as the functions'. Exit status: 0 when every event
//! was decided, 1 when an event could not be read or parsed, 2 when the playbook is invalid.

use std::process::ExitCode;

use firebreak::{Config, Incident};
use serde_json::{json, Value};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    let mut playbook = None;
    let mut events = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--playbook" => playbook = args.next(),
            "-h" | "--help" => {
                eprintln!("usage: firebreak-playbook [--playbook FILE] EVENT.json...");
                return ExitCode::SUCCESS;
            }
            _ => events.push(a),
        }
    }
    let config = Config::from_lookup(|name| match name {
        "FIREBREAK_PLAYBOOK_FILE" => playbook.clone(),
        "FIREBREAK_TOPIC_ARN" => std::env::var(name)
            .ok()
            .or_else(|| Some("arn:aws:sns:us-east-1:000000000000:firebreak-playbook-check".into())),
        _ => std::env::var(name).ok(),
    });
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    for w in config.playbook.lowering_tag_rules() {
        eprintln!("warning: {w}");
    }
    if config.playbook.has_tag_rules() {
        eprintln!(
            "note: tag rules match the tags in each event here; deployed, they match the \
             instance's tags as EC2 holds them when the finding arrives"
        );
    }
    let mut failed = false;
    for file in &events {
        for line in decide_file(&config, file) {
            match line {
                Ok(v) => println!("{v}"),
                Err(e) => {
                    eprintln!("{file}: {e}");
                    failed = true;
                }
            }
        }
    }
    match failed {
        true => ExitCode::from(1),
        false => ExitCode::SUCCESS,
    }
}

/// One decision per event in the file (the whole file as one JSON document, else one per line).
fn decide_file(config: &Config, file: &str) -> Vec<Result<Value, String>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => return vec![Err(format!("cannot read it: {e}"))],
    };
    let documents: Vec<Result<Value, String>> = match serde_json::from_str::<Value>(&text) {
        Ok(v) => vec![Ok(v)],
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("not JSON: {e}")))
            .collect(),
    };
    documents
        .into_iter()
        .map(|d| d.and_then(|v| decide(config, file, &v)))
        .collect()
}

fn decide(config: &Config, file: &str, event: &Value) -> Result<Value, String> {
    let incident = Incident::from_event(event).map_err(|e| format!("{}: {e}", e.error_type()))?;
    let plan = firebreak::playbook::plan(&incident, config);
    let dry_run = firebreak::plan::dry_run(&plan);
    Ok(json!({
        "event": file,
        "finding_id": incident.finding_id,
        "finding_type": incident.finding_type,
        "severity": incident.severity,
        "resource": incident.resource_name(),
        "playbook": config.playbook.source,
        "decided_by": plan.decided_by,
        "rule": plan.rule,
        "reason": plan.reason,
        "actions": plan.actions,
        "plan": dry_run,
    }))
}
