//! S3 buckets: Block Public Access, the bucket policy, tags.

use crate::error::AwsError;

/// An S3 bucket's Block Public Access settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_acls: bool,
    /// `IgnorePublicAcls`.
    pub ignore_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_policy: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_buckets: bool,
}

impl PublicAccessBlock {
    /// All four on.
    pub const ALL: PublicAccessBlock = PublicAccessBlock {
        block_acls: true,
        ignore_acls: true,
        block_policy: true,
        restrict_buckets: true,
    };
}

/// An S3 bucket's tags as read. S3 replaces a bucket's whole tag set at once, so a write carries
/// every tag it does not change back exactly as it was read ([`raw`](Self::raw)): an unsealed or
/// forged value is never written back sealed (laundered), nor a sealed one sealed again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketTags {
    /// Tags (key, value): others' as they are, Firebreak's only where their seal verifies
    /// (`seal.rs`), without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal (an earlier version's): never restored from.
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: never acted on, reported as
    /// tampering.
    pub forged: Vec<String>,
    /// The whole tag set exactly as S3 holds it, seals included.
    pub raw: Vec<(String, String)>,
}

impl BucketTags {
    /// A tag set read without opening (an adapter that does not seal): every tag as it is.
    pub fn plain(tags: Vec<(String, String)>) -> BucketTags {
        BucketTags {
            raw: tags.clone(),
            tags,
            ..BucketTags::default()
        }
    }

    /// The whole tag set to put: every tag as read, with `written` merged in (a key written is
    /// replaced, an empty value removes it). `written` holds the values as they go to S3 (sealed by
    /// the adapter); nothing else is ever sealed.
    pub fn merged(&self, written: &[(String, String)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = (self.raw.iter())
            .filter(|(k, _)| !written.iter().any(|(w, _)| w == k))
            .cloned()
            .collect();
        out.extend(written.iter().filter(|(_, v)| !v.is_empty()).cloned());
        out
    }
}

/// S3 buckets: Block Public Access, the bucket policy, tags.
pub trait BucketsPort: Sync {
    /// The bucket's tags; `None` when the bucket does not exist.
    async fn bucket_tags(&self, bucket: &str) -> Result<Option<BucketTags>, AwsError>;
    /// Replaces the bucket's whole tag set with `present`'s as read and `write` merged in
    /// ([`BucketTags::merged`]): only `write`'s values are sealed (an empty value removes its key).
    async fn put_bucket_tags(
        &self,
        bucket: &str,
        present: &BucketTags,
        write: &[(String, String)],
    ) -> Result<(), AwsError>;
    /// Its Block Public Access settings; `None` when it has none.
    async fn public_access_block(
        &self,
        bucket: &str,
    ) -> Result<Option<PublicAccessBlock>, AwsError>;
    /// Sets them (`None`: removes the configuration).
    async fn set_public_access_block(
        &self,
        bucket: &str,
        settings: Option<PublicAccessBlock>,
    ) -> Result<(), AwsError>;
    /// Its bucket policy (JSON); `None` when it has none.
    async fn bucket_policy(&self, bucket: &str) -> Result<Option<String>, AwsError>;
    /// Sets it (`None`: deletes it).
    async fn set_bucket_policy(&self, bucket: &str, policy: Option<&str>) -> Result<(), AwsError>;
}
