//! The deny-older-sessions policies as IAM holds them, and what one revocation changes in them.
//!
//! IAM caps the sum of a principal's inline policy documents (IAM User Guide, "IAM and AWS STS
//! quotas": 10,240 characters for a role, 2,048 for a user, white space not counted) and answers
//! `LimitExceeded` past it. A policy per revoked instance fills a fleet's shared role after about
//! twenty revocations, so the role's stolen sessions are denied per *minute*: every instance
//! revoked within the same minute is listed in one policy whose cutoff is the end of that minute
//! ([`Minute`]). A revocation reads what the principal holds, merges its instance into the
//! minute's policy, takes over the instances of the earlier per-instance policies while there is
//! room ([`add_instances`]), prunes what denies nothing any more (a cutoff older than the longest
//! a temporary credential lasts), and counts the result as IAM does before writing anything: what
//! does not fit is [`NoRoom`], for the caller to deny the role's every session instead
//! ([`deny_older`]).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::clock::epoch_seconds;
use crate::shell;
use crate::tags;

/// IAM's cap on the sum of a role's inline policy documents, in characters (IAM User Guide, "IAM
/// and AWS STS quotas", inline policies).
pub const ROLE_QUOTA: usize = 10_240;
/// The same for a user.
pub const USER_QUOTA: usize = 2_048;

/// The longest a temporary credential lasts: 129,600 s, 36 h (IAM User Guide, "Disabling
/// permissions for temporary security credentials"; `GetSessionToken`, `GetFederationToken`). A
/// role session lasts at most 12 h, but "the maximum session duration setting does not limit
/// sessions assumed by AWS services" (IAM and AWS STS quotas), such as EC2's instance-profile
/// sessions: only the 36 h bound is documented for them.
pub const LONGEST_CREDENTIAL_SECONDS: i64 = 129_600;
/// What a cutoff keeps beyond [`LONGEST_CREDENTIAL_SECONDS`] before it is pruned: clocks differ.
pub const SKEW_SECONDS: i64 = 300;
/// The instances revoked within one minute share a policy.
pub const MINUTE_SECONDS: i64 = 60;

const TOKEN_ISSUE_TIME: &str = "aws:TokenIssueTime";
const SOURCE_INSTANCE_ARN: &str = "ec2:SourceInstanceARN";
const USER_ID: &str = "aws:userId";

/// A policy document's size as IAM counts it against the quotas: its characters, white space
/// (space, tab, line feed, carriage return) left out.
pub fn iam_size(document: &str) -> usize {
    document
        .chars()
        .filter(|c| !matches!(c, ' ' | '\t' | '\n' | '\r'))
        .count()
}

/// The deny of every session issued before `cutoff` (the shape the IAM console writes for a role).
pub fn older_sessions(cutoff: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {"DateLessThan": {TOKEN_ISSUE_TIME: cutoff}}
        }]
    })
    .to_string()
}

/// `cutoff` rounded up to a whole minute (RFC 3339); `None` when it does not parse.
pub fn minute_after(cutoff: &str) -> Option<String> {
    let secs = epoch_seconds(cutoff)?;
    let minute = secs.div_euclid(MINUTE_SECONDS) * MINUTE_SECONDS;
    let up = match minute < secs || fraction(cutoff) {
        true => minute + MINUTE_SECONDS,
        false => minute,
    };
    aws_smithy_types::DateTime::from_secs(up)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .ok()
}

/// Whether an RFC 3339 time has a non-zero fraction of a second.
fn fraction(t: &str) -> bool {
    t.split_once('.')
        .is_some_and(|(_, f)| f.chars().take_while(char::is_ascii_digit).any(|c| c != '0'))
}

/// Whether a cutoff denies nothing any more at `now` (seconds since the epoch): every credential
/// issued before it has expired. One that does not parse is never taken as expired.
pub fn expired(cutoff: &str, now: i64) -> bool {
    epoch_seconds(cutoff).is_some_and(|c| now >= c + LONGEST_CREDENTIAL_SECONDS + SKEW_SECONDS)
}

/// The later of two cutoffs (`a` when either does not parse).
fn later<'a>(a: &'a str, b: &'a str) -> &'a str {
    match (epoch_seconds(a), epoch_seconds(b)) {
        (Some(x), Some(y)) if y > x || (y == x && fraction(b) && !fraction(a)) => b,
        _ => a,
    }
}

