//! Round 4 of a revocation: the cutoff moved past the steps that closed a way to new sessions, and
//! an instance's deny read back until it is there, then tidied.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use crate::actions::sessions::principal::{add_instances, deny_older, Principal};
use crate::actions::sessions::{
    Denial, Holder, Refused, CONFIRM_ATTEMPTS, CONFIRM_RESERVE, SETTLE,
};
use crate::clock::{epoch_seconds, Clock};
use crate::denies;
use crate::ports::{InlinePoliciesPort, PrincipalsPort};
use crate::tags;

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
}
