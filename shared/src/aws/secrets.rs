//! Secrets Manager through the SDK: the key that seals Firebreak's records (`seal.rs`), read once
//! with the function's own credentials.

use crate::error::AwsError;
use crate::seal::{FetchKeys, KeyError, KeySource, Keyring};

/// The keys in `secret` (ARN or name), fetched when first needed; `None`: every fetch fails, and
/// so does every response that reads or writes a record.
pub fn key_source(client: aws_sdk_secretsmanager::Client, secret: Option<String>) -> KeySource {
    KeySource::new(move || -> FetchKeys {
        let (client, secret) = (client.clone(), secret.clone());
        Box::pin(async move {
            let secret = secret.ok_or_else(|| {
                KeyError("is not configured (FIREBREAK_RECORD_KEY_SECRET is unset)".into())
            })?;
            let value = client
                .get_secret_value()
                .secret_id(&secret)
                .send()
                .await
                .map_err(|e| {
                    KeyError(format!("{secret} could not be read: {}", AwsError::from(e)))
                })?;
            let text = value
                .secret_string()
                .ok_or_else(|| KeyError(format!("{secret} holds no string")))?;
            Keyring::from_secret(text)
        })
    })
}
