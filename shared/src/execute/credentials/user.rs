//! A user's revocation: the access key deactivated, older sessions denied, the console password
//! recorded then removed, the cutoff moved past them, the user tagged; and how to undo it.

use crate::actions::sessions::Holder;
use crate::actions::{access_key, login_profile};
use crate::error::AwsError;
use crate::execute::credentials::principal::{
    conclude, in_force, principal_gate, succeeded, tampering,
};
use crate::execute::Request;
use crate::outcome::{Execution, Outcome, Status};
use crate::ports::{AccessKeyFacts, IamPorts, LoginProfileFacts, PrincipalFacts};
use crate::shell::{self, Command};
use crate::tags;

type UserRead = (
    Result<Option<PrincipalFacts>, AwsError>,
    Option<Result<Vec<AccessKeyFacts>, AwsError>>,
    Option<Result<Option<LoginProfileFacts>, AwsError>>,
);

/// The user, its keys (when a key is to be deactivated), its console password (when it is to go).
async fn read_user<I: IamPorts>(iam: &I, user: &str, keys: bool, login: bool) -> UserRead {
    futures::join!(
        iam.user(user),
        async {
            match keys {
                true => Some(iam.access_keys(user).await),
                false => None,
            }
        },
        async {
            match login {
                true => Some(iam.login_profile(user).await),
                false => None,
            }
        }
    )
}

pub(super) async fn revoke_user<I: IamPorts>(
    iam: &I,
    r: Request<'_>,
    user: &str,
    key: Option<&str>,
    remove_login: bool,
) -> Execution {
    // Round 1: the user (exists? exempt?), its keys, its console password.
    let (facts, keys, login) = read_user(iam, user, key.is_some(), remove_login).await;
    if let Some(skipped) = principal_gate(r, "IAM user", user, &facts) {
        return skipped;
    }
    let facts = facts.ok().flatten();
    let existing_login = login.as_ref().and_then(|l| l.clone().ok().flatten());
    let cutoff = r.clock.cutoff();

    // Round 2: the key off, older sessions denied, and the password recorded before it goes.
    let holder = Holder::User(user);
    let (deactivated, denied, recorded) = futures::join!(
        async {
            match key {
                Some(key) => Some(access_key::deactivate(iam, user, key, keys.as_ref()).await),
                None => None,
            }
        },
        holder.deny(iam, &cutoff, r.clock),
        login_profile::record(iam, user, existing_login.as_ref())
    );

    // Round 3: the console password, recorded or not (the record is also in the notification).
    let removed_login = match remove_login {
        true => Some(
            login_profile::remove(iam, user, facts.as_ref(), login.as_ref(), recorded.as_ref())
                .await,
        ),
        false => None,
    };

    // Round 4: move the cutoff past the steps that closed a way to new sessions, and tag the user.
    let closed = succeeded(&deactivated) || succeeded(&removed_login);
    let denied = holder
        .settle(iam, denied, closed, r.clock, r.deadline)
        .await;
    let revoked = holder.revoked(&denied);
    let cutoff = in_force(&denied, cutoff);
    let deactivated_key = key
        .filter(|_| succeeded(&deactivated))
        .map(|k| tags::pair(&tags::deactivated_key(k), &r.incident.finding_id));
    let mut outcomes: Vec<Outcome> = deactivated.into_iter().collect();
    outcomes.push(revoked);
    outcomes.extend(removed_login.clone());
    let (ok, tagged, told) = conclude(
        iam,
        r,
        holder,
        facts.as_ref(),
        &outcomes,
        &cutoff,
        deactivated_key.into_iter().collect(),
    )
    .await;
    outcomes.push(tagged);
    let password_removed = removed_login.map(|o| o.status) == Some(Status::Succeeded);
    Execution {
        completed: Some(ok),
        outcomes,
        undo: user_undo(
            user,
            key,
            &cutoff,
            password_removed.then_some(existing_login.as_ref()),
        ),
        warnings: tampering(user, facts.as_ref()),
        told: Some(told),
        ..Execution::default()
    }
}

/// How to undo a user's revocation, one command a line. `password`: `Some` when it was removed
/// (with what it was, when known).
fn user_undo(
    user: &str,
    key: Option<&str>,
    cutoff: &str,
    password: Option<Option<&LoginProfileFacts>>,
) -> Vec<String> {
    let mut undo = Vec::new();
    if let Some(key) = key {
        undo.push(access_key::undo_command(user, key));
    }
    undo.push(
        Command::new("aws iam delete-user-policy")
            .arg("--user-name", shell::IAM_USER, user)
            .arg("--policy-name", shell::IAM_POLICY, tags::USER_REVOKE_POLICY)
            .or_note(|c| {
                format!(
                    "{c}   (re-enables the user's sessions issued before {cutoff}: wait until they \
                     expire, at most 36 h)"
                )
            }),
    );
    if let Some(existing) = password {
        undo.push(login_profile::undo_command(user, existing));
    }
    let list_tags =
        Command::new("aws iam list-user-tags").arg("--user-name", shell::IAM_USER, user);
    undo.push(format!(
        "then remove the user's firebreak:* tags: {}",
        list_tags.or_note(|c| c)
    ));
    undo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::testing::{assert_pasteable, HOSTILE};

    const CUTOFF: &str = "2026-11-30T03:00:00Z";

    /// The undo lines as the notification prints them.
    fn text(lines: Vec<String>) -> String {
        lines.iter().map(|l| format!("  {l}\n")).collect()
    }

    fn user(user: &str, key: &str, created: &str) -> String {
        let login = LoginProfileFacts {
            created: created.into(),
            password_reset_required: true,
        };
        text(user_undo(user, Some(key), CUTOFF, Some(Some(&login))))
    }

    #[test]
    fn a_user_s_undo_prints_only_a_valid_user_and_key() {
        let (name, key, created) = ("alice", "AKIAIOSFODNN7EXAMPLE", "2026-01-02T03:04:05Z");
        let ordinary = user(name, key, created);
        for needle in [
            "  aws iam update-access-key --user-name alice --access-key-id AKIAIOSFODNN7EXAMPLE \
             --status Active   (better: create a new key for the user and delete AKIAIOSFODNN7EXAMPLE)\n",
            "  aws iam delete-user-policy --user-name alice --policy-name \
             FirebreakRevokeOlderSessions   (re-enables the user's sessions issued before \
             2026-11-30T03:00:00Z: wait until they expire, at most 36 h)\n",
            "  aws iam create-login-profile --user-name alice --password-reset-required --password \
             '<new temporary password>'   (the old password cannot be restored; it existed since \
             2026-01-02T03:04:05Z, reset required: true)\n",
            "  then remove the user's firebreak:* tags: aws iam list-user-tags --user-name alice\n",
        ] {
            assert!(ordinary.contains(needle), "{needle}\nnot in\n{ordinary}");
        }
        assert_eq!(crate::shell::testing::check(&ordinary), Ok(4));
        for hostile in HOSTILE.iter().chain(&["bob`id`", "a b"]) {
            let by_user = user(hostile, key, created);
            assert_eq!(by_user.matches("(not printed: ").count(), 4, "{by_user}");
            assert_pasteable(&by_user, &ordinary);
            let by_key = user(name, hostile, created);
            assert_eq!(by_key.matches("(not printed: ").count(), 1, "{by_key}");
            assert_pasteable(&by_key, &ordinary);
            assert_pasteable(&user(name, key, hostile), &ordinary);
        }
    }
}
