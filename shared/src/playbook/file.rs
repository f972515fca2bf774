//! The playbook the team edits: which findings get which response, as a TOML file of rules.
//!
//! The first rule that matches a finding decides its response — `contain` (the full response for
//! that kind of resource), `evidence` (snapshots and protection only), `ask` (evidence now,
//! containment once a human approves), `notify` or `ignore`. A rule matches on any of: finding
//! types (exact or glob: `*` any run of characters, `?` one), a severity range, the resource kind,
//! the resource's role in the finding, accounts, regions and the instance's tags; every criterion
//! given must hold. The default (`infra/playbooks/default.toml`, built in) reproduces Firebreak's
//! playbook tables exactly. A playbook is loaded and validated once, at start-up: a bad one is an
//! init error naming the rule and the problem (unknown field or response, bad glob, a rule an
//! earlier rule makes unreachable), never a surprise at 3 a.m.
//!
//! What the playbook never decides (`playbook/mod.rs`, checked first): an exempt resource is left
//! alone, sample and archived findings only notify, Firebreak's own roles are never revoked.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::incident::{ArtifactKind, Incident, Resource, ResourceRole};
use crate::kind::ActionKind;

/// The built-in default playbook (`infra/playbooks/default.toml`).
pub const DEFAULT: &str = include_str!("../../../infra/playbooks/default.toml");

/// What a rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    /// The full response for the resource's kind.
    Contain,
    /// Snapshots and evidence protection only.
    Evidence,
    /// Evidence now; containment once a human approves.
    Ask,
    /// Tell the team, change nothing.
    Notify,
    /// Nothing at all (logged only).
    Ignore,
}

impl Response {
    /// The word in the playbook file.
    pub fn name(self) -> &'static str {
        match self {
            Response::Contain => "contain",
            Response::Evidence => "evidence",
            Response::Ask => "ask",
            // The same word as the action.
            Response::Notify => ActionKind::Notify.name(),
            Response::Ignore => "ignore",
        }
    }

    const ALL: [Response; 5] = [
        Response::Contain,
        Response::Evidence,
        Response::Ask,
        Response::Notify,
        Response::Ignore,
    ];
}

/// The kind of resource a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// An EC2 instance.
    Instance,
    /// IAM credentials (a key or a session).
    AccessKey,
    /// An EBS snapshot.
    Snapshot,
    /// An AMI.
    Image,
    /// A Lambda function.
    Function,
    /// An S3 bucket.
    Bucket,
    /// An object in an S3 bucket.
    Object,
    /// An ECS task on Fargate.
    Task,
    /// An RDS DB instance.
    Database,
    /// Anything else.
    Other,
}

impl ResourceKind {
    /// The word in the playbook file.
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::Instance => "instance",
            ResourceKind::AccessKey => "access-key",
            ResourceKind::Snapshot => "snapshot",
            ResourceKind::Image => "image",
            ResourceKind::Function => "function",
            ResourceKind::Bucket => "bucket",
            ResourceKind::Object => "object",
            ResourceKind::Task => "task",
            ResourceKind::Database => "database",
            ResourceKind::Other => "other",
        }
    }

    /// The kind of an incident's resource.
    pub fn of(incident: &Incident) -> ResourceKind {
        match &incident.resource {
            Resource::Instance(_) => ResourceKind::Instance,
            Resource::AccessKey(_) => ResourceKind::AccessKey,
            Resource::Artifact(a) => match a.kind {
                ArtifactKind::Snapshot => ResourceKind::Snapshot,
                ArtifactKind::Image => ResourceKind::Image,
            },
            Resource::Function(_) => ResourceKind::Function,
            Resource::Bucket(b) if b.object_key.is_some() => ResourceKind::Object,
            Resource::Bucket(_) => ResourceKind::Bucket,
            Resource::Task(_) => ResourceKind::Task,
            Resource::Database(_) => ResourceKind::Database,
            Resource::Sequence(_) | Resource::Other { .. } => ResourceKind::Other,
        }
    }
}

