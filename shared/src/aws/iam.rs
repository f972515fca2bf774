//! IAM through the SDK.

use crate::aws::sdk::local_error;
use crate::error::AwsError;
use crate::ports::{
    AccessKeyFacts, LoginProfileFacts, PrincipalFacts, PrincipalsPort, UserCredentialsPort,
};

/// IAM through the SDK.
#[derive(Clone)]
pub struct Iam(pub aws_sdk_iam::Client);

fn iam_tags(tags: &[(String, String)]) -> Result<Vec<aws_sdk_iam::types::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(local_error)
        })
        .collect()
}

fn iam_principal(arn: &str, tags: &[aws_sdk_iam::types::Tag]) -> PrincipalFacts {
    PrincipalFacts {
        arn: arn.to_string(),
        tags: tags
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect(),
    }
}

/// `Ok(None)` for `NoSuchEntity`.
fn absent<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl PrincipalsPort for Iam {
    async fn user(&self, user_name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        let out = absent(
            self.0
                .get_user()
                .user_name(user_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| o.user().map(|u| iam_principal(u.arn(), u.tags()))))
    }

    async fn role(&self, role_name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        let out = absent(
            self.0
                .get_role()
                .role_name(role_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| o.role().map(|r| iam_principal(r.arn(), r.tags()))))
    }

    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.0
            .put_user_policy()
            .user_name(user_name)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await?;
        Ok(())
    }

    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.0
            .put_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await?;
        Ok(())
    }

    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError> {
        match self
            .0
            .delete_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => match AwsError::from(e) {
                e if e.is_not_found() => Ok(()),
                e => Err(e),
            },
        }
    }

    async fn tag_user(&self, user_name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.0
            .tag_user()
            .user_name(user_name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
        Ok(())
    }

    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        self.0
            .tag_role()
            .role_name(role_name)
            .set_tags(Some(iam_tags(tags)?))
            .send()
            .await?;
        Ok(())
    }
}

impl UserCredentialsPort for Iam {
    async fn access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyFacts>, AwsError> {
        // A user has at most two keys: one page.
        let out = self
            .0
            .list_access_keys()
            .user_name(user_name)
            .send()
            .await?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|k| {
                Some(AccessKeyFacts {
                    access_key_id: k.access_key_id()?.to_string(),
                    status: k.status()?.as_str().to_string(),
                })
            })
            .collect())
    }

    async fn login_profile(&self, user_name: &str) -> Result<Option<LoginProfileFacts>, AwsError> {
        let out = absent(
            self.0
                .get_login_profile()
                .user_name(user_name)
                .send()
                .await
                .map_err(AwsError::from),
        )?;
        Ok(out.and_then(|o| {
            o.login_profile().map(|p| LoginProfileFacts {
                created: p
                    .create_date()
                    .fmt(aws_smithy_types::date_time::Format::DateTime)
                    .unwrap_or_default(),
                password_reset_required: p.password_reset_required(),
            })
        }))
    }

    async fn deactivate_access_key(
        &self,
        user_name: &str,
        access_key_id: &str,
    ) -> Result<(), AwsError> {
        self.0
            .update_access_key()
            .user_name(user_name)
            .access_key_id(access_key_id)
            .status(aws_sdk_iam::types::StatusType::Inactive)
            .send()
            .await?;
        Ok(())
    }

    async fn delete_login_profile(&self, user_name: &str) -> Result<(), AwsError> {
        self.0
            .delete_login_profile()
            .user_name(user_name)
            .send()
            .await?;
        Ok(())
    }
}
