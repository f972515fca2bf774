//! What one revocation changes in a principal's inline policies: its instance merged into the
//! minute's policy, the earlier per-instance policies taken over while there is room, the expired
//! pruned, the superseded entries removed; or the role-wide deny of older sessions.

use std::collections::BTreeMap;

use crate::clock::epoch_seconds;
use crate::denies::cutoff::{expired, later, minute_after};
use crate::denies::document::{cutoff_of, older_sessions};
use crate::denies::held::{held, Held};
use crate::denies::instance::Instance;
use crate::denies::minute::Minute;
use crate::denies::size::{iam_size, NoRoom};
use crate::tags;

/// What a revocation changes in a principal's inline policies, in this order: `prune` deleted
/// (they deny nothing any more, and free room), `put` written, `retire` deleted once the written
/// policies are read back with what they took over from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Policies whose cutoff has expired.
    pub prune: Vec<String>,
    /// (name, document) to write.
    pub put: Vec<(String, String)>,
    /// Earlier versions' per-instance policies, and the instance and cutoff minute that take them
    /// over.
    pub retire: Vec<(String, String, Instance)>,
    /// The principal's inline policies once all is done, as IAM counts them.
    pub size: usize,
    /// The most they hold on the way (before `retire`).
    pub peak: usize,
}

/// A principal's live policies: the minutes by name, the earlier per-instance ones, the size of
/// everything else, and the expired ones to prune.
#[derive(Default)]
struct Live {
    minutes: BTreeMap<String, Minute>,
    singles: Vec<(String, usize, String, Instance)>,
    fixed: usize,
    prune: Vec<String>,
}

fn live(policies: &[(String, String)], now: i64, except: Option<&str>) -> Live {
    let mut l = Live::default();
    for (name, document) in policies {
        if Some(name.as_str()) == except {
            continue;
        }
        let size = iam_size(document);
        match held(name, document) {
            Held::Minute(m) if expired(&m.cutoff, now) => l.prune.push(name.clone()),
            Held::Single(c, _) if expired(&c, now) => l.prune.push(name.clone()),
            Held::Minute(m) => {
                l.minutes.insert(name.clone(), m);
            }
            Held::Single(c, Some(i)) => l.singles.push((name.clone(), size, c, i)),
            Held::Single(..) | Held::Other => l.fixed += size,
        }
    }
    l
}

impl Live {
    /// The size of everything held, the minutes as they are now in `minutes`.
    fn size(&self, minutes: &BTreeMap<String, Minute>, retired: &[String]) -> usize {
        let singles: usize = self
            .singles
            .iter()
            .filter(|(n, ..)| !retired.contains(n))
            .map(|(_, s, ..)| s)
            .sum();
        self.fixed
            + singles
            + minutes
                .values()
                .map(|m| iam_size(&m.document()))
                .sum::<usize>()
    }
}

/// The changes that deny the sessions of each `(cutoff minute, instance)` of `wanted` in the role
/// holding `policies` (its inline policies: name, document), at `now` (seconds since the epoch):
/// each instance added to its minute's policy; the earlier versions' per-instance policies taken
/// over while the role has room; the expired pruned. [`NoRoom`] when the wanted instances do not
/// fit.
pub fn add_instances(
    policies: &[(String, String)],
    wanted: &[(String, Instance)],
    now: i64,
    quota: usize,
) -> Result<Changes, NoRoom> {
    let live = live(policies, now, None);
    let mut minutes = live.minutes.clone();
    for (cutoff, i) in wanted {
        let m = minutes.entry(tags::instance_sessions_policy(cutoff));
        m.or_insert_with(|| Minute::new(cutoff)).add(i);
    }
    let needed = live.size(&minutes, &[]);
    if needed > quota {
        return Err(NoRoom { needed, quota });
    }
    // The earlier versions' policies, each into its cutoff's minute while the peak fits.
    let mut retire = Vec::new();
    for (name, _, cutoff, i) in &live.singles {
        let Some(minute) = minute_after(cutoff) else {
            continue;
        };
        // Its instance is wanted again, at a later cutoff: that deny takes it over.
        let again = wanted
            .iter()
            .find(|(c, w)| w == i && epoch_seconds(c) >= epoch_seconds(&minute));
        if let Some((c, _)) = again {
            retire.push((name.clone(), c.clone(), i.clone()));
            continue;
        }
        let mut next = minutes.clone();
        let m = next.entry(tags::instance_sessions_policy(&minute));
        m.or_insert_with(|| Minute::new(&minute)).add(i);
        if live.size(&next, &[]) <= quota {
            minutes = next;
            retire.push((name.clone(), minute, i.clone()));
        }
    }
    let retired: Vec<String> = retire.iter().map(|(n, ..)| n.clone()).collect();
    let put = minutes
        .iter()
        .filter(|(name, m)| live.minutes.get(*name) != Some(m))
        .map(|(name, m)| (name.clone(), m.document()))
        .collect();
    Ok(Changes {
        peak: live.size(&minutes, &[]),
        size: live.size(&minutes, &retired),
        prune: live.prune,
        put,
        retire,
    })
}