/// A rule's lowest severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinSeverity {
    /// This value.
    At(f64),
    /// `"threshold"`: `FIREBREAK_SEVERITY_THRESHOLD`, read when the rule is matched.
    Threshold,
}

impl MinSeverity {
    fn value(self, threshold: f64) -> f64 {
        match self {
            MinSeverity::At(v) => v,
            MinSeverity::Threshold => threshold,
        }
    }
}

/// One rule, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Its position in the file, from 1.
    pub number: usize,
    /// Its name, as the team wrote it.
    pub name: String,
    /// Finding-type globs (none: any type).
    pub finding_types: Vec<String>,
    /// Lowest severity, inclusive.
    pub min_severity: MinSeverity,
    /// Highest severity, inclusive.
    pub max_severity: f64,
    /// The resource kind.
    pub resource: Option<ResourceKind>,
    /// The resource's role in the finding.
    pub resource_role: Option<ResourceRole>,
    /// Accounts (none: any).
    pub accounts: Vec<String>,
    /// Regions (none: any).
    pub regions: Vec<String>,
    /// Tags the instance must carry, with these values.
    pub tags: BTreeMap<String, String>,
    /// The response.
    pub response: Response,
    /// `capture_memory = true`: an instance's memory captured after isolation (docs/memory.md).
    pub capture_memory: bool,
}

impl Rule {
    /// "rule 4: crypto in prod accounts → ask".
    pub fn describe(&self) -> String {
        format!(
            "rule {}: {} → {}",
            self.number,
            self.name,
            self.response.name()
        )
    }

    /// Whether the rule matches the incident (`threshold`: `FIREBREAK_SEVERITY_THRESHOLD`).
    pub fn matches(&self, incident: &Incident, threshold: f64) -> bool {
        let types = self.finding_types.is_empty()
            || self
                .finding_types
                .iter()
                .any(|g| glob(g.as_bytes(), incident.finding_type.as_bytes()));
        let tags = match incident.instance() {
            Some(i) => self.tags.iter().all(|(k, v)| i.tag(k) == Some(v.as_str())),
            None => self.tags.is_empty(),
        };
        types
            && tags
            && (self.min_severity.value(threshold)..=self.max_severity).contains(&incident.severity)
            && self
                .resource
                .is_none_or(|r| r == ResourceKind::of(incident))
            && self
                .resource_role
                .is_none_or(|r| incident.resource_role == Some(r))
            && (self.accounts.is_empty() || self.accounts.contains(&incident.account))
            && (self.regions.is_empty() || self.regions.contains(&incident.region))
    }

    /// Whether every finding `later` matches, this rule matches too (so `later` can never match
    /// after it), with the threshold as loaded. Conservative: `false` when unsure.
    fn covers(&self, later: &Rule, threshold: f64) -> bool {
        let types = self.finding_types.is_empty()
            || (!later.finding_types.is_empty()
                && later.finding_types.iter().all(|l| {
                    self.finding_types
                        .iter()
                        .any(|g| glob_covers(g.as_bytes(), l.as_bytes()))
                }));
        let within = |mine: &[String], theirs: &[String]| {
            mine.is_empty() || (!theirs.is_empty() && theirs.iter().all(|t| mine.contains(t)))
        };
        types
            && self.min_severity.value(threshold) <= later.min_severity.value(threshold)
            && self.max_severity >= later.max_severity
            && self.resource.is_none_or(|r| later.resource == Some(r))
            && self
                .resource_role
                .is_none_or(|r| later.resource_role == Some(r))
            && within(&self.accounts, &later.accounts)
            && within(&self.regions, &later.regions)
            && self.tags.iter().all(|(k, v)| later.tags.get(k) == Some(v))
    }
}