/// The values of one condition key: a string or a list of strings.
fn values(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// A document's statements (a list, or one statement).
fn statements(document: &str) -> Vec<Value> {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return Vec::new();
    };
    match doc.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The latest `aws:TokenIssueTime` cutoff of a document's deny statements.
pub fn cutoff_of(document: &str) -> Option<String> {
    statements(document)
        .iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Deny"))
        .filter_map(|s| {
            s.pointer("/Condition/DateLessThan")?
                .get(TOKEN_ISSUE_TIME)?
                .as_str()
        })
        .map(String::from)
        .reduce(|a, b| later(&a, &b).to_string())
}

/// An instance whose sessions of the role are denied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    /// `arn:<partition>:ec2:<region>:<account>:instance/<id>`.
    pub arn: String,
}

impl Instance {
    /// The instance, when `id` is an instance id and `arn` its ARN: both go into a policy whose
    /// condition operators take `*` and `?` as wildcards, so nothing else is written.
    pub fn new(id: &str, arn: &str) -> Option<Instance> {
        let named = arn.rsplit_once(":instance/").is_some_and(|(_, i)| i == id);
        (shell::instance_id(id) && shell::arn(arn) && named).then(|| Instance {
            id: id.to_string(),
            arn: arn.to_string(),
        })
    }

    /// The `aws:userId` of the role's sessions EC2 issues to the instance: `<role id>:<instance
    /// id>`; in a policy of that role, `*:<instance id>` matches exactly those.
    pub fn session(&self) -> String {
        format!("*:{}", self.id)
    }
}

/// The per-instance policy of earlier versions (named `tags::instance_revoke_policy`): what a
/// revocation writes when it cannot read the role's policies, since nothing is merged into it and no
/// other revocation writes that name. A later revocation takes it over.
pub fn single_document(cutoff: &str, i: &Instance) -> String {
    let deny = |operator: &str, key: &str, value: &str| {
        json!({
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {TOKEN_ISSUE_TIME: cutoff}, operator: {key: value}}
        })
    };
    let statements = [
        deny("ArnEquals", SOURCE_INSTANCE_ARN, &i.arn),
        deny("StringLike", USER_ID, &i.session()),
    ];
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// One minute's policy: the instances whose sessions of the role issued before its cutoff are
/// denied, by `ec2:SourceInstanceARN` (the instance-profile credentials carry the instance's ARN)
/// and by `aws:userId` (EC2 names the session after the instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minute {
    /// A whole minute, RFC 3339.
    pub cutoff: String,
    /// The instances' ARNs.
    pub arns: BTreeSet<String>,
    /// `*:<instance id>` each.
    pub sessions: BTreeSet<String>,
}

impl Minute {
    /// No instance yet.
    pub fn new(cutoff: &str) -> Minute {
        Minute {
            cutoff: cutoff.to_string(),
            arns: BTreeSet::new(),
            sessions: BTreeSet::new(),
        }
    }

    /// Its policy's name.
    pub fn name(&self) -> String {
        tags::instance_sessions_policy(&self.cutoff)
    }

    /// Whether it denies the instance's sessions.
    pub fn denies(&self, i: &Instance) -> bool {
        self.arns.contains(&i.arn) && self.sessions.contains(&i.session())
    }

