//! EBS snapshots and AMIs through the SDK: who may use them (`createVolumePermission`,
//! `launchPermission`), and their tags.

use aws_sdk_ec2::types::{
    CreateVolumePermission, CreateVolumePermissionModifications, ImageAttributeName,
    LaunchPermission, LaunchPermissionModifications, PermissionGroup, SnapshotAttributeName, Tag,
};

use crate::aws::ec2::Ec2;
use crate::aws::sdk::{ec2_tags, tag_pairs};
use crate::aws::secrets;
use crate::error::AwsError;
use crate::incident::{ArtifactKind, ArtifactRef};
use crate::ports::{ArtifactFacts, ArtifactsPort, Sharing};
use crate::seal::Keyring;

/// `Ok(None)` for a not-found error.
fn absent<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl Ec2 {
    /// An artifact's facts with its tags opened (as [`Ec2`] opens an instance's).
    async fn opened_artifact(
        &self,
        keys: Option<&Keyring>,
        id: &str,
        sharing: Sharing,
        tags: Vec<(String, String)>,
    ) -> ArtifactFacts {
        let (tags, legacy, forged) = secrets::opened(self.1.as_ref(), keys, id, tags).await;
        ArtifactFacts {
            sharing,
            tags,
            legacy,
            forged,
        }
    }

    async fn snapshot(&self, id: &str) -> Result<Option<ArtifactFacts>, AwsError> {
        let call = self.0.describe_snapshots().snapshot_ids(id).send();
        let (described, keys) = futures::join!(call, self.keys());
        let keys = keys?;
        let Some(out) = absent(described.map_err(AwsError::from))? else {
            return Ok(None);
        };
        let Some(snapshot) = out.snapshots().first() else {
            return Ok(None);
        };
        let attr = self
            .0
            .describe_snapshot_attribute()
            .snapshot_id(id)
            .attribute(SnapshotAttributeName::CreateVolumePermission)
            .send()
            .await?;
        let mut sharing = Sharing::default();
        for p in attr.create_volume_permissions() {
            match (p.group(), p.user_id()) {
                (Some(PermissionGroup::All), _) => sharing.public = true,
                (_, Some(user)) => sharing.accounts.push(user.to_string()),
                _ => {}
            }
        }
        Ok(Some(
            self.opened_artifact(keys.as_deref(), id, sharing, tag_pairs(snapshot.tags()))
                .await,
        ))
    }

    async fn image(&self, id: &str) -> Result<Option<ArtifactFacts>, AwsError> {
        let call = self.0.describe_images().image_ids(id).send();
        let (described, keys) = futures::join!(call, self.keys());
        let keys = keys?;
        let Some(out) = absent(described.map_err(AwsError::from))? else {
            return Ok(None);
        };
        let Some(image) = out.images().first() else {
            return Ok(None);
        };
        let attr = self
            .0
            .describe_image_attribute()
            .image_id(id)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await?;
        let mut sharing = Sharing::default();
        for p in attr.launch_permissions() {
            if p.group() == Some(&PermissionGroup::All) {
                sharing.public = true;
            }
            sharing.accounts.extend(p.user_id().map(String::from));
            sharing
                .organizations
                .extend(p.organization_arn().map(String::from));
            sharing
                .units
                .extend(p.organizational_unit_arn().map(String::from));
        }
        Ok(Some(
            self.opened_artifact(keys.as_deref(), id, sharing, tag_pairs(image.tags()))
                .await,
        ))
    }

    /// Adds (`add`) or removes the permissions.
    async fn change_sharing(
        &self,
        a: &ArtifactRef,
        who: &Sharing,
        add: bool,
    ) -> Result<(), AwsError> {
        match a.kind {
            ArtifactKind::Snapshot => {
                let mut perms: Vec<CreateVolumePermission> = who
                    .accounts
                    .iter()
                    .map(|u| CreateVolumePermission::builder().user_id(u).build())
                    .collect();
                if who.public {
                    perms.push(
                        CreateVolumePermission::builder()
                            .group(PermissionGroup::All)
                            .build(),
                    );
                }
                let mods = match add {
                    true => CreateVolumePermissionModifications::builder().set_add(Some(perms)),
                    false => CreateVolumePermissionModifications::builder().set_remove(Some(perms)),
                };
                self.0
                    .modify_snapshot_attribute()
                    .snapshot_id(&a.id)
                    .create_volume_permission(mods.build())
                    .send()
                    .await?;
            }
            ArtifactKind::Image => {
                let mut perms: Vec<LaunchPermission> = Vec::new();
                perms.extend(
                    who.accounts
                        .iter()
                        .map(|u| LaunchPermission::builder().user_id(u).build()),
                );
                perms.extend(
                    who.organizations
                        .iter()
                        .map(|o| LaunchPermission::builder().organization_arn(o).build()),
                );
                perms.extend(who.units.iter().map(|o| {
                    LaunchPermission::builder()
                        .organizational_unit_arn(o)
                        .build()
                }));
                if who.public {
                    perms.push(
                        LaunchPermission::builder()
                            .group(PermissionGroup::All)
                            .build(),
                    );
                }
                let mods = match add {
                    true => LaunchPermissionModifications::builder().set_add(Some(perms)),
                    false => LaunchPermissionModifications::builder().set_remove(Some(perms)),
                };
                self.0
                    .modify_image_attribute()
                    .image_id(&a.id)
                    .launch_permission(mods.build())
                    .send()
                    .await?;
            }
        }
        Ok(())
    }
}

impl ArtifactsPort for Ec2 {
    async fn artifact(&self, a: &ArtifactRef) -> Result<Option<ArtifactFacts>, AwsError> {
        match a.kind {
            ArtifactKind::Snapshot => self.snapshot(&a.id).await,
            ArtifactKind::Image => self.image(&a.id).await,
        }
    }

    async fn unshare(&self, a: &ArtifactRef, who: &Sharing) -> Result<(), AwsError> {
        self.change_sharing(a, who, false).await
    }

    async fn share(&self, a: &ArtifactRef, who: &Sharing) -> Result<(), AwsError> {
        self.change_sharing(a, who, true).await
    }

    async fn tag_artifact(
        &self,
        a: &ArtifactRef,
        tags: &[(String, String)],
    ) -> Result<(), AwsError> {
        let tags = self.sealing(&a.id, tags).await?;
        self.0
            .create_tags()
            .resources(&a.id)
            .set_tags(Some(ec2_tags(&tags)))
            .send()
            .await?;
        Ok(())
    }

    async fn untag_artifact(&self, a: &ArtifactRef, keys: &[String]) -> Result<(), AwsError> {
        let tags: Vec<Tag> = keys.iter().map(|k| Tag::builder().key(k).build()).collect();
        self.0
            .delete_tags()
            .resources(&a.id)
            .set_tags(Some(tags))
            .send()
            .await?;
        Ok(())
    }
}
