//! The deny-older-sessions policies as IAM holds them, and what one revocation changes in them.
//!
//! IAM caps the sum of a principal's inline policy documents (IAM User Guide, "IAM and AWS STS
//! quotas": 10,240 characters for a role, 2,048 for a user, white space not counted) and answers
//! `LimitExceeded` past it. A policy per revoked instance fills a fleet's shared role after about
//! twenty revocations, so the role's stolen sessions are denied per *minute*: every instance
//! revoked within the same minute is listed in one policy whose cutoff is the end of that minute
//! ([`Minute`]). A revocation reads what the principal holds, merges its instance into the
//! minute's policy, takes over the instances of the earlier per-instance policies while there is
//! room ([`add_instances`]), prunes what denies nothing any more (a cutoff older than the longest
//! a temporary credential lasts), and counts the result as IAM does before writing anything: what
//! does not fit is [`NoRoom`], for the caller to deny the role's every session instead
//! ([`deny_older`]).
//!
//! `cutoff.rs`: a cutoff's minute and when it expires; `document.rs`: the statements read, and the
//! role-wide deny; `instance.rs`: an instance, and the per-instance policy of earlier versions;
//! `minute.rs`: the minute's policy; `held.rs`: what a principal holds and whether it denies an
//! instance; `change.rs`: what a revocation changes; `size.rs`: IAM's count and [`NoRoom`]. All are
//! re-exported here (`crate::denies::X`).

mod change;
mod cutoff;
mod document;
#[cfg(test)]
mod fixtures;
mod held;
mod instance;
mod minute;
mod size;

pub use change::{add_instances, deny_older, superseded, Changes};
pub use cutoff::{expired, minute_after, LONGEST_CREDENTIAL_SECONDS, MINUTE_SECONDS, SKEW_SECONDS};
pub use document::{cutoff_of, older_sessions};
pub use held::{denied_by, denies, minute_of};
pub use instance::{single_document, Instance};
pub use minute::Minute;
pub use size::{iam_size, NoRoom, ROLE_QUOTA, USER_QUOTA};
