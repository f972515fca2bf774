//! The instance scheduler: containment's order, its failures, isolation on real networks and
//! EC2's 50-tag limit.

use firebreak::config::Config;
use firebreak::error::FirebreakError;
use firebreak::incident::Resource;
use firebreak::ports::AclEntryFacts;

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{FakeEc2, FakeSns};
use crate::scenarios::*;

#[tokio::test]
async fn containment_goes_untracking_then_isolation_and_evidence_follows_it() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    let pos = |c: &str| {
        calls
            .iter()
            .position(|x| x == c)
            .unwrap_or_else(|| panic!("{c} not in {calls:?}"))
    };
    assert!(pos("set eni-1 sg-untrack") < pos("set eni-1 sg-iso"));
    assert!(
        pos("set eni-1 sg-iso") < pos("protect"),
        "evidence protection waits for containment"
    );
    assert!(pos("set eni-1 sg-iso") < pos("snapshot"));
    assert_eq!(report.original_groups["eni-1"], vec!["sg-app".to_string()]);
    assert_eq!(sns.0.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_already_isolated_interface_never_passes_through_the_allow_all_group_again() {
    let ec2 = FakeEc2::new(vec!["sg-iso".into()]);
    let sns = FakeSns::default();
    respond_to(&ec2, &sns).await.unwrap();
    assert!(
        !ec2.calls().iter().any(|c| c.starts_with("set eni-1")),
        "{:?}",
        ec2.calls()
    );
    // And its current (Firebreak) group is not recorded as the group to restore.
    assert!(!ec2
        .calls()
        .iter()
        .any(|c| c.contains("firebreak:original-groups")));
}

#[tokio::test]
async fn failed_isolation_notifies_then_returns_a_containment_error() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.fail_group = Some("sg-iso".into());
    let sns = FakeSns::default();
    let err = respond_to(&ec2, &sns).await.unwrap_err();
    assert!(
        matches!(err, FirebreakError::ContainmentFailed { .. }),
        "{err}"
    );
    assert_eq!(err.error_type(), "ContainmentFailed");
    // Tried twice before giving up, and said so loudly, with the AWS error code.
    assert_eq!(
        ec2.calls()
            .iter()
            .filter(|c| *c == "set eni-1 sg-iso")
            .count(),
        2
    );
    let sent = sns.0.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].subject.contains("CONTAINMENT FAILED"));
    assert!(
        sent[0].email().contains("RequestLimitExceeded")
            && sent[0].email().contains("NOT to the isolation group")
    );
    assert!(ec2.calls().iter().any(|c| c.contains("firebreak:status")));
}

#[tokio::test]
async fn a_vanished_instance_is_skipped_and_nothing_is_changed() {
    let mut ec2 = FakeEc2::new(vec![]);
    ec2.facts = None;
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "skipped");
    assert!(ec2
        .calls()
        .iter()
        .all(|c| c == "describe" || c.starts_with("find-groups") || c.starts_with("find-acls")));
}

/// Handles the incident with `ec2` in a VPC that has no quarantine groups yet; returns the calls made.
async fn calls_in_a_vpc_without_groups(mut ec2: FakeEc2) -> Vec<String> {
    ec2.groups_exist = false;
    firebreak::respond::respond(
        &incident(),
        &config(),
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &FakeSns::default(),
    )
    .await
    .unwrap();
    ec2.calls()
}

fn group_creations(calls: &[String]) -> usize {
    calls
        .iter()
        .filter(|c| c.starts_with("create-groups"))
        .count()
}

#[tokio::test]
async fn groups_are_created_only_for_an_instance_that_exists_and_is_not_exempt() {
    // A vanished instance: looked up, never created.
    let mut vanished = FakeEc2::new(vec![]);
    vanished.facts = None;
    let calls = calls_in_a_vpc_without_groups(vanished).await;
    assert_eq!(group_creations(&calls), 0, "{calls:?}");

    // An exempt one: the same.
    let mut exempt = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = exempt.facts.as_mut() {
        f.tags.push(("firebreak:exempt".into(), "true".into()));
    }
    let calls = calls_in_a_vpc_without_groups(exempt).await;
    assert_eq!(group_creations(&calls), 0, "{calls:?}");

    // A real one: created once, after the describe, and used.
    let calls = calls_in_a_vpc_without_groups(FakeEc2::new(vec!["sg-app".into()])).await;
    assert_eq!(group_creations(&calls), 1, "{calls:?}");
    assert!(calls.contains(&"set eni-1 sg-iso".to_string()));
}

