//! `revoke-function-sessions`: an inline policy on the execution role denying the sessions it
//! issued to this function before the response (`lambda:SourceFunctionArn` and
//! `aws:TokenIssueTime`); the role's other users keep working. The undo removes it, and the one an
//! earlier version wrote under the function's name alone once it shows it is this function's.

use serde_json::{json, Value};

use crate::actions::spec::ActionSpec;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::PrincipalsPort;
use crate::tags;

/// What `revoke-function-sessions` calls and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ActionKind::RevokeFunctionSessions,
    permissions: &["iam:GetRole", "iam:PutRolePolicy"],
    tags: &[],
    // The undo reads the policy an earlier version named by the function's name alone.
    undo_permissions: &["iam:DeleteRolePolicy", "iam:GetRolePolicy"],
};

/// The deny policy for the sessions a role issued to one function before `cutoff`: Lambda puts
/// the function's ARN in its execution environment's credentials (`lambda:SourceFunctionArn`).
pub fn function_revoke_policy(cutoff: &str, function_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "ArnLike": {"lambda:SourceFunctionArn": [function_arn, format!("{function_arn}:*")]}
            }
        }]
    })
    .to_string()
}

/// True when a deny policy Firebreak wrote names this function (`lambda:SourceFunctionArn`): an
/// earlier version named it by the function's name alone, which a same-named function in another
/// region or account shares.
pub fn names_function(document: &str, function_arn: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<Value>(document) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        Value::Array(all) => all.clone(),
        one => vec![one.clone()],
    };
    statements.iter().any(
        |st| match &st["Condition"]["ArnLike"]["lambda:SourceFunctionArn"] {
            Value::String(arn) => arn == function_arn,
            Value::Array(arns) => arns.iter().any(|a| a.as_str() == Some(function_arn)),
            _ => false,
        },
    )
}

/// Writes the deny policy on the execution role, under a name unique to the function's ARN.
pub async fn revoke<I: PrincipalsPort>(
    iam: &I,
    role: &str,
    name: &str,
    function_arn: &str,
    cutoff: &str,
) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(function_arn);
    let document = function_revoke_policy(cutoff, function_arn);
    match iam.put_role_policy(role, &policy, &document).await {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "sessions of role {role} issued to the function (any version or alias) before \
                 {cutoff} denied ({policy}); the role's other users are not affected"
            ),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("could not revoke the sessions role {role} issued to it"),
            &e,
        ),
    }
}

/// The undo: the deny policy removed from the role; and the one an earlier version wrote under the
/// function's name alone, once its document shows it is this function's (a same-named function in
/// another region or account keeps its own).
pub async fn unrevoke<I: PrincipalsPort>(
    iam: &I,
    role: &str,
    name: &str,
    function_arn: &str,
) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(function_arn);
    let legacy = tags::legacy_function_revoke_policy(name);
    let (deleted, earlier) = futures::join!(
        iam.delete_role_policy(role, &policy),
        iam.role_policy(role, &legacy)
    );
    if let Err(e) = deleted {
        return Outcome::failed(kind, name, &format!("could not remove {policy}"), &e);
    }
    let done = format!("{policy} removed from role {role}");
    match earlier {
        Ok(None) => Outcome::new(kind, name, Status::Succeeded, done),
        Ok(Some(doc)) if names_function(&doc, function_arn) => {
            match iam.delete_role_policy(role, &legacy).await {
                Ok(()) => Outcome::new(
                    kind,
                    name,
                    Status::Succeeded,
                    format!("{done}, and {legacy} (an earlier version's name for it)"),
                ),
                Err(e) => Outcome::failed(
                    kind,
                    name,
                    &format!("{done}; could not remove {legacy}"),
                    &e,
                ),
            }
        }
        Ok(Some(_)) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{done}; {legacy} left: it denies another function of that name"),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("{done}; could not read {legacy} (an earlier version's name)"),
            &e,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use crate::error::AwsError;

    /// A role holding inline policies; records the deletions.
    #[derive(Default)]
    struct Role(Mutex<Vec<(String, String)>>);

    impl PrincipalsPort for Role {
        async fn user(&self, _: &str) -> Result<Option<crate::ports::PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn role(&self, _: &str) -> Result<Option<crate::ports::PrincipalFacts>, AwsError> {
            Ok(None)
        }
        async fn put_user_policy(&self, _: &str, _: &str, _: &str) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn put_role_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
            self.0.lock().unwrap().push((name.into(), doc.into()));
            Ok(())
        }
        async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
            self.0.lock().unwrap().retain(|(n, _)| n != name);
            Ok(())
        }
        async fn role_policy(&self, _: &str, name: &str) -> Result<Option<String>, AwsError> {
            let policies = self.0.lock().unwrap();
            Ok(policies
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| d.clone()))
        }
        async fn tag_user(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no user")
        }
        async fn tag_role(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            unreachable!("no role tags")
        }
    }

    #[tokio::test]
    async fn a_release_removes_only_its_own_function_s_denies_whatever_their_name() {
        let east = "arn:aws:lambda:us-east-1:123456789012:function:f";
        let west = "arn:aws:lambda:us-west-2:123456789012:function:f";
        let role = Role::default();
        for arn in [east, west] {
            let done = revoke(&role, "r", "f", arn, "2026-12-01T00:00:00Z").await;
            assert_eq!(done.status, Status::Succeeded);
        }
        let names = |role: &Role| -> Vec<String> {
            role.0
                .lock()
                .unwrap()
                .iter()
                .map(|(n, _)| n.clone())
                .collect()
        };
        assert_eq!(
            names(&role).len(),
            2,
            "one deny per region: {:?}",
            names(&role)
        );
        // An earlier version's deny, by the name alone, for the west function.
        let legacy = tags::legacy_function_revoke_policy("f");
        let doc = function_revoke_policy("2026-11-01T00:00:00Z", west);
        role.0.lock().unwrap().push((legacy.clone(), doc.clone()));
        assert!(names_function(&doc, west) && !names_function(&doc, east));
        assert!(!names_function("not json", west));

        let done = unrevoke(&role, "r", "f", east).await;
        assert_eq!(done.status, Status::Succeeded);
        assert!(
            done.detail.contains("left: it denies another function"),
            "{done:?}"
        );
        assert_eq!(
            names(&role),
            vec![tags::function_revoke_policy(west), legacy.clone()]
        );
        let done = unrevoke(&role, "r", "f", west).await;
        assert!(
            done.detail.contains("an earlier version's name"),
            "{done:?}"
        );
        assert!(names(&role).is_empty(), "{:?}", names(&role));
    }
}