/// `*` matches any run of characters, `?` one.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Whether glob `wide` matches everything glob `narrow` does: `wide`'s `*` may absorb anything in
/// `narrow` (its wildcards included), but `wide`'s literals and `?` only match `narrow`'s literals.
fn glob_covers(wide: &[u8], narrow: &[u8]) -> bool {
    let wild = |c: &u8| *c == b'*' || *c == b'?';
    match (wide.first(), narrow.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob_covers(&wide[1..], narrow)
                || (!narrow.is_empty() && glob_covers(wide, &narrow[1..]))
        }
        (Some(b'?'), Some(n)) if !wild(n) => glob_covers(&wide[1..], &narrow[1..]),
        (Some(w), Some(n)) if w == n && !wild(n) => glob_covers(&wide[1..], &narrow[1..]),
        _ => false,
    }
}

/// A playbook that cannot be used: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookError {
    /// Where the playbook came from.
    pub source: String,
    /// The problem, naming the rule.
    pub message: String,
}

impl fmt::Display for PlaybookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "playbook {}: {}", self.source, self.message)
    }
}

impl std::error::Error for PlaybookError {}

/// The playbook, validated: its rules in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rules {
    /// Where it came from (`built-in default` or the file's path).
    pub source: String,
    /// The rules, first match wins.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    #[serde(default)]
    rule: Vec<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    #[serde(default)]
    finding_types: Vec<String>,
    min_severity: Option<Bound>,
    max_severity: Option<f64>,
    resource: Option<String>,
    resource_role: Option<String>,
    #[serde(default)]
    accounts: Vec<String>,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    response: String,
    #[serde(default)]
    capture_memory: bool,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Bound {
    Number(f64),
    Word(String),
}

impl Rules {
    /// The built-in default.
    pub fn default_playbook(threshold: f64) -> Rules {
        Rules::parse(DEFAULT, "built-in default", threshold)
            .expect("the built-in playbook is valid (tested)")
    }

    /// Parses and validates a playbook; `threshold` is what `min_severity = "threshold"` means.
    pub fn parse(text: &str, source: &str, threshold: f64) -> Result<Rules, PlaybookError> {
        let fail = |message: String| PlaybookError {
            source: source.to_string(),
            message,
        };
        let file: File = toml::from_str(text).map_err(|e| fail(e.to_string()))?;
        if file.version != 1 {
            return Err(fail(format!(
                "version {} is not supported (expected 1)",
                file.version
            )));
        }
        let mut rules: Vec<Rule> = Vec::new();
        for (i, value) in file.rule.into_iter().enumerate() {
            let number = i + 1;
            let label = match value.get("name").and_then(|n| n.as_str()) {
                Some(name) => format!("rule {number} ({name:?})"),
                None => format!("rule {number}"),
            };
            let spec = RuleSpec::deserialize(value).map_err(|e| fail(format!("{label}: {e}")))?;
            let rule =
                validate(spec, number, threshold).map_err(|e| fail(format!("{label}: {e}")))?;
            if let Some(earlier) = rules.iter().find(|r| r.covers(&rule, threshold)) {
                return Err(fail(format!(
                    "{label} can never match: {} matches every finding it does",
                    earlier.describe()
                )));
            }
            rules.push(rule);
        }
        Ok(Rules {
            source: source.to_string(),
            rules,
        })
    }

    /// The first rule that matches, if any.
    pub fn decide(&self, incident: &Incident, threshold: f64) -> Option<&Rule> {
        self.rules.iter().find(|r| r.matches(incident, threshold))
    }

    /// Whether a rule matches on the instance's tags (the responder then reads them live).
    pub fn has_tag_rules(&self) -> bool {
        self.rules.iter().any(|r| !r.tags.is_empty())
    }

    /// A warning per rule whose tags lower the response to `ignore` or `notify`: whoever may tag
    /// an instance can apply it to their own.
    pub fn lowering_tag_rules(&self) -> Vec<String> {
        self.rules
            .iter()
            .filter(|r| !r.tags.is_empty())
            .filter(|r| matches!(r.response, Response::Ignore | Response::Notify))
            .map(|r| {
                format!(
                    "{} matches on tags and answers {}: whoever may tag an instance can give it \
                     this answer (guard the tags with the organization policy in \
                     infra/guardrail-scp.yaml, or a tag policy)",
                    r.describe(),
                    r.response.name()
                )
            })
            .collect()
    }
}

