//! Security Hub custom actions: the event an analyst's click sends, and ASFF findings → [`Incident`].
//!
//! One event carries the action target (`…:action/custom/<Id>`) and up to 100 findings in ASFF
//! (PascalCase). Each finding becomes an incident on its own: one malformed finding is reported as
//! such and does not stop the others. GuardDuty's findings arrive rewritten as ASFF; they are mapped
//! back to the GuardDuty finding type, id, severity and resource role, so they meet the same playbook
//! rows (and the same tags and snapshots) as the native GuardDuty event.

use serde::Serialize;
use serde_json::Value;

use crate::error::ParseError;
use crate::incident::fields::{eventbridge_envelope, opt_str, required_str};
use crate::incident::ids::Arn;
use crate::incident::{FindingRef, Incident, ResourceRole, Source};

mod product;
mod resources;

use self::product::Product;
use self::resources::resource;

/// The custom actions Firebreak answers, by action target id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CustomAction {
    /// `FbQuarantine`: quarantine + evidence + snapshots + notify (EC2 instances).
    FbQuarantine,
    /// `FbSnapshot`: evidence only: protection + snapshots + notify (EC2 instances).
    FbSnapshot,
    /// `FbRevoke`: credential containment (IAM access keys, users, roles).
    FbRevoke,
    /// `FbRelease`: undo a quarantine (EC2 instances); snapshots are kept.
    FbRelease,
    /// `FbNotify`: escalate: notify only.
    FbNotify,
}

impl CustomAction {
    /// Every action, in the order the template creates their targets.
    pub const ALL: [CustomAction; 5] = [
        CustomAction::FbQuarantine,
        CustomAction::FbSnapshot,
        CustomAction::FbRevoke,
        CustomAction::FbRelease,
        CustomAction::FbNotify,
    ];

    /// The action target id (`…:action/custom/<id>`).
    pub fn id(self) -> &'static str {
        match self {
            CustomAction::FbQuarantine => "FbQuarantine",
            CustomAction::FbSnapshot => "FbSnapshot",
            CustomAction::FbRevoke => "FbRevoke",
            CustomAction::FbRelease => "FbRelease",
            CustomAction::FbNotify => "FbNotify",
        }
    }

    /// The action for a target id.
    pub fn from_id(id: &str) -> Option<CustomAction> {
        CustomAction::ALL.into_iter().find(|a| a.id() == id)
    }
}

/// A custom-action event: the action and each finding, parsed or rejected on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomActionEvent {
    /// Which action the analyst chose.
    pub action: CustomAction,
    /// The action target ARN.
    pub action_target_arn: String,
    /// Each finding of the event, in order: an incident, or why it cannot be one.
    pub findings: Vec<Result<Incident, RejectedFinding>>,
}

/// A finding of the event that cannot become an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectedFinding {
    /// The ASFF `Id`, when it has one.
    pub id: Option<String>,
    /// The ASFF `ProductArn`, when it has one.
    pub product_arn: Option<String>,
    /// The Lambda-style error type.
    pub error_type: &'static str,
    /// Why.
    pub reason: String,
}

/// At most this many findings per event (Security Hub's own limit).
pub const MAX_FINDINGS: usize = 100;

