//! The IAM actions each responder calls, declared next to the code that calls them. The template test
//! (`tests/template_permissions.rs`) fails when `infra/template.yaml` does not grant a function one of
//! its responders' actions, or grants a mutating action that none of them declares.

/// Instance quarantine, evidence protection, snapshots and tags (`executor.rs` through `aws::Ec2`).
pub const QUARANTINE: &[&str] = &[
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:DescribeInstanceAttribute",
    "ec2:ModifyInstanceAttribute",
    "ec2:DescribeSnapshots",
    "ec2:CreateSnapshots",
    "ec2:CreateSnapshot",
    "ec2:CreateTags",
];

/// Taking an instance out of service (`estate.rs` through `aws::Estate`).
pub const OUT_OF_SERVICE: &[&str] = &[
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:EnterStandby",
    "autoscaling:DetachInstances",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DeregisterTargets",
    "ec2:DescribeAddresses",
    "ec2:DisassociateAddress",
    "ec2:CreateTags",
];

/// Credential revocation (`credentials.rs` through `aws::Iam` and `aws::Ec2`).
pub const CREDENTIALS: &[&str] = &[
    "iam:GetUser",
    "iam:ListAccessKeys",
    "iam:GetLoginProfile",
    "iam:UpdateAccessKey",
    "iam:PutUserPolicy",
    "iam:DeleteLoginProfile",
    "iam:TagUser",
    "iam:GetRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "ec2:DescribeInstances",
    "ec2:DescribeIamInstanceProfileAssociations",
    "ec2:DisassociateIamInstanceProfile",
    "ec2:CreateTags",
];

/// Releasing a quarantine (`release.rs`). Attaching an instance profile passes its role to EC2.
pub const RELEASE: &[&str] = &[
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:ModifyInstanceAttribute",
    "ec2:DescribeIamInstanceProfileAssociations",
    "ec2:AssociateIamInstanceProfile",
    "iam:PassRole",
    "ec2:DeleteTags",
    "ec2:CreateTags",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:ExitStandby",
    "autoscaling:AttachInstances",
    "elasticloadbalancing:RegisterTargets",
    "ec2:AssociateAddress",
];

/// Acting in a member account: its Firebreak role (`aws::AwsClients::credentials_for`).
pub const MEMBER: &[&str] = &["sts:AssumeRole"];

/// Notifications (`aws::Sns`); the topic is encrypted with the stack's KMS key.
pub const NOTIFY: &[&str] = &["sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"];

/// Notes and workflow status on Security Hub findings (`aws::SecurityHub`).
pub const FINDINGS: &[&str] = &["securityhub:BatchUpdateFindings"];

/// What a member account's role grants (`infra/member-role.yaml`): everything the responders do
/// inside the account whose resource it is.
pub fn for_member_role() -> Vec<&'static str> {
    union(&[QUARANTINE, OUT_OF_SERVICE, CREDENTIALS, RELEASE])
}

/// The actions of all `parts`, sorted, each once.
fn union(parts: &[&[&'static str]]) -> Vec<&'static str> {
    let mut all: Vec<&'static str> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Every action a function's responders call, by binary name.
pub fn for_function(binary: &str) -> Option<Vec<&'static str>> {
    let parts: &[&[&str]] = match binary {
        "guardduty-responder" => &[QUARANTINE, OUT_OF_SERVICE, CREDENTIALS, MEMBER, NOTIFY],
        "securityhub-action" => &[
            QUARANTINE,
            OUT_OF_SERVICE,
            CREDENTIALS,
            RELEASE,
            MEMBER,
            NOTIFY,
            FINDINGS,
        ],
        _ => return None,
    };
    Some(union(parts))
}

/// True for actions that only read (`Describe*`, `Get*`, `List*`).
pub fn is_read_only(action: &str) -> bool {
    let name = action.split_once(':').map(|(_, n)| n).unwrap_or(action);
    ["Describe", "Get", "List"]
        .iter()
        .any(|p| name.starts_with(p))
}