    /// How many instances it lists.
    pub fn len(&self) -> usize {
        self.arns.len().max(self.sessions.len())
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn add(&mut self, i: &Instance) {
        self.arns.insert(i.arn.clone());
        self.sessions.insert(i.session());
    }

    fn remove(&mut self, i: &Instance) {
        self.arns.remove(&i.arn);
        self.sessions.remove(&i.session());
    }

    /// The policy document: two deny statements, each with the cutoff.
    pub fn document(&self) -> String {
        let deny = |key: &str, values: &BTreeSet<String>, operator: &str| {
            json!({
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
                "Condition": {
                    "DateLessThan": {TOKEN_ISSUE_TIME: self.cutoff},
                    operator: {key: values}
                }
            })
        };
        let mut statements = Vec::new();
        if !self.arns.is_empty() {
            statements.push(deny(SOURCE_INSTANCE_ARN, &self.arns, "ArnEquals"));
        }
        if !self.sessions.is_empty() {
            statements.push(deny(USER_ID, &self.sessions, "StringLike"));
        }
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    /// A document [`Minute::document`] wrote; `None` for anything else (one cutoff in every
    /// statement, every statement a deny of all actions on the two keys only).
    pub fn parse(document: &str) -> Option<Minute> {
        let statements = statements(document);
        let mut minute: Option<Minute> = None;
        for s in &statements {
            let everything = |k: &str| values(s.get(k)) == ["*"];
            let deny = s.get("Effect").and_then(Value::as_str) == Some("Deny");
            let condition = s.get("Condition")?.as_object()?;
            let cutoff = condition
                .get("DateLessThan")?
                .get(TOKEN_ISSUE_TIME)?
                .as_str()?;
            let m = minute.get_or_insert_with(|| Minute::new(cutoff));
            if !deny || !everything("Action") || !everything("Resource") || m.cutoff != cutoff {
                return None;
            }
            let arns = condition
                .get("ArnEquals")
                .and_then(|c| c.get(SOURCE_INSTANCE_ARN));
            let sessions = condition.get("StringLike").and_then(|c| c.get(USER_ID));
            if condition.len() != 2 || arns.is_none() == sessions.is_none() {
                return None;
            }
            m.arns.extend(values(arns));
            m.sessions.extend(values(sessions));
        }
        minute
    }
}

/// What a principal holds, as a revocation reads it.
#[derive(Debug, Clone)]
enum Held {
    /// A minute's policy.
    Minute(Minute),
    /// An earlier version's per-instance policy: its cutoff, and its instance when it names one.
    Single(String, Option<Instance>),
    /// Anything else: counted, never changed.
    Other,
}

fn held(name: &str, document: &str) -> Held {
    if name.starts_with(tags::INSTANCE_SESSIONS_POLICY_PREFIX) {
        if let Some(m) = Minute::parse(document) {
            if name == m.name() {
                return Held::Minute(m);
            }
        }
    }
    let single = tags::instance_of_revoke_policy(name).and_then(|id| {
        let cutoff = cutoff_of(document)?;
        let arn = statements(document).iter().find_map(|s| {
            s.pointer("/Condition/ArnEquals")?
                .get(SOURCE_INSTANCE_ARN)?
                .as_str()
                .map(String::from)
        });
        Some((cutoff, arn.and_then(|a| Instance::new(id, &a))))
    });
    match single {
        Some((cutoff, instance)) => Held::Single(cutoff, instance),
        None => Held::Other,
    }
}

/// What a revocation changes in a principal's inline policies, in this order: `prune` deleted
/// (they deny nothing any more, and free room), `put` written, `retire` deleted once the written
/// policies are read back with what they took over from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Policies whose cutoff has expired.
    pub prune: Vec<String>,
    /// (name, document) to write.
    pub put: Vec<(String, String)>,
    /// Earlier versions' per-instance policies, and the instance and cutoff minute that take them
    /// over.
    pub retire: Vec<(String, String, Instance)>,
    /// The principal's inline policies once all is done, as IAM counts them.
    pub size: usize,
    /// The most they hold on the way (before `retire`).
    pub peak: usize,
}

/// A deny that does not fit in the principal's inline policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// What the principal's inline policies would hold, as IAM counts them.
    pub needed: usize,
    /// IAM's quota.
    pub quota: usize,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "its inline policies would hold {} characters, over IAM's {} (white space not \
             counted)",
            self.needed, self.quota
        )
    }
}

/// A principal's live policies: the minutes by name, the earlier per-instance ones, the size of
/// everything else, and the expired ones to prune.
#[derive(Default)]
struct Live {
    minutes: BTreeMap<String, Minute>,
    singles: Vec<(String, usize, String, Instance)>,
    fixed: usize,
    prune: Vec<String>,
}

fn live(policies: &[(String, String)], now: i64, except: Option<&str>) -> Live {
    let mut l = Live::default();
    for (name, document) in policies {
        if Some(name.as_str()) == except {
            continue;
        }
        let size = iam_size(document);
        match held(name, document) {
            Held::Minute(m) if expired(&m.cutoff, now) => l.prune.push(name.clone()),
            Held::Single(c, _) if expired(&c, now) => l.prune.push(name.clone()),
            Held::Minute(m) => {
                l.minutes.insert(name.clone(), m);
            }
            Held::Single(c, Some(i)) => l.singles.push((name.clone(), size, c, i)),
            Held::Single(..) | Held::Other => l.fixed += size,
        }
    }
    l
}