impl CustomActionEvent {
    /// Parses an EventBridge event (`detail-type: "Security Hub Findings - Custom Action"`).
    pub fn from_event(event: &Value) -> Result<CustomActionEvent, ParseError> {
        let envelope = eventbridge_envelope(
            event,
            "Security Hub Findings - Custom Action",
            "aws.securityhub",
        )?;
        let action_target_arn = envelope
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .find(|a| a.contains(":action/custom/"))
            })
            .ok_or(ParseError::MissingField(
                "resources (the action target ARN)",
            ))?
            .to_string();
        let id = action_target_arn
            .rsplit_once(":action/custom/")
            .map(|(_, id)| id)
            .unwrap_or_default();
        let action = CustomAction::from_id(id).ok_or_else(|| ParseError::UnknownAction {
            action_target_id: id.to_string(),
        })?;
        let detail = envelope
            .get("detail")
            .and_then(Value::as_object)
            .ok_or(ParseError::MissingField("detail"))?;
        let findings = detail
            .get("findings")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
            .ok_or(ParseError::MissingField("detail.findings"))?;
        if findings.len() > MAX_FINDINGS {
            return Err(ParseError::InvalidField {
                field: "detail.findings",
                reason: format!(
                    "{} findings; Security Hub sends at most {MAX_FINDINGS}",
                    findings.len()
                ),
            });
        }
        let region = envelope
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(CustomActionEvent {
            action,
            action_target_arn,
            findings: findings
                .iter()
                .map(|f| {
                    incident_from_asff(f, region).map_err(|e| RejectedFinding {
                        id: opt_str(f, "Id"),
                        product_arn: opt_str(f, "ProductArn"),
                        error_type: e.error_type(),
                        reason: e.to_string(),
                    })
                })
                .collect(),
        })
    }
}

/// The detail-type of Security Hub's events for findings it imported or updated (in the
/// aggregation region, every linked region's).
pub const IMPORTED: &str = "Security Hub Findings - Imported";

/// An imported-findings event: each GuardDuty finding parsed or rejected on its own (findings of
/// other products are rejected: Firebreak responds to GuardDuty's).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    /// Each finding, in order.
    pub findings: Vec<Result<Incident, RejectedFinding>>,
}

impl ImportedEvent {
    /// Whether the event is Security Hub's imported-findings event (to route it).
    pub fn is_imported(event: &Value) -> bool {
        event.get("detail-type").and_then(Value::as_str) == Some(IMPORTED)
    }

    /// Parses an EventBridge event (`detail-type: "Security Hub Findings - Imported"`).
    pub fn from_event(event: &Value) -> Result<ImportedEvent, ParseError> {
        let envelope = eventbridge_envelope(event, IMPORTED, "aws.securityhub")?;
        let findings = envelope
            .get("detail")
            .and_then(|d| d.get("findings"))
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty())
            .ok_or(ParseError::MissingField("detail.findings"))?;
        let region = envelope
            .get("region")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let parse = |f: &Value| {
            let product_arn = opt_str(f, "ProductArn").unwrap_or_default();
            // Only a finding nobody has handled: Security Hub re-imports a finding on every update,
            // analysts' notes and FbRelease's RESOLVED included (a release must not re-contain).
            let workflow = f
                .get("Workflow")
                .and_then(|w| w.get("Status"))
                .and_then(Value::as_str)
                .unwrap_or("NEW");
            let parsed = match Product::of(f, &product_arn).map(|p| (p, workflow)) {
                Err(e) => Err(e),
                Ok((Some(_), other)) if other != "NEW" => Err(ParseError::InvalidField {
                    field: "Workflow.Status",
                    reason: format!("{other}: a human has handled the finding"),
                }),
                Ok((Some(Product::GuardDuty), _)) => incident_from_asff(f, region),
                Ok((Some(p), _)) => incident_from_asff(f, region).map(|mut i| {
                    i.finding_type = p.finding_type(f, &i);
                    i
                }),
                Ok((None, _)) => Err(ParseError::InvalidField {
                    field: "ProductArn",
                    reason: format!(
                        "{product_arn:?}: only GuardDuty's, Inspector's and Macie's findings are \
                         acted on"
                    ),
                }),
            };
            parsed.map_err(|e| RejectedFinding {
                id: opt_str(f, "Id"),
                product_arn: opt_str(f, "ProductArn"),
                error_type: e.error_type(),
                reason: e.to_string(),
            })
        };
        Ok(ImportedEvent {
            findings: findings.iter().take(MAX_FINDINGS).map(parse).collect(),
        })
    }
}

