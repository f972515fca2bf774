//! An ASFF finding's `Resources` → the [`Resource`] Firebreak acts on: an instance, credentials (an
//! access key, a user or a role), a Lambda function, an S3 bucket or object, a snapshot or AMI, or
//! the first resource's type.

use serde_json::Value;

use crate::error::ParseError;
use crate::incident::fields::opt_str;
use crate::incident::ids::{is_access_key_id, is_iam_name, is_instance_id};
use crate::incident::{
    AccessKeyRef, ArtifactRef, BucketRef, DatabaseRef, FunctionRef, InstanceRef, InterfaceRef,
    Resource,
};

/// The first resource Firebreak acts on (an instance or credentials), else the first resource's type.
pub(super) fn resource(resources: &[Value]) -> Result<Resource, ParseError> {
    // A finding about S3 (GuardDuty lists the bucket, then the caller's key): the bucket. One
    // that names an instance as well is about the instance.
    let names_instance = resources
        .iter()
        .any(|r| r.get("Type").and_then(Value::as_str) == Some("AwsEc2Instance"));
    if let Some(b) = bucket_resource(resources).filter(|_| !names_instance) {
        return Ok(Resource::Bucket(b));
    }
    let instance = named_instance(resources);
    for r in resources {
        let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        match kind {
            // Set: this very resource is an `AwsEc2Instance`.
            "AwsEc2Instance" => {
                let instance_id = instance
                    .clone()
                    .unwrap_or(Err(ParseError::MissingInstanceId))?;
                return Ok(instance_resource(r, instance_id));
            }
            "AwsIamAccessKey" => {
                return Ok(access_key_resource(
                    r,
                    instance.clone().and_then(Result::ok),
                ))
            }
            "AwsIamUser" | "AwsIamRole" => return Ok(principal_resource(r, kind)),
            "AwsLambdaFunction" => {
                let id = opt_str(r, "Id").unwrap_or_default();
                let role = r
                    .pointer("/Details/AwsLambdaFunction/Role")
                    .and_then(Value::as_str);
                return FunctionRef::from_arn(&id, role)
                    .map(Resource::Function)
                    .ok_or_else(|| ParseError::InvalidField {
                        field: "Resources[].Id",
                        reason: format!("{id:?} is not a Lambda function ARN"),
                    });
            }
            "AwsRdsDbInstance" => {
                return DatabaseRef::from_asff(r)
                    .map(Resource::Database)
                    .ok_or_else(|| ParseError::InvalidField {
                        field: "Resources[].Id",
                        reason: "not an RDS DB instance Firebreak can name".into(),
                    });
            }
            _ => {}
        }
        // An EBS snapshot or AMI, whatever Security Hub calls its type: by its ARN.
        if let Some(a) = opt_str(r, "Id").as_deref().and_then(ArtifactRef::from_arn) {
            return Ok(Resource::Artifact(a));
        }
    }
    Ok(Resource::Other {
        resource_type: resources[0]
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string(),
    })
}

/// The S3 object or bucket a finding names (an object first), with the caller from its
/// `AwsIamAccessKey` resource, when it names one.
fn bucket_resource(resources: &[Value]) -> Option<BucketRef> {
    let of_type = |t: &str| {
        resources
            .iter()
            .find(|r| r.get("Type").and_then(Value::as_str) == Some(t))
    };
    let r = of_type("AwsS3Object").or_else(|| of_type("AwsS3Bucket"))?;
    let caller = of_type("AwsIamAccessKey").and_then(|k| match access_key_resource(k, None) {
        Resource::AccessKey(k) => Some(k),
        _ => None,
    });
    BucketRef::from_arn(&opt_str(r, "Id")?, caller)
}

/// The instance the finding names: the first well-formed id of its `AwsEc2Instance` resources, or
/// why the first one is not (`None` when it has none).
fn named_instance(resources: &[Value]) -> Option<Result<String, ParseError>> {
    let instance_ids: Vec<Result<String, ParseError>> = resources
        .iter()
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AwsEc2Instance"))
        .map(|r| {
            let id = opt_str(r, "Id").unwrap_or_default();
            let instance = instance_from_arn(&id)
                .or_else(|| id.starts_with("i-").then_some(id.as_str()))
                .unwrap_or_default();
            if is_instance_id(instance) {
                Ok(instance.to_string())
            } else {
                Err(ParseError::InvalidField {
                    field: "Resources[].Id",
                    reason: format!("{id:?} names no EC2 instance id"),
                })
            }
        })
        .collect();
    instance_ids
        .iter()
        .find(|i| i.is_ok())
        .or(instance_ids.first())
        .cloned()
}

