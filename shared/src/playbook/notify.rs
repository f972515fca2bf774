//! What every kind of resource shares: the rule of a plan that only notifies, the finding's family
//! (for the reason), and AWS's guidance for the resources Firebreak does not act on yet.

/// The rule of a finding the playbook only notifies about.
pub const NOTIFY_RULE: &str = "notify-only";

/// `Backdoor:EC2/C&CActivity.B` → (`Backdoor`, `EC2`).
pub(super) fn family_and_kind(finding_type: &str) -> (&str, &str) {
    let (family, rest) = finding_type.split_once(':').unwrap_or((finding_type, ""));
    (family, rest.split('/').next().unwrap_or(""))
}

/// Why a finding about another kind of resource only notifies, with AWS's guidance for it.
pub(super) fn not_acted_on(resource_type: &str) -> String {
    let url = |page: &str| format!("https://docs.aws.amazon.com/guardduty/latest/ug/{page}.html");
    match GUIDANCE
        .iter()
        .find(|(types, _, _)| types.contains(&resource_type))
    {
        Some((_, what, page)) => format!(
            "Firebreak does not act on {what} automatically yet: follow AWS's guidance, {}",
            url(page)
        ),
        None => format!(
            "Firebreak does not act on this resource type automatically: see AWS's remediation \
             guidance, {}",
            url("guardduty_remediate")
        ),
    }
}

/// AWS's remediation guidance for each kind of resource GuardDuty reports that Firebreak does not
/// act on yet (GuardDuty's resource type, or Security Hub's), in the GuardDuty user guide.
const GUIDANCE: &[(&[&str], &str, &str)] = &[
    (
        &["S3Bucket", "AwsS3Bucket"],
        "an S3 bucket",
        "compromised-s3",
    ),
    (
        &["S3Object", "AwsS3Object"],
        "a malicious S3 object",
        "compromised-s3object-malware-protection-gdu",
    ),
    (
        &["EBSSnapshot", "AwsEc2Snapshot"],
        "an EBS snapshot",
        "compromised-snapshot",
    ),
    (&["EC2Image", "AwsEc2Image"], "an AMI", "compromised-ami"),
    (
        &["ECSCluster", "AwsEcsCluster", "AwsEcsTask"],
        "an ECS cluster or task",
        "compromised-ecs",
    ),
    (
        &["EKSCluster", "AwsEksCluster"],
        "a Kubernetes pod, container or cluster",
        "guardduty-remediate-kubernetes",
    ),
    (
        &["Container", "Container"],
        "a standalone container",
        "remediate-compromised-standalone-container",
    ),
    (
        &[
            "RDSDBInstance",
            "RDSLimitlessDB",
            "AwsRdsDbInstance",
            "AwsRdsDbCluster",
        ],
        "a database",
        "guardduty-remediate-compromised-database-rds",
    ),
    (
        &["Lambda", "AwsLambdaFunction"],
        "a Lambda function",
        "remediate-lambda-protection-finding-types",
    ),
];

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::incident::{Incident, Resource};
    use crate::plan::Action;
    use crate::playbook::plan;
    use crate::playbook::tests::incident;
    #[test]
    fn other_resources_notify_with_aws_s_guidance_for_them() {
        let other = |t: &str| Incident {
            resource: Resource::Other {
                resource_type: t.into(),
            },
            ..incident("Execution:Lambda/MaliciousFile", 9.0, None)
        };
        let c = Config::for_tests();
        for (t, page) in [
            ("Lambda", "remediate-lambda-protection-finding-types.html"),
            ("S3Bucket", "compromised-s3.html"),
            (
                "AwsS3Object",
                "compromised-s3object-malware-protection-gdu.html",
            ),
            ("ECSCluster", "compromised-ecs.html"),
            (
                "RDSDBInstance",
                "guardduty-remediate-compromised-database-rds.html",
            ),
            ("Starship", "guardduty_remediate.html"),
        ] {
            let p = plan(&other(t), &c);
            assert_eq!(p.actions, vec![Action::notify()], "{t}");
            assert!(p.reason.contains(page), "{t}: {}", p.reason);
        }
    }
}