/// `…/UnauthorizedAccess:IAMUser-ConsoleLogin` → `UnauthorizedAccess:IAMUser/ConsoleLogin`.
fn guardduty_type(types: &[String]) -> Option<String> {
    types.iter().find_map(|t| {
        let last = t.rsplit('/').next()?;
        let (family, rest) = last.split_once(':')?;
        let (resource, name) = rest.split_once('-')?;
        (!family.is_empty() && !resource.is_empty() && !name.is_empty())
            .then(|| format!("{family}:{resource}/{name}"))
    })
}

fn label_severity(label: &str) -> Option<f64> {
    // The lower bound of each GuardDuty band, so "≥ 7" means HIGH and above.
    match label {
        "INFORMATIONAL" => Some(0.0),
        "LOW" => Some(1.0),
        "MEDIUM" => Some(4.0),
        "HIGH" => Some(7.0),
        "CRITICAL" => Some(9.0),
        _ => None,
    }
}

/// Severity on GuardDuty's 0–10 scale from every ASFF shape: GuardDuty's own `Product` value, the
/// `Label`, the 0–100 `Normalized`, or a numeric `Original`.
fn severity(finding: &Value, guardduty: bool) -> Result<f64, ParseError> {
    let s = finding
        .get("Severity")
        .filter(|s| s.is_object())
        .ok_or(ParseError::MissingField("Severity"))?;
    let num = |k: &str| {
        s.get(k).and_then(|v| match v {
            Value::Number(n) => n.as_f64(),
            Value::String(t) => t.trim().parse().ok(),
            _ => None,
        })
    };
    let product = num("Product").filter(|p| guardduty && (0.0..=10.0).contains(p));
    let label = s
        .get("Label")
        .and_then(Value::as_str)
        .and_then(label_severity);
    let normalized = num("Normalized")
        .filter(|n| (0.0..=100.0).contains(n))
        .map(|n| n / 10.0);
    let original = s
        .get("Original")
        .and_then(Value::as_str)
        .and_then(|o| o.parse::<f64>().ok().or_else(|| label_severity(o)))
        .filter(|o| (0.0..=10.0).contains(o));
    product
        .or(label)
        .or(normalized)
        .or(original)
        .ok_or_else(|| ParseError::InvalidField {
            field: "Severity",
            reason: format!("{s} has no usable Label, Normalized, Product or Original"),
        })
}

fn product_field<'a>(finding: &'a Value, keys: &[&str]) -> Option<&'a str> {
    let fields = finding.get("ProductFields")?;
    keys.iter()
        .find_map(|k| fields.get(*k).and_then(Value::as_str))
}

