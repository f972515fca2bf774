//! The GuardDuty EventBridge event (`detail-type: "GuardDuty Finding"`) → [`Incident`].
//!
//! Tolerant where real payloads vary (key casing inside `detail`, severity as integer, float or
//! numeric string, missing optional blocks, sample markers), strict where acting on a wrong value
//! would hurt (finding id, finding type, region, a well-formed instance id).

use serde_json::{Map, Value};

use crate::error::ParseError;
use crate::incident::fields::{eventbridge_envelope, opt_str, required_str};
use crate::incident::ids::{self, is_access_key_id, is_instance_id};
use crate::incident::{
    AccessKeyRef, ArtifactRef, BucketRef, DatabaseRef, FunctionRef, Incident, InstanceRef,
    InterfaceRef, Resource, ResourceRole, SequenceRef, Source, TaskRef,
};

impl Incident {
    /// Parses an EventBridge event (`detail-type: "GuardDuty Finding"`).
    pub fn from_event(event: &Value) -> Result<Incident, ParseError> {
        let envelope = eventbridge_envelope(event, "GuardDuty Finding", "aws.guardduty")?;
        let detail = envelope
            .get("detail")
            .and_then(Value::as_object)
            .ok_or(ParseError::MissingField("detail"))?;
        if detail.is_empty() {
            return Err(ParseError::MissingField("detail"));
        }
        // GetFindings-style PascalCase pasted inside an envelope (seen in public projects'
        // fixtures) carries the same fields: fold the first letter of every key to lower case.
        let detail = if detail.contains_key("Id") || detail.contains_key("Type") {
            camel_case_keys(&Value::Object(detail.clone()))
        } else {
            Value::Object(detail.clone())
        };
        parse_guardduty_detail(&detail, envelope)
    }
}

impl TaskRef {
    /// From `resource.ecsClusterDetails` (`arn`/`name`, `taskDetails.arn`); `None` without a
    /// well-formed task ARN.
    pub fn from_details(details: &Value) -> Option<TaskRef> {
        let task_arn = details.pointer("/taskDetails/arn")?.as_str()?;
        let well_formed = task_arn.starts_with("arn:")
            && task_arn.contains(":ecs:")
            && task_arn.contains(":task/")
            && task_arn.len() <= 512
            && task_arn
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ":/-_.".contains(c));
        let cluster = opt_str(details, "arn")
            .or_else(|| opt_str(details, "name"))
            .filter(|c| {
                c.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ":/-_.".contains(c))
            })?;
        well_formed.then(|| TaskRef {
            cluster,
            task_arn: task_arn.to_string(),
        })
    }
}

