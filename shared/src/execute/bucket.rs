//! Carries out a plan about an S3 bucket or object, in rounds: (1) the bucket's tags, Block
//! Public Access settings and policy read; (2) the records written on it (S3 replaces the whole
//! tag set); (3) Block Public Access on and the malware statement added, at once. The caller's
//! sessions, when the plan revokes them, are revoked beside it (`execute/credentials/`). And the
//! undo (`FbRelease`): what is recorded given back, then the records removed.

use crate::actions::bucket;
use crate::clock::Clock;
use crate::error::AwsError;
use crate::execute::{credentials, each_planned, not_released, released, Request};
use crate::incident::{tag_value, BucketRef};
use crate::kind::ActionKind;
use crate::outcome::{Execution, Marked, Outcome, Status, Told};
use crate::plan::{Action, Plan};
use crate::ports::{
    BucketTags, BucketsPort, IamPorts, InstancesPort, Ports, ProfilesPort, PublicAccessBlock,
};
use crate::records::{self, Budget};
use crate::seal;
use crate::tags;

type Tags = Vec<(String, String)>;

/// Whether the bucket carries a record under `key`, sealed or an earlier version's (which a new
/// record never overwrites: a release reports it, never restores it).
fn recorded(tags: &BucketTags, key: &str) -> bool {
    tag_value(&tags.tags, key).is_some() || tag_value(&tags.legacy, key).is_some()
}

/// The bucket's own actions (the caller's revocation is the credentials scheduler's).
fn of_the_bucket(k: ActionKind) -> bool {
    matches!(
        k,
        ActionKind::BlockPublicAccess | ActionKind::DenyMalwareReads
    )
}

/// Contains the incident's bucket (and revokes the caller's sessions, when the plan says so).
pub async fn run<E: InstancesPort + ProfilesPort, S: BucketsPort, I: IamPorts>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
) -> Execution {
    match r.incident.bucket() {
        Some(b) => lock(p, r, b).await,
        None => Execution::default(),
    }
}

