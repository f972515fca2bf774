//! Secrets Manager through the SDK: the key that seals Firebreak's records (`seal.rs`), read once
//! with the function's own credentials; and what every adapter that seals shares (Lambda, S3, IAM).

use std::sync::Arc;

use crate::error::AwsError;
use crate::seal::{FetchKeys, KeyError, KeySource, Keyring, Seal};

/// The keys in `secret` (ARN or name), fetched when first needed; `None`: every fetch fails, and
/// so does every response that reads or writes a record.
pub fn key_source(config: aws_config::SdkConfig, secret: Option<String>) -> KeySource {
    KeySource::new(move || -> FetchKeys {
        // The client is made on the first fetch: start-up makes nothing it does not need.
        let (client, secret) = (aws_sdk_secretsmanager::Client::new(&config), secret.clone());
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

/// The record key could not be had: nothing Firebreak recorded can be trusted or written.
pub(crate) fn key_error(e: KeyError) -> AwsError {
    AwsError {
        code: Some("RecordKeyUnavailable".into()),
        message: e.to_string(),
    }
}

/// `tags` as written on `resource`: sealed by `seal` (an adapter's, when it seals).
pub(crate) async fn sealing(
    seal: Option<&Seal>,
    resource: &str,
    tags: &[(String, String)],
) -> Result<Vec<(String, String)>, AwsError> {
    match seal {
        Some(seal) => seal.seal_tags(resource, tags).await.map_err(key_error),
        None => Ok(tags.to_vec()),
    }
}

/// The keys, when the adapter seals (`None` when it does not).
pub(crate) async fn keys(seal: Option<&Seal>) -> Result<Option<Arc<Keyring>>, AwsError> {
    match seal {
        Some(seal) => seal.keys().await.map(Some).map_err(key_error),
        None => Ok(None),
    }
}

/// `tags` of `resource` opened: (trusted, legacy, forged); every tag trusted as it is when the
/// adapter does not seal.
pub(crate) async fn opened(
    seal: Option<&Seal>,
    keys: Option<&Keyring>,
    resource: &str,
    tags: Vec<(String, String)>,
) -> (Vec<(String, String)>, Vec<(String, String)>, Vec<String>) {
    match (seal, keys) {
        (Some(seal), Some(keys)) => {
            let o = seal.open(keys, resource, &tags).await;
            (o.trusted, o.legacy, o.forged)
        }
        _ => (tags, Vec::new(), Vec::new()),
    }
}
