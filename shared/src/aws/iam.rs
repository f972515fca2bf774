//! IAM through the SDK: users, roles, their policies, keys and password; their records sealed for
//! the user's or role's name (`seal.rs`).

use crate::aws::sdk::local_error;
use crate::aws::secrets;
use crate::error::AwsError;
use crate::ports::{
    AccessKeyFacts, InlinePoliciesPort, LoginProfileFacts, PrincipalFacts, PrincipalsPort,
    UserCredentialsPort,
};
use crate::seal::{Keyring, Seal};

/// IAM through the SDK. With a [`Seal`] (every incident's), the `firebreak:*` tags it writes on
/// users and roles are sealed, and those it reads are opened: only values whose seal verifies reach
/// [`PrincipalFacts::tags`] (`seal.rs`).
#[derive(Clone)]
pub struct Iam(pub aws_sdk_iam::Client, pub Option<Seal>);

impl Iam {
    /// The same client, sealing for one incident.
    pub fn sealed(&self, seal: Seal) -> Iam {
        Iam(self.0.clone(), Some(seal))
    }

    /// A principal's facts, its tags opened.
    async fn principal(
        &self,
        keys: Option<&Keyring>,
        name: &str,
        arn: &str,
        tags: &[aws_sdk_iam::types::Tag],
    ) -> PrincipalFacts {
        let tags = tags
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let (tags, legacy, forged) =
            secrets::opened(self.1.as_ref(), keys, &resource(name), tags).await;
        PrincipalFacts {
            arn: arn.to_string(),
            tags,
            legacy,
            forged,
        }
    }

    /// `tags` sealed for the user or role `name`.
    async fn sealing(
        &self,
        name: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<aws_sdk_iam::types::Tag>, AwsError> {
        iam_tags(&secrets::sealing(self.1.as_ref(), &resource(name), tags).await?)
    }
}

/// What a user's or role's records are sealed for: its name, in lower case (IAM names are unique
/// whatever their case, and a finding may spell one differently from IAM).
fn resource(name: &str) -> String {
    name.to_lowercase()
}

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
        let call = self.0.get_user().user_name(user_name).send();
        let (out, keys) = futures::join!(call, secrets::keys(self.1.as_ref()));
        let keys = keys?;
        let Some(user) = absent(out.map_err(AwsError::from))?.and_then(|o| o.user) else {
            return Ok(None);
        };
        let facts = self.principal(keys.as_deref(), user_name, user.arn(), user.tags());
        Ok(Some(facts.await))
    }

    async fn role(&self, role_name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        let call = self.0.get_role().role_name(role_name).send();
        let (out, keys) = futures::join!(call, secrets::keys(self.1.as_ref()));
        let keys = keys?;
        let Some(role) = absent(out.map_err(AwsError::from))?.and_then(|o| o.role) else {
            return Ok(None);
        };
        let facts = self.principal(keys.as_deref(), role_name, role.arn(), role.tags());
        Ok(Some(facts.await))
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
        let tags = self.sealing(user_name, tags).await?;
        self.0
            .tag_user()
            .user_name(user_name)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    }

    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags = self.sealing(role_name, tags).await?;
        self.0
            .tag_role()
            .role_name(role_name)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    }

    async fn role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
    ) -> Result<Option<String>, AwsError> {
        let call = self
            .0
            .get_role_policy()
            .role_name(role_name)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(AwsError::from);
        // IAM answers the document URL-encoded (RFC 3986).
        Ok(absent(call)?.map(|out| decoded(out.policy_document())))
    }
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986; IAM API Reference,
/// `GetRolePolicy`: "The policy document returned in this structure is URL-encoded"), or already
/// plain JSON (the local AWS).
fn decoded(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_string();
    }
    let raw = document.as_bytes();
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = raw
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (raw[i], hex) {
            (b'%', Some(b)) => {
                bytes.push(b);
                i += 3;
            }
            (b, _) => {
                bytes.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Each named inline policy's document, read concurrently by `read` (`None`: deleted since the
/// list, so not held any more), paired with its name.
async fn documents<F, R>(names: Vec<String>, read: F) -> Result<Vec<(String, String)>, AwsError>
where
    F: Fn(String) -> R,
    R: std::future::Future<Output = Result<Option<String>, AwsError>>,
{
    let reads = names.into_iter().map(|name| {
        let document = read(name.clone());
        async move { Ok::<_, AwsError>(document.await?.map(|d| (name, d))) }
    });
    let read: Vec<Option<(String, String)>> = futures::future::try_join_all(reads).await?;
    Ok(read.into_iter().flatten().collect())
}

impl InlinePoliciesPort for Iam {
    async fn role_policies(&self, role_name: &str) -> Result<Vec<(String, String)>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self
            .0
            .list_role_policies()
            .role_name(role_name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            names.extend(page.map_err(AwsError::from)?.policy_names);
        }
        documents(names, |name| async move {
            let out = (self.0.get_role_policy().role_name(role_name))
                .policy_name(name)
                .send()
                .await
                .map_err(AwsError::from);
            Ok(absent(out)?.map(|o| decoded(o.policy_document())))
        })
        .await
    }

    async fn user_policies(&self, user_name: &str) -> Result<Vec<(String, String)>, AwsError> {
        let mut names = Vec::new();
        let mut pages = self
            .0
            .list_user_policies()
            .user_name(user_name)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            names.extend(page.map_err(AwsError::from)?.policy_names);
        }
        documents(names, |name| async move {
            let out = (self.0.get_user_policy().user_name(user_name))
                .policy_name(name)
                .send()
                .await
                .map_err(AwsError::from);
            Ok(absent(out)?.map(|o| decoded(o.policy_document())))
        })
        .await
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

#[cfg(test)]
mod tests {
    use super::decoded;

    #[test]
    fn a_policy_document_is_read_url_decoded_or_as_it_is() {
        let plain = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(decoded(plain), plain);
        assert_eq!(decoded(encoded), plain);
        assert_eq!(decoded("%7B%2"), "{%2");
    }
}
