//! RDS: a DB instance (or the Aurora cluster it belongs to), its security groups, its snapshots
//! and its tags.

use crate::error::AwsError;

/// An RDS DB instance as it is now; for an Aurora instance, its cluster's groups and tags (the
/// cluster carries them: `ModifyDBInstance` does not set an Aurora instance's groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseFacts {
    /// The DB instance identifier.
    pub db_instance: String,
    /// The Aurora cluster's identifier, when the instance belongs to one.
    pub cluster: Option<String>,
    /// The ARN of what carries the groups and the records: the cluster's, else the instance's.
    pub arn: String,
    /// The engine (`postgres`, `aurora-mysql`, …).
    pub engine: String,
    /// The VPC of its DB subnet group, when it is in one.
    pub vpc_id: Option<String>,
    /// Its VPC security groups (the cluster's, for Aurora).
    pub groups: Vec<String>,
    /// Its tags (the cluster's, for Aurora): others' as they are, Firebreak's only where their
    /// seal verifies, without it.
    pub tags: Vec<(String, String)>,
    /// Firebreak's tags that carry no seal: never trusted (no earlier version wrote any here).
    pub legacy: Vec<(String, String)>,
    /// The keys of `firebreak:*` tags whose seal does not verify: reported as tampering.
    pub forged: Vec<String>,
}

impl DatabaseFacts {
    /// The name the steps report: the cluster, else the instance.
    pub fn name(&self) -> &str {
        self.cluster.as_deref().unwrap_or(&self.db_instance)
    }
}

/// RDS DB instances and clusters: groups, snapshots, tags.
pub trait DatabasesPort: Sync {
    /// The DB instance now (with its cluster's groups and tags for Aurora); `None` when it no
    /// longer exists.
    async fn database(&self, db_instance: &str) -> Result<Option<DatabaseFacts>, AwsError>;
    /// Starts a snapshot of it named `snapshot` (a cluster snapshot for Aurora), tagged with
    /// `tags`; `false` when a snapshot of that name exists already.
    async fn snapshot_database(
        &self,
        db: &DatabaseFacts,
        snapshot: &str,
        tags: &[(String, String)],
    ) -> Result<bool, AwsError>;
    /// Replaces its VPC security groups (the cluster's for Aurora), applied at once.
    async fn set_database_groups(
        &self,
        db: &DatabaseFacts,
        groups: &[String],
    ) -> Result<(), AwsError>;
    /// Adds or overwrites tags on it (by the ARN of [`DatabaseFacts::arn`]).
    async fn tag_database(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError>;
    /// Removes these tag keys from it.
    async fn untag_database(&self, arn: &str, keys: &[String]) -> Result<(), AwsError>;
}