/// Characters a finding type has (`Backdoor:EC2/C&CActivity.B!DNS`), and the two wildcards.
fn valid_glob(g: &str) -> bool {
    !g.is_empty()
        && g.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b":/._-!&*?".contains(&c))
}

/// A `resource` word.
fn resource_kind(r: &str) -> Result<ResourceKind, String> {
    [
        ResourceKind::Instance,
        ResourceKind::AccessKey,
        ResourceKind::Snapshot,
        ResourceKind::Image,
        ResourceKind::Function,
        ResourceKind::Bucket,
        ResourceKind::Object,
        ResourceKind::Task,
        ResourceKind::Database,
        ResourceKind::Other,
    ]
    .into_iter()
    .find(|k| k.name() == r)
    .ok_or_else(|| {
        format!("unknown resource {r:?} (instance, access-key, snapshot, image, function, bucket, object, task, database or other)")
    })
}

fn validate(spec: RuleSpec, number: usize, threshold: f64) -> Result<Rule, String> {
    let response = Response::ALL
        .into_iter()
        .find(|r| r.name() == spec.response)
        .ok_or_else(|| {
            format!(
                "unknown response {:?} (expected contain, evidence, ask, notify or ignore)",
                spec.response
            )
        })?;
    if let Some(bad) = spec.finding_types.iter().find(|g| !valid_glob(g)) {
        return Err(format!(
            "bad finding-type glob {bad:?} (letters, digits, `:/._-!&`, and the wildcards `*` \
             and `?` only)"
        ));
    }
    let min_severity = match spec.min_severity {
        None => MinSeverity::At(0.0),
        Some(Bound::Number(n)) => MinSeverity::At(n),
        Some(Bound::Word(w)) if w == "threshold" => MinSeverity::Threshold,
        Some(Bound::Word(w)) => {
            return Err(format!("min_severity {w:?}: a number or \"threshold\""))
        }
    };
    let max_severity = spec.max_severity.unwrap_or(10.0);
    let min = min_severity.value(threshold);
    if !(0.0..=10.0).contains(&min) || !(0.0..=10.0).contains(&max_severity) || min > max_severity {
        return Err(format!(
            "severity range {min}..{max_severity}: expected 0 ≤ min ≤ max ≤ 10"
        ));
    }
    let resource = spec.resource.as_deref().map(resource_kind).transpose()?;
    let resource_role = match spec.resource_role.as_deref() {
        None => None,
        Some("actor") => Some(ResourceRole::Actor),
        Some("target") => Some(ResourceRole::Target),
        Some(r) => return Err(format!("unknown resource_role {r:?} (actor or target)")),
    };
    if !spec.tags.is_empty() && resource.is_some_and(|r| r != ResourceKind::Instance) {
        return Err(
            "tags are the instance's, as the finding lists them: a rule with tags can only be \
             about an instance (resource = \"instance\", or no resource)"
                .to_string(),
        );
    }
    let changes = [Response::Contain, Response::Evidence, Response::Ask].contains(&response);
    if spec.capture_memory && (!changes || resource.is_some_and(|r| r != ResourceKind::Instance)) {
        return Err("capture_memory: only an instance's rule of contain, evidence or ask".into());
    }
    if let Some(bad) = spec
        .accounts
        .iter()
        .find(|a| a.len() != 12 || !a.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("account {bad:?} is not a 12-digit account id"));
    }
    Ok(Rule {
        number,
        name: spec.name,
        finding_types: spec.finding_types,
        min_severity,
        max_severity,
        resource,
        resource_role,
        accounts: spec.accounts,
        regions: spec.regions,
        tags: spec.tags,
        response,
        capture_memory: spec.capture_memory,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_rule_that_lowers_the_response_is_warned_about() {
        let text = r#"
version = 1
[[rule]]
name = "dev boxes"
finding_types = ["Backdoor:*"]
tags = { environment = "dev" }
response = "notify"
[[rule]]
name = "prod"
tags = { environment = "prod" }
response = "contain"
[[rule]]
name = "rest"
response = "contain"
"#;
        let rules = Rules::parse(text, "t", 7.0).unwrap();
        assert!(rules.has_tag_rules());
        let warned = rules.lowering_tag_rules();
        assert_eq!(warned.len(), 1, "{warned:?}");
        assert!(warned[0].starts_with("rule 1: dev boxes → notify matches on tags"));
        assert!(!Rules::default_playbook(7.0).has_tag_rules());
    }

    fn parse(text: &str) -> Result<Rules, PlaybookError> {
        Rules::parse(text, "test.toml", 7.0)
    }

    #[test]
    fn globs_match_and_cover() {
        assert!(glob(b"Backdoor:EC2/*", b"Backdoor:EC2/C&CActivity.B!DNS"));
        assert!(glob(b"*:EC2/*", b"Trojan:EC2/DropPoint"));
        assert!(glob(b"Trojan:EC2/DropPoint", b"Trojan:EC2/DropPoint"));
        assert!(!glob(b"Trojan:EC2/DropPoint", b"Trojan:EC2/DropPoint!DNS"));
        assert!(glob(b"Tro?an:*", b"Trojan:EC2/X"));
        assert!(glob_covers(b"Backdoor:*", b"Backdoor:EC2/*"));
        assert!(glob_covers(b"*", b"anything?*"));
        assert!(!glob_covers(b"Backdoor:EC2/*", b"Backdoor:*"));
        assert!(!glob_covers(b"a?", b"a*"), "? does not cover *");
    }

    #[test]
    fn the_default_playbook_is_valid() {
        let rules = Rules::default_playbook(7.0);
        assert!(rules.rules.len() >= 4);
        assert_eq!(rules.source, "built-in default");
    }

    #[test]
    fn a_bad_playbook_is_refused_naming_the_rule_and_the_problem() {
        let head = "version = 1\n";
        let cases = [
            (
                "[[rule]]\nname = \"a\"\nresponse = \"quarantine\"\n",
                "rule 1 (\"a\"): unknown response \"quarantine\"",
            ),
            (
                "[[rule]]\nname = \"a\"\nfinding_types = [\"Backdoor:[EC2]/*\"]\nresponse = \"contain\"\n",
                "rule 1 (\"a\"): bad finding-type glob",
            ),
            (
                "[[rule]]\nname = \"a\"\nrespnse = \"contain\"\n",
                "rule 1 (\"a\"): unknown field `respnse`",
            ),
            (
                "[[rule]]\nname = \"all backdoors\"\nfinding_types = [\"Backdoor:*\"]\nresponse = \"notify\"\n\
                 [[rule]]\nname = \"ec2 backdoors\"\nfinding_types = [\"Backdoor:EC2/*\"]\nresponse = \"contain\"\n",
                "rule 2 (\"ec2 backdoors\") can never match: rule 1: all backdoors → notify",
            ),
            (
                "[[rule]]\nname = \"a\"\naccounts = [\"prod\"]\nresponse = \"ask\"\n",
                "is not a 12-digit account id",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&format!("{head}{text}")).unwrap_err().to_string();
            assert!(err.starts_with("playbook test.toml: "), "{err}");
            assert!(err.contains(want), "{want:?} not in {err:?}");
        }
        assert!(parse("version = 2\n")
            .unwrap_err()
            .message
            .contains("version 2"));
    }

    #[test]
    fn a_narrower_rule_after_a_wider_one_is_fine_the_other_way_round() {
        let text = "version = 1\n\
            [[rule]]\nname = \"prod crypto\"\nfinding_types = [\"CryptoCurrency:*\"]\n\
            accounts = [\"111111111111\"]\nresponse = \"ask\"\n\
            [[rule]]\nname = \"crypto\"\nfinding_types = [\"CryptoCurrency:*\"]\nresponse = \"contain\"\n";
        let rules = parse(text).unwrap();
        assert_eq!(rules.rules[1].describe(), "rule 2: crypto → contain");
    }
}
