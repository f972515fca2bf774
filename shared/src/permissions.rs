//! The IAM actions each function and the member role need, derived from the action registry: the
//! kinds of action a function can take, the undos it runs, and what every invocation needs (the
//! member role). `tests/template_permissions.rs` fails when `infra/template.yaml` or
//! `infra/member-role.yaml` grants other than exactly these.

use crate::actions::registry::{spec, REGISTRY};
use crate::kind::ActionKind;

/// Acting in a member account: its Firebreak role (`aws::clients::AwsClients`).
pub const MEMBER: &[&str] = &["sts:AssumeRole"];

/// Reading the key that seals records (`aws::secrets`): the secret, decrypted through Secrets
/// Manager with the template's KMS key.
pub const RECORD_KEY: &[&str] = &["kms:Decrypt", "secretsmanager:GetSecretValue"];

/// The kinds of action a function takes, by binary name; `None` for an unknown function.
/// `guardduty-responder` takes every kind but releasing and updating Security Hub findings, which
/// only analysts' custom actions (`securityhub-action`) do.
pub fn kinds_of(binary: &str) -> Option<Vec<ActionKind>> {
    let analysts_only = |k: &ActionKind| {
        matches!(
            k,
            ActionKind::ReleaseInstance
                | ActionKind::ReleaseFunction
                | ActionKind::ReleaseBucket
                | ActionKind::ReleaseDatabase
                | ActionKind::RestoreSharing
                | ActionKind::UpdateFinding
        )
    };
    match binary {
        "guardduty-responder" => Some(ActionKind::all().filter(|k| !analysts_only(k)).collect()),
        "securityhub-action" => Some(ActionKind::all().collect()),
        _ => None,
    }
}

/// What one kind needs: its own IAM actions and, for a release, the undos of every kind it undoes.
pub fn for_kind(kind: ActionKind) -> Vec<&'static str> {
    let mut parts: Vec<&[&'static str]> = vec![spec(kind).permissions];
    if matches!(
        kind,
        ActionKind::ReleaseInstance
            | ActionKind::ReleaseFunction
            | ActionKind::ReleaseBucket
            | ActionKind::ReleaseDatabase
    ) {
        parts.extend(ActionKind::undone_by_release().map(|k| spec(k).undo_permissions));
    }
    union(&parts)
}

/// Every action a function's responders call, by binary name.
pub fn for_function(binary: &str) -> Option<Vec<&'static str>> {
    let kinds = kinds_of(binary)?;
    let per_kind: Vec<Vec<&'static str>> = kinds.iter().map(|k| for_kind(*k)).collect();
    let mut parts: Vec<&[&'static str]> = per_kind.iter().map(Vec::as_slice).collect();
    parts.push(MEMBER);
    parts.push(RECORD_KEY);
    Some(union(&parts))
}

/// What a member account's role grants (`infra/member-role.yaml`): everything the responders do
/// inside the account whose resource it is — every kind's actions and undo, but notifying and
/// updating findings, which happen in the Firebreak account.
pub fn for_member_role() -> Vec<&'static str> {
    let parts: Vec<&[&'static str]> = REGISTRY
        .iter()
        // A memory capture runs only in Firebreak's own account (its evidence bucket and
        // capture document are there): never through a member role.
        .filter(|s| {
            !matches!(
                s.kind,
                ActionKind::Notify | ActionKind::UpdateFinding | ActionKind::CaptureMemory
            )
        })
        .flat_map(|s| [s.permissions, s.undo_permissions])
        .collect();
    union(&parts)
}