/// An `AwsEc2Instance` resource, with the well-formed instance id the finding names.
fn instance_resource(r: &Value, instance_id: String) -> Resource {
    let details = r.get("Details").unwrap_or(&Value::Null);
    let d = details.get("AwsEc2Instance").unwrap_or(&Value::Null);
    let vpc_id = opt_str(d, "VpcId").filter(|v| v.starts_with("vpc-"));
    let mut network_interfaces: Vec<InterfaceRef> = d
        .get("NetworkInterfaces")
        .and_then(Value::as_array)
        .map(|enis| {
            enis.iter()
                .map(|e| InterfaceRef {
                    network_interface_id: opt_str(e, "NetworkInterfaceId"),
                    vpc_id: vpc_id.clone(),
                    security_groups: vec![],
                })
                .collect()
        })
        .unwrap_or_default();
    if network_interfaces.is_empty() && vpc_id.is_some() {
        network_interfaces.push(InterfaceRef {
            network_interface_id: None,
            vpc_id,
            security_groups: vec![],
        });
    }
    let tags = r
        .get("Tags")
        .and_then(Value::as_object)
        .map(|t| {
            t.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Resource::Instance(InstanceRef {
        instance_id,
        network_interfaces,
        tags,
        instance_profile_arn: opt_str(d, "IamInstanceProfileArn"),
    })
}

/// An `AwsIamAccessKey` resource; `instance_id` is the instance the finding also names.
fn access_key_resource(r: &Value, instance_id: Option<String>) -> Resource {
    let id = opt_str(r, "Id").unwrap_or_default();
    let details = r.get("Details").unwrap_or(&Value::Null);
    let d = details.get("AwsIamAccessKey").unwrap_or(&Value::Null);
    let key = id
        .strip_prefix("AWS::IAM::AccessKey:")
        .filter(|k| is_access_key_id(k))
        .map(String::from)
        .or_else(|| opt_str(d, "AccessKeyId"));
    let name = opt_str(d, "PrincipalName").or_else(|| opt_str(d, "UserName"));
    let user_type = opt_str(d, "PrincipalType").or_else(|| {
        // Older GuardDuty ASFF names only the user.
        name.as_ref().map(|_| "IAMUser".to_string())
    });
    Resource::AccessKey(AccessKeyRef {
        access_key_id: key,
        principal_id: opt_str(d, "PrincipalId"),
        user_name: name,
        user_type,
        instance_id,
        instance_profile_arn: None,
    })
}

/// An `AwsIamUser` or `AwsIamRole` resource (`kind`).
fn principal_resource(r: &Value, kind: &str) -> Resource {
    let id = opt_str(r, "Id").unwrap_or_default();
    let details = r.get("Details").unwrap_or(&Value::Null);
    let (detail_key, name_key, user_type) = if kind == "AwsIamUser" {
        ("AwsIamUser", "UserName", "IAMUser")
    } else {
        ("AwsIamRole", "RoleName", "AssumedRole")
    };
    let name = details
        .get(detail_key)
        .and_then(|d| opt_str(d, name_key))
        .or_else(|| id.rsplit('/').next().map(String::from))
        .filter(|n| is_iam_name(n));
    // A service-linked role is recognisable by its path too.
    let name = match name {
        Some(n)
            if id.contains(":role/aws-service-role/") && !n.starts_with("AWSServiceRoleFor") =>
        {
            Some(format!("AWSServiceRoleFor{n}"))
        }
        other => other,
    };
    Resource::AccessKey(AccessKeyRef {
        access_key_id: None,
        principal_id: None,
        user_name: name,
        user_type: Some(user_type.into()),
        instance_id: None,
        instance_profile_arn: None,
    })
}

/// `arn:aws:ec2:<region>:<account>:instance/i-…` → `i-…`.
fn instance_from_arn(id: &str) -> Option<&str> {
    id.rsplit_once(":instance/").map(|(_, i)| i)
}
