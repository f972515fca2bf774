//! `revoke-user-sessions`, `revoke-role-sessions` and `revoke-instance-sessions`: an inline policy
//! denying every session issued before a cutoff, written on the user or the role (the [`Holder`]) —
//! for one instance's stolen credentials, only the sessions the role issued to that instance, in
//! the policy of the minute shared by every instance revoked in it (`denies.rs`) — the cutoff moved
//! past each step that closes a way to new sessions; and `tag-principal`, the holder tagged with
//! what was done.
//!
//! Every write is merged with what the principal holds and sized first against IAM's quota on its
//! inline policies. An instance's deny that does not fit becomes the role-wide one
//! (`AWSRevokeOlderSessions`), said so in the outcome and the notification. Concurrent revocations
//! of one role may each write the minute's policy from what they read: each reads it back after a
//! while and writes its instance again until it is there ([`Holder::settle`]). An instance with no
//! profile any more keeps the deny the role holds (a redelivery writes nothing); one with a
//! profile again moves to the current minute. When the principal's policies cannot be read, the
//! deny is written as earlier versions wrote it (an instance's: a policy of its own).
//! No automatic undo: deleting a policy would re-enable the stolen sessions (the notification
//! prints the command, with when it is safe); Firebreak prunes a policy itself once every
//! credential it covers has expired.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, UNIX_EPOCH};

use tokio::time::Instant;

use crate::actions::registry::ActionKind;
use crate::clock::{epoch_seconds, Clock};
use crate::denies::{self, Changes, Instance, NoRoom};
use crate::error::AwsError;
use crate::incident::Incident;
use crate::outcome::{Outcome, Status};
use crate::ports::{InlinePoliciesPort, PrincipalFacts, PrincipalsPort};
use crate::tags;

/// How long a revocation waits after writing an instance's minute policy before reading it back:
/// a concurrent revocation of the role that read the policy before this write, and so may write a
/// version without this instance, takes a few calls to write it, well within this (plus a jitter
/// per instance, so that the writes again do not collide). IAM has no conditional write.
pub const SETTLE: Duration = Duration::from_millis(1000);
/// How many times an instance's deny is read back and written again at most.
pub const CONFIRM_ATTEMPTS: u32 = 8;
/// What the read-back leaves of the incident's deadline for the steps after it.
const CONFIRM_RESERVE: Duration = Duration::from_secs(3);

/// The sessions of a role issued to one instance.
#[derive(Clone, Copy)]
pub struct InstanceSessions<'a> {
    /// The role.
    pub role: &'a str,
    /// The instance.
    pub instance_id: &'a str,
    /// Its ARN.
    pub instance_arn: &'a str,
    /// Whether it may have fetched credentials of the role since an earlier deny: a profile is
    /// attached to it now, or that is unknown. When not, a deny the role already holds stands.
    pub fresh: bool,
}