/// The changes that take each instance of `wanted` off the minute policies of earlier cutoffs
/// (its wanted one denies all they did), deleting a policy left with no instance.
pub fn superseded(policies: &[(String, String)], wanted: &[(String, Instance)]) -> Changes {
    let mut changes = Changes::default();
    for (name, document) in policies {
        let Held::Minute(mut m) = held(name, document) else {
            continue;
        };
        let since = epoch_seconds(&m.cutoff);
        let earlier = |(c, i): &&(String, Instance)| m.denies(i) && epoch_seconds(c) > since;
        let gone: Vec<Instance> = wanted
            .iter()
            .filter(earlier)
            .map(|(_, i)| i.clone())
            .collect();
        if gone.is_empty() {
            continue;
        }
        gone.iter().for_each(|i| m.remove(i));
        match m.is_empty() {
            true => changes.prune.push(name.clone()),
            false => changes.put.push((name.clone(), m.document())),
        }
    }
    changes
}

/// The changes that deny every session of the principal holding `policies` issued before
/// `cutoff`, with its policy `name` (kept at the later of the cutoff it holds and `cutoff`), the
/// expired instance policies pruned; and the cutoff in force. [`NoRoom`] when it does not fit.
pub fn deny_older(
    policies: &[(String, String)],
    name: &str,
    cutoff: &str,
    now: i64,
    quota: usize,
) -> Result<(Changes, String), NoRoom> {
    let live = live(policies, now, Some(name));
    let current = policies.iter().find(|(n, _)| n == name).map(|(_, d)| d);
    let in_force = match current.and_then(|d| cutoff_of(d)) {
        Some(c) => later(&c, cutoff).to_string(),
        None => cutoff.to_string(),
    };
    let document = older_sessions(&in_force);
    let needed = live.size(&live.minutes, &[]) + iam_size(&document);
    if needed > quota {
        return Err(NoRoom { needed, quota });
    }
    let changes = Changes {
        prune: live.prune,
        put: vec![(name.to_string(), document)],
        retire: Vec::new(),
        size: needed,
        peak: needed,
    };
    Ok((changes, in_force))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denies::document::TOKEN_ISSUE_TIME;
    use crate::denies::fixtures::{applied, instance, now, single, total, NOW};
    use crate::denies::held::{denied_by, denies};
    use crate::denies::instance::single_document;
    use crate::denies::size::{ROLE_QUOTA, USER_QUOTA};
    use serde_json::{json, Value};

    #[test]
    fn instances_of_one_minute_share_one_policy_that_reads_back() {
        let (a, b) = (instance(1), instance(2));
        let minute = minute_after(NOW).unwrap();
        let first = add_instances(&[], &[(minute.clone(), a.clone())], now(), ROLE_QUOTA).unwrap();
        assert_eq!(first.put.len(), 1);
        let held = applied(&[], &first);
        let second = add_instances(&held, &[(minute.clone(), b.clone())], now(), ROLE_QUOTA);
        let held = applied(&held, &second.unwrap());
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(
            held[0].0,
            "FirebreakRevokeInstanceSessions-20261130T030100Z"
        );
        let m = Minute::parse(&held[0].1).unwrap();
        assert!(m.denies(&a) && m.denies(&b) && m.len() == 2);
        assert!(denies(&held, &minute, &a) && denies(&held, NOW, &b));
        assert!(
            !denies(&held, "2026-11-30T03:02:00Z", &a),
            "a later cutoff is not covered"
        );
        // The document: what IAM is asked to hold.
        let doc: Value = serde_json::from_str(&held[0].1).unwrap();
        assert_eq!(
            doc["Statement"][0]["Condition"]["ArnEquals"]["ec2:SourceInstanceARN"],
            json!([a.arn, b.arn])
        );
        assert_eq!(
            doc["Statement"][1]["Condition"]["StringLike"]["aws:userId"],
            json!([a.session(), b.session()])
        );
        assert_eq!(
            doc["Statement"][1]["Condition"]["DateLessThan"][TOKEN_ISSUE_TIME],
            minute
        );
        // The same instance again (a redelivery): nothing to write.
        let again = add_instances(&held, &[(minute, a)], now(), ROLE_QUOTA).unwrap();
        assert!(again.put.is_empty() && again.prune.is_empty(), "{again:?}");
    }

    #[test]
    fn forty_instances_of_one_burst_fit_a_role_and_its_size_is_what_iam_counts() {
        let minutes = ["2026-11-30T03:01:00Z", "2026-11-30T03:02:00Z"];
        let mut held = vec![(
            "Customer".to_string(),
            r#"{"Version": "2012-10-17"}"#.to_string(),
        )];
        for n in 0..40 {
            let wanted = [(minutes[n as usize % 2].to_string(), instance(n))];
            let c = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
            held = applied(&held, &c);
            assert_eq!(c.size, total(&held));
        }
        assert_eq!(held.len(), 3);
        assert!(total(&held) < ROLE_QUOTA / 2, "{}", total(&held));
        for n in 0..40 {
            assert!(denies(&held, minutes[n as usize % 2], &instance(n)), "{n}");
        }
    }

    #[test]
    fn what_does_not_fit_is_no_room_and_nothing_is_written() {
        let filler = format!(
            r#"{{"Version":"2012-10-17","Id":"{}"}}"#,
            "x".repeat(10_180)
        );
        let held = vec![("Customer".to_string(), filler)];
        let wanted = [(minute_after(NOW).unwrap(), instance(1))];
        let no = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap_err();
        assert_eq!(no.quota, ROLE_QUOTA);
        assert!(no.needed > ROLE_QUOTA);
        assert!(no.to_string().contains("over IAM's 10240"), "{no}");
        // The whole role's deny is smaller: it fits where the instance's does not, at the later
        // of the cutoffs.
        let small = format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(9_900));
        let held = vec![
            ("Customer".to_string(), small),
            (
                tags::ROLE_REVOKE_POLICY.to_string(),
                older_sessions("2026-11-30T03:00:30Z"),
            ),
        ];
        let (c, cutoff) =
            deny_older(&held, tags::ROLE_REVOKE_POLICY, NOW, now(), ROLE_QUOTA).unwrap();
        assert_eq!(cutoff, "2026-11-30T03:00:30Z", "never moved earlier");
        assert_eq!(c.put[0].1, older_sessions("2026-11-30T03:00:30Z"));
        let (c, cutoff) = deny_older(
            &held,
            tags::ROLE_REVOKE_POLICY,
            "2026-11-30T03:05:00Z",
            now(),
            ROLE_QUOTA,
        )
        .unwrap();
        assert_eq!(cutoff, "2026-11-30T03:05:00Z");
        assert_eq!(
            c.put,
            vec![(
                tags::ROLE_REVOKE_POLICY.to_string(),
                older_sessions(&cutoff)
            )]
        );
        assert_eq!(c.size, total(&applied(&held, &c)));
        let user = deny_older(&held, tags::USER_REVOKE_POLICY, NOW, now(), USER_QUOTA);
        assert_eq!(user.unwrap_err().quota, USER_QUOTA);
    }

    #[test]
    fn what_expired_is_pruned_and_what_is_not_firebreak_s_never_touched() {
        let old = "2026-11-28T14:00:00Z"; // 37 h before NOW
        let recent = "2026-11-29T16:00:00Z";
        let mut expired_minute = Minute::new(old);
        expired_minute.add(&instance(1));
        let held = vec![
            (expired_minute.name(), expired_minute.document()),
            single(&instance(2), old),
            single(&instance(3), recent),
            ("Customer".to_string(), single(&instance(4), old).1),
            (
                "FirebreakRevokeSessionsOfFunction-fn-1".to_string(),
                single(&instance(5), old).1,
            ),
        ];
        let wanted = [(minute_after(NOW).unwrap(), instance(6))];
        let c = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
        let mut pruned = c.prune.clone();
        pruned.sort();
        assert_eq!(
            pruned,
            vec![
                expired_minute.name(),
                tags::instance_revoke_policy(&instance(2).id)
            ]
        );
        // The recent per-instance policy is taken over by its cutoff's minute, then retired.
        assert_eq!(c.retire.len(), 1);
        assert_eq!(c.retire[0].0, tags::instance_revoke_policy(&instance(3).id));
        assert_eq!(c.retire[0].1, "2026-11-29T16:00:00Z");
        let after = applied(&held, &c);
        assert!(denies(&after, recent, &instance(3)) && denies(&after, NOW, &instance(6)));
        assert!(after.iter().any(|(n, _)| n == "Customer"));
        assert!(after
            .iter()
            .any(|(n, _)| n == "FirebreakRevokeSessionsOfFunction-fn-1"));
        assert_eq!(c.size, total(&after));
        assert_eq!(c.peak, c.size + iam_size(&held[2].1));
        // The role-wide deny prunes them too.
        let (c, _) = deny_older(&held, tags::ROLE_REVOKE_POLICY, NOW, now(), ROLE_QUOTA).unwrap();
        assert_eq!(c.prune.len(), 2);
    }

    #[test]
    fn an_earlier_policy_is_taken_over_only_while_the_peak_fits() {
        // About 456 characters each: 22 of them leave no room for a new minute's policy (440).
        let recent = "2026-11-30T02:00:00Z";
        let full: Vec<_> = (0..22).map(|n| single(&instance(n), recent)).collect();
        assert_eq!(total(&full), 22 * 456);
        let wanted = [(minute_after(NOW).unwrap(), instance(99))];
        let no = add_instances(&full, &wanted, now(), ROLE_QUOTA).unwrap_err();
        assert_eq!(no.needed, 22 * 456 + 440);
        // 21 leave room for it, not for a second minute's policy to take one over.
        let c = add_instances(&full[..21], &wanted, now(), ROLE_QUOTA).unwrap();
        assert!(c.retire.is_empty(), "{c:?}");
        assert_eq!(c.size, 21 * 456 + 440);
        // 15 of one minute: all taken over (440 for the first, 90 for each other), then removed.
        let some: Vec<_> = full[..15].to_vec();
        let c = add_instances(&some, &wanted, now(), ROLE_QUOTA).unwrap();
        assert_eq!(c.retire.len(), 15);
        assert_eq!(c.peak, 15 * 456 + 440 + 440 + 14 * 90);
        assert_eq!(c.size, 440 + 440 + 14 * 90);
        let after = applied(&some, &c);
        assert_eq!(after.len(), 2, "{after:?}");
        for n in 0..15 {
            assert!(denies(&after, recent, &instance(n)));
        }
    }

    #[test]
    fn a_later_deny_of_an_instance_supersedes_its_earlier_ones() {
        let (a, b) = (instance(1), instance(2));
        let (early, late) = ("2026-11-30T02:00:00Z", "2026-11-30T03:01:00Z");
        let mut held = Vec::new();
        for (cutoff, who) in [(early, vec![&a, &b]), ("2026-11-30T02:30:00Z", vec![&a])] {
            let mut m = Minute::new(cutoff);
            who.into_iter().for_each(|i| m.add(i));
            held.push((m.name(), m.document()));
        }
        held.push(single(&a, "2026-11-30T01:00:00Z"));
        assert_eq!(
            denied_by(&held, &a, now()),
            Some((
                tags::instance_sessions_policy("2026-11-30T02:30:00Z"),
                "2026-11-30T02:30:00Z".into()
            ))
        );
        assert_eq!(denied_by(&held, &instance(3), now()), None);
        let blind = [(
            tags::instance_revoke_policy(&instance(3).id),
            single_document(NOW, &instance(3)),
        )];
        assert_eq!(
            denied_by(&blind, &instance(3), now()),
            Some((blind[0].0.clone(), NOW.into()))
        );
        assert_eq!(
            denied_by(&held, &b, now() + 40 * 3600),
            None,
            "expired: denies nothing"
        );
        let wanted = [(late.to_string(), a.clone())];
        let added = add_instances(&held, &wanted, now(), ROLE_QUOTA).unwrap();
        let held = applied(&held, &added);
        let c = superseded(&held, &wanted);
        // Off the 02:00 policy (b stays), the 02:30 one deleted; the 03:01 one untouched.
        assert_eq!(
            c.prune,
            vec![tags::instance_sessions_policy("2026-11-30T02:30:00Z")]
        );
        assert_eq!(c.put.len(), 1);
        let after = applied(&held, &c);
        assert!(denies(&after, late, &a) && denies(&after, early, &b));
        assert!(!denies(&after, early, &a) || denies(&after, late, &a));
        let listing_a = after
            .iter()
            .filter(|(_, d)| Minute::parse(d).is_some_and(|m| m.denies(&a)))
            .count();
        assert_eq!(listing_a, 1, "{after:?}");
    }
}
