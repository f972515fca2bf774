//! Carries out a plan about an S3 bucket or object, in rounds: (1) the bucket's tags, Block
//! Public Access settings and policy read; (2) the records written on it (S3 replaces the whole
//! tag set); (3) Block Public Access on and the malware statement added, at once. The caller's
//! sessions, when the plan revokes them, are revoked beside it (`execute/credentials.rs`). And the
//! undo (`FbRelease`): what is recorded given back, then the records removed.

use crate::actions::bucket;
use crate::actions::registry::ActionKind;
use crate::clock::Clock;
use crate::error::AwsError;
use crate::execute::{credentials, each_planned, not_released, released, Request};
use crate::incident::{tag_value, BucketRef};
use crate::outcome::{Execution, Outcome, Status};
use crate::plan::{Action, Plan};
use crate::ports::{BucketsPort, IamPorts, InstancesPort, ProfilesPort, PublicAccessBlock};
use crate::records::{self, Budget};
use crate::tags;

type Tags = Vec<(String, String)>;

/// The tag set with `write` merged in (a key written is replaced; an empty value removes it).
fn merged(present: &Tags, write: &[(String, String)]) -> Tags {
    let mut out: Tags = present
        .iter()
        .filter(|(k, _)| !write.iter().any(|(w, _)| w == k))
        .cloned()
        .collect();
    out.extend(write.iter().filter(|(_, v)| !v.is_empty()).cloned());
    out
}

/// The bucket's own actions (the caller's revocation is the credentials scheduler's).
fn of_the_bucket(k: ActionKind) -> bool {
    matches!(
        k,
        ActionKind::BlockPublicAccess | ActionKind::DenyMalwareReads
    )
}

/// Contains the bucket (and revokes the caller's sessions, when the plan says so).
pub async fn run<S: BucketsPort, I: IamPorts, E: InstancesPort + ProfilesPort>(
    s: &S,
    iam: &I,
    ec2: &E,
    r: Request<'_>,
    b: &BucketRef,
) -> Execution {
    let credential_plan = Plan {
        actions: r
            .plan
            .actions
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    Action::RevokeUserSessions { .. } | Action::RevokeRoleSessions { .. }
                )
            })
            .cloned()
            .collect(),
        ..r.plan.clone()
    };
    let caller = async {
        match credential_plan.actions.is_empty() {
            true => Execution::default(),
            false => {
                let sub = Request {
                    plan: &credential_plan,
                    ..r
                };
                credentials::run(iam, ec2, sub).await
            }
        }
    };
    // The bucket first: an exempt, gone or unreadable bucket stops the caller's revocation too.
    let (mut done, caller) = match contain(s, &r, b).await {
        Ok(done) => (done, caller.await),
        Err(ended) => (ended, Execution::default()),
    };
    done.completed = match (done.completed, caller.completed) {
        (Some(a), Some(b)) => Some(a && b),
        (a, b) => a.or(b),
    };
    done.outcomes.extend(caller.outcomes);
    done.undo.extend(caller.undo);
    done.warnings.extend(caller.warnings);
    done
}

/// Round 1: the bucket's tags, and its settings and policy when the plan changes them; or the
/// execution that ends there (gone, unreadable, exempt).
async fn read<S: BucketsPort>(
    s: &S,
    r: &Request<'_>,
    b: &BucketRef,
    block: bool,
    deny: bool,
) -> Result<(Tags, Option<PublicAccessBlock>, Option<String>), Execution> {
    let name = b.name.as_str();
    let (tags, settings, policy) = futures::join!(
        s.bucket_tags(name),
        async {
            match block {
                true => s.public_access_block(name).await,
                false => Ok(None),
            }
        },
        async {
            match deny {
                true => s.bucket_policy(name).await,
                false => Ok(None),
            }
        }
    );
    let unreadable = |e: AwsError| {
        each_planned(
            r,
            &b.name,
            of_the_bucket,
            Status::Failed,
            &format!("could not read the bucket: {e}"),
        )
    };
    let tags = match tags {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Err(each_planned(
                r,
                &b.name,
                of_the_bucket,
                Status::Skipped,
                "the bucket no longer exists",
            ))
        }
        Err(e) => return Err(unreadable(e)),
    };
    if tag_value(&tags, r.exempt_tag) == Some("true") {
        let why = format!("the bucket is tagged {}=true", r.exempt_tag);
        return Err(each_planned(
            r,
            &b.name,
            of_the_bucket,
            Status::Skipped,
            &why,
        ));
    }
    match (settings, policy) {
        (Ok(settings), Ok(policy)) => Ok((tags, settings, policy)),
        (Err(e), _) | (_, Err(e)) => Err(unreadable(e)),
    }
}

