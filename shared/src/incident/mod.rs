//! The typed [`Incident`]: "what happened to which resource", and the resources a finding names.
//!
//! Every event shape is converted once, at the edge, by its parser: [`guardduty`] (the GuardDuty
//! EventBridge event) and [`asff`] (Security Hub's ASFF findings), both reading the JSON through
//! `fields`; [`ids`] holds the id checks and the one ARN parser.

pub mod asff;
pub mod database;
mod fields;
pub mod guardduty;
pub mod ids;

use serde::Serialize;

pub use self::database::{DatabaseRef, DbLogin};
use self::ids::{is_access_key_id, is_iam_name, object_key, Arn};

/// Which role the resource plays in the finding (GuardDuty `service.resourceRole`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ResourceRole {
    /// The resource did the suspicious thing (e.g. the instance talks to a C&C server).
    Actor,
    /// The resource was acted upon (e.g. the instance is the target of a brute force).
    Target,
}

/// One network interface of an instance as the finding described it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterfaceRef {
    /// `eni-…`, when the finding names it.
    pub network_interface_id: Option<String>,
    /// The VPC of the interface, when the finding names it.
    pub vpc_id: Option<String>,
    /// Security group ids the finding listed for the interface.
    pub security_groups: Vec<String>,
}

/// An EC2 instance named by a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceRef {
    /// `i-…`: validated, since every action targets it.
    pub instance_id: String,
    /// Interfaces as reported; the executor re-reads the live ones before acting.
    pub network_interfaces: Vec<InterfaceRef>,
    /// Tags as reported (key, value).
    pub tags: Vec<(String, String)>,
    /// The instance profile ARN, when reported.
    pub instance_profile_arn: Option<String>,
}

impl InstanceRef {
    /// The distinct VPC ids the finding mentions, in order of first appearance.
    pub fn vpc_ids(&self) -> Vec<String> {
        distinct(
            self.network_interfaces
                .iter()
                .filter_map(|i| i.vpc_id.clone()),
        )
    }

    /// The value of tag `key`, if the finding reported it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        tag_value(&self.tags, key)
    }
}

/// The items without repeats, in order of first appearance.
pub fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The value of tag `key` in a list of (key, value) tags.
pub fn tag_value<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// An access key named by a finding (`resource.accessKeyDetails`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessKeyRef {
    /// `AKIA…` (long-term) or `ASIA…` (temporary); may be a placeholder in sample findings.
    pub access_key_id: Option<String>,
    /// The principal id (`AIDA…`, `AROA…:session`).
    pub principal_id: Option<String>,
    /// User or role name.
    pub user_name: Option<String>,
    /// `IAMUser`, `AssumedRole`, `Root`, `Role`, `FederatedUser`, …
    pub user_type: Option<String>,
    /// The instance the credentials belong to: `resource.instanceDetails.instanceId` of an
    /// instance-credential finding, or the `i-…` session name of an instance-profile role session.
    pub instance_id: Option<String>,
    /// The instance profile the finding names, when it does.
    pub instance_profile_arn: Option<String>,
}

/// Whose credentials a finding names, as far as Firebreak can act on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Principal {
    /// An IAM user: a long-term key (`AKIA…`) or a session it issued (`ASIA…`).
    IamUser {
        /// The user.
        user_name: String,
        /// The key, when it is a well-formed key id.
        access_key_id: Option<String>,
    },
    /// A session of an IAM role (`AssumedRole`), including an instance profile's role.
    Role {
        /// The role.
        role_name: String,
        /// The session name (`AROA…:<session>`), when given.
        session_name: Option<String>,
        /// The instance whose profile issued the session, when known.
        instance_id: Option<String>,
    },
    /// The account's root user: Firebreak cannot restrict it.
    Root,
    /// A service-linked role (`AWSServiceRoleFor…`): IAM refuses changes to it.
    ServiceLinkedRole {
        /// The role.
        role_name: String,
    },
    /// An IAM Identity Center permission-set role (`AWSReservedSSO_…`): managed by Identity Center.
    IdentityCenterRole {
        /// The role.
        role_name: String,
    },
    /// Nothing Firebreak can act on (placeholders of sample findings, federated users, …).
    Unusable {
        /// Why.
        reason: String,
    },
}