/// Whose older sessions a deny policy cuts off: the one place the user and role paths differ in
/// writing the policy, reporting it, moving its cutoff and tagging the principal.
#[derive(Clone, Copy)]
pub enum Holder<'a> {
    /// An IAM user.
    User(&'a str),
    /// A role: every session of it.
    Role(&'a str),
    /// A role's sessions issued to one instance.
    Instance(InstanceSessions<'a>),
}

/// The deny in force after a revocation's writes.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The policy that denies the sessions.
    pub policy: String,
    /// Its cutoff.
    pub cutoff: String,
    /// Set when an instance's deny did not fit and every session of the role is denied instead:
    /// why.
    pub widened: Option<String>,
    /// The other instances the instance's minute policy lists, when read back.
    pub others: Option<usize>,
    /// An instance's deny the role already held (nothing written).
    pub already: bool,
    /// Set when the principal's inline policies could not be read, and the deny was written
    /// without merging or sizing, as earlier versions did: why.
    pub blind: Option<String>,
    /// An instance's (cutoff minute, instance) written, until read back.
    wanted: Vec<(String, Instance)>,
    /// The earlier versions' policies its writes took over.
    retire: Vec<(String, String, Instance)>,
    /// When it was last written.
    written: Instant,
    /// Whether it was read back (or needs no read-back).
    confirmed: bool,
}

impl Denial {
    /// A deny written with `policy` and `cutoff`, nothing to read back.
    pub fn written(policy: &str, cutoff: &str) -> Denial {
        Denial {
            policy: policy.to_string(),
            cutoff: cutoff.to_string(),
            widened: None,
            others: None,
            already: false,
            blind: None,
            wanted: Vec::new(),
            retire: Vec::new(),
            written: Instant::now(),
            confirmed: true,
        }
    }
}

/// Why no deny is in force.
#[derive(Debug, Clone)]
pub enum Refused {
    /// An AWS call failed.
    Aws(AwsError),
    /// The deny does not fit in the principal's inline policies.
    NoRoom(NoRoom),
    /// The finding's instance cannot go into a policy.
    Invalid(String),
    /// Written, and replaced by concurrent revocations each time it was read back.
    Unconfirmed(String),
}

/// A user or a role, for the inline-policy calls.
#[derive(Clone, Copy)]
enum Principal<'a> {
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
    async fn apply<I: PrincipalsPort>(self, iam: &I, changes: &Changes) -> Result<(), Refused> {
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
fn epoch(clock: &dyn Clock) -> i64 {
    clock
        .now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

/// Denies every session of `principal` issued before `cutoff` with its policy `name` (never
/// moving an earlier revocation's cutoff back).
async fn deny_older<I: PrincipalsPort + InlinePoliciesPort>(
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
async fn blind<I: PrincipalsPort>(
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
async fn add_instances<I: PrincipalsPort + InlinePoliciesPort>(
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

/// Once an instance's deny is read back: its earlier entries in older minutes' policies, and the
/// earlier versions' policies it took over, removed (a failure only costs room).
async fn tidy<I: PrincipalsPort>(iam: &I, role: &str, policies: &[(String, String)], d: &Denial) {
    let superseded = denies::superseded(policies, &d.wanted);
    let _ = Principal::Role(role).apply(iam, &superseded).await;
    let retire = d
        .retire
        .iter()
        .filter(|(_, c, i)| denies::denies(policies, c, i));
    let retired = retire.map(|(name, ..)| iam.delete_role_policy(role, name));
    futures::future::join_all(retired).await;
}

/// A jitter of up to a second, different for each instance and attempt.
fn jitter(id: &str, attempt: u32) -> Duration {
    let mut h = DefaultHasher::new();
    (id, attempt).hash(&mut h);
    Duration::from_millis(h.finish() % 1000)
}

impl<'a> Holder<'a> {
    /// The user or role name.
    pub fn name(self) -> &'a str {
        match self {
            Holder::User(n) | Holder::Role(n) => n,
            Holder::Instance(i) => i.role,
        }
    }

    fn action(self) -> ActionKind {
        match self {
            Holder::User(_) => ActionKind::RevokeUserSessions,
            Holder::Role(_) => ActionKind::RevokeRoleSessions,
            Holder::Instance(_) => ActionKind::RevokeInstanceSessions,
        }
    }

    /// Writes the deny with `cutoff` (an instance's: with the end of its minute).
    pub async fn deny<I: PrincipalsPort + InlinePoliciesPort>(
        self,
        iam: &I,
        cutoff: &str,
        clock: &dyn Clock,
    ) -> Result<Denial, Refused> {
        match self {
            Holder::User(n) => {
                deny_older(
                    iam,
                    Principal::User(n),
                    tags::USER_REVOKE_POLICY,
                    cutoff,
                    clock,
                )
                .await
            }
            Holder::Role(n) => {
                deny_older(
                    iam,
                    Principal::Role(n),
                    tags::ROLE_REVOKE_POLICY,
                    cutoff,
                    clock,
                )
                .await
            }
            Holder::Instance(i) => {
                let Some(instance) = Instance::new(i.instance_id, i.instance_arn) else {
                    return Err(Refused::Invalid(format!(
                        "{:?} is not an instance id whose sessions a policy can name",
                        i.instance_id
                    )));
                };
                let policies = match iam.role_policies(i.role).await {
                    Ok(p) => p,
                    Err(e) => {
                        // Its minute's end, as a minute's policy would have: past the detachment.
                        let minute = denies::minute_after(cutoff);
                        let minute = minute.as_deref().unwrap_or(cutoff);
                        let name = tags::instance_revoke_policy(i.instance_id);
                        let document = denies::single_document(minute, &instance);
                        let role = Principal::Role(i.role);
                        let added = blind(iam, role, &name, &document, minute, e).await;
                        return self.widen_if_no_room(iam, added, cutoff, clock).await;
                    }
                };
                if let (false, Some((policy, earlier))) = (
                    i.fresh,
                    denies::denied_by(&policies, &instance, epoch(clock)),
                ) {
                    let held = Denial::written(&policy, &earlier);
                    return Ok(Denial {
                        already: true,
                        ..held
                    });
                }
                let minute = denies::minute_after(cutoff).unwrap_or_else(|| cutoff.to_string());
                let wanted = vec![(minute, instance)];
                let added = add_instances(iam, i.role, wanted, Some(policies), clock).await;
                self.widen_if_no_room(iam, added, cutoff, clock).await
            }
        }
    }

    /// An instance's deny that does not fit: every session of the role denied before `cutoff`
    /// instead.
    async fn widen_if_no_room<I: PrincipalsPort + InlinePoliciesPort>(
        self,
        iam: &I,
        added: Result<Denial, Refused>,
        cutoff: &str,
        clock: &dyn Clock,
    ) -> Result<Denial, Refused> {
        let (Err(Refused::NoRoom(no_room)), Holder::Instance(i)) = (&added, self) else {
            return added;
        };
        let role = Principal::Role(i.role);
        let mut whole = deny_older(iam, role, tags::ROLE_REVOKE_POLICY, cutoff, clock).await?;
        whole.widened = Some(format!(
            "the role has no room for a deny of instance {}'s sessions alone: {no_room}",
            i.instance_id
        ));
        Ok(whole)
    }

    /// Round 4 of a revocation: the cutoff moved past a step that closed a way to new sessions
    /// (`closed`), and an instance's deny read back until it is there (written again while a
    /// concurrent revocation of the role replaced it), the earlier versions' policies it took over
    /// then removed. Stops short of `deadline`.
    pub async fn settle<I: PrincipalsPort + InlinePoliciesPort>(
        self,
        iam: &I,
        denial: Result<Denial, Refused>,
        closed: bool,
        clock: &dyn Clock,
        deadline: Instant,
    ) -> Result<Denial, Refused> {
        let Ok(mut d) = denial else {
            return denial;
        };
        let later = clock.cutoff();
        match (self, d.confirmed) {
            // An instance's deny the role already held: nothing of it to move.
            (Holder::Instance(_), true) if d.widened.is_none() => Ok(d),
            (_, true) if closed => {
                // The first policy stands if this fails; only the moments after it are not covered.
                let principal = match self {
                    Holder::User(n) => Principal::User(n),
                    _ => Principal::Role(self.name()),
                };
                let policy = d.policy.clone();
                match deny_older(iam, principal, &policy, &later, clock).await {
                    Ok(moved) => Ok(Denial {
                        widened: d.widened,
                        ..moved
                    }),
                    Err(_) => Ok(d),
                }
            }
            (Holder::Instance(i), false) => {
                // Past the minute already (a slow response): the instance goes into the next one.
                let past = epoch_seconds(&later) > epoch_seconds(&d.cutoff);
                if let (true, true, Some(minute)) = (closed, past, denies::minute_after(&later)) {
                    let instance = d.wanted[0].1.clone();
                    d.wanted.push((minute.clone(), instance));
                    d.policy = tags::instance_sessions_policy(&minute);
                    d.cutoff = minute;
                }
                self.confirm(iam, d, i.instance_id, clock, deadline).await
            }
            _ => Ok(d),
        }
    }

    /// Reads an instance's deny back after [`SETTLE`] and writes it again until it is there.
    async fn confirm<I: PrincipalsPort + InlinePoliciesPort>(
        self,
        iam: &I,
        mut d: Denial,
        id: &str,
        clock: &dyn Clock,
        deadline: Instant,
    ) -> Result<Denial, Refused> {
        let role = self.name();
        let mut read = false;
        for attempt in 0..CONFIRM_ATTEMPTS {
            let at = d.written + SETTLE + jitter(id, attempt);
            if at + CONFIRM_RESERVE > deadline {
                break;
            }
            tokio::time::sleep_until(at).await;
            let Ok(policies) = iam.role_policies(role).await else {
                continue;
            };
            read = true;
            if d.wanted
                .iter()
                .all(|(c, i)| denies::denies(&policies, c, i))
            {
                tidy(iam, role, &policies, &d).await;
                let minute = denies::minute_of(&policies, &d.cutoff);
                d.others = minute.map(|m| m.len().saturating_sub(1));
                d.confirmed = true;
                return Ok(d);
            }
            let wanted = d.wanted.clone();
            let added = add_instances(iam, role, wanted, Some(policies), clock).await;
            let cutoff = clock.cutoff();
            match self.widen_if_no_room(iam, added, &cutoff, clock).await? {
                w if w.widened.is_some() => return Ok(w),
                next => {
                    d = Denial {
                        policy: d.policy,
                        cutoff: d.cutoff,
                        ..next
                    }
                }
            }
        }
        Err(Refused::Unconfirmed(match read {
            true => format!(
                "written, but not found again when read back (other revocations of role {role} \
                 replaced it): the retry writes it again"
            ),
            false => "written, not read back before the deadline: the retry checks it".into(),
        }))
    }

    /// The outcome of the deny.
    pub fn revoked(self, denial: &Result<Denial, Refused>) -> Outcome {
        let failure = match self {
            Holder::User(_) => "could not deny the user's older sessions",
            Holder::Role(_) => "could not revoke the role's sessions",
            Holder::Instance(_) => "could not revoke the role's sessions of the instance",
        };
        let (action, name) = (self.action(), self.name());
        let d = match denial {
            Ok(d) => d,
            Err(Refused::Aws(e)) => return Outcome::failed(action, name, failure, e),
            Err(Refused::NoRoom(n)) => {
                return Outcome::refused(
                    action,
                    name,
                    format!("{failure}: no room for the deny: {n}"),
                )
            }
            Err(Refused::Invalid(why) | Refused::Unconfirmed(why)) => {
                return Outcome::refused(action, name, format!("{failure}: {why}"))
            }
        };
        if let (true, Holder::Instance(i)) = (d.already, self) {
            let why = format!(
                "{} already denies the sessions of instance {} issued before {}, and no profile \
                 is attached to it since",
                d.policy, i.instance_id, d.cutoff
            );
            return Outcome::new(action, name, Status::AlreadyDone, why);
        }
        let detail = match (self, &d.widened) {
            (Holder::Instance(_), Some(why)) => format!(
                "{why}; {} denies EVERY session of the role issued before {} instead",
                d.policy, d.cutoff
            ),
            (Holder::Instance(i), None) => format!(
                "{} denies the sessions of instance {} issued before {}",
                d.policy, i.instance_id, d.cutoff
            ),
            _ => format!(
                "{} denies every session issued before {}",
                d.policy, d.cutoff
            ),
        };
        let detail = match &d.blind {
            Some(note) => format!("{detail} ({note})"),
            None => detail,
        };
        Outcome::new(action, name, Status::Succeeded, detail)
    }

    /// Tags the principal with the status, the cutoff, the finding (unless an earlier one is
    /// recorded) and `extra`.
    pub async fn tag<I: PrincipalsPort>(
        self,
        iam: &I,
        facts: Option<&PrincipalFacts>,
        incident: &Incident,
        status: &str,
        cutoff: &str,
        extra: Vec<(String, String)>,
    ) -> Outcome {
        let mut add = vec![
            tags::pair(tags::STATUS, status),
            tags::pair(tags::REVOKED_BEFORE, cutoff),
        ];
        if facts.and_then(|f| f.tag(tags::FINDING)).is_none() {
            add.push(tags::pair(tags::FINDING, &incident.finding_id));
        }
        add.extend(extra);
        let (tagged, failure) = match self {
            Holder::User(n) => (iam.tag_user(n, &add).await, "could not tag the user"),
            Holder::Role(n) | Holder::Instance(InstanceSessions { role: n, .. }) => {
                (iam.tag_role(n, &add).await, "could not tag the role")
            }
        };
        match tagged {
            Ok(()) => Outcome::new(
                ActionKind::TagPrincipal,
                self.name(),
                Status::Succeeded,
                format!(
                    "tagged {}",
                    add.iter()
                        .map(|(k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(e) => Outcome::failed(ActionKind::TagPrincipal, self.name(), failure, &e),
        }
    }
}
