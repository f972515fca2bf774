//! IAM users and roles: who they are, their long-term credentials, their inline policies.

use serde::Serialize;

use crate::error::AwsError;
use crate::incident::tag_value;

/// An IAM user or role as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrincipalFacts {
    /// Its ARN.
    pub arn: String,
    /// Its tags (key, value): others' as they are, Firebreak's only where their seal verifies
    /// (`seal.rs`), without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (an earlier version's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub forged: Vec<String>,
}

impl PrincipalFacts {
    /// The value of tag `key`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        tag_value(&self.tags, key)
    }
}

/// One access key of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessKeyFacts {
    /// `AKIA…`.
    pub access_key_id: String,
    /// `Active` or `Inactive`.
    pub status: String,
}

/// A user's console password, as far as IAM tells (never the password itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginProfileFacts {
    /// When it was created.
    pub created: String,
    /// Whether the user must change it at next sign-in.
    pub password_reset_required: bool,
}

/// IAM users and roles: who they are, the deny policies and tags Firebreak writes on them.
pub trait PrincipalsPort: Sync {
    /// The user now, or `None` when it does not exist.
    async fn user(&self, user_name: &str) -> Result<Option<PrincipalFacts>, AwsError>;
    /// The role now, or `None` when it does not exist.
    async fn role(&self, role_name: &str) -> Result<Option<PrincipalFacts>, AwsError>;
    /// Creates or replaces an inline policy of the user.
    async fn put_user_policy(
        &self,
        user_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError>;
    /// Creates or replaces an inline policy of the role.
    async fn put_role_policy(
        &self,
        role_name: &str,
        policy_name: &str,
        document: &str,
    ) -> Result<(), AwsError>;
    /// Deletes an inline policy of the role (`Ok` when it does not exist).
    async fn delete_role_policy(&self, role_name: &str, policy_name: &str) -> Result<(), AwsError>;
    /// The document (JSON) of an inline policy of the role, `None` when it has no such policy. A
    /// port that cannot read policies answers `None`: it never claims a policy it did not read.
    async fn role_policy(
        &self,
        _role_name: &str,
        _policy_name: &str,
    ) -> Result<Option<String>, AwsError> {
        Ok(None)
    }
    /// Adds or overwrites tags on the user.
    async fn tag_user(&self, user_name: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Adds or overwrites tags on the role.
    async fn tag_role(&self, role_name: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
}

/// An IAM user's long-term credentials: access keys and console password.
pub trait UserCredentialsPort: Sync {
    /// The user's access keys.
    async fn access_keys(&self, user_name: &str) -> Result<Vec<AccessKeyFacts>, AwsError>;
    /// The user's console password, or `None` when it has none.
    async fn login_profile(&self, user_name: &str) -> Result<Option<LoginProfileFacts>, AwsError>;
    /// Sets one access key of the user to `Inactive`.
    async fn deactivate_access_key(
        &self,
        user_name: &str,
        access_key_id: &str,
    ) -> Result<(), AwsError>;
    /// Deletes the user's console password.
    async fn delete_login_profile(&self, user_name: &str) -> Result<(), AwsError>;
}

/// A user's or role's inline policies as IAM holds them: read before a deny is merged into them
/// and sized against IAM's quota on their sum (`denies/`).
pub trait InlinePoliciesPort: Sync {
    /// Every inline policy of the role: (name, document as written).
    async fn role_policies(&self, role_name: &str) -> Result<Vec<(String, String)>, AwsError>;
    /// Every inline policy of the user: (name, document as written).
    async fn user_policies(&self, user_name: &str) -> Result<Vec<(String, String)>, AwsError>;
}