/// The actions of all `parts`, sorted, each once.
fn union(parts: &[&[&'static str]]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// True for actions that only read (`Describe*`, `Get*`, `List*`).
pub fn is_read_only(action: &str) -> bool {
    let name = action.split_once(':').map(|(_, n)| n).unwrap_or(action);
    ["Describe", "Get", "List"]
        .iter()
        .any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What issue 15's responses added: Lambda functions, ECS tasks, S3 buckets and objects.
    const BEYOND_INSTANCES: &[&str] = &[
        "rds:AddTagsToResource",
        "rds:CreateDBClusterSnapshot",
        "rds:CreateDBSnapshot",
        "rds:DescribeDBClusters",
        "rds:DescribeDBInstances",
        "rds:ListTagsForResource",
        "rds:ModifyDBCluster",
        "rds:ModifyDBInstance",
        // Lambda functions (issue 15)
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "lambda:GetFunction",
        "lambda:ListEventSourceMappings",
        "lambda:ListTags",
        "lambda:PutFunctionConcurrency",
        "lambda:TagResource",
        "lambda:UpdateEventSourceMapping",
        "lambda:UpdateFunctionConfiguration",
        // ECS tasks (issue 15)
        "ecs:DescribeTasks",
        "ecs:StopTask",
        // S3 buckets and objects (issue 15)
        "s3:GetBucketPolicy",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketTagging",
        "s3:PutBucketPolicy",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketTagging",
        // Lambda functions (issue 21): provisioned concurrency removed before concurrency 0,
        // aliases' mappings, a VPC change confirmed
        "lambda:DeleteProvisionedConcurrencyConfig",
        "lambda:GetFunctionConfiguration",
        "lambda:ListAliases",
        "lambda:ListProvisionedConcurrencyConfigs",
    ];

    /// A Lambda function's release: its concurrency (issue 21: and provisioned concurrency) given
    /// back, its records removed, the sessions policy removed (issue 21: the one an earlier version
    /// named by the function's name alone read first).
    const FUNCTION_RELEASE: &[&str] = &[
        "iam:DeleteRolePolicy",
        "iam:GetRolePolicy",
        "lambda:DeleteFunctionConcurrency",
        "lambda:PutProvisionedConcurrencyConfig",
        "lambda:UntagResource",
    ];

    /// Revocation that scales (issue 21): a principal's inline policies read before a deny is
    /// merged into them and sized; the expired and earlier versions' instance policies deleted.
    /// Memory capture (`capture-memory`): the functions' own account only, never a member role.
    const CAPTURE: &[&str] = &[
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribePrefixLists",
        "ec2:DescribeVpcEndpoints",
        "s3:GetObject",
        "s3:PutObject",
        "ssm:DescribeInstanceInformation",
        "ssm:SendCommand",
    ];

    const SIZED_REVOCATIONS: &[&str] = &[
        "iam:DeleteRolePolicy",
        "iam:GetRolePolicy",
        "iam:GetUserPolicy",
        "iam:ListRolePolicies",
        "iam:ListUserPolicies",
    ];

    /// The lists the functions were granted before the registry (a byte-for-byte check that the
    /// derivation changed no permission), plus the network ACL step's.
    #[test]
    fn the_derived_permissions_are_the_ones_granted_before_the_registry() {
        let quarantine_etc = [
            "autoscaling:DescribeAutoScalingInstances",
            "autoscaling:DetachInstances",
            "autoscaling:EnterStandby",
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateNetworkAclEntry",
            "ec2:CreateSecurityGroup",
            "ec2:CreateSnapshot",
            "ec2:CreateSnapshots",
            "ec2:CreateTags",
            "ec2:DescribeAddresses",
            "ec2:DescribeIamInstanceProfileAssociations",
            // unshare (snapshots and AMIs)
            "ec2:DescribeImageAttribute",
            "ec2:DescribeImages",
            "ec2:DescribeInstanceAttribute",
            "ec2:DescribeInstances",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSnapshotAttribute",
            "ec2:DescribeSnapshots",
            "ec2:DisassociateAddress",
            "ec2:DisassociateIamInstanceProfile",
            "ec2:ModifyImageAttribute",
            "ec2:ModifyInstanceAttribute",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:ModifySnapshotAttribute",
            "ec2:RevokeSecurityGroupEgress",
            "ec2:RevokeSecurityGroupIngress",
            "elasticloadbalancing:DeregisterTargets",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "iam:DeleteLoginProfile",
            "iam:GetLoginProfile",
            "iam:GetRole",
            "iam:GetUser",
            "iam:ListAccessKeys",
            "iam:PutRolePolicy",
            "iam:PutUserPolicy",
            "iam:TagRole",
            "iam:TagUser",
            "iam:UpdateAccessKey",
        ];
        let quarantine_etc = union(&[&quarantine_etc, BEYOND_INSTANCES, SIZED_REVOCATIONS]);
        let release = [
            "autoscaling:AttachInstances",
            "autoscaling:ExitStandby",
            "ec2:AssociateAddress",
            "ec2:AssociateIamInstanceProfile",
            "ec2:DeleteNetworkAclEntry",
            "ec2:DeleteTags",
            "elasticloadbalancing:RegisterTargets",
            "iam:PassRole",
            "s3:DeleteBucketPolicy",
            "rds:RemoveTagsFromResource",
        ];
        let release = union(&[&release, FUNCTION_RELEASE]);
        let notify = ["kms:Decrypt", "kms:GenerateDataKey", "sns:Publish"];
        let quarantine_etc_capture = union(&[&quarantine_etc, CAPTURE]);
        let sorted = |parts: &[&[&'static str]]| union(parts);
        assert_eq!(
            for_function("guardduty-responder").unwrap(),
            sorted(&[&quarantine_etc_capture, &notify, MEMBER, RECORD_KEY])
        );
        assert_eq!(
            for_function("securityhub-action").unwrap(),
            sorted(&[
                &quarantine_etc_capture,
                &release,
                &notify,
                MEMBER,
                RECORD_KEY,
                &["securityhub:BatchUpdateFindings"]
            ])
        );
        assert_eq!(for_member_role(), sorted(&[&quarantine_etc, &release]));
        assert_eq!(for_function("other"), None);
    }
}