impl AccessKeyRef {
    /// The key id, when it is a well-formed AWS access key id.
    pub fn valid_key(&self) -> Option<&str> {
        self.access_key_id
            .as_deref()
            .filter(|k| is_access_key_id(k))
    }

    /// The session name of `AROA…:<session>`.
    pub fn session_name(&self) -> Option<&str> {
        self.principal_id
            .as_deref()
            .and_then(|p| p.split_once(':'))
            .map(|(_, s)| s)
            .filter(|s| !s.is_empty())
    }

    /// Classifies the principal behind the credentials.
    pub fn principal(&self) -> Principal {
        let user_type = self.user_type.as_deref().unwrap_or("");
        let name = self.user_name.as_deref().filter(|n| is_iam_name(n));
        let unusable = |reason: String| Principal::Unusable { reason };
        match user_type {
            "Root" => Principal::Root,
            "IAMUser" => match name {
                Some(user) => Principal::IamUser {
                    user_name: user.to_string(),
                    access_key_id: self.valid_key().map(String::from),
                },
                None => unusable(format!(
                    "the finding names no usable IAM user ({:?})",
                    self.user_name.as_deref().unwrap_or("")
                )),
            },
            "AssumedRole" | "Role" => match name {
                Some(role) if role.starts_with("AWSServiceRoleFor") => {
                    Principal::ServiceLinkedRole {
                        role_name: role.to_string(),
                    }
                }
                Some(role) if role.starts_with("AWSReservedSSO_") => {
                    Principal::IdentityCenterRole {
                        role_name: role.to_string(),
                    }
                }
                Some(role) => Principal::Role {
                    role_name: role.to_string(),
                    session_name: self.session_name().map(String::from),
                    instance_id: self.instance_id.clone(),
                },
                None => unusable(format!(
                    "the finding names no usable IAM role ({:?})",
                    self.user_name.as_deref().unwrap_or("")
                )),
            },
            "" => unusable("the finding does not say whose credentials these are".into()),
            other => unusable(format!(
                "Firebreak does not revoke {other} credentials automatically"
            )),
        }
    }
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Resource {
    /// An EC2 instance.
    Instance(InstanceRef),
    /// IAM credentials.
    AccessKey(AccessKeyRef),
    /// An EBS snapshot or an AMI (found to carry malware, or shared).
    Artifact(ArtifactRef),
    /// A Lambda function (Lambda Protection findings).
    Function(FunctionRef),
    /// An S3 bucket, or an object in it (S3 Protection, Malware Protection for S3).
    Bucket(BucketRef),
    /// An ECS task that runs on no instance of the account (Fargate): Runtime Monitoring findings.
    Task(TaskRef),
    /// An RDS DB instance (RDS Protection findings): its Aurora cluster, when it has one.
    Database(DatabaseRef),
    /// An attack sequence (GuardDuty Extended Threat Detection): the resources it lists that
    /// Firebreak acts on, each answered by its own response, and the ones it does not.
    Sequence(SequenceRef),
    /// Anything Firebreak does not act on (S3 buckets, EKS clusters, RDS, …): notify only.
    Other {
        /// The finding's `resourceType`.
        resource_type: String,
    },
}

/// Which kind of artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// An EBS snapshot (`snap-…`): shared through `createVolumePermission`.
    Snapshot,
    /// An AMI (`ami-…`): shared through `launchPermission`.
    Image,
}

/// An EBS snapshot or AMI a finding names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactRef {
    /// Snapshot or image.
    pub kind: ArtifactKind,
    /// `snap-…` or `ami-…`, validated.
    pub id: String,
}