// ---- isolation on real networks ----

#[tokio::test]
async fn an_interface_that_cannot_be_isolated_is_put_back_into_its_own_groups() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.fail_group = Some("sg-iso".into());
    let sns = FakeSns::default();
    let err = respond_to(&ec2, &sns).await.unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    let sets: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("set eni-1"))
        .collect();
    // Untracking, isolation twice, then back: never left in the allow-all group.
    assert_eq!(
        sets,
        [
            "set eni-1 sg-untrack",
            "set eni-1 sg-iso",
            "set eni-1 sg-iso",
            "set eni-1 sg-app"
        ]
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("put back into its own groups sg-app"),
        "{body}"
    );
}

#[tokio::test]
async fn a_stalled_isolation_ends_at_the_deadline_with_the_interface_put_back() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.stall = Some(("sg-iso".into(), std::time::Duration::from_secs(30)));
    let config = Config::from_lookup(|k| match k {
        "FIREBREAK_TOPIC_ARN" => Some("arn:aws:sns:us-east-1:123456789012:t".into()),
        "FIREBREAK_INCIDENT_TIMEOUT_SECONDS" => Some("0.5".into()),
        _ => None,
    })
    .unwrap();
    let sns = FakeSns::default();
    let started = std::time::Instant::now();
    let err = firebreak::respond::respond(
        &incident(),
        &config,
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &sns,
    )
    .await
    .unwrap_err();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.error_type(), "ContainmentFailed");
    let sets: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("set eni-1"))
        .collect();
    assert_eq!(sets.last().map(String::as_str), Some("set eni-1 sg-app"));
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(body.contains("deadline"), "{body}");
}

#[tokio::test]
async fn groups_just_created_are_waited_for_and_the_first_incident_is_contained() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    ec2.not_yet_visible
        .store(2, std::sync::atomic::Ordering::SeqCst);
    let calls = calls_in_a_vpc_without_groups(ec2).await;
    let not_yet = calls
        .iter()
        .filter(|c| c.starts_with("not-yet-visible"))
        .count();
    assert_eq!(not_yet, 2, "{calls:?}");
    assert!(calls.contains(&"set eni-1 sg-iso".to_string()), "{calls:?}");
}

