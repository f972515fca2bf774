//! S3 through the SDK: a bucket's Block Public Access, policy and tags ([`BucketsPort`]); its
//! records sealed for the bucket's name (`seal.rs`). S3 replaces a bucket's whole tag set at once:
//! a write seals only the values Firebreak writes now and puts every other tag back exactly as it
//! was read, so no unsealed or forged value is ever laundered into a sealed one.

use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tag, Tagging};

use crate::aws::sdk::local_error;
use crate::aws::secrets;
use crate::error::AwsError;
use crate::ports::{BucketTags, BucketsPort, PublicAccessBlock};
use crate::seal::{Keyring, Seal};

/// `Ok(None)` for the error codes that mean "there is none".
fn none_when<T>(e: AwsError, codes: &[&str]) -> Result<Option<T>, AwsError> {
    match e.code.as_deref() {
        Some(c) if codes.contains(&c) => Ok(None),
        _ => Err(e),
    }
}

/// The bucket's tag set as S3 holds it, opened (`seal`'s keys, when it seals).
async fn opened_tags(
    seal: Option<&Seal>,
    keys: Option<&Keyring>,
    bucket: &str,
    raw: Vec<(String, String)>,
) -> BucketTags {
    let (tags, legacy, forged) = secrets::opened(seal, keys, bucket, raw.clone()).await;
    BucketTags {
        tags,
        legacy,
        forged,
        raw,
    }
}

/// The whole tag set to put: `write` sealed for the bucket, merged into the tags as read. Every
/// other tag goes back exactly as it was read: an unsealed or forged value stays what it is.
async fn tag_set(
    seal: Option<&Seal>,
    bucket: &str,
    present: &BucketTags,
    write: &[(String, String)],
) -> Result<Vec<(String, String)>, AwsError> {
    let written = secrets::sealing(seal, bucket, write).await?;
    Ok(present.merged(&written))
}

/// S3 of one account and region (path-style behind a custom endpoint); with a [`Seal`], the
/// `firebreak:*` tags it writes on buckets are sealed and those it reads opened.
#[derive(Clone)]
pub struct S3 {
    /// The client.
    pub s3: aws_sdk_s3::Client,
    /// The incident's sealing.
    pub seal: Option<Seal>,
}

impl BucketsPort for S3 {
    async fn bucket_tags(&self, bucket: &str) -> Result<Option<BucketTags>, AwsError> {
        let call = self.s3.get_bucket_tagging().bucket(bucket).send();
        let (out, keys) = futures::join!(call, secrets::keys(self.seal.as_ref()));
        let keys = keys?;
        let raw = match out {
            Ok(out) => out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            Err(e) => match AwsError::from(e) {
                e if e.code.as_deref() == Some("NoSuchTagSet") => Vec::new(),
                e => return none_when(e, &["NoSuchBucket"]),
            },
        };
        let seal = self.seal.as_ref();
        Ok(Some(opened_tags(seal, keys.as_deref(), bucket, raw).await))
    }

