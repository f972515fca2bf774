//! The per-minute policy: the instances revoked within one minute, denied in one policy.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::denies::document::{statements, values, SOURCE_INSTANCE_ARN, TOKEN_ISSUE_TIME, USER_ID};
use crate::denies::instance::Instance;
use crate::tags;

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

    pub(super) fn add(&mut self, i: &Instance) {
        self.arns.insert(i.arn.clone());
        self.sessions.insert(i.session());
    }

    pub(super) fn remove(&mut self, i: &Instance) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denies::document::{cutoff_of, older_sessions};
    use crate::denies::fixtures::instance;
    use crate::denies::held::denies;

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