#[tokio::test]
async fn the_network_acl_entries_are_recorded_before_they_are_added_and_released_after() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    let recorded = calls
        .iter()
        .position(|c| c.starts_with("tag ") && c.contains("firebreak:acl-denies"))
        .expect("the entries are recorded");
    assert!(recorded < position(&calls, "acl-deny"));
    let added = ec2.acl_entries.lock().unwrap().clone();
    for egress in [false, true] {
        let mine: Vec<&AclEntryFacts> = added.iter().filter(|e| e.egress == egress).collect();
        assert_eq!(mine.len(), 1, "{added:?}");
        assert!(!mine[0].allow && mine[0].cidr == "10.0.0.5/32" && mine[0].rule_number < 100);
    }
    let record = added
        .iter()
        .map(|e| {
            format!(
                "{}{}={}",
                if e.egress { "o" } else { "i" },
                e.rule_number,
                e.cidr
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        report.connections.as_deref(),
        Some(firebreak::report::CUT_BOTH)
    );
    assert!(sns.0.lock().unwrap()[0]
        .email()
        .contains("Connections: new and existing connections cut"));

    // A redelivery adds no entry, and release removes exactly those entries, then the record:
    // recorded as this version writes it, and as an earlier one did (a tag per ACL).
    let packed: String = record
        .split_whitespace()
        .map(|t| format!("acl-1:{t}"))
        .collect::<Vec<_>>()
        .join(" ");
    for (key, value) in [
        ("firebreak:acl-denies", packed),
        ("firebreak:network-acl:acl-1", record.clone()),
    ] {
        let mut again = FakeEc2::new(vec!["sg-iso".into()]);
        *again.acl_entries.lock().unwrap() = ec2.acl_entries.lock().unwrap().clone();
        if let Some(f) = again.facts.as_mut() {
            f.tags = vec![
                (key.into(), value),
                ("firebreak:original-groups:eni-1".into(), "sg-app".into()),
            ];
        }
        respond_to(&again, &FakeSns::default()).await.unwrap();
        assert!(!again.calls().iter().any(|c| c.starts_with("acl-deny")));
        let r = release(&again).await;
        assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
        let calls = again.calls();
        for e in &added {
            let delete = format!("acl-delete acl-1 {} {}", e.rule_number, e.egress);
            assert!(calls.contains(&delete), "{delete} not in {calls:?}");
        }
        let untag = calls.iter().find(|c| c.starts_with("untag")).unwrap();
        assert!(untag.contains(key), "{untag}");
        assert!(again.acl_entries.lock().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_redelivery_after_a_lost_record_restores_the_groups_the_finding_names() {
    // The first delivery moved the interface and lost its record: it is in the untracking group.
    let ec2 = FakeEc2::new(vec!["sg-untrack".into()]);
    let mut i = incident();
    if let Resource::Instance(inst) = &mut i.resource {
        inst.network_interfaces[0].security_groups = vec!["sg-app".into()];
    }
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &ec2,
        &NoEstate,
        &FakeIam::default(),
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(report.original_groups["eni-1"], vec!["sg-app".to_string()]);
    let tag = ec2
        .calls()
        .into_iter()
        .find(|c| c.starts_with("tag ") && c.contains("firebreak:isolation"));
    assert!(tag.is_some(), "{:?}", ec2.calls());
}

// ---- safe on real accounts ----

#[tokio::test]
async fn a_spot_instance_is_contained_without_termination_protection_and_succeeds() {
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.spot = true;
    }
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = ec2.calls();
    assert!(!calls.contains(&"protect".to_string()), "{calls:?}");
    assert!(!calls
        .iter()
        .any(|c| c.contains("firebreak:set-termination-protection")));
    assert!(
        calls.contains(&"snapshot".to_string()) && calls.contains(&"shutdown-stop".to_string())
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(body.contains("Spot instances"), "{body}");
}

// ---- EC2's 50-tag limit ----

#[tokio::test]
async fn an_instance_without_room_for_the_records_is_still_contained_and_protected_and_the_state_is_reported(
) {
    // 48 tags of its own: room for the status and the finding, none for a record.
    let mut ec2 = FakeEc2::new(vec!["sg-app".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.tags = (0..48).map(|n| (format!("cost-{n}"), "x".into())).collect();
    }
    let sns = FakeSns::default();
    let report = respond_to(&ec2, &sns).await.unwrap();
    let calls = ec2.calls();
    for want in [
        "set eni-1 sg-iso",
        "protect",
        "shutdown-stop",
        "keep-volumes",
        "snapshot",
    ] {
        assert!(
            calls.iter().any(|c| c.starts_with(want)),
            "{want}: {calls:?}"
        );
    }
    let tagged: Vec<&String> = calls.iter().filter(|c| c.starts_with("tag ")).collect();
    // Then, once the message went out, the status is marked told (a key it carries: no new tag).
    assert_eq!(
        tagged,
        [
            "tag firebreak:finding-id,firebreak:status",
            "tag firebreak:status"
        ],
        "no record attempted, the markers kept their place"
    );
    assert!(
        !calls.iter().any(|c| c.starts_with("acl-deny")),
        "no network ACL entry without its record: {calls:?}"
    );
    assert_eq!(
        report.verdict,
        firebreak::report::verdict::Verdict::Contained
    );
    let body = &sns.0.lock().unwrap()[0].email();
    for want in [
        "NOT RECORDED on i-0123456789abcdef0 (isolate-instance): original groups: eni-1 was in sg-app",
        "termination protection was off",
        "DeleteOnTermination was true on /dev/xvda",
        "EC2 allows 50 per resource",
    ] {
        assert!(body.contains(want), "{want} not in\n{body}");
    }
}