impl ArtifactRef {
    /// From an EC2 snapshot or image ARN (`arn:aws:ec2:<region>::snapshot/snap-…`,
    /// `…::image/ami-…`), or a bare id; `None` for anything else.
    pub fn from_arn(arn: &str) -> Option<ArtifactRef> {
        let id = arn.rsplit('/').next().unwrap_or(arn);
        let hex =
            |h: &str| (h.len() == 8 || h.len() == 17) && h.chars().all(|c| c.is_ascii_hexdigit());
        let kind = match id.split_once('-') {
            Some(("snap", h)) if hex(h) => ArtifactKind::Snapshot,
            Some(("ami", h)) if hex(h) => ArtifactKind::Image,
            _ => return None,
        };
        Some(ArtifactRef {
            kind,
            id: id.to_string(),
        })
    }
}

/// An S3 bucket a finding names, the object when it is about one, and who called S3.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketRef {
    /// The bucket's name, validated ([`BucketRef::valid_name`]).
    pub name: String,
    /// The object's key, for a finding about an object (Malware Protection for S3).
    pub object_key: Option<String>,
    /// The credentials that made the calls, when the finding names them.
    pub caller: Option<AccessKeyRef>,
}

impl BucketRef {
    /// A bucket name as S3 allows it: 3–63 of `a-z0-9.-` today; up to 255 with capitals and `_`
    /// for the legacy buckets of us-east-1 (S3 User Guide, bucket naming rules).
    pub fn valid_name(name: &str) -> bool {
        (3..=255).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    }

    /// From `arn:<partition>:s3:::<bucket>[/<key>]` or a bare name; `None` for anything else.
    pub fn from_arn(arn: &str, caller: Option<AccessKeyRef>) -> Option<BucketRef> {
        let path = match arn.split_once(":s3:::") {
            Some((prefix, path)) if prefix.starts_with("arn:") => path,
            Some(_) => return None,
            None => arn,
        };
        let (name, key) = match path.split_once('/') {
            Some((b, k)) if !k.is_empty() => (b, Some(object_key(k))),
            _ => (path, None),
        };
        BucketRef::valid_name(name).then(|| BucketRef {
            name: name.to_string(),
            object_key: key,
            caller,
        })
    }
}

/// An ECS task a finding names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskRef {
    /// Its cluster (ARN, or name).
    pub cluster: String,
    /// `arn:<partition>:ecs:<region>:<account>:task/<cluster>/<id>`, validated.
    pub task_arn: String,
}

/// The resources of an attack sequence (`service.detection.sequence.resources`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceRef {
    /// Instances, credentials and buckets, in the order the finding lists them.
    pub members: Vec<Resource>,
    /// The others, as `<resourceType> <uid>`: told, not acted on.
    pub others: Vec<String>,
}

/// A Lambda function a finding names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FunctionRef {
    /// `arn:<partition>:lambda:<region>:<account>:function:<name>` (unqualified).
    pub arn: String,
    /// The function's name, validated (`[A-Za-z0-9_-]{1,64}`).
    pub name: String,
    /// Its execution role's name, when the finding names it.
    pub role_name: Option<String>,
}

impl FunctionRef {
    /// From a function ARN (a version or alias qualifier is dropped); `None` for anything else.
    pub fn from_arn(arn: &str, role: Option<&str>) -> Option<FunctionRef> {
        let a = Arn::parse(arn).filter(|a| a.service == "lambda")?;
        let resource: Vec<&str> = a.resource.split(':').collect();
        let (["function", name] | ["function", name, _]) = resource[..] else {
            return None;
        };
        let (partition, region, account) = (a.partition, a.region, a.account);
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let account_ok = account.len() == 12 && account.chars().all(|c| c.is_ascii_digit());
        if !valid || !account_ok || region.is_empty() {
            return None;
        }
        Some(FunctionRef {
            arn: format!("arn:{partition}:lambda:{region}:{account}:function:{name}"),
            name: name.to_string(),
            role_name: role
                .map(|r| r.rsplit('/').next().unwrap_or(r))
                .filter(|r| is_iam_name(r))
                .map(String::from),
        })
    }
}

