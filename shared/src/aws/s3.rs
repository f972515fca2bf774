//! S3 through the SDK: a bucket's Block Public Access, policy and tags ([`BucketsPort`]).

use aws_sdk_s3::types::{PublicAccessBlockConfiguration, Tag, Tagging};

use crate::aws::autoscaling_elb::Services;
use crate::aws::sdk::local_error;
use crate::error::AwsError;
use crate::ports::{BucketsPort, PublicAccessBlock};

/// `Ok(None)` for the error codes that mean "there is none".
fn none_when<T>(e: AwsError, codes: &[&str]) -> Result<Option<T>, AwsError> {
    match e.code.as_deref() {
        Some(c) if codes.contains(&c) => Ok(None),
        _ => Err(e),
    }
}

impl BucketsPort for Services {
    async fn bucket_tags(&self, bucket: &str) -> Result<Option<Vec<(String, String)>>, AwsError> {
        match self.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(out) => Ok(Some(
                out.tag_set()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
            )),
            Err(e) => match AwsError::from(e) {
                e if e.code.as_deref() == Some("NoSuchTagSet") => Ok(Some(Vec::new())),
                e => none_when(e, &["NoSuchBucket"]),
            },
        }
    }

    async fn put_bucket_tags(
        &self,
        bucket: &str,
        tags: &[(String, String)],
    ) -> Result<(), AwsError> {
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