impl Live {
    /// The size of everything held, the minutes as they are now in `minutes`.
    fn size(&self, minutes: &BTreeMap<String, Minute>, retired: &[String]) -> usize {
        let singles: usize = self
            .singles
            .iter()
            .filter(|(n, ..)| !retired.contains(n))
            .map(|(_, s, ..)| s)
            .sum();
        self.fixed
            + singles
            + minutes
                .values()
                .map(|m| iam_size(&m.document()))
                .sum::<usize>()
    }
}

/// The changes that deny the sessions of each `(cutoff minute, instance)` of `wanted` in the role
/// holding `policies` (its inline policies: name, document), at `now` (seconds since the epoch):
/// each instance added to its minute's policy; the earlier versions' per-instance policies taken
/// over while the role has room; the expired pruned. [`NoRoom`] when the wanted instances do not
/// fit.
pub fn add_instances(
    policies: &[(String, String)],
    wanted: &[(String, Instance)],
    now: i64,
    quota: usize,
) -> Result<Changes, NoRoom> {
    let live = live(policies, now, None);
    let mut minutes = live.minutes.clone();
    for (cutoff, i) in wanted {
        let m = minutes.entry(tags::instance_sessions_policy(cutoff));
        m.or_insert_with(|| Minute::new(cutoff)).add(i);
    }
    let needed = live.size(&minutes, &[]);
    if needed > quota {
        return Err(NoRoom { needed, quota });
    }
    // The earlier versions' policies, each into its cutoff's minute while the peak fits.
    let mut retire = Vec::new();
    for (name, _, cutoff, i) in &live.singles {
        let Some(minute) = minute_after(cutoff) else {
            continue;
        };
        // Its instance is wanted again, at a later cutoff: that deny takes it over.
        let again = wanted
            .iter()
            .find(|(c, w)| w == i && epoch_seconds(c) >= epoch_seconds(&minute));
        if let Some((c, _)) = again {
            retire.push((name.clone(), c.clone(), i.clone()));
            continue;
        }
        let mut next = minutes.clone();
        let m = next.entry(tags::instance_sessions_policy(&minute));
        m.or_insert_with(|| Minute::new(&minute)).add(i);
        if live.size(&next, &[]) <= quota {
            minutes = next;
            retire.push((name.clone(), minute, i.clone()));
        }
    }
    let retired: Vec<String> = retire.iter().map(|(n, ..)| n.clone()).collect();
    let put = minutes
        .iter()
        .filter(|(name, m)| live.minutes.get(*name) != Some(m))
        .map(|(name, m)| (name.clone(), m.document()))
        .collect();
    Ok(Changes {
        peak: live.size(&minutes, &[]),
        size: live.size(&minutes, &retired),
        prune: live.prune,
        put,
        retire,
    })
}

/// Whether the role holding `policies` denies the instance's sessions issued before `cutoff`: a
/// minute's policy of that cutoff or a later one lists it.
pub fn denies(policies: &[(String, String)], cutoff: &str, i: &Instance) -> bool {
    let since = epoch_seconds(cutoff);
    policies
        .iter()
        .any(|(name, document)| match held(name, document) {
            Held::Minute(m) => m.denies(i) && epoch_seconds(&m.cutoff) >= since,
            _ => false,
        })
}

/// The policy and cutoff of the latest live deny of the instance's sessions the role holds (a
/// minute's policy, or an earlier version's per-instance one), when it holds one.
pub fn denied_by(
    policies: &[(String, String)],
    i: &Instance,
    now: i64,
) -> Option<(String, String)> {
    let denying = policies.iter().filter_map(|(name, document)| {
        let cutoff = match held(name, document) {
            Held::Minute(m) if m.denies(i) => m.cutoff,
            Held::Single(c, Some(s)) if s == *i => c,
            _ => return None,
        };
        (!expired(&cutoff, now)).then(|| (name.clone(), cutoff))
    });
    denying.max_by_key(|(_, c)| epoch_seconds(c))
}