/// Contains the bucket (and revokes the caller's sessions, when the plan says so).
async fn lock<E: InstancesPort + ProfilesPort, S: BucketsPort, I: IamPorts>(
    p: &Ports<'_, E, S, I>,
    r: Request<'_>,
    b: &BucketRef,
) -> Execution {
    let s = p.service;
    let credential_plan = Plan {
        actions: r
            .plan
            .actions
            .iter()
            .filter(|a| {
                matches!(
                    a.kind,
                    ActionKind::RevokeUserSessions | ActionKind::RevokeRoleSessions
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
                credentials::run(p, sub).await
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
) -> Result<(BucketTags, Option<PublicAccessBlock>, Option<String>), Execution> {
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
    if tag_value(&tags.tags, r.exempt_tag) == Some("true") {
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
    let readers = r
        .plan
        .find(ActionKind::DenyMalwareReads)
        .and_then(Action::readers)
        .map(<[String]>::to_vec);
    if !block && readers.is_none() {
        return Ok(Execution::default());
    }
    // Round 1: tags, settings, policy.
    let (tags, settings, policy) = match read(s, r, b, block, readers.is_some()).await {
        Ok(read) => read,
        Err(ended) => return Err(ended),
    };
    // Round 2: the records (and the finding), in one tag set.
    let (write, told) = to_record(
        r,
        name,
        &tags,
        settings,
        policy.is_some(),
        block,
        readers.is_some(),
    );
    // Tags Firebreak does not trust still take their place among the bucket's 50.
    let untrusted = tags.legacy.len() + tags.forged.len();
    let budget = Budget::new(records::counted(&tags.tags) + untrusted, 0);
    let present = &tags;
    let unrecorded = budget
        .record(&present.tags, write, |w| async move {
            s.put_bucket_tags(name, present, &w).await
        })
        .await;
    // Round 3: the changes.
    let key = b.object_key.as_deref();
    let variables = bucket::uses_variables(policy.as_deref());
    let statement = readers
        .map(|rd| bucket::malware_statements(&r.incident.partition, name, key, &rd, variables));
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
        warnings: tampering(name, &tags),
        told: Some(told),
        ..Execution::default()
    })
}

/// Round 2's tags: the records not yet on the bucket, and the finding record, which carries the
/// mark that the team was told (`<finding> told`): it stays only while there is nothing new to
/// record.
fn to_record(
    r: &Request<'_>,
    name: &str,
    tags: &BucketTags,
    settings: Option<PublicAccessBlock>,
    has_policy: bool,
    block: bool,
    deny: bool,
) -> (Tags, Told) {
    let mut write = Vec::new();
    if block && !recorded(tags, tags::PUBLIC_ACCESS_BLOCK) {
        write.extend(bucket::block_record(&tags.tags, settings));
    }
    if deny && !recorded(tags, tags::MALWARE_DENY) {
        let had = if has_policy { "existing" } else { "new" };
        let value = format!("{} policy={had}", r.clock.rfc3339());
        write.push((tags::MALWARE_DENY.to_string(), value));
    }
    let finding = &r.incident.finding_id;
    let told = Told {
        on: Marked::Bucket(name.to_string()),
        mark: tags::pair(tags::FINDING, tags::status::told(finding)),
        already: write.is_empty()
            && tag_value(&tags.tags, tags::FINDING).is_some_and(tags::status::is_told),
    };
    write.insert(0, (tags::FINDING.to_string(), told.written()));
    (write, told)
}

/// What the team is told of forged records on the bucket.
fn tampering(name: &str, tags: &BucketTags) -> Vec<String> {
    match tags.forged.is_empty() {
        true => Vec::new(),
        false => vec![seal::tampering(name, &tags.forged)],
    }
}

/// The undo (`FbRelease`), of what the finding's kind did: for a bucket, Block Public Access as
/// recorded (only a sealed record: an earlier version's unsealed one is reported, never restored);
/// for an object, Firebreak's malware statements removed (a bucket locked for another finding stays
/// locked); then the records removed.
pub async fn release<E, S: BucketsPort, I>(p: &Ports<'_, E, S, I>, r: Request<'_>) -> Execution {
    match r.incident.bucket() {
        Some(b) => release_it(p.service, b, r.clock).await,
        None => Execution::default(),
    }
}

async fn release_it<S: BucketsPort>(s: &S, b: &BucketRef, clock: &dyn Clock) -> Execution {
    let kind = ActionKind::ReleaseBucket;
    let name = b.name.as_str();
    let tags = match s.bucket_tags(name).await {
        Ok(Some(t)) => t,
        read => return not_released(kind, name, read.err()),
    };
    let object = b.object_key.is_some();
    let (blocked, denied) = match object {
        false => (bucket::restore_block(s, name, &tags.tags).await, None),
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
    // Only records the release read as Firebreak's: a forged one stays, as evidence, and so does an
    // unsealed Block Public Access record (the malware record and the finding only mark what the
    // facts show: Firebreak's statements are found by their Sid).
    let removable = |k: &&str| match *k {
        tags::PUBLIC_ACCESS_BLOCK => tag_value(&tags.tags, k).is_some(),
        _ => recorded(&tags, k),
    };
    let mut write: Tags = (remove.into_iter().filter(removable))
        .map(|k| (k.to_string(), String::new()))
        .collect();
    if ok {
        write.push((tags::RELEASED_AT.to_string(), clock.rfc3339()));
    }
    let written = s.put_bucket_tags(name, &tags, &write).await;
    let mut done = released(kind, name, outcomes, written);
    done.warnings = tampering(name, &tags);
    if let Some(v) = tag_value(&tags.legacy, tags::PUBLIC_ACCESS_BLOCK).filter(|_| !object) {
        let record = [(tags::PUBLIC_ACCESS_BLOCK.to_string(), v.to_string())];
        done.warnings.push(seal::unverified(name, &record));
    }
    done
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::clock::FixedClock;
    use crate::incident::{Incident, Resource, Source};

    /// One bucket; "seals" what is written (` SEALED`), as the adapter does, and keeps each tag set
    /// it is given.
    struct Fake {
        tags: BucketTags,
        block: Option<PublicAccessBlock>,
        sets: Mutex<Vec<Tags>>,
        calls: Mutex<Vec<String>>,
    }

    impl Fake {
        fn new(tags: BucketTags) -> Fake {
            Fake {
                tags,
                block: None,
                sets: Mutex::new(Vec::new()),
                calls: Mutex::new(Vec::new()),
            }
        }
        fn calls(&self) -> Vec<String> {
            self.calls.lock().unwrap().clone()
        }
        fn last_set(&self) -> Tags {
            self.sets
                .lock()
                .unwrap()
                .last()
                .cloned()
                .unwrap_or_default()
        }
    }

    impl BucketsPort for Fake {
        async fn bucket_tags(&self, _: &str) -> Result<Option<BucketTags>, AwsError> {
            Ok(Some(self.tags.clone()))
        }
        async fn put_bucket_tags(
            &self,
            _: &str,
            present: &BucketTags,
            write: &[(String, String)],
        ) -> Result<(), AwsError> {
            let sealed: Tags = (write.iter())
                .map(|(k, v)| match v.is_empty() {
                    true => (k.clone(), v.clone()),
                    false => (k.clone(), format!("{v} SEALED")),
                })
                .collect();
            self.sets.lock().unwrap().push(present.merged(&sealed));
            Ok(())
        }
        async fn public_access_block(
            &self,
            _: &str,
        ) -> Result<Option<PublicAccessBlock>, AwsError> {
            Ok(self.block)
        }
        async fn set_public_access_block(
            &self,
            _: &str,
            p: Option<PublicAccessBlock>,
        ) -> Result<(), AwsError> {
            self.calls.lock().unwrap().push(format!("block {p:?}"));
            Ok(())
        }
        async fn bucket_policy(&self, _: &str) -> Result<Option<String>, AwsError> {
            Ok(None)
        }
        async fn set_bucket_policy(&self, _: &str, _: Option<&str>) -> Result<(), AwsError> {
            self.calls.lock().unwrap().push("policy".into());
            Ok(())
        }
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    /// As the adapter reads it: `raw` holds every tag as S3 does.
    fn read(tags: &[(&str, &str)], legacy: &[(&str, &str)], forged: &[(&str, &str)]) -> BucketTags {
        let all = |t: &[(&str, &str)]| t.iter().map(|(k, v)| pair(k, v)).collect::<Tags>();
        let mut raw: Tags = all(tags)
            .into_iter()
            .map(|(k, v)| match k.starts_with("firebreak:") {
                true => (k, format!("{v} fb=genuine")),
                false => (k, v),
            })
            .collect();
        raw.extend(all(legacy));
        raw.extend(all(forged));
        BucketTags {
            tags: all(tags),
            legacy: all(legacy),
            forged: forged.iter().map(|(k, _)| k.to_string()).collect(),
            raw,
        }
    }

    fn bucket() -> BucketRef {
        BucketRef {
            name: "data".into(),
            object_key: None,
            caller: None,
        }
    }

    const BEFORE: &str = "acls=false ignore=false policy=false restrict=false";

    #[tokio::test]
    async fn an_unsealed_or_forged_block_record_is_never_restored_nor_laundered() {
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        // An earlier version's record: reported, never restored, left on the bucket as it is.
        let legacy = [(tags::PUBLIC_ACCESS_BLOCK, BEFORE), (tags::FINDING, "f-0")];
        let fake = Fake::new(read(&[("owner", "team-a")], &legacy, &[]));
        let done = release_it(&fake, &bucket(), &clock).await;
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
        assert!(
            done.warnings[0].starts_with("NOT RESTORED on data")
                && done.warnings[0].contains(BEFORE),
            "{:?}",
            done.warnings
        );
        let set = fake.last_set();
        assert!(
            set.contains(&pair(tags::PUBLIC_ACCESS_BLOCK, BEFORE)),
            "{set:?}"
        );
        assert!(set.contains(&pair("owner", "team-a")));
        assert!(!set.iter().any(|(k, _)| k == tags::FINDING), "{set:?}");

        // A forged one: not restored, kept as evidence, and told.
        let forged = [(tags::PUBLIC_ACCESS_BLOCK, "none fb=made.up.code")];
        let fake = Fake::new(read(&[], &[], &forged));
        let done = release_it(&fake, &bucket(), &clock).await;
        assert!(fake.calls().is_empty(), "{:?}", fake.calls());
        assert!(done.warnings[0].starts_with("TAMPERING: data"), "{done:?}");
        assert!(fake.last_set().contains(&pair(forged[0].0, forged[0].1)));

        // A sealed one is restored, and removed.
        let fake = Fake::new(read(&[(tags::PUBLIC_ACCESS_BLOCK, BEFORE)], &[], &[]));
        let done = release_it(&fake, &bucket(), &clock).await;
        assert_eq!(done.completed, Some(true), "{done:?}");
        assert_eq!(fake.calls().len(), 1, "{:?}", fake.calls());
        assert!(!fake
            .last_set()
            .iter()
            .any(|(k, _)| k == tags::PUBLIC_ACCESS_BLOCK));
    }

    #[tokio::test]
    async fn containment_keeps_an_earlier_record_as_it_is_and_seals_only_what_it_writes() {
        let incident = Incident {
            source: Source::GuardDuty,
            finding_id: "f-1".into(),
            finding_arn: None,
            finding_type: "Exfiltration:S3/AnomalousBehavior".into(),
            title: None,
            severity: 8.0,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sample: false,
            archived: false,
            resource_role: None,
            resource: Resource::Bucket(bucket()),
            security_hub: None,
        };
        let plan = Plan {
            actions: vec![Action::on_bucket(ActionKind::BlockPublicAccess, "data")],
            ..Plan::notify_only("test", String::new())
        };
        let clock = FixedClock::at("2026-12-01T00:00:00Z");
        let r = Request {
            incident: &incident,
            plan: &plan,
            exempt_tag: "firebreak:exempt",
            protected: &[],
            clock: &clock,
            deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
            cap: None,
        };
        let legacy = [(tags::PUBLIC_ACCESS_BLOCK, BEFORE)];
        let forged = [(tags::FINDING, "f-9 fb=made.up.code")];
        let fake = Fake::new(read(&[("owner", "team-a")], &legacy, &forged));
        let done = contain(&fake, &r, &bucket()).await.unwrap();
        assert_eq!(done.completed, Some(true), "{done:?}");
        assert_eq!(
            fake.calls(),
            vec![format!("block {:?}", Some(PublicAccessBlock::ALL))]
        );
        let mut set = fake.last_set();
        set.sort();
        assert_eq!(
            set,
            vec![
                pair(tags::FINDING, "f-1 SEALED"),
                pair(tags::PUBLIC_ACCESS_BLOCK, BEFORE),
                pair("owner", "team-a"),
            ],
            "the earlier record as it was, unsealed; only the finding written (and sealed)"
        );
        assert!(done.warnings[0].starts_with("TAMPERING: data"), "{done:?}");
    }
}
