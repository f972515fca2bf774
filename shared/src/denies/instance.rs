//! An instance whose sessions of a role are denied, and the per-instance policy of earlier
//! versions.

use serde_json::json;

use crate::denies::document::{SOURCE_INSTANCE_ARN, TOKEN_ISSUE_TIME, USER_ID};
use crate::shell;

/// An instance whose sessions of the role are denied.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    /// `arn:<partition>:ec2:<region>:<account>:instance/<id>`.
    pub arn: String,
}

impl Instance {
    /// The instance, when `id` is an instance id and `arn` its ARN: both go into a policy whose
    /// condition operators take `*` and `?` as wildcards, so nothing else is written.
    pub fn new(id: &str, arn: &str) -> Option<Instance> {
        let named = arn.rsplit_once(":instance/").is_some_and(|(_, i)| i == id);
        (shell::instance_id(id) && shell::arn(arn) && named).then(|| Instance {
            id: id.to_string(),
            arn: arn.to_string(),
        })
    }

    /// The `aws:userId` of the role's sessions EC2 issues to the instance: `<role id>:<instance
    /// id>`; in a policy of that role, `*:<instance id>` matches exactly those.
    pub fn session(&self) -> String {
        format!("*:{}", self.id)
    }
}

/// The per-instance policy of earlier versions (named `tags::instance_revoke_policy`): what a
/// revocation writes when it cannot read the role's policies, since nothing is merged into it and no
/// other revocation writes that name. A later revocation takes it over.
pub fn single_document(cutoff: &str, i: &Instance) -> String {
    let deny = |operator: &str, key: &str, value: &str| {
        json!({
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateLessThan": {TOKEN_ISSUE_TIME: cutoff}, operator: {key: value}}
        })
    };
    let statements = [
        deny("ArnEquals", SOURCE_INSTANCE_ARN, &i.arn),
        deny("StringLike", USER_ID, &i.session()),
    ];
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denies::fixtures::instance;

    #[test]
    fn only_a_real_instance_id_and_its_own_arn_go_into_a_policy() {
        let arn = |id: &str| format!("arn:aws:ec2:us-east-1:123456789012:instance/{id}");
        assert!(Instance::new("i-0123456789abcdef0", &arn("i-0123456789abcdef0")).is_some());
        for id in ["i-*", "i-0123456789abcdef?", "*", "i-0123456789ABCDEF0"] {
            assert_eq!(Instance::new(id, &arn(id)), None, "{id}");
        }
        let other = arn("i-0123456789abcdef1");
        assert_eq!(Instance::new("i-0123456789abcdef0", &other), None);
        assert_eq!(instance(1).session(), "*:i-00000000000000001");
    }
}