/// The changes that take each instance of `wanted` off the minute policies of earlier cutoffs
/// (its wanted one denies all they did), deleting a policy left with no instance.
pub fn superseded(policies: &[(String, String)], wanted: &[(String, Instance)]) -> Changes {
    let mut changes = Changes::default();
    for (name, document) in policies {
        let Held::Minute(mut m) = held(name, document) else {
            continue;
        };
        let since = epoch_seconds(&m.cutoff);
        let earlier = |(c, i): &&(String, Instance)| m.denies(i) && epoch_seconds(c) > since;
        let gone: Vec<Instance> = wanted
            .iter()
            .filter(earlier)
            .map(|(_, i)| i.clone())
            .collect();
        if gone.is_empty() {
            continue;
        }
        gone.iter().for_each(|i| m.remove(i));
        match m.is_empty() {
            true => changes.prune.push(name.clone()),
            false => changes.put.push((name.clone(), m.document())),
        }
    }
    changes
}

/// The minute's policy of `cutoff` the role holds, when it does.
pub fn minute_of(policies: &[(String, String)], cutoff: &str) -> Option<Minute> {
    let name = tags::instance_sessions_policy(cutoff);
    policies
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, d)| Minute::parse(d))
}

/// The changes that deny every session of the principal holding `policies` issued before
/// `cutoff`, with its policy `name` (kept at the later of the cutoff it holds and `cutoff`), the
/// expired instance policies pruned; and the cutoff in force. [`NoRoom`] when it does not fit.
pub fn deny_older(
    policies: &[(String, String)],
    name: &str,
    cutoff: &str,
    now: i64,
    quota: usize,
) -> Result<(Changes, String), NoRoom> {
    let live = live(policies, now, Some(name));
    let current = policies.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let in_force = match current.and_then(|d| cutoff_of(d)) {
        Some(c) => later(&c, cutoff).to_string(),
        None => cutoff.to_string(),
    };
    let document = older_sessions(&in_force);
    let needed = live.size(&live.minutes, &[]) + iam_size(&document);
    if needed > quota {
        return Err(NoRoom { needed, quota });
    }
    let changes = Changes {
        prune: live.prune,
        put: vec![(name.to_string(), document)],
        retire: Vec::new(),
        size: needed,
        peak: needed,
    };
    Ok((changes, in_force))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-30T03:00:20Z";

    fn now() -> i64 {
        epoch_seconds(NOW).unwrap()
    }

    fn instance(n: u32) -> Instance {
        let id = format!("i-{n:017x}");
        let arn = format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
        Instance::new(&id, &arn).unwrap()
    }

    /// An earlier version's per-instance policy (`instance_revoke_policy` of those versions).
    fn single(i: &Instance, cutoff: &str) -> (String, String) {
        let deny = |condition: Value| json!({"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": condition});
        let doc = json!({"Version": "2012-10-17", "Statement": [
            deny(json!({"DateLessThan": {TOKEN_ISSUE_TIME: cutoff},
                        "ArnEquals": {SOURCE_INSTANCE_ARN: i.arn}})),
            deny(json!({"DateLessThan": {TOKEN_ISSUE_TIME: cutoff},
                        "StringEquals": {USER_ID: format!("AROAEXAMPLE:{}", i.id)}})),
        ]});
        (tags::instance_revoke_policy(&i.id), doc.to_string())
    }

    /// `policies` with `changes` applied, as IAM would then hold them.
    fn applied(policies: &[(String, String)], c: &Changes) -> Vec<(String, String)> {
        let mut held: BTreeMap<String, String> = policies.iter().cloned().collect();
        for n in &c.prune {
            held.remove(n);
        }
        held.extend(c.put.iter().cloned());
        for (n, ..) in &c.retire {
            held.remove(n);
        }
        held.into_iter().collect()
    }

    fn total(policies: &[(String, String)]) -> usize {
        policies.iter().map(|(_, d)| iam_size(d)).sum()
    }

    #[test]
    fn iam_counts_characters_without_white_space() {
        assert_eq!(iam_size("{ \"a\" :\n\t\"b c\" }\r\n"), 10);
        let pretty = serde_json::to_string_pretty(&json!({"Version": "2012-10-17"})).unwrap();
        assert_eq!(iam_size(&pretty), iam_size(r#"{"Version":"2012-10-17"}"#));
    }

    #[test]
    fn a_cutoff_rounds_up_to_its_minute_and_expires_after_the_longest_credential() {
        assert_eq!(minute_after(NOW).unwrap(), "2026-11-30T03:01:00Z");
        assert_eq!(
            minute_after("2026-11-30T03:01:00Z").unwrap(),
            "2026-11-30T03:01:00Z"
        );
        assert_eq!(
            minute_after("2026-11-30T03:01:00.5Z").unwrap(),
            "2026-11-30T03:02:00Z"
        );
        assert_eq!(minute_after("garbled"), None);
        let last = epoch_seconds("2026-11-30T03:00:00Z").unwrap() + 36 * 3600 + 300;
        assert!(!expired("2026-11-30T03:00:00Z", last - 1));
        assert!(expired("2026-11-30T03:00:00Z", last));
        assert!(!expired("garbled", i64::MAX));
    }

    #[test]
    fn only_a_real_instance_id_and_its_own_arn_go_into_a_policy() {
        let arn = |id: &str| format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
        assert!(Instance::new("i-0123456789abcdef0", &arn("i-0123456789abcdef0")).is_some());
        for id in ["i-*", "i-0123456789abcdef?", "*", "i-0123456789ABCDEF0"] {
            assert_eq!(Instance::new(id, &arn(id)), None, "{id}");
        }
        let other = arn("i-0123456789abcdef1");
        assert_eq!(Instance::new("i-0123456789abcdef0", &other), None);
        assert_eq!(instance(1).session(), "*:i-00000000000000001");
    }

    #[test]
    fn instances_of_one_minute_share_one_policy_that_reads_back() {
        let (a, b) = (instance(1), instance(2));
        let minute = minute_after(NOW).unwrap();
        let first = add_instances(&[], &[(minute.clone(), a.clone())], now(), ROLE_QUOTA).unwrap();
        assert_eq!(first.put.len(), 1);
        let held = applied(&[], &first);
        let second = add_instances(&held, &[(minute.clone(), b.clone())], now(), ROLE_QUOTA);
        let held = applied(&held, &second.unwrap());
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            held[0].0,
            "FirebreakRevokeInstanceSessions-20261130T030100Z"
        );
        let m = Minute::parse(&held[0].1).unwrap();
        assert!(m.denies(&a) && m.denies(&b) && m.len() == 2);
        assert!(denies(&held, &minute, &a) && denies(&held, NOW, &b));
        assert!(
            !denies(&held, "2026-11-30T03:02:00Z", &a),
            "a later cutoff is not covered"
        );
        // The document: what IAM is asked to hold.
        let doc: Value = serde_json::from_str(&held[0].1).unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["ArnEquals"]["ec2:SourceInstanceARN"],
            json!([a.arn, b.arn])
        );
        assert_eq!(
            doc["Statement"][1]["Condition"]["StringLike"]["aws:userId"],
            json!([a.session(), b.session()])
        );
        assert_eq!(
            doc["Statement"][1]["Condition"]["DateLessThan"][TOKEN_ISSUE_TIME],
            minute
        );
        // The same instance again (a redelivery): nothing to write.
        let again = add_instances(&held, &[(minute, a)], now(), ROLE_QUOTA).unwrap();
        assert!(again.put.is_empty() && again.prune.is_empty(), "{again:?}");
    }

    #[test]
    fn forty_instances_of_one_burst_fit_a_role_and_its_size_is_what_iam_counts() {
        let minutes = ["2026-11-30T03:01:00Z", "2026-11-30T03:02:00Z"];
        let mut held = vec![(
            "Customer".to_string(),
            r#"{"Version": "2012-10-17"}"#.to_string(),
        )];
        for n in 0..40 {
            let wanted = [(minutes[n as usize % 2].to_string(), instance(n))];
            let c = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
            held = applied(&held, &c);
            assert_eq!(c.size, total(&held));
        }
        assert_eq!(held.len(), 3);
        assert!(total(&held) < ROLE_QUOTA / 2, "{}", total(&held));
        for n in 0..40 {
            assert!(denies(&held, minutes[n as usize % 2], &instance(n)), "{n}");
        }
    }

    #[test]
    fn what_does_not_fit_is_no_room_and_nothing_is_written() {
        let filler = format!(
            r#"{{"Version":"2012-10-17","Id":"{}"}}"#,
            "x".repeat(10_180)
        );
        let held = vec![("Customer".to_string(), filler)];
        let wanted = [(minute_after(NOW).unwrap(), instance(1))];
        let no = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap_err();
        assert_eq!(no.quota, ROLE_QUOTA);
        assert!(no.needed > ROLE_QUOTA);
        assert!(no.to_string().contains("over IAM's 10240"), "{no}");
        // The whole role's deny is smaller: it fits where the instance's does not, at the later
        // of the cutoffs.
        let small = format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(9_900));
        let held = vec![
            ("Customer".to_string(), small),
            (
                tags::ROLE_REVOKE_POLICY.to_string(),
                older_sessions("2026-11-30T03:00:30Z"),
            ),
        ];
        let (c, cutoff) =
            deny_older(&held, tags::ROLE_REVOKE_POLICY, NOW, now(), ROLE_QUOTA).unwrap();
        assert_eq!(cutoff, "2026-11-30T03:00:30Z", "never moved earlier");
        assert_eq!(c.put[0].1, older_sessions("2026-11-30T03:00:30Z"));
        let (c, cutoff) = deny_older(
            &held,
            tags::ROLE_REVOKE_POLICY,
            "2026-11-30T03:05:00Z",
            now(),
            ROLE_QUOTA,
        )
        .unwrap();
        assert_eq!(cutoff, "2026-11-30T03:05:00Z");
        assert_eq!(
            c.put,
            vec![(
                tags::ROLE_REVOKE_POLICY.to_string(),
                older_sessions(&cutoff)
            )]
        );
        assert_eq!(c.size, total(&applied(&held, &c)));
        let user = deny_older(&held, tags::USER_REVOKE_POLICY, NOW, now(), USER_QUOTA);
        assert_eq!(user.unwrap_err().quota, USER_QUOTA);
    }

    #[test]
    fn what_expired_is_pruned_and_what_is_not_firebreak_s_never_touched() {
        let old = "2026-11-28T14:00:00Z"; // 37 h before NOW
        let recent = "2026-11-29T16:00:00Z";
        let mut expired_minute = Minute::new(old);
        expired_minute.add(&instance(1));
        let held = vec![
            (expired_minute.name(), expired_minute.document()),
            single(&instance(2), old),
            single(&instance(3), recent),
            ("Customer".to_string(), single(&instance(4), old).1),
            (
                "FirebreakRevokeSessionsOfFunction-fn-1".to_string(),
                single(&instance(5), old).1,
            ),
        ];
        let wanted = [(minute_after(NOW).unwrap(), instance(6))];
        let c = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
        let mut pruned = c.prune.clone();
        pruned.sort();
        assert_eq!(
            pruned,
            vec![
                expired_minute.name(),
                tags::instance_revoke_policy(&instance(2).id)
            ]
        );
        // The recent per-instance policy is taken over by its cutoff's minute, then retired.
        assert_eq!(c.retire.len(), 1);
        assert_eq!(c.retire[0].0, tags::instance_revoke_policy(&instance(3).id));
        assert_eq!(c.retire[0].1, "2026-11-29T16:00:00Z");
        let after = applied(&held, &c);
        assert!(denies(&after, recent, &instance(3)) && denies(&after, NOW, &instance(6)));
        assert!(after.iter().any(|(n, _)| n == "Customer"));
        assert!(after
            .iter()
            .any(|(n, _)| n == "FirebreakRevokeSessionsOfFunction-fn-1"));
        assert_eq!(c.size, total(&after));
        assert_eq!(c.peak, c.size + iam_size(&held[2].1));
        // The role-wide deny prunes them too.
        let (c, _) = deny_older(&held, tags::ROLE_REVOKE_POLICY, NOW, now(), ROLE_QUOTA).unwrap();
        assert_eq!(c.prune.len(), 2);
    }

    #[test]
    fn an_earlier_policy_is_taken_over_only_while_the_peak_fits() {
        // About 456 characters each: 22 of them leave no room for a new minute's policy (440).
        let recent = "2026-11-30T02:00:00Z";
        let full: Vec<_> = (0..22).map(|n| single(&instance(n), recent)).collect();
        assert_eq!(total(&full), 22 * 456);
        let wanted = [(minute_after(NOW).unwrap(), instance(99))];
        let no = add_instances(&full, &wanted, now(), ROLE_QUOTA).unwrap_err();
        assert_eq!(no.needed, 22 * 456 + 440);
        // 21 leave room for it, not for a second minute's policy to take one over.
        let c = add_instances(&full[..21], &wanted, now(), ROLE_QUOTA).unwrap();
        assert!(c.retire.is_empty(), "{c:?}");
        assert_eq!(c.size, 21 * 456 + 440);
        // 15 of one minute: all taken over (440 for the first, 90 for each other), then removed.
        let some: Vec<_> = full[..15].to_vec();
        let c = add_instances(&some, &wanted, now(), ROLE_QUOTA).unwrap();
        assert_eq!(c.retire.len(), 15);
        assert_eq!(c.peak, 15 * 456 + 440 + 440 + 14 * 90);
        assert_eq!(c.size, 440 + 440 + 14 * 90);
        let after = applied(&some, &c);
        assert_eq!(after.len(), 2, "{after:?}");
        for n in 0..15 {
            assert!(denies(&after, recent, &instance(n)));
        }
    }

    #[test]
    fn a_later_deny_of_an_instance_supersedes_its_earlier_ones() {
        let (a, b) = (instance(1), instance(2));
        let (early, late) = ("2026-11-30T02:00:00Z", "2026-11-30T03:01:00Z");
        let mut held = Vec::new();
        for (cutoff, who) in [(early, vec![&a, &b]), ("2026-11-30T02:30:00Z", vec![&a])] {
            let mut m = Minute::new(cutoff);
            who.into_iter().for_each(|i| m.add(i));
            held.push((m.name(), m.document()));
        }
        held.push(single(&a, "2026-11-30T01:00:00Z"));
        assert_eq!(
            denied_by(&held, &a, now()),
            Some((
                tags::instance_sessions_policy("2026-11-30T02:30:00Z"),
                "2026-11-30T02:30:00Z".into()
            ))
        );
        assert_eq!(denied_by(&held, &instance(3), now()), None);
        let blind = [(
            tags::instance_revoke_policy(&instance(3).id),
            single_document(NOW, &instance(3)),
        )];
        assert_eq!(
            denied_by(&blind, &instance(3), now()),
            Some((blind[0].0.clone(), NOW.into()))
        );
        assert_eq!(
            denied_by(&held, &b, now() + 40 * 3600),
            None,
            "expired: denies nothing"
        );
        let wanted = [(late.to_string(), a.clone())];
        let added = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
        let held = applied(&held, &added);
        let c = superseded(&held, &wanted);
        // Off the 02:00 policy (b stays), the 02:30 one deleted; the 03:01 one untouched.
        assert_eq!(
            c.prune,
            vec![tags::instance_sessions_policy("2026-11-30T02:30:00Z")]
        );
        assert_eq!(c.put.len(), 1);
        let after = applied(&held, &c);
        assert!(denies(&after, late, &a) && denies(&after, early, &b));
        assert!(!denies(&after, early, &a) || denies(&after, late, &a));
        let listing_a = after
            .iter()
            .filter(|(_, d)| Minute::parse(d).is_some_and(|m| m.denies(&a)))
            .count();
        assert_eq!(listing_a, 1, "{after:?}");
    }

    #[test]
    fn a_document_that_is_not_exactly_firebreak_s_is_another_policy() {
        let mut m = Minute::new("2026-11-30T03:01:00Z");
        m.add(&instance(1));
        assert_eq!(Minute::parse(&m.document()), Some(m.clone()));
        let widened = m
            .document()
            .replace("\"Action\":\"*\"", "\"Action\":\"s3:*\"");
        assert_eq!(Minute::parse(&widened), None);
        // A document under a minute's name but of another minute is not that minute's.
        let held = vec![(
            tags::instance_sessions_policy("2026-11-30T03:02:00Z"),
            m.document(),
        )];
        assert!(!denies(&held, "2026-11-30T03:01:00Z", &instance(1)));
        assert_eq!(cutoff_of("not json"), None);
        assert_eq!(
            cutoff_of(&older_sessions("2026-11-30T03:00:00Z")).as_deref(),
            Some("2026-11-30T03:00:00Z")
        );
    }
}
