//! The recording fake of IAM (`FakeIam`).

use std::sync::Mutex;

use firebreak::denies;
use firebreak::error::AwsError;
use firebreak::ports::{
    AccessKeyFacts, InlinePoliciesPort, LoginProfileFacts, PrincipalFacts, PrincipalsPort,
    UserCredentialsPort,
};

use crate::fakes::throttled;

/// IAM with one user (two keys, a console password) and one role, recording every call.
pub(crate) struct FakeIam {
    /// Reads of the user or role answer this error (the exemption cannot be read).
    pub(crate) read_error: Option<AwsError>,
    pub(crate) user_tags: Vec<(String, String)>,
    /// The keys of the user's and the role's forged `firebreak:*` tags.
    pub(crate) forged: Vec<String>,
    pub(crate) keys: Vec<AccessKeyFacts>,
    pub(crate) login: Option<LoginProfileFacts>,
    pub(crate) fail_deactivate: bool,
    /// The role's inline policies (name → document), held to IAM's quota: a write past it
    /// answers `LimitExceeded`.
    pub(crate) role_policies: Mutex<std::collections::BTreeMap<String, String>>,
    /// The user's.
    pub(crate) user_policies: Mutex<std::collections::BTreeMap<String, String>>,
    /// The next write of a role policy whose name starts with this is lost: a concurrent
    /// revocation that read the policy before it writes its own version right after it.
    pub(crate) clobber: Mutex<Option<String>>,
    /// Reads of the role's and the user's inline policies answer this error.
    pub(crate) policies_error: Option<AwsError>,
    pub(crate) calls: Mutex<Vec<String>>,
}

impl Default for FakeIam {
    fn default() -> FakeIam {
        FakeIam {
            read_error: None,
            user_tags: vec![],
            forged: vec![],
            keys: vec![
                AccessKeyFacts {
                    access_key_id: "AKIALEAKEDLEAKED0001".into(),
                    status: "Active".into(),
                },
                AccessKeyFacts {
                    access_key_id: "AKIAOTHEROTHER000002".into(),
                    status: "Active".into(),
                },
            ],
            login: Some(LoginProfileFacts {
                created: "2026-01-01T00:00:00Z".into(),
                password_reset_required: false,
            }),
            fail_deactivate: false,
            role_policies: Mutex::default(),
            user_policies: Mutex::default(),
            clobber: Mutex::new(None),
            policies_error: None,
            calls: Mutex::new(Vec::new()),
        }
    }
}

/// `held` with `name` written as `document`, unless IAM's quota forbids it.
pub(crate) fn put_held(
    held: &Mutex<std::collections::BTreeMap<String, String>>,
    name: &str,
    document: &str,
    quota: usize,
) -> Result<(), AwsError> {
    let mut held = held.lock().unwrap();
    let others: usize = held
        .iter()
        .filter(|(n, _)| *n != name)
        .map(|(_, d)| denies::iam_size(d))
        .sum();
    if others + denies::iam_size(document) > quota {
        return Err(AwsError {
            code: Some("LimitExceeded".into()),
            message: format!("Maximum policy size of {quota} bytes exceeded"),
        });
    }
    held.insert(name.to_string(), document.to_string());
    Ok(())
}

impl FakeIam {
    fn log(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }
    pub(crate) fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl PrincipalsPort for FakeIam {
    async fn user(&self, name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        self.log(format!("get-user {name}"));
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(Some(PrincipalFacts {
            arn: format!("arn:aws:iam::123456789012:user/{name}"),
            tags: self.user_tags.clone(),
            legacy: vec![],
            forged: self.forged.clone(),
        }))
    }
    async fn role(&self, name: &str) -> Result<Option<PrincipalFacts>, AwsError> {
        self.log(format!("get-role {name}"));
        if let Some(e) = &self.read_error {
            return Err(e.clone());
        }
        Ok(Some(PrincipalFacts {
            arn: format!("arn:aws:iam::123456789012:role/{name}"),
            tags: vec![],
            legacy: vec![],
            forged: self.forged.clone(),
        }))
    }
    async fn put_user_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
        self.log(format!("put-user-policy {name} {doc}"));
        put_held(&self.user_policies, name, doc, denies::USER_QUOTA)
    }
    async fn put_role_policy(&self, _: &str, name: &str, doc: &str) -> Result<(), AwsError> {
        self.log(format!("put-role-policy {name} {doc}"));
        let before = self.role_policies.lock().unwrap().get(name).cloned();
        put_held(&self.role_policies, name, doc, denies::ROLE_QUOTA)?;
        let mut clobber = self.clobber.lock().unwrap();
        if clobber.as_deref().is_some_and(|p| name.starts_with(p)) {
            *clobber = None;
            let mut held = self.role_policies.lock().unwrap();
            match before {
                Some(d) => held.insert(name.to_string(), d),
                None => held.remove(name),
            };
        }
        Ok(())
    }
    async fn delete_role_policy(&self, _: &str, name: &str) -> Result<(), AwsError> {
        self.log(format!("delete-role-policy {name}"));
        self.role_policies.lock().unwrap().remove(name);
        Ok(())
    }
    async fn tag_user(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        self.log(format!("tag-user {}", tags.join(",")));
        Ok(())
    }
    async fn tag_role(&self, _: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let keys: Vec<&str> = tags.iter().map(|(k, _)| k.as_str()).collect();
        self.log(format!("tag-role {}", keys.join(",")));
        Ok(())
    }
}

impl InlinePoliciesPort for FakeIam {
    async fn role_policies(&self, _: &str) -> Result<Vec<(String, String)>, AwsError> {
        self.log("list-role-policies".into());
        if let Some(e) = &self.policies_error {
            return Err(e.clone());
        }
        Ok(self
            .role_policies
            .lock()
            .unwrap()
            .clone()
            .into_iter()
            .collect())
    }
    async fn user_policies(&self, _: &str) -> Result<Vec<(String, String)>, AwsError> {
        self.log("list-user-policies".into());
        if let Some(e) = &self.policies_error {
            return Err(e.clone());
        }
        Ok(self
            .user_policies
            .lock()
            .unwrap()
            .clone()
            .into_iter()
            .collect())
    }
}

impl UserCredentialsPort for FakeIam {
    async fn access_keys(&self, _: &str) -> Result<Vec<AccessKeyFacts>, AwsError> {
        self.log("list-keys".into());
        Ok(self.keys.clone())
    }
    async fn login_profile(&self, _: &str) -> Result<Option<LoginProfileFacts>, AwsError> {
        self.log("get-login".into());
        Ok(self.login.clone())
    }
    async fn deactivate_access_key(&self, _: &str, key: &str) -> Result<(), AwsError> {
        self.log(format!("deactivate {key}"));
        if self.fail_deactivate {
            return Err(throttled());
        }
        Ok(())
    }
    async fn delete_login_profile(&self, _: &str) -> Result<(), AwsError> {
        self.log("delete-login".into());
        Ok(())
    }
}
