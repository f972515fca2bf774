//! `remove-login-profile`: the user's console password deleted; when it was created and whether a
//! reset was required are recorded on the user first. No automatic undo: a password cannot be
//! restored, only re-issued (the notification prints the command).

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{LoginProfileFacts, PrincipalFacts, PrincipalsPort, UserCredentialsPort};
use crate::shell::{self, Command};
use crate::tags::{self, LoginProfileRecord};

const ACTION: ActionKind = ActionKind::RemoveLoginProfile;

/// What `remove-login-profile` calls and writes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &[
        "iam:GetLoginProfile",
        "iam:DeleteLoginProfile",
        "iam:TagUser",
    ],
    tags: &[tags::LOGIN_PROFILE],
    undo_permissions: &[],
};

/// The record of the password, written before it goes (`None` when there is none to record).
pub async fn record<I: PrincipalsPort>(
    iam: &I,
    user: &str,
    existing: Option<&LoginProfileFacts>,
) -> Option<Result<(), AwsError>> {
    let profile = existing?;
    let value = LoginProfileRecord::encode(profile);
    Some(
        iam.tag_user(user, &[tags::pair(tags::LOGIN_PROFILE, value)])
            .await,
    )
}

/// Deletes the password. `read` is round 1's read of it, `recorded` whether [`record`] succeeded.
pub async fn remove<I: UserCredentialsPort>(
    iam: &I,
    user: &str,
    facts: Option<&PrincipalFacts>,
    read: Option<&Result<Option<LoginProfileFacts>, AwsError>>,
    recorded: Option<&Result<(), AwsError>>,
) -> Outcome {
    if let Some(Ok(None)) = read {
        let earlier = facts.and_then(|f| f.tag(tags::LOGIN_PROFILE)).is_some();
        return Outcome::new(
            ACTION,
            user,
            if earlier {
                Status::AlreadyDone
            } else {
                Status::Skipped
            },
            "the user has no console password",
        );
    }
    let profile = match read {
        Some(Ok(Some(p))) => Some(p),
        _ => None,
    };
    match iam.delete_login_profile(user).await {
        Ok(()) => Outcome::new(
            ACTION,
            user,
            Status::Succeeded,
            match profile {
                Some(p) => format!(
                    "console password removed (created {}{})",
                    p.created,
                    match recorded {
                        Some(Ok(())) => format!(", recorded in tag {}", tags::LOGIN_PROFILE),
                        _ => ", NOT recorded in tags".to_string(),
                    }
                ),
                None => "console password removed".to_string(),
            },
        ),
        Err(e) if e.is_not_found() => Outcome::new(
            ACTION,
            user,
            Status::AlreadyDone,
            "the user has no console password",
        ),
        Err(e) => Outcome::failed(ACTION, user, "could not remove the console password", &e),
    }
}

/// The command that re-issues a password, for the notification.
pub fn undo_command(user: &str, existing: Option<&LoginProfileFacts>) -> String {
    let was = existing
        .map(|p| {
            format!(
                "; it existed since {}, reset required: {}",
                shell::shown(&p.created),
                p.password_reset_required
            )
        })
        .unwrap_or_default();
    Command::new("aws iam create-login-profile")
        .arg("--user-name", shell::IAM_USER, user)
        .words("--password-reset-required --password '<new temporary password>'")
        .or_note(|c| format!("{c}   (the old password cannot be restored{was})"))
}
