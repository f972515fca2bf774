//! The deny written for a [`Holder`]: a user's or a role's older sessions, or a role's sessions
//! issued to one instance in its minute's policy (the role-wide deny when that does not fit).

use crate::actions::sessions::principal::{add_instances, blind, deny_older, epoch, Principal};
use crate::actions::sessions::{Denial, Holder, Refused};
use crate::clock::Clock;
use crate::denies::{self, Instance};
use crate::ports::{InlinePoliciesPort, PrincipalsPort};
use crate::tags;

impl<'a> Holder<'a> {
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
    pub(super) async fn widen_if_no_room<I: PrincipalsPort + InlinePoliciesPort>(
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
}