    async fn put_bucket_tags(
        &self,
        bucket: &str,
        present: &BucketTags,
        write: &[(String, String)],
    ) -> Result<(), AwsError> {
        let tags = tag_set(self.seal.as_ref(), bucket, present, write).await?;
        if tags.is_empty() {
            self.s3
                .delete_bucket_tagging()
                .bucket(bucket)
                .send()
                .await?;
            return Ok(());
        }
        let set = tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(local_error))
            .collect::<Result<Vec<Tag>, AwsError>>()?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(local_error)?;
        self.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging)
            .send()
            .await?;
        Ok(())
    }

    async fn public_access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlock>, AwsError> {
        match self
            .s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .public_access_block_configuration()
                .map(|c| PublicAccessBlock {
                    block_acls: c.block_public_acls().unwrap_or(false),
                    ignore_acls: c.ignore_public_acls().unwrap_or(false),
                    block_policy: c.block_public_policy().unwrap_or(false),
                    restrict_buckets: c.restrict_public_buckets().unwrap_or(false),
                })),
            Err(e) => none_when(AwsError::from(e), &["NoSuchPublicAccessBlockConfiguration"]),
        }
    }

    async fn set_public_access_block(
        &self,
        bucket: &str,
        settings: Option<PublicAccessBlock>,
    ) -> Result<(), AwsError> {
        let Some(p) = settings else {
            self.s3
                .delete_public_access_block()
                .bucket(bucket)
                .send()
                .await?;
            return Ok(());
        };
        let config = PublicAccessBlockConfiguration::builder()
            .block_public_acls(p.block_acls)
            .ignore_public_acls(p.ignore_acls)
            .block_public_policy(p.block_policy)
            .restrict_public_buckets(p.restrict_buckets)
            .build();
        self.s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(config)
            .send()
            .await?;
        Ok(())
    }

    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        match self.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(out) => Ok(out.policy().map(String::from)),
            Err(e) => none_when(AwsError::from(e), &["NoSuchBucketPolicy"]),
        }
    }

    async fn set_bucket_policy(&self, bucket: &str, policy: Option<&str>) -> Result<(), AwsError> {
        match policy {
            Some(doc) => {
                self.s3
                    .put_bucket_policy()
                    .bucket(bucket)
                    .policy(doc)
                    .send()
                    .await?;
            }
            None => {
                self.s3.delete_bucket_policy().bucket(bucket).send().await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::seal::{KeySource, Opened};

    const KEY: &str = "0123456789abcdef0123456789abcdef-s3";

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[tokio::test]
    async fn a_rewrite_never_launders_an_unsealed_or_forged_tag_into_a_sealed_one() {
        let keys = Keyring::new(KEY, &[]).unwrap();
        let source = Arc::new(KeySource::fixed(keys.clone()));
        let seal = Seal::new(source, "finding-b", "firebreak:exempt");
        let block = "firebreak:public-access-block";
        let genuine = keys.seal("data", "finding-a", block, "none");
        let raw = vec![
            pair("owner", "team-a"),
            pair("firebreak:exempt", "false"),
            pair(block, &genuine),
            // An earlier version's record, and one someone made up.
            pair("firebreak:malware-deny", "2020-01-01T00:00:00Z policy=new"),
            pair(
                "firebreak:status",
                "stopped fb=AAAA.BBBBBB.CCCCCCCCCCCCCCCCCCCCCC",
            ),
        ];
        let read = opened_tags(Some(&seal), Some(&keys), "data", raw.clone()).await;
        assert!(read.tags.contains(&pair(block, "none")), "{read:?}");
        assert_eq!(read.legacy, vec![raw[3].clone()]);
        assert_eq!(read.forged, vec!["firebreak:status".to_string()]);

        // A release's write: a marker added, the finding (absent) removed.
        let write = [
            pair("firebreak:released-at", "2026-12-01T00:00:00Z"),
            pair("firebreak:finding-id", ""),
        ];
        let set = tag_set(Some(&seal), "data", &read, &write).await.unwrap();
        // Every tag not written goes back byte for byte: the unsealed one stays unsealed, the
        // forged one forged, the genuine one with its own seal (not sealed again, not rebound).
        for t in &raw {
            assert!(set.contains(t), "{t:?} not kept as it was: {set:?}");
        }
        assert_eq!(set.len(), raw.len() + 1, "{set:?}");
        let again = opened_tags(Some(&seal), Some(&keys), "data", set.clone()).await;
        assert_eq!((&again.legacy, &again.forged), (&read.legacy, &read.forged));
        // Only what Firebreak wrote now is sealed, for this bucket and incident.
        let (_, marker) = set
            .iter()
            .find(|(k, _)| k == "firebreak:released-at")
            .unwrap();
        let opened = keys.open("data", "firebreak:released-at", marker);
        assert!(
            matches!(&opened, Opened::Sealed { content, binding }
                if *content == "2026-12-01T00:00:00Z" && *binding == crate::seal::binding("finding-b")),
            "{opened:?}"
        );

        // Nothing written: the tag set goes back exactly as it was read, never as it was opened.
        let nothing = tag_set(Some(&seal), "data", &read, &[]).await.unwrap();
        assert_eq!(nothing, raw);
    }
}
