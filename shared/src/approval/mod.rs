//! "Ask first": the decision a human sends about an instance the playbook said to `ask` about.
//!
//! An `ask` response protects the evidence, tags the instance `firebreak:status=awaiting-approval`
//! and notifies with two ways to decide: the Security Hub custom actions (`FbQuarantine` approves,
//! `FbRelease` rejects), or a ready command that invokes `securityhub-action` with a small
//! approval event (`{"firebreak-approval": {...}}`, built here, carrying what the notification
//! knew of the finding). An approval carries out the analyst's quarantine; a rejection the release
//! (which lifts the evidence protection Firebreak set). Either way the instance records who decided
//! (`firebreak:decision`); `decide.rs` carries the decision out.

pub mod chat;
pub mod decide;

use serde_json::{json, Value};

use crate::error::ParseError;
use crate::incident::database::is_db_identifier;
use crate::incident::{DatabaseRef, Incident, InstanceRef, Resource, Source};
use crate::shell::{self, Command};
use crate::tags::tag_safe;

/// The key of an approval event.
pub const EVENT_KEY: &str = "firebreak-approval";

/// What a human decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Contain it.
    Approve,
    /// Do not: lift the evidence protection.
    Reject,
    /// Undo a containment (chat only: the shell's and Security Hub's release is `FbRelease`).
    Release,
}

/// How a decision arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The ready command of the notification (`by`: as the sender said).
    Command,
    /// A chat button (`by`: the invocation's request id, which CloudTrail's record of the
    /// invocation carries with who sent it).
    Chat,
}

impl Via {
    /// As recorded beside who decided.
    pub fn name(self) -> &'static str {
        match self {
            Via::Command => "approval command",
            Via::Chat => "chat",
        }
    }
}

impl Decision {
    /// The word in the event.
    pub fn word(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Release => "release",
        }
    }
}

/// A parsed approval event.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// Approve or reject.
    pub decision: Decision,
    /// Who decided, as they said (kept to tag-safe characters).
    pub by: String,
    /// How the decision arrived.
    pub via: Via,
    /// The finding, as the notification described it.
    pub incident: Incident,
}

fn text<'a>(d: &'a Value, field: &'static str) -> Result<&'a str, ParseError> {
    d.get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or(ParseError::MissingField(field))
}

/// What the decision is about: an instance (`instance_id`), or an RDS DB instance (`db_instance`,
/// and `db_cluster` for Aurora).
fn resource(d: &Value) -> Result<Resource, ParseError> {
    if let Some(db) = d.get("db_instance").and_then(Value::as_str) {
        let cluster = d.get("db_cluster").and_then(Value::as_str);
        let valid = is_db_identifier(db) && cluster.is_none_or(is_db_identifier);
        if !valid {
            return Err(ParseError::InvalidField {
                field: "db_instance",
                reason: format!("{db:?} ({cluster:?}) is not a DB instance (cluster) identifier"),
            });
        }
        return Ok(Resource::Database(DatabaseRef {
            db_instance: db.to_string(),
            arn: None,
            engine: None,
            cluster: cluster.map(String::from),
            login: None,
        }));
    }
    let instance_id = text(d, "instance_id")?;
    if !instance_id.starts_with("i-") || instance_id.len() > 19 {
        return Err(ParseError::InvalidField {
            field: "instance_id",
            reason: format!("{instance_id:?} is not an instance id"),
        });
    }
    Ok(Resource::Instance(InstanceRef {
        instance_id: instance_id.to_string(),
        network_interfaces: Vec::new(),
        tags: Vec::new(),
        instance_profile_arn: None,
    }))
}

impl Approval {
    /// Whether an event is an approval event.
    pub fn is_approval(event: &Value) -> bool {
        event.get(EVENT_KEY).is_some()
    }

    /// Parses an approval event.
    pub fn from_event(event: &Value) -> Result<Approval, ParseError> {
        let d = event
            .get(EVENT_KEY)
            .ok_or(ParseError::MissingField(EVENT_KEY))?;
        let decision = match text(d, "decision")? {
            "approve" => Decision::Approve,
            "reject" => Decision::Reject,
            other => {
                return Err(ParseError::InvalidField {
                    field: "decision",
                    reason: format!("{other:?}: expected approve or reject"),
                })
            }
        };
        let resource = resource(d)?;
        let severity = d.get("severity").and_then(Value::as_f64).unwrap_or(0.0);
        let incident = Incident {
            source: Source::GuardDuty,
            finding_id: text(d, "finding_id")?.to_string(),
            finding_arn: None,
            finding_type: text(d, "finding_type")?.to_string(),
            title: None,
            severity,
            account: text(d, "account")?.to_string(),
            region: text(d, "region")?.to_string(),
            partition: d
                .get("partition")
                .and_then(Value::as_str)
                .unwrap_or("aws")
                .to_string(),
            sample: false,
            archived: false,
            resource_role: None,
            resource,
            security_hub: None,
        };
        Ok(Approval {
            decision,
            by: tag_safe(d.get("by").and_then(Value::as_str).unwrap_or_default()),
            via: Via::Command,
            incident,
        })
    }