/// The finding type: GuardDuty's own (from `Types`) for a GuardDuty finding, else the first type
/// or the title.
fn asff_finding_type(finding: &Value, guardduty: bool) -> Result<String, ParseError> {
    let types: Vec<String> = finding
        .get("Types")
        .and_then(Value::as_array)
        .map(|t| {
            t.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if guardduty {
        return guardduty_type(&types).ok_or_else(|| ParseError::InvalidField {
            field: "Types",
            reason: format!("{types:?} names no GuardDuty finding type"),
        });
    }
    Ok(types
        .first()
        .cloned()
        .or_else(|| opt_str(finding, "Title"))
        .unwrap_or_else(|| "Security Hub finding".into()))
}

/// The region of the Security Hub that holds the finding, and the region of the resource.
fn regions(
    finding: &Value,
    product_arn: &str,
    resources: &[Value],
    event_region: &str,
) -> Result<(String, String), ParseError> {
    let hub_region = Some(Arn::lenient(product_arn).region)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .or_else(|| opt_str(finding, "Region"))
        .unwrap_or_else(|| event_region.to_string());
    let region = opt_str(finding, "Region")
        .or_else(|| resources.iter().find_map(|r| opt_str(r, "Region")))
        .unwrap_or_else(|| hub_region.clone());
    if region.is_empty()
        || !region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(ParseError::InvalidField {
            field: "Region",
            reason: format!("{region:?} is not an AWS region name"),
        });
    }
    Ok((hub_region, region))
}

/// Whether the finding is archived, and whether it is a sample.
fn archived_and_sample(finding: &Value) -> (bool, bool) {
    let archived = finding.get("RecordState").and_then(Value::as_str) == Some("ARCHIVED")
        || product_field(finding, &["archived", "aws/guardduty/service/archived"]) == Some("true");
    let sample = product_field(
        finding,
        &["sample", "aws/guardduty/service/additionalInfo/sample"],
    ) == Some("true")
        || product_field(finding, &["additionalInfo"])
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .and_then(|v| v.get("sample").and_then(Value::as_bool))
            == Some(true);
    (archived, sample)
}

/// One ASFF finding → an incident.
pub fn incident_from_asff(finding: &Value, event_region: &str) -> Result<Incident, ParseError> {
    if !finding.is_object() {
        return Err(ParseError::NotAnObject);
    }
    let id = required_str(finding, "Id")?;
    let product_arn = required_str(finding, "ProductArn")?;
    let account = required_str(finding, "AwsAccountId")?;
    let guardduty = Product::of(finding, &product_arn)? == Some(Product::GuardDuty);
    let finding_type = asff_finding_type(finding, guardduty)?;
    // GuardDuty's own finding id (the last segment of its ARN), so tags and snapshots are shared
    // with the native event; otherwise the ASFF id, shortened to fit a tag value if it must be.
    let finding_id = match id.rsplit_once("/finding/") {
        Some((_, gd)) if guardduty && !gd.is_empty() => gd.to_string(),
        _ if id.len() <= 200 => id.clone(),
        _ => format!("asff-{:016x}", fnv1a(&id)),
    };
    let severity = severity(finding, guardduty)?;
    let resources = finding
        .get("Resources")
        .and_then(Value::as_array)
        .filter(|r| !r.is_empty())
        .ok_or(ParseError::MissingField("Resources"))?;
    let (hub_region, region) = regions(finding, &product_arn, resources, event_region)?;
    let resource = resource(resources)?;
    let role = product_field(
        finding,
        &["resourceRole", "aws/guardduty/service/resourceRole"],
    );
    let (archived, sample) = archived_and_sample(finding);
    Ok(Incident {
        source: Source::SecurityHub,
        finding_id,
        finding_arn: Some(id.clone()),
        finding_type,
        title: opt_str(finding, "Title"),
        severity,
        account,
        region,
        partition: resources
            .iter()
            .find_map(|r| opt_str(r, "Partition"))
            .unwrap_or_else(|| "aws".into()),
        sample,
        archived,
        resource_role: match role {
            Some(r) if r.eq_ignore_ascii_case("actor") => Some(ResourceRole::Actor),
            Some(r) if r.eq_ignore_ascii_case("target") => Some(ResourceRole::Target),
            _ => None,
        },
        resource,
        security_hub: Some(FindingRef {
            id,
            product_arn,
            region: hub_region,
        }),
    })
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Resource;
    use serde_json::json;

    fn event(action: &str, findings: Value) -> Value {
        json!({"version": "0", "id": "e", "detail-type": "Security Hub Findings - Custom Action",
               "source": "aws.securityhub", "account": "123456789012", "region": "us-east-1",
               "time": "2026-11-22T03:00:00Z",
               "resources": [format!("arn:aws:securityhub:us-east-1:123456789012:action/custom/{action}")],
               "detail": {"actionName": action, "actionDescription": "d", "findings": findings}})
    }

    fn gd_instance_finding() -> Value {
        json!({"SchemaVersion": "2018-10-08",
               "Id": "arn:aws:guardduty:us-east-1:123456789012:detector/d1/finding/abc123",
               "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
               "AwsAccountId": "123456789012",
               "Types": ["TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS"],
               "Severity": {"Product": 8, "Label": "HIGH", "Normalized": 60},
               "Title": "t", "ProductFields": {"resourceRole": "ACTOR"},
               "Resources": [{"Type": "AwsEc2Instance", "Region": "us-east-1", "Partition": "aws",
                   "Id": "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
                   "Details": {"AwsEc2Instance": {"VpcId": "vpc-1"}}}]})
    }

    #[test]
    fn guardduty_asff_maps_back_to_the_guardduty_type_id_severity_and_role() {
        let e =
            CustomActionEvent::from_event(&event("FbQuarantine", json!([gd_instance_finding()])))
                .unwrap();
        assert_eq!(e.action, CustomAction::FbQuarantine);
        let i = e.findings[0].as_ref().unwrap();
        assert_eq!(i.finding_type, "Backdoor:EC2/C&CActivity.B!DNS");
        assert_eq!(i.finding_id, "abc123");
        assert_eq!(i.severity, 8.0);
        assert_eq!(i.resource_role, Some(ResourceRole::Actor));
        assert_eq!(i.instance().unwrap().instance_id, "i-0123456789abcdef0");
        assert_eq!(i.instance().unwrap().vpc_ids(), vec!["vpc-1".to_string()]);
        let r = i.security_hub.as_ref().unwrap();
        assert_eq!(r.region, "us-east-1");
    }

    #[test]
    fn a_bad_finding_is_rejected_alone_and_unknown_actions_are_rejected_clearly() {
        let mut bad = gd_instance_finding();
        bad["Resources"][0]["Id"] = json!("arn:aws:ec2:us-east-1:1:instance/i-123");
        let e = CustomActionEvent::from_event(&event(
            "FbSnapshot",
            json!([gd_instance_finding(), bad, {"Id": "x"}]),
        ))
        .unwrap();
        assert!(e.findings[0].is_ok());
        assert_eq!(
            e.findings[1].as_ref().unwrap_err().error_type,
            "InvalidEvent.InvalidField"
        );
        assert_eq!(
            e.findings[2].as_ref().unwrap_err().error_type,
            "InvalidEvent.MissingField"
        );
        let err = CustomActionEvent::from_event(&event("FbNuke", json!([gd_instance_finding()])))
            .unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent.UnknownAction");
        assert!(err.to_string().contains("FbNuke"));
    }

    fn imported(findings: Value) -> Vec<Result<Incident, RejectedFinding>> {
        let event = json!({"version": "0", "id": "e", "detail-type": IMPORTED,
               "source": "aws.securityhub", "account": "123456789012", "region": "us-east-1",
               "time": "2026-11-22T03:00:00Z", "resources": [], "detail": {"findings": findings}});
        ImportedEvent::from_event(&event).unwrap().findings
    }

    /// A finding whose `ProductArn` is `arn`, its `ProductName` field saying GuardDuty.
    fn claiming_guardduty(arn: &str) -> Value {
        let mut f = gd_instance_finding();
        f["ProductArn"] = json!(arn);
        f["ProductFields"]["aws/securityhub/ProductName"] = json!("GuardDuty");
        f
    }

    #[test]
    fn a_product_is_recognised_by_aws_s_own_product_arn_only() {
        // Genuine, in every partition; the region is the receiving hub's.
        for arn in [
            "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "arn:aws:securityhub:eu-west-1::product/aws/guardduty",
            "arn:aws-cn:securityhub:cn-north-1::product/aws/guardduty",
            "arn:aws-us-gov:securityhub:us-gov-west-1::product/aws/guardduty",
        ] {
            let f = claiming_guardduty(arn);
            assert_eq!(Product::of(&f, arn), Ok(Some(Product::GuardDuty)), "{arn}");
            let i = imported(json!([f]))[0].clone().unwrap();
            assert_eq!(i.finding_type, "Backdoor:EC2/C&CActivity.B!DNS");
        }
        let inspector = "arn:aws:securityhub:eu-central-1::product/aws/inspector";
        assert_eq!(
            Product::of(&json!({}), inspector),
            Ok(Some(Product::Inspector))
        );
        let macie = "arn:aws:securityhub:us-east-1::product/aws/macie";
        assert_eq!(Product::of(&json!({}), macie), Ok(Some(Product::Macie)));

        // A third party's (or a custom integration's) product that says it is GuardDuty, AWS's
        // product path with an account, another partition, a malformed region: rejected, typed.
        for arn in [
            "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default",
            "arn:aws:securityhub:us-east-1:123456789012:product/aws/guardduty",
            "arn:aws:securityhub:us-east-1::product/123456789012/guardduty",
            "arn:evil:securityhub:us-east-1::product/aws/guardduty",
            "arn:aws:securityhub:us-east-1`id`::product/aws/guardduty",
            "arn:aws:securityhub:us-east-1::product/aws/guardduty:x",
            "x/aws/guardduty",
        ] {
            for findings in [
                imported(json!([claiming_guardduty(arn)])),
                CustomActionEvent::from_event(&event(
                    "FbQuarantine",
                    json!([claiming_guardduty(arn)]),
                ))
                .unwrap()
                .findings,
            ] {
                let rejected = findings[0].clone().unwrap_err();
                assert_eq!(rejected.error_type, "InvalidEvent.InvalidField", "{arn}");
                assert!(
                    rejected.reason.starts_with("invalid field ProductArn: "),
                    "{rejected:?}"
                );
                assert_eq!(rejected.product_arn.as_deref(), Some(arn));
            }
        }

        // Another product that claims nothing: not acted on when imported (as before), a
        // Security Hub finding of its own when an analyst chooses a custom action on it.
        let mut other = gd_instance_finding();
        other["ProductArn"] = json!("arn:aws:securityhub:us-east-1::product/aws/securityhub");
        other["Types"] = json!(["Software and Configuration Checks/AWS Security Best Practices"]);
        let rejected = imported(json!([other.clone()]))[0].clone().unwrap_err();
        assert!(rejected
            .reason
            .contains("only GuardDuty's, Inspector's and Macie's"));
        let i = incident_from_asff(&other, "us-east-1").unwrap();
        assert_eq!(
            i.finding_type,
            "Software and Configuration Checks/AWS Security Best Practices"
        );
    }

    #[test]
    fn severity_shapes() {
        let sev = |s: Value, gd: bool| severity(&json!({"Severity": s}), gd).unwrap();
        assert_eq!(sev(json!({"Product": 5, "Normalized": 50}), true), 5.0);
        assert_eq!(
            sev(
                json!({"Product": 70, "Label": "HIGH", "Normalized": 70}),
                false
            ),
            7.0
        );
        assert_eq!(sev(json!({"Normalized": 30}), false), 3.0);
        assert_eq!(sev(json!({"Original": "CRITICAL"}), false), 9.0);
        assert!(severity(&json!({"Severity": {"Label": "LOUD"}}), false).is_err());
        assert!(severity(&json!({}), false).is_err());
    }

    #[test]
    fn iam_resources_become_principals() {
        let f = |r: Value| {
            let mut f = gd_instance_finding();
            f["Types"] = json!(["TTPs/UnauthorizedAccess:IAMUser-MaliciousIPCaller"]);
            f["Resources"] = json!([r]);
            incident_from_asff(&f, "us-east-1").unwrap()
        };
        let k = f(
            json!({"Type": "AwsIamAccessKey", "Id": "AWS::IAM::AccessKey:AKIAIOSFODNN7EXAMPLE",
                          "Details": {"AwsIamAccessKey": {"PrincipalName": "alice", "PrincipalType": "IAMUser"}}}),
        );
        assert_eq!(k.resource_name(), "AKIAIOSFODNN7EXAMPLE");
        let r = f(json!({"Type": "AwsIamRole", "Id": "arn:aws:iam::123456789012:role/deploy"}));
        assert_eq!(r.resource_name(), "role/deploy");
        let slr = f(json!({"Type": "AwsIamRole",
                            "Id": "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"}));
        assert!(matches!(&slr.resource, Resource::AccessKey(k)
            if matches!(k.principal(), crate::incident::Principal::ServiceLinkedRole { .. })));
    }
}