/// The bucket's own rounds.
/// `Err` when it ended at the read (gone, unreadable, exempt): nothing else is done then.
async fn contain<S: BucketsPort>(
    s: &S,
    r: &Request<'_>,
    b: &BucketRef,
) -> Result<Execution, Execution> {
    let name = b.name.as_str();
    let block = r.plan.has(ActionKind::BlockPublicAccess);
    let readers = match r.plan.find(ActionKind::DenyMalwareReads) {
        Some(Action::DenyMalwareReads { readers, .. }) => Some(readers.clone()),
        _ => None,
    };
    if !block && readers.is_none() {
        return Ok(Execution::default());
    }
    // Round 1: tags, settings, policy.
    let (tags, settings, policy) = match read(s, r, b, block, readers.is_some()).await {
        Ok(read) => read,
        Err(ended) => return Err(ended),
    };
    // Round 2: the records (and the finding), in one tag set.
    let mut write = vec![(tags::FINDING.to_string(), r.incident.finding_id.clone())];
    if block {
        write.extend(bucket::block_record(&tags, settings));
    }
    if readers.is_some() && tag_value(&tags, tags::MALWARE_DENY).is_none() {
        let had = if policy.is_some() { "existing" } else { "new" };
        let value = format!("{} policy={had}", r.clock.rfc3339());
        write.push((tags::MALWARE_DENY.to_string(), value));
    }
    let budget = Budget::new(records::counted(&tags), 0);
    let present = &tags;
    let unrecorded = budget
        .record(present, write, |w| async move {
            s.put_bucket_tags(name, &merged(present, &w)).await
        })
        .await;
    // Round 3: the changes.
    let key = b.object_key.as_deref();
    let statement =
        readers.map(|rd| bucket::malware_statements(&r.incident.partition, name, key, &rd));
    let (blocked, denied) = futures::join!(
        async {
            match block {
                true => Some(bucket::block(s, name, settings).await),
                false => None,
            }
        },
        async {
            match statement {
                Some(st) => Some(bucket::deny(s, name, policy.as_deref(), st).await),
                None => None,
            }
        }
    );
    let mut outcomes: Vec<Outcome> = [blocked, denied].into_iter().flatten().collect();
    if let Some(why) = unrecorded {
        for o in outcomes
            .iter_mut()
            .filter(|o| o.status == Status::Succeeded)
        {
            let before = format!("Block Public Access was {}", bucket::block_token(settings));
            *o = o.clone().unrecorded(before, &why);
        }
    }
    Ok(Execution {
        completed: Some(outcomes.iter().all(Outcome::is_ok)),
        outcomes,
        ..Execution::default()
    })
}

/// The undo (`FbRelease`), of what the finding's kind did: for a bucket, Block Public Access as
/// recorded; for an object, Firebreak's malware statements removed (a bucket locked for another
/// finding stays locked); then the records removed.
pub async fn release<S: BucketsPort>(s: &S, b: &BucketRef, clock: &dyn Clock) -> Execution {
    let kind = ActionKind::ReleaseBucket;
    let name = b.name.as_str();
    let tags = match s.bucket_tags(name).await {
        Ok(Some(t)) => t,
        read => return not_released(kind, name, read.err()),
    };
    let object = b.object_key.is_some();
    let (blocked, denied) = match object {
        false => (bucket::restore_block(s, name, &tags).await, None),
        true => (None, bucket::remove_statement(s, name).await),
    };
    let restored = |o: &Option<Outcome>| o.as_ref().is_none_or(Outcome::is_ok);
    let mut remove = Vec::new();
    if !object && restored(&blocked) {
        remove.push(tags::PUBLIC_ACCESS_BLOCK);
    }
    if object && restored(&denied) {
        remove.push(tags::MALWARE_DENY);
    }
    let outcomes: Vec<Outcome> = [blocked, denied].into_iter().flatten().collect();
    let ok = outcomes.iter().all(Outcome::is_ok);
    if ok {
        remove.push(tags::FINDING);
    }
    let mut write: Tags = remove
        .iter()
        .map(|k| (k.to_string(), String::new()))
        .collect();
    if ok {
        write.push((tags::RELEASED_AT.to_string(), clock.rfc3339()));
    }
    let written = s.put_bucket_tags(name, &merged(&tags, &write)).await;
    released(kind, name, outcomes, written)
}
