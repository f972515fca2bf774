//! Behaviour byte for byte against `shared/tests/golden/responses.txt`.

use firebreak::config::Config;
use firebreak::error::FirebreakError;

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{FakeEc2, FakeSns};
use crate::scenarios::*;

/// Times and per-minute names as `<time>` / `<minute>`: what differs between two runs of the
/// same scenario (the clock is the system's), and nothing else.
fn normalized(text: &str) -> String {
    let b = text.as_bytes();
    let shape = |i: usize, pat: &str| {
        pat.bytes().enumerate().all(|(k, p)| {
            b.get(i + k).is_some_and(|c| {
                if p == b'9' {
                    c.is_ascii_digit()
                } else {
                    *c == p
                }
            })
        })
    };
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if shape(i, "9999-99-99T99:99:99") {
            let mut j = i + 19;
            while j < b.len() && (b[j] == b'.' || b[j].is_ascii_digit()) {
                j += 1;
            }
            if b.get(j) == Some(&b'Z') {
                j += 1;
            }
            out.push_str("<time>");
            i = j;
        } else if shape(i, "-99999999T999999Z") {
            out.push_str("-<minute>");
            i += 17;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// What a scenario leaves to compare: the report, every message, every call.
fn transcript(
    name: &str,
    report: &Result<firebreak::report::Report, FirebreakError>,
    sns: &FakeSns,
    calls: &[Vec<String>],
) -> String {
    let report = match report {
        Ok(r) => serde_json::to_string_pretty(r).unwrap(),
        Err(e) => format!("error {}: {e}", e.error_type()),
    };
    let messages: Vec<String> = (sns.0.lock().unwrap().iter())
        .map(|n| {
            format!(
                "{}\n{}\n{}\n{}\n{:?}",
                n.subject, n.body, n.report, n.chat, n.attributes
            )
        })
        .collect();
    let calls: Vec<String> = calls.iter().map(|c| c.join("\n")).collect();
    normalized(&format!(
        "=== {name}\n--- report\n{report}\n--- messages\n{}\n--- calls\n{}\n",
        messages.join("\n~~~\n"),
        calls.join("\n~~~\n")
    ))
}

/// Behaviour byte for byte (issue 23): each scenario's report, notification and calls, compared
/// with `shared/tests/golden/responses.txt` as the code before the redesign (98df2ae) produced it (times
/// normalized). `FIREBREAK_BLESS=1` rewrites the file: only for a change of behaviour meant as one.
#[tokio::test]
async fn responses_are_byte_for_byte_the_golden_ones() {
    let mut all = String::new();
    {
        let (ec2, sns) = (FakeEc2::new(vec!["sg-app".into()]), FakeSns::default());
        let report = respond_to(&ec2, &sns).await;
        all.push_str(&transcript(
            "contain an instance",
            &report,
            &sns,
            &[ec2.calls()],
        ));
        let again = respond_to(&ec2, &sns).await;
        all.push_str(&transcript("its redelivery", &again, &sns, &[ec2.calls()]));
        let released = release(&ec2).await;
        let text = format!("{released:?}\n{}", ec2.calls().join("\n"));
        all.push_str(&normalized(&format!("=== its release\n{text}\n")));
    }
    {
        let (ec2, sns) = (FakeEc2::new(vec!["sg-app".into()]), FakeSns::default());
        let dry = Config {
            mode: firebreak::config::Mode::DryRun,
            ..config()
        };
        let report = firebreak::respond::respond(
            &incident(),
            &dry,
            &ec2,
            &NoEstate,
            &FakeIam::default(),
            &sns,
        )
        .await;
        all.push_str(&transcript("dry run", &report, &sns, &[ec2.calls()]));
    }
    {
        let (iam, ec2, sns) = (FakeIam::default(), FakeEc2::new(vec![]), FakeSns::default());
        let i = key_incident(
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            user_key("AKIALEAKEDLEAKED0001"),
        );
        let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns).await;
        all.push_str(&transcript(
            "a leaked key",
            &report,
            &sns,
            &[iam.calls(), ec2.calls()],
        ));
    }
    {
        let (iam, ec2, sns) = (FakeIam::default(), ec2_with_profile(), FakeSns::default());
        let i = exfiltration("web-role", "i-0123456789abcdef0");
        let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns).await;
        all.push_str(&transcript(
            "exfiltrated credentials",
            &report,
            &sns,
            &[iam.calls(), ec2.calls()],
        ));
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/responses.txt");
    if std::env::var("FIREBREAK_BLESS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &all).unwrap();
    }
    let golden = std::fs::read_to_string(path).expect("tests/golden/responses.txt");
    if golden != all {
        let first = (golden.lines().zip(all.lines()))
            .position(|(a, b)| a != b)
            .unwrap_or(golden.lines().count().min(all.lines().count()));
        panic!(
            "responses differ from tests/golden/responses.txt from line {}:\n  golden: {:?}\n  now:    {:?}",
            first + 1,
            golden.lines().nth(first),
            all.lines().nth(first)
        );
    }
}
