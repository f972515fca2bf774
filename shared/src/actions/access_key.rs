//! `deactivate-access-key`: exactly the leaked long-term key set `Inactive` (not deleted: its id
//! stays useful in CloudTrail); the user's other keys are unchanged. No automatic undo (the
//! notification prints the command, and advises a new key instead).

use crate::actions::spec::ActionSpec;
use crate::error::AwsError;
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{AccessKeyFacts, UserCredentialsPort};
use crate::shell::{self, Command};
use crate::tags;

const ACTION: ActionKind = ActionKind::DeactivateAccessKey;

/// What `deactivate-access-key` calls and writes.
pub const SPEC: ActionSpec = ActionSpec {
    kind: ACTION,
    permissions: &["iam:GetUser", "iam:ListAccessKeys", "iam:UpdateAccessKey"],
    tags: &[tags::DEACTIVATED_KEY],
    undo_permissions: &[],
};

/// Deactivates `key` of `user`, unless the keys read in round 1 say it is not the user's or is
/// already inactive (a failed read does not stop it).
pub async fn deactivate<I: UserCredentialsPort>(
    iam: &I,
    user: &str,
    key: &str,
    keys: Option<&Result<Vec<AccessKeyFacts>, AwsError>>,
) -> Outcome {
    let current = match keys {
        Some(Ok(keys)) => match keys.iter().find(|k| k.access_key_id == key) {
            Some(k) => Some(k.status.clone()),
            None => {
                return Outcome::refused(
                    ACTION,
                    key,
                    format!("{key} is not an access key of IAM user {user}"),
                )
            }
        },
        _ => None,
    };
    if current.as_deref() == Some("Inactive") {
        return Outcome::new(ACTION, key, Status::AlreadyDone, "already Inactive");
    }
    match iam.deactivate_access_key(user, key).await {
        Ok(()) => Outcome::new(
            ACTION,
            key,
            Status::Succeeded,
            "Inactive (the user's other keys are unchanged)",
        ),
        Err(e) => Outcome::failed(ACTION, key, "could not deactivate the key", &e),
    }
}

/// The command that undoes it, for the notification.
pub fn undo_command(user: &str, key: &str) -> String {
    Command::new("aws iam update-access-key")
        .arg("--user-name", shell::IAM_USER, user)
        .arg("--access-key-id", shell::ACCESS_KEY, key)
        .words("--status Active")
        .or_note(|c| format!("{c}   (better: create a new key for the user and delete {key})"))
}