    /// The event that decides about `incident`'s instance (or RDS database).
    pub fn event(incident: &Incident, decision: Decision) -> Value {
        if let Some(db) = incident.database() {
            return json!({ EVENT_KEY: {
                "decision": decision.word(),
                "finding_id": incident.finding_id,
                "finding_type": incident.finding_type,
                "severity": incident.severity,
                "account": incident.account,
                "region": incident.region,
                "partition": incident.partition,
                "db_instance": db.db_instance,
                "db_cluster": db.cluster,
                "by": "YOUR-NAME",
            }});
        }
        let instance = incident.instance().map(|i| i.instance_id.as_str());
        json!({ EVENT_KEY: {
            "decision": decision.word(),
            "finding_id": incident.finding_id,
            "finding_type": incident.finding_type,
            "severity": incident.severity,
            "account": incident.account,
            "region": incident.region,
            "partition": incident.partition,
            "instance_id": instance.unwrap_or_default(),
            "by": "YOUR-NAME",
        }})
    }

    /// The ready command that sends the decision to `function` (securityhub-action); not printed
    /// when `function` is not a Lambda function name. The payload is the approval event, one
    /// single-quoted word whatever the finding's fields hold.
    pub fn command(function: &str, incident: &Incident, decision: Decision) -> String {
        let payload = Approval::event(incident, decision).to_string();
        Command::new("aws lambda invoke")
            .arg("--function-name", shell::LAMBDA_FUNCTION, function)
            .words("--cli-binary-format raw-in-base64-out")
            .data("--payload", &payload)
            .words("/dev/stdout")
            .or_note(|c| c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Incident {
        let event = Approval::event(
            &Approval::from_event(&json!({ EVENT_KEY: {
                "decision": "approve", "finding_id": "f-1", "finding_type": "CryptoCurrency:EC2/BitcoinTool.B",
                "severity": 8.0, "account": "123456789012", "region": "eu-west-1",
                "instance_id": "i-0123456789abcdef0", "by": "x"
            }}))
            .unwrap()
            .incident,
            Decision::Reject,
        );
        Approval::from_event(&event).unwrap().incident
    }

    #[test]
    fn an_approval_event_round_trips_and_bad_ones_are_typed_errors() {
        let i = incident();
        assert_eq!(i.finding_id, "f-1");
        assert_eq!(i.instance().unwrap().instance_id, "i-0123456789abcdef0");
        assert_eq!(i.region, "eu-west-1");
        let bad = json!({ EVENT_KEY: { "decision": "maybe" } });
        assert!(matches!(
            Approval::from_event(&bad),
            Err(ParseError::InvalidField {
                field: "decision",
                ..
            })
        ));
        let bad = json!({ EVENT_KEY: { "decision": "approve", "instance_id": "vol-1" } });
        assert!(Approval::from_event(&bad).is_err());
        let mut db = i.clone();
        db.resource = Resource::Database(DatabaseRef {
            db_instance: "orders-1".into(),
            arn: None,
            engine: None,
            cluster: Some("orders".into()),
            login: None,
        });
        let back = Approval::from_event(&Approval::event(&db, Decision::Approve)).unwrap();
        assert_eq!(back.incident.database().unwrap().name(), "orders");
        let bad = json!({ EVENT_KEY: { "decision": "approve", "db_instance": "a;b" } });
        assert!(Approval::from_event(&bad).is_err());
        assert!(!Approval::is_approval(&json!({"detail": {}})));
    }

    #[test]
    fn the_command_is_one_shell_word_per_argument_and_who_decided_is_tag_safe() {
        let mut i = incident();
        i.finding_type = "Odd'Type".into();
        let c = Approval::command("fb-action", &i, Decision::Approve);
        assert!(c.starts_with("aws lambda invoke --function-name fb-action "));
        assert!(c.contains("Odd'\\''Type"), "{c}");
        assert_eq!(tag_safe("alice <a@x.org>\n`rm`"), "alice a@x.orgrm");
        assert_eq!(tag_safe("  "), "unnamed");
    }

    #[test]
    fn hostile_finding_fields_stay_inside_the_payload_s_quotes_and_a_bad_function_is_not_printed() {
        use crate::shell::testing::{assert_pasteable, HOSTILE};
        let ordinary = format!(
            "  {}\n",
            Approval::command("fb-action", &incident(), Decision::Approve)
        );
        assert!(ordinary.starts_with(
            "  aws lambda invoke --function-name fb-action --cli-binary-format raw-in-base64-out \
             --payload '{"
        ));
        assert!(ordinary.ends_with("}' /dev/stdout\n"), "{ordinary}");
        for hostile in HOSTILE {
            let mut i = incident();
            i.finding_id = hostile.to_string();
            i.finding_type = format!("Backdoor:EC2/{hostile}");
            i.account = hostile.to_string();
            i.region = hostile.to_string();
            i.partition = hostile.to_string();
            if let Resource::Instance(r) = &mut i.resource {
                r.instance_id = hostile.to_string();
            }
            for decision in [Decision::Approve, Decision::Reject] {
                let c = format!("  {}\n", Approval::command("fb-action", &i, decision));
                assert!(
                    c.starts_with("  aws lambda invoke --function-name fb-action "),
                    "{c}"
                );
                assert_pasteable(&c, &ordinary);
            }
            let c = Approval::command(hostile, &incident(), Decision::Approve);
            assert!(c.starts_with("(not printed: "), "{c}");
            assert_pasteable(&format!("  {c}\n"), &ordinary);
        }
    }
}
