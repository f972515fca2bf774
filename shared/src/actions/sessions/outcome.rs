//! The outcome of a revocation.

use crate::actions::sessions::{Denial, Holder, Refused};
use crate::outcome::{Outcome, Status};

impl<'a> Holder<'a> {
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
}
