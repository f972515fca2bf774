//! A Lambda function's actions: stopped, its event sources disabled, isolated, its sessions
//! revoked, and released.

use crate::actions::registry::kind::{ActionKind::*, ActionSpec};
use crate::tags;

pub(super) const STOP_FUNCTION: ActionSpec = ActionSpec {
    kind: StopFunction,
    name: "stop-function",
    contains: true,
    permissions: &[
        "lambda:GetFunction",
        "lambda:ListTags",
        "lambda:ListProvisionedConcurrencyConfigs",
        "lambda:DeleteProvisionedConcurrencyConfig",
        "lambda:PutFunctionConcurrency",
        "lambda:TagResource",
    ],
    tags: &[
        tags::CONCURRENCY,
        tags::PROVISIONED,
        tags::FINDING,
        tags::STATUS,
        tags::CONTAINED_AT,
    ],
    undo_permissions: &[
        "lambda:PutFunctionConcurrency",
        "lambda:DeleteFunctionConcurrency",
        "lambda:PutProvisionedConcurrencyConfig",
        "lambda:UntagResource",
    ],
};

pub(super) const DISABLE_EVENT_SOURCES: ActionSpec = ActionSpec {
    kind: DisableEventSources,
    name: "disable-event-sources",
    contains: true,
    permissions: &[
        "lambda:ListEventSourceMappings",
        "lambda:ListAliases",
        "lambda:UpdateEventSourceMapping",
        "lambda:TagResource",
    ],
    tags: &[tags::EVENT_SOURCES],
    undo_permissions: &["lambda:UpdateEventSourceMapping", "lambda:UntagResource"],
};

pub(super) const ISOLATE_FUNCTION: ActionSpec = ActionSpec {
    kind: IsolateFunction,
    name: "isolate-function",
    contains: true,
    permissions: &[
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
        "lambda:TagResource",
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ],
    tags: &[tags::VPC_GROUPS],
    undo_permissions: &[
        "lambda:UpdateFunctionConfiguration",
        "lambda:GetFunctionConfiguration",
        "lambda:UntagResource",
    ],
};

pub(super) const REVOKE_FUNCTION_SESSIONS: ActionSpec = ActionSpec {
    kind: RevokeFunctionSessions,
    name: "revoke-function-sessions",
    contains: true,
    permissions: &["iam:GetRole", "iam:PutRolePolicy"],
    tags: &[],
    // The undo reads the policy an earlier version named by the function's name alone.
    undo_permissions: &["iam:DeleteRolePolicy", "iam:GetRolePolicy"],
};

pub(super) const RELEASE_FUNCTION: ActionSpec = ActionSpec {
    kind: ReleaseFunction,
    name: "release-function",
    contains: false,
    // Its own reads and the records' removal; the undos it runs are declared by their actions.
    // An earlier version's unsealed records are checked against the function's own mappings
    // and the VPC's security groups.
    permissions: &[
        "lambda:GetFunction",
        "lambda:ListTags",
        "lambda:ListEventSourceMappings",
        "lambda:ListAliases",
        "ec2:DescribeSecurityGroups",
        "lambda:TagResource",
        "lambda:UntagResource",
    ],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};
