//! A user or a role, for the inline-policy calls: the principal's policies read, a deny merged and
//! sized (`denies/`) and written, or written blind when they cannot be read.

use std::time::UNIX_EPOCH;

use tokio::time::Instant;

use crate::actions::sessions::{Denial, Refused};
use crate::clock::Clock;
use crate::denies::{self, Changes, Instance, NoRoom};
use crate::error::AwsError;
use crate::ports::{InlinePoliciesPort, PrincipalsPort};
use crate::tags;

/// A user or a role, for the inline-policy calls.
#[derive(Clone, Copy)]
pub(super) enum Principal<'a> {
    User(&'a str),
    Role(&'a str),
}

impl Principal<'_> {
    fn quota(self) -> usize {
        match self {
            Principal::User(_) => denies::USER_QUOTA,
            Principal::Role(_) => denies::ROLE_QUOTA,
        }
    }

    async fn policies<I: InlinePoliciesPort>(
        self,
        iam: &I,
    ) -> Result<Vec<(String, String)>, AwsError> {
        match self {
            Principal::User(n) => iam.user_policies(n).await,
            Principal::Role(n) => iam.role_policies(n).await,
        }
    }

    /// Prunes (a role's; a failure only costs room), then writes every policy of `changes`.
    pub(super) async fn apply<I: PrincipalsPort>(
        self,
        iam: &I,
        changes: &Changes,
    ) -> Result<(), Refused> {
        if let Principal::Role(role) = self {
            let prune = changes
                .prune
                .iter()
                .map(|p| iam.delete_role_policy(role, p));
            futures::future::join_all(prune).await;
        }
        let puts = changes.put.iter().map(|(name, document)| match self {
            Principal::User(n) => {
                futures::future::Either::Left(iam.put_user_policy(n, name, document))
            }
            Principal::Role(n) => {
                futures::future::Either::Right(iam.put_role_policy(n, name, document))
            }
        });
        let written = futures::future::join_all(puts).await;
        match written.into_iter().find_map(Result::err) {
            None => Ok(()),
            // IAM counted more than Firebreak did: the same as no room.
            Some(e) if e.code.as_deref() == Some("LimitExceeded") => Err(Refused::NoRoom(NoRoom {
                needed: changes.peak.max(self.quota() + 1),
                quota: self.quota(),
            })),
            Some(e) => Err(Refused::Aws(e)),
        }
    }
}

/// Seconds since the epoch, now.
pub(super) fn epoch(clock: &dyn Clock) -> i64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

/// Denies every session of `principal` issued before `cutoff` with its policy `name` (never
/// moving an earlier revocation's cutoff back).
pub(super) async fn deny_older<I: PrincipalsPort + InlinePoliciesPort>(
    iam: &I,
    principal: Principal<'_>,
    name: &str,
    cutoff: &str,
    clock: &dyn Clock,
) -> Result<Denial, Refused> {
    let policies = match principal.policies(iam).await {
        Ok(p) => p,
        Err(e) => {
            return blind(
                iam,
                principal,
                name,
                &denies::older_sessions(cutoff),
                cutoff,
                e,
            )
            .await
        }
    };
    let quota = principal.quota();
    let (changes, in_force) = denies::deny_older(&policies, name, cutoff, epoch(clock), quota)
        .map_err(Refused::NoRoom)?;
    principal.apply(iam, &changes).await?;
    Ok(Denial::written(name, &in_force))
}

/// Writes `document` as `name` without reading what the principal holds (it could not be read:
/// `why`), as earlier versions did.
pub(super) async fn blind<I: PrincipalsPort>(
    iam: &I,
    principal: Principal<'_>,
    name: &str,
    document: &str,
    cutoff: &str,
    why: AwsError,
) -> Result<Denial, Refused> {
    let put = Changes {
        put: vec![(name.to_string(), document.to_string())],
        ..Changes::default()
    };
    principal.apply(iam, &put).await?;
    let note =
        format!("its inline policies could not be read ({why}): written without merging or sizing");
    Ok(Denial {
        blind: Some(note),
        ..Denial::written(name, cutoff)
    })
}

/// Adds `wanted` to the role's minute policies (and what they take over); [`Refused::NoRoom`]
/// when they do not fit.
pub(super) async fn add_instances<I: PrincipalsPort + InlinePoliciesPort>(
    iam: &I,
    role: &str,
    wanted: Vec<(String, Instance)>,
    policies: Option<Vec<(String, String)>>,
    clock: &dyn Clock,
) -> Result<Denial, Refused> {
    let policies = match policies {
        Some(p) => p,
        None => iam.role_policies(role).await.map_err(Refused::Aws)?,
    };
    let changes = denies::add_instances(&policies, &wanted, epoch(clock), denies::ROLE_QUOTA)
        .map_err(Refused::NoRoom)?;
    Principal::Role(role).apply(iam, &changes).await?;
    let cutoff = wanted.last().map(|(c, _)| c.clone()).unwrap_or_default();
    Ok(Denial {
        policy: tags::instance_sessions_policy(&cutoff),
        cutoff,
        widened: None,
        others: None,
        already: false,
        blind: None,
        wanted,
        retire: changes.retire,
        written: Instant::now(),
        confirmed: false,
    })
}
