//! RDS through the SDK: a DB instance and, for Aurora, its cluster — groups, snapshots, tags
//! ([`DatabasesPort`]); records sealed for the ARN of what carries them (the cluster's, else the
//! instance's), a snapshot's finding tag for the snapshot's identifier (`seal.rs`).

use aws_sdk_rds::types::{DbCluster, DbInstance, Tag};

use crate::aws::secrets;
use crate::error::AwsError;
use crate::ports::{DatabaseFacts, DatabasesPort};
use crate::seal::Seal;

/// RDS of one account and region; with a [`Seal`] (every incident's), the `firebreak:*` tags it
/// writes are sealed and those it reads opened.
#[derive(Clone)]
pub struct Rds {
    /// The client.
    pub rds: aws_sdk_rds::Client,
    /// The incident's sealing.
    pub seal: Option<Seal>,
}

/// The SDK's tags.
fn sdk_tags(tags: &[(String, String)]) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The groups of a membership list.
fn groups(list: &[aws_sdk_rds::types::VpcSecurityGroupMembership]) -> Vec<String> {
    list.iter()
        .filter_map(|g| g.vpc_security_group_id())
        .map(String::from)
        .collect()
}

/// A snapshot that exists already (RDS's code, with or without `Fault`).
fn already_exists(e: &AwsError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.contains("SnapshotAlreadyExists"))
}

impl Rds {
    /// The instance, `None` when it no longer exists.
    async fn instance(&self, id: &str) -> Result<Option<DbInstance>, AwsError> {
        let out = self
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.db_instances().first().cloned()),
            Err(e) => match AwsError::from(e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The cluster, `None` when it no longer exists.
    async fn cluster(&self, id: &str) -> Result<Option<DbCluster>, AwsError> {
        let out = self
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.db_clusters().first().cloned()),
            Err(e) => match AwsError::from(e) {
                e if e.is_not_found() => Ok(None),
                e => Err(e),
            },
        }
    }

    /// The tags of `arn`, as RDS lists them.
    async fn tags_of(&self, arn: &str) -> Result<Vec<(String, String)>, AwsError> {
        let out = self
            .rds
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await?;
        let mut tags: Vec<(String, String)> = out
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect();
        tags.sort();
        Ok(tags)
    }
}

impl DatabasesPort for Rds {
    async fn database(&self, db_instance: &str) -> Result<Option<DatabaseFacts>, AwsError> {
        // The keys are awaited beside the call: on a cold start their fetch is not a round trip of
        // its own.
        let (instance, keys) = futures::join!(
            self.instance(db_instance),
            secrets::keys(self.seal.as_ref())
        );
        let (Some(instance), keys) = (instance?, keys?) else {
            return Ok(None);
        };
        let cluster_id = instance.db_cluster_identifier().map(String::from);
        let (arn, groups) = match &cluster_id {
            Some(c) => match self.cluster(c).await? {
                Some(cluster) => (
                    cluster.db_cluster_arn().unwrap_or_default().to_string(),
                    groups(cluster.vpc_security_groups()),
                ),
                None => return Ok(None),
            },
            None => (
                instance.db_instance_arn().unwrap_or_default().to_string(),
                groups(instance.vpc_security_groups()),
            ),
        };
        let tags = self.tags_of(&arn).await?;
        let (tags, legacy, forged) =
            secrets::opened(self.seal.as_ref(), keys.as_deref(), &arn, tags).await;
        Ok(Some(DatabaseFacts {
            db_instance: db_instance.to_string(),
            cluster: cluster_id,
            arn,
            engine: instance.engine().unwrap_or_default().to_string(),
            vpc_id: instance
                .db_subnet_group()
                .and_then(|g| g.vpc_id())
                .filter(|v| !v.is_empty())
                .map(String::from),
            groups,
            tags,
            legacy,
            forged,
        }))
    }

    async fn snapshot_database(
        &self,
        db: &DatabaseFacts,
        snapshot: &str,
        tags: &[(String, String)],
    ) -> Result<bool, AwsError> {
        let tags = sdk_tags(&secrets::sealing(self.seal.as_ref(), snapshot, tags).await?);
        let made = match &db.cluster {
            Some(cluster) => self
                .rds
                .create_db_cluster_snapshot()
                .db_cluster_identifier(cluster)
                .db_cluster_snapshot_identifier(snapshot)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
            None => self
                .rds
                .create_db_snapshot()
                .db_instance_identifier(&db.db_instance)
                .db_snapshot_identifier(snapshot)
                .set_tags(Some(tags))
                .send()
                .await
                .map(|_| ())
                .map_err(AwsError::from),
        };
        match made {
            Ok(()) => Ok(true),
            Err(e) if already_exists(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn set_database_groups(
        &self,
        db: &DatabaseFacts,
        groups: &[String],
    ) -> Result<(), AwsError> {
        let groups = Some(groups.to_vec());
        match &db.cluster {
            Some(cluster) => {
                self.rds
                    .modify_db_cluster()
                    .db_cluster_identifier(cluster)
                    .set_vpc_security_group_ids(groups)
                    .apply_immediately(true)
                    .send()
                    .await?;
            }
            None => {
                self.rds
                    .modify_db_instance()
                    .db_instance_identifier(&db.db_instance)
                    .set_vpc_security_group_ids(groups)
                    .apply_immediately(true)
                    .send()
                    .await?;
            }
        }
        Ok(())
    }

    async fn tag_database(&self, arn: &str, tags: &[(String, String)]) -> Result<(), AwsError> {
        let tags = secrets::sealing(self.seal.as_ref(), arn, tags).await?;
        self.rds
            .add_tags_to_resource()
            .resource_name(arn)
            .set_tags(Some(sdk_tags(&tags)))
            .send()
            .await?;
        Ok(())
    }

    async fn untag_database(&self, arn: &str, keys: &[String]) -> Result<(), AwsError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.rds
            .remove_tags_from_resource()
            .resource_name(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await?;
        Ok(())
    }
}