fn parse_guardduty_detail(
    d: &Value,
    envelope: &Map<String, Value>,
) -> Result<Incident, ParseError> {
    let finding_id = required_str(d, "id")?;
    let finding_type = required_str(d, "type")?;
    if !finding_type.contains(':') || !finding_type.contains('/') {
        return Err(ParseError::InvalidField {
            field: "type",
            reason: format!(
                "{finding_type:?} is not a GuardDuty finding type (Family:Resource/Name)"
            ),
        });
    }
    let severity = severity(d.get("severity"))?;
    let region = opt_str(d, "region")
        .or_else(|| {
            envelope
                .get("region")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .filter(|r| !r.is_empty())
        .ok_or(ParseError::MissingField("region"))?;
    if !region
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(ParseError::InvalidField {
            field: "region",
            reason: format!("{region:?} is not an AWS region name"),
        });
    }
    let account = opt_str(d, "accountId")
        .or_else(|| {
            envelope
                .get("account")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .ok_or(ParseError::MissingField("accountId"))?;
    let partition = opt_str(d, "partition").unwrap_or_else(|| "aws".into());
    let service = d.get("service");
    let sample = service.map(is_sample).unwrap_or(false);
    let archived = service
        .and_then(|s| s.get("archived"))
        .map(|a| a.as_bool() == Some(true) || a.as_str() == Some("true"))
        .unwrap_or(false);
    let resource_role = match service
        .and_then(|s| s.get("resourceRole"))
        .and_then(Value::as_str)
    {
        Some(r) if r.eq_ignore_ascii_case("actor") => Some(ResourceRole::Actor),
        Some(r) if r.eq_ignore_ascii_case("target") => Some(ResourceRole::Target),
        _ => None,
    };
    let resource = guardduty_resource(d)?;
    Ok(Incident {
        source: Source::GuardDuty,
        finding_id,
        finding_arn: opt_str(d, "arn"),
        finding_type,
        title: opt_str(d, "title"),
        severity,
        account,
        region,
        partition,
        sample,
        archived,
        resource_role,
        resource,
        security_hub: None,
    })
}

/// The finding's resource: an instance, an access key, or another kind named by its type.
fn guardduty_resource(d: &Value) -> Result<Resource, ParseError> {
    let resource = d
        .get("resource")
        .ok_or(ParseError::MissingField("resource"))?;
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or(ParseError::MissingField("resource.resourceType"))?;
    // A snapshot or AMI GuardDuty scanned (Malware Protection), whatever the type is called.
    let artifact = [
        ("ebsSnapshotDetails", "snapshotArn"),
        ("ec2ImageDetails", "imageArn"),
    ]
    .iter()
    .find_map(|(details, arn)| {
        let arn = resource.get(details)?.get(arn)?.as_str()?;
        ArtifactRef::from_arn(arn)
    });
    Ok(match (resource_type, artifact) {
        ("Instance", _) => Resource::Instance(instance(resource)?),
        // A Runtime Monitoring finding on an EKS or ECS-on-EC2 node names the node instance: it is
        // contained as an instance (its node group's Auto Scaling group included). A Fargate task
        // names none, and is notified with the guidance for its kind.
        ("EKSCluster" | "ECSCluster", _) if node_instance(resource) => {
            Resource::Instance(instance(resource)?)
        }
        ("ECSCluster", _) => match resource
            .get("ecsClusterDetails")
            .and_then(TaskRef::from_details)
        {
            Some(t) => Resource::Task(t),
            None => Resource::Other {
                resource_type: resource_type.to_string(),
            },
        },
        ("AccessKey", _) => Resource::AccessKey(access_key(resource)?),
        ("Lambda", _) => Resource::Function(function(resource)?),
        ("AttackSequence", _) => Resource::Sequence(sequence(d)),
        ("RDSDBInstance", _) => match DatabaseRef::from_guardduty(d) {
            Some(db) => Resource::Database(db),
            None => Resource::Other {
                resource_type: resource_type.to_string(),
            },
        },
        ("S3Bucket" | "S3Object", _) => match bucket(d, &account(d)) {
            Some(b) => Resource::Bucket(b),
            None => Resource::Other {
                resource_type: resource_type.to_string(),
            },
        },
        (_, Some(a)) => Resource::Artifact(a),
        (other, None) => Resource::Other {
            resource_type: other.to_string(),
        },
    })
}

/// The finding's account (`accountId`), empty when it names none.
fn account(d: &Value) -> String {
    opt_str(d, "accountId").unwrap_or_default()
}

/// `service.detection.sequence.resources[]` (GuardDuty API reference, `ResourceV2`): EC2 instances,
/// access keys and S3 buckets become members (a `uid` may be an ARN or a bare id); the rest, and
/// any member Firebreak cannot read, are listed as others.
fn sequence(d: &Value) -> SequenceRef {
    let (account, region) = (account(d), opt_str(d, "region").unwrap_or_default());
    let resources = d
        .pointer("/service/detection/sequence/resources")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut seq = SequenceRef {
        members: Vec::new(),
        others: Vec::new(),
    };
    for r in &resources {
        let kind = opt_str(r, "resourceType").unwrap_or_default();
        let uid = opt_str(r, "uid").unwrap_or_default();
        // A resource of another account or region is told, not acted on here by its name.
        let elsewhere = opt_str(r, "accountId").is_some_and(|a| a != account)
            || opt_str(r, "region").is_some_and(|g| !region.is_empty() && g != region);
        let last = uid
            .rsplit(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string();
        let member = match kind.as_str() {
            _ if elsewhere => None,
            "EC2_INSTANCE" if is_instance_id(&last) => Some(Resource::Instance(InstanceRef {
                instance_id: last,
                network_interfaces: Vec::new(),
                tags: Vec::new(),
                instance_profile_arn: None,
            })),
            "ACCESS_KEY" => {
                let k = r.pointer("/data/accessKey").unwrap_or(&Value::Null);
                Some(Resource::AccessKey(AccessKeyRef {
                    access_key_id: Some(last).filter(|k| is_access_key_id(k)),
                    principal_id: opt_str(k, "principalId"),
                    user_name: opt_str(k, "userName"),
                    user_type: opt_str(k, "userType"),
                    instance_id: None,
                    instance_profile_arn: None,
                }))
            }
            "S3_BUCKET" => BucketRef::from_arn(&uid, None).map(Resource::Bucket),
            _ => None,
        };
        match member {
            Some(m) if !seq.members.contains(&m) => seq.members.push(m),
            Some(_) => {}
            None => seq.others.push(format!("{kind} {uid}")),
        }
    }
    seq
}

/// `resource.s3BucketDetails[0]`: the bucket, its first object (`s3ObjectDetails`) when the finding
/// is about objects, and the caller (`accessKeyDetails`); `None` when it names no valid bucket.
fn bucket(d: &Value, account: &str) -> Option<BucketRef> {
    let resource = d.get("resource")?;
    let first = resource.get("s3BucketDetails")?.as_array()?.first()?;
    let name = opt_str(first, "name").or_else(|| {
        opt_str(first, "arn").map(|a| a.rsplit(':').next().unwrap_or("").to_string())
    })?;
    let object_key = first
        .get("s3ObjectDetails")
        .and_then(Value::as_array)
        .and_then(|o| o.first())
        .and_then(|o| opt_str(o, "key"));
    // A caller of another account (`remoteAccountDetails`) is not this account's to revoke: a
    // same-named user or role here is someone else.
    let remote = d
        .pointer("/service/action/awsApiCallAction/remoteAccountDetails/accountId")
        .and_then(Value::as_str)
        .is_some_and(|a| a != account);
    let caller = access_key(resource)
        .ok()
        .filter(|k| !remote && (k.user_name.is_some() || k.access_key_id.is_some()));
    let mut b = BucketRef::from_arn(&name, caller)?;
    b.object_key = object_key.as_deref().map(ids::object_key).or(b.object_key);
    Some(b)
}

/// True when a container finding names the EC2 node it ran on (`resource.instanceDetails.instanceId`).
fn node_instance(resource: &Value) -> bool {
    resource
        .pointer("/instanceDetails/instanceId")
        .and_then(Value::as_str)
        .is_some_and(is_instance_id)
}

/// `resource.lambdaDetails`: the function's ARN and its execution role.
fn function(resource: &Value) -> Result<FunctionRef, ParseError> {
    let details = resource
        .get("lambdaDetails")
        .ok_or(ParseError::MissingField("resource.lambdaDetails"))?;
    let arn = opt_str(details, "functionArn").ok_or(ParseError::MissingField(
        "resource.lambdaDetails.functionArn",
    ))?;
    FunctionRef::from_arn(&arn, opt_str(details, "role").as_deref()).ok_or_else(|| {
        ParseError::InvalidField {
            field: "resource.lambdaDetails.functionArn",
            reason: format!("{arn:?} is not a Lambda function ARN"),
        }
    })
}

fn instance(resource: &Value) -> Result<InstanceRef, ParseError> {
    let details = resource
        .get("instanceDetails")
        .filter(|v| v.is_object())
        .ok_or(ParseError::MissingInstanceId)?;
    let instance_id = details
        .get("instanceId")
        .and_then(Value::as_str)
        .ok_or(ParseError::MissingInstanceId)?;
    if !is_instance_id(instance_id) {
        return Err(ParseError::InvalidField {
            field: "resource.instanceDetails.instanceId",
            reason: format!("{instance_id:?} is not an EC2 instance id"),
        });
    }
    let network_interfaces = details
        .get("networkInterfaces")
        .and_then(Value::as_array)
        .map(|enis| {
            enis.iter()
                .map(|eni| InterfaceRef {
                    network_interface_id: opt_str(eni, "networkInterfaceId"),
                    vpc_id: opt_str(eni, "vpcId").filter(|v| v.starts_with("vpc-")),
                    security_groups: eni
                        .get("securityGroups")
                        .and_then(Value::as_array)
                        .map(|gs| gs.iter().filter_map(|g| opt_str(g, "groupId")).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tags = details
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| Some((opt_str(t, "key")?, opt_str(t, "value").unwrap_or_default())))
                .collect()
        })
        .unwrap_or_default();
    Ok(InstanceRef {
        instance_id: instance_id.to_string(),
        network_interfaces,
        tags,
        instance_profile_arn: details
            .get("iamInstanceProfile")
            .and_then(|p| opt_str(p, "arn")),
    })
}

fn access_key(resource: &Value) -> Result<AccessKeyRef, ParseError> {
    let k = resource
        .get("accessKeyDetails")
        .filter(|k| k.is_object())
        .ok_or(ParseError::MissingField("resource.accessKeyDetails"))?;
    let principal_id = opt_str(k, "principalId");
    // Instance credentials: GuardDuty adds the instance's details; the role session of an
    // instance profile is also named after the instance (`AROA…:i-…`).
    let details = resource.get("instanceDetails").filter(|d| d.is_object());
    let instance_id = details
        .and_then(|d| opt_str(d, "instanceId"))
        .filter(|i| is_instance_id(i))
        .or_else(|| {
            principal_id
                .as_deref()
                .and_then(|p| p.split_once(':'))
                .map(|(_, session)| session.to_string())
                .filter(|s| is_instance_id(s))
        });
    Ok(AccessKeyRef {
        access_key_id: opt_str(k, "accessKeyId"),
        principal_id,
        user_name: opt_str(k, "userName"),
        user_type: opt_str(k, "userType"),
        instance_id,
        instance_profile_arn: details
            .and_then(|d| d.get("iamInstanceProfile"))
            .and_then(|p| opt_str(p, "arn")),
    })
}

fn severity(v: Option<&Value>) -> Result<f64, ParseError> {
    let v = v.ok_or(ParseError::MissingField("severity"))?;
    let s = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match s {
        Some(s) if (0.0..=10.0).contains(&s) => Ok(s),
        _ => Err(ParseError::InvalidField {
            field: "severity",
            reason: format!("{v} is not a GuardDuty severity (a number from 0 to 10)"),
        }),
    }
}

fn is_sample(service: &Value) -> bool {
    let Some(info) = service.get("additionalInfo") else {
        return false;
    };
    if info.get("sample").and_then(Value::as_bool) == Some(true) {
        return true;
    }
    // API shape: {"value": "<JSON text>", "type": "default"}.
    info.get("value")
        .and_then(Value::as_str)
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|inner| inner.get("sample").and_then(Value::as_bool))
        == Some(true)
}

fn camel_case_keys(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                        None => String::new(),
                    };
                    (key, camel_case_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(camel_case_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::ids::is_iam_name;
    use crate::incident::Principal;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"version": "0", "id": "e", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
               "account": "123456789012", "region": "us-east-1", "time": "2026-01-01T00:00:00Z",
               "resources": [], "detail": detail})
    }

    fn c2_detail() -> Value {
        json!({"id": "f1", "type": "Backdoor:EC2/C&CActivity.B", "severity": 8, "region": "us-east-1",
               "accountId": "123456789012", "service": {"resourceRole": "ACTOR"},
               "resource": {"resourceType": "Instance", "instanceDetails": {
                   "instanceId": "i-0123456789abcdef0",
                   "networkInterfaces": [{"networkInterfaceId": "eni-1", "vpcId": "vpc-1",
                       "securityGroups": [{"groupId": "sg-1", "groupName": "web"}]}],
                   "tags": [{"key": "firebreak:exempt", "value": "true"}]}}})
    }

    #[test]
    fn instance_finding_becomes_typed_incident() {
        let i = Incident::from_event(&event(c2_detail())).unwrap();
        assert_eq!(i.finding_id, "f1");
        assert_eq!(i.severity, 8.0);
        assert_eq!(i.resource_role, Some(ResourceRole::Actor));
        let inst = i.instance().unwrap();
        assert_eq!(inst.instance_id, "i-0123456789abcdef0");
        assert_eq!(inst.vpc_ids(), vec!["vpc-1".to_string()]);
        assert_eq!(inst.network_interfaces[0].security_groups, vec!["sg-1"]);
        assert_eq!(inst.tag("firebreak:exempt"), Some("true"));
    }

    #[test]
    fn severity_shapes_are_accepted_and_nonsense_rejected() {
        for (sev, want) in [(json!(8.7), 8.7), (json!(5.0), 5.0), (json!("7"), 7.0)] {
            let mut d = c2_detail();
            d["severity"] = sev;
            assert_eq!(Incident::from_event(&event(d)).unwrap().severity, want);
        }
        for bad in [json!(11), json!("high"), json!(null), json!([8])] {
            let mut d = c2_detail();
            d["severity"] = bad;
            assert!(Incident::from_event(&event(d)).is_err());
        }
    }

    #[test]
    fn instance_finding_without_a_valid_instance_id_is_a_typed_error() {
        let mut d = c2_detail();
        d["resource"]["instanceDetails"]
            .as_object_mut()
            .unwrap()
            .remove("instanceId");
        assert_eq!(
            Incident::from_event(&event(d)),
            Err(ParseError::MissingInstanceId)
        );
        let mut d = c2_detail();
        d["resource"]["instanceDetails"]["instanceId"] = json!("${instance_id}");
        assert!(matches!(
            Incident::from_event(&event(d)),
            Err(ParseError::InvalidField { .. })
        ));
    }

    #[test]
    fn pascal_case_detail_is_folded_to_camel_case() {
        let d = json!({"Id": "f2", "Type": "Trojan:EC2/DropPoint", "Severity": 8.0, "Region": "eu-west-1",
                       "AccountId": "1", "Service": {"AdditionalInfo": {"Value": "{\"sample\":true}", "Type": "default"}},
                       "Resource": {"ResourceType": "Instance", "InstanceDetails": {"InstanceId": "i-99999999"}}});
        let i = Incident::from_event(&event(d)).unwrap();
        assert_eq!(i.region, "eu-west-1");
        assert!(i.sample);
        assert_eq!(i.instance().unwrap().instance_id, "i-99999999");
    }

    #[test]
    fn other_event_kinds_are_unsupported() {
        let mut e = event(c2_detail());
        e["detail-type"] = json!("AWS API Call via CloudTrail");
        assert!(matches!(
            Incident::from_event(&e),
            Err(ParseError::UnsupportedEvent { .. })
        ));
        assert_eq!(
            Incident::from_event(&json!([1])),
            Err(ParseError::NotAnObject)
        );
        assert_eq!(
            Incident::from_event(&event(json!({}))),
            Err(ParseError::MissingField("detail"))
        );
    }

    #[test]
    fn credential_findings_name_the_key_principal_and_the_instance_the_credentials_came_from() {
        let d = json!({"id": "f3", "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                       "severity": 8, "region": "us-east-1", "accountId": "123456789012",
                       "resource": {"resourceType": "AccessKey",
                           "accessKeyDetails": {"accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                               "principalId": "AROAEXAMPLEROLEID:i-0123456789abcdef0",
                               "userName": "web-role", "userType": "AssumedRole"}}});
        let i = Incident::from_event(&event(d.clone())).unwrap();
        let Resource::AccessKey(k) = &i.resource else {
            panic!("{:?}", i.resource)
        };
        assert_eq!(k.instance_id.as_deref(), Some("i-0123456789abcdef0"));
        assert_eq!(
            k.principal(),
            Principal::Role {
                role_name: "web-role".into(),
                session_name: Some("i-0123456789abcdef0".into()),
                instance_id: Some("i-0123456789abcdef0".into()),
            }
        );
        assert_eq!(i.resource_name(), "role/web-role");
        // instanceDetails, when GuardDuty adds them, win over the session name.
        let mut with_details = d.clone();
        with_details["resource"]["instanceDetails"] = json!({"instanceId": "i-0fedcba9876543210",
            "iamInstanceProfile": {"arn": "arn:aws:iam::123456789012:instance-profile/web", "id": "AIPA"}});
        let i = Incident::from_event(&event(with_details)).unwrap();
        let Resource::AccessKey(k) = &i.resource else {
            panic!()
        };
        assert_eq!(k.instance_id.as_deref(), Some("i-0fedcba9876543210"));
        assert_eq!(
            k.instance_profile_arn.as_deref(),
            Some("arn:aws:iam::123456789012:instance-profile/web")
        );
        // A credential finding without its key details cannot be acted on: a typed error.
        let mut bare = d;
        bare["resource"]
            .as_object_mut()
            .unwrap()
            .remove("accessKeyDetails");
        assert_eq!(
            Incident::from_event(&event(bare)),
            Err(ParseError::MissingField("resource.accessKeyDetails"))
        );
        assert!(is_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_access_key_id("GeneratedFindingAccessKeyId"));
        assert!(!is_iam_name("${user_name}"));
    }
}
