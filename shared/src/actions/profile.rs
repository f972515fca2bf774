//! `detach-instance-profile`: the instance whose credentials leaked loses its instance profile, so it
//! cannot fetch new credentials of the role; the profile is recorded on the instance first. Its undo
//! attaches the recorded profile again.

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{InstanceFacts, InstancesPort, ProfileAssociation, ProfilesPort};
use crate::tags;

const ACTION: ActionKind = ActionKind::DetachInstanceProfile;
const UNDO: ActionKind = ActionKind::ReleaseInstance;

/// What `detach-instance-profile` calls, writes and undoes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "ec2:DescribeInstances",
        "ec2:DescribeIamInstanceProfileAssociations",
        "ec2:DisassociateIamInstanceProfile",
        "ec2:CreateTags",
    ],
    tags: &[tags::REMOVED_PROFILE, tags::REMOVED_PROFILE_FINDING],
    // Attaching an instance profile passes its role to EC2.
    undo_permissions: &[
        "ec2:DescribeIamInstanceProfileAssociations",
        "ec2:AssociateIamInstanceProfile",
        "iam:PassRole",
        "ec2:DeleteTags",
    ],
};

/// What round 1 read of the instance and its profile.
pub struct ProfileRead {
    /// The instance (`None`: not planned).
    pub instance: Option<Result<Option<InstanceFacts>, AwsError>>,
    /// Its association (`None`: not planned).
    pub association: Option<Result<Option<ProfileAssociation>, AwsError>>,
}

/// Round 1, alongside the principal's read: the instance and its profile association.
pub async fn read<E: InstancesPort + ProfilesPort>(
    ec2: &E,
    instance_id: Option<&str>,
) -> ProfileRead {
    let Some(id) = instance_id else {
        return ProfileRead {
            instance: None,
            association: None,
        };
    };
    let (instance, association) = futures::join!(
        ec2.describe_instance(id),
        ec2.instance_profile_association(id)
    );
    ProfileRead {
        instance: Some(instance),
        association: Some(association),
    }
}

/// What to do about the instance: the association to remove, or why not (as its outcome).
pub fn decide(
    id: &str,
    read: ProfileRead,
    exempt_tag: &str,
) -> Result<ProfileAssociation, Outcome> {
    let skipped = |why: String| Outcome::new(ACTION, id, Status::Skipped, why);
    let instance = match read.instance {
        Some(Ok(Some(f))) if f.tag(exempt_tag) == Some(tags::TRUE) => {
            return Err(skipped(format!("the instance is tagged {exempt_tag}=true")))
        }
        Some(Ok(Some(f))) if f.state == "terminated" => {
            return Err(skipped("the instance is terminated".into()))
        }
        Some(Ok(Some(f))) => Some(f),
        Some(Ok(None)) => return Err(skipped("the instance no longer exists".into())),
        // Whether it is exempt is unknown: never taken as "not exempt".
        Some(Err(e)) => {
            let why = format!(
                "could not read whether the instance is exempt ({exempt_tag}): NOT acted on; \
                 the retry reads it again"
            );
            return Err(Outcome::failed(ACTION, id, &why, &e));
        }
        None => None,
    };
    match read.association {
        Some(Ok(Some(a))) => Ok(a),
        Some(Ok(None)) => {
            let earlier = instance
                .as_ref()
                .and_then(|f| f.tag(tags::REMOVED_PROFILE))
                .map(String::from);
            Err(match earlier {
                Some(arn) => Outcome::new(
                    ACTION,
                    id,
                    Status::AlreadyDone,
                    format!("no profile attached; Firebreak removed {arn} earlier"),
                ),
                None => skipped("the instance has no instance profile".into()),
            })
        }
        Some(Err(e)) => Err(Outcome::failed(
            ACTION,
            id,
            "could not read the instance's profile association",
            &e,
        )),
        None => Err(skipped("not planned".into())),
    }
}

/// The record, written before the profile is removed.
pub async fn record<E: InstancesPort>(
    ec2: &E,
    id: &str,
    a: &ProfileAssociation,
    finding_id: &str,
) -> Result<(), AwsError> {
    ec2.tag_instance(
        id,
        &[
            tags::pair(tags::REMOVED_PROFILE, &a.instance_profile_arn),
            tags::pair(tags::REMOVED_PROFILE_FINDING, finding_id),
        ],
    )
    .await
}

/// Removes the profile; `recorded` says whether [`record`] succeeded.
pub async fn detach<E: ProfilesPort>(
    ec2: &E,
    id: &str,
    a: &ProfileAssociation,
    recorded: bool,
) -> Outcome {
    match ec2.disassociate_instance_profile(&a.association_id).await {
        Ok(()) => Outcome::new(
            ACTION,
            id,
            Status::Succeeded,
            format!(
                "removed {} ({}){}",
                a.instance_profile_arn,
                a.association_id,
                if recorded {
                    format!(", recorded in tag {}", tags::REMOVED_PROFILE)
                } else {
                    ", NOT recorded in tags".to_string()
                }
            ),
        ),
        Err(e) => Outcome::failed(ACTION, id, "could not remove the instance profile", &e),
    }
}

/// The undo: the recorded profile attached again (`None` when none is recorded); with the
/// outcome, the records to remove once done.
pub async fn reattach<E: ProfilesPort>(
    ec2: &E,
    facts: &InstanceFacts,
) -> Option<(Outcome, Vec<String>)> {
    let arn = facts.tag(tags::REMOVED_PROFILE)?;
    let id = facts.instance_id.as_str();
    let outcome = match ec2.instance_profile_association(id).await {
        Ok(Some(a)) => Outcome::new(
            UNDO,
            id,
            Status::AlreadyDone,
            format!(
                "an instance profile is attached already ({})",
                a.instance_profile_arn
            ),
        ),
        Ok(None) => match ec2.associate_instance_profile(id, arn).await {
            Ok(()) => Outcome::new(
                UNDO,
                id,
                Status::Succeeded,
                format!("instance profile {arn} attached again"),
            ),
            Err(e) => Outcome::failed(
                UNDO,
                id,
                &format!("could not attach instance profile {arn} again"),
                &e,
            ),
        },
        Err(e) => Outcome::failed(
            UNDO,
            id,
            "could not read the instance profile association",
            &e,
        ),
    };
    let mut done = Vec::new();
    if outcome.is_ok() {
        done.push(tags::REMOVED_PROFILE.to_string());
        if facts.tag(tags::REMOVED_PROFILE_FINDING).is_some() {
            done.push(tags::REMOVED_PROFILE_FINDING.to_string());
        }
    }
    Some((outcome, done))
}