/// Where the incident came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A native GuardDuty finding delivered by EventBridge.
    GuardDuty,
    /// An ASFF finding an analyst sent with a Security Hub custom action.
    SecurityHub,
}

/// How Security Hub identifies a finding (for `BatchUpdateFindings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRef {
    /// The ASFF `Id`.
    pub id: String,
    /// The ASFF `ProductArn`.
    pub product_arn: String,
    /// The region of the Security Hub that holds the finding.
    pub region: String,
}

/// Firebreak's typed view of "what happened to which resource".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// Where the finding came from.
    pub source: Source,
    /// The finding id: idempotency key for everything Firebreak does about it.
    pub finding_id: String,
    /// The finding ARN, when present.
    pub finding_arn: Option<String>,
    /// e.g. `Backdoor:EC2/C&CActivity.B!DNS`.
    pub finding_type: String,
    /// The finding's title, when present.
    pub title: Option<String>,
    /// GuardDuty scale, 0.0–10.0.
    pub severity: f64,
    /// The account the resource lives in.
    pub account: String,
    /// The region the resource lives in.
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// GuardDuty console sample finding (`additionalInfo.sample`).
    pub sample: bool,
    /// The finding was archived (suppressed) when delivered.
    pub archived: bool,
    /// The resource's role in the finding, when given.
    pub resource_role: Option<ResourceRole>,
    /// What the finding is about.
    pub resource: Resource,
    /// The Security Hub finding, when the incident came from Security Hub.
    pub security_hub: Option<FindingRef>,
}

impl Incident {
    /// The snapshot or AMI, when the incident is about one.
    pub fn artifact(&self) -> Option<&ArtifactRef> {
        match &self.resource {
            Resource::Artifact(a) => Some(a),
            _ => None,
        }
    }

    /// The S3 bucket (or object), when the incident is about one.
    pub fn bucket(&self) -> Option<&BucketRef> {
        match &self.resource {
            Resource::Bucket(b) => Some(b),
            _ => None,
        }
    }

    /// The Lambda function, when the incident is about one.
    pub fn function(&self) -> Option<&FunctionRef> {
        match &self.resource {
            Resource::Function(f) => Some(f),
            _ => None,
        }
    }

    /// The RDS DB instance, when the incident is about one.
    pub fn database(&self) -> Option<&DatabaseRef> {
        match &self.resource {
            Resource::Database(d) => Some(d),
            _ => None,
        }
    }

    /// The instance, if this incident is about one.
    pub fn instance(&self) -> Option<&InstanceRef> {
        match &self.resource {
            Resource::Instance(i) => Some(i),
            _ => None,
        }
    }

    /// A short name of the resource for logs and subjects.
    pub fn resource_name(&self) -> String {
        match &self.resource {
            Resource::Instance(i) => i.instance_id.clone(),
            Resource::AccessKey(k) => match k.principal() {
                Principal::IamUser {
                    access_key_id: Some(key),
                    ..
                } => key,
                Principal::IamUser { user_name, .. } => format!("user/{user_name}"),
                Principal::Role { role_name, .. }
                | Principal::ServiceLinkedRole { role_name }
                | Principal::IdentityCenterRole { role_name } => format!("role/{role_name}"),
                Principal::Root => "root".into(),
                Principal::Unusable { .. } => k
                    .access_key_id
                    .clone()
                    .or_else(|| k.user_name.clone())
                    .unwrap_or_else(|| "access key".into()),
            },
            Resource::Artifact(a) => a.id.clone(),
            Resource::Function(f) => f.name.clone(),
            Resource::Database(d) => d.name().to_string(),
            Resource::Task(t) => t.task_arn.rsplit('/').next().unwrap_or_default().into(),
            Resource::Sequence(s) => format!(
                "attack sequence over {} resource(s)",
                s.members.len() + s.others.len()
            ),
            Resource::Bucket(b) => match &b.object_key {
                Some(key) => format!("s3://{}/{key}", b.name),
                None => format!("s3://{}", b.name),
            },
            Resource::Other { resource_type } => resource_type.clone(),
        }
    }
}
