//! The release: what was recorded is restored, then the records removed.

use firebreak::outcome::Status;
use firebreak::ports::AclEntryFacts;
use firebreak::records::Budget;

use crate::estates::ServingEstate;
use crate::fakes::FakeEc2;
use crate::scenarios::*;

fn quarantined() -> FakeEc2 {
    let mut ec2 = FakeEc2::new(vec!["sg-iso".into()]);
    if let Some(f) = ec2.facts.as_mut() {
        f.tags = [
            ("firebreak:original-groups:eni-1", "sg-app sg-db"),
            ("firebreak:set-termination-protection", "true"),
            (
                "firebreak:removed-instance-profile",
                "arn:aws:iam::123456789012:instance-profile/web",
            ),
            ("firebreak:status", "quarantined"),
            ("firebreak:finding-id", "f-1"),
            ("firebreak:shutdown-behaviour", "terminate"),
            ("firebreak:kept-volumes", "/dev/xvda"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    }
    ec2
}

#[tokio::test]
async fn release_restores_everything_recorded_then_removes_the_records() {
    let ec2 = quarantined();
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
    let calls = ec2.calls();
    assert!(
        calls.contains(&"set eni-1 sg-app sg-db".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"unprotect".to_string()));
    assert!(
        calls.contains(&"shutdown-terminate".to_string()),
        "{calls:?}"
    );
    assert!(calls.contains(&"delete-volumes".to_string()), "{calls:?}");
    assert!(calls.contains(&"associate arn:aws:iam::123456789012:instance-profile/web".to_string()));
    let untag = calls
        .iter()
        .find(|c| c.starts_with("untag "))
        .expect("records removed");
    for key in [
        "firebreak:original-groups:eni-1",
        "firebreak:set-termination-protection",
        "firebreak:removed-instance-profile",
        "firebreak:status",
        "firebreak:finding-id",
        "firebreak:shutdown-behaviour",
        "firebreak:kept-volumes",
    ] {
        assert!(untag.contains(key), "{key} not removed: {untag}");
    }
    // The records go only after what they record is restored.
    let pos = |p: &str| calls.iter().position(|c| c.starts_with(p)).unwrap();
    assert!(pos("set eni-1") < pos("untag") && pos("associate") < pos("untag"));
}

#[tokio::test]
async fn a_release_that_fails_keeps_the_records_for_a_retry() {
    let mut ec2 = quarantined();
    ec2.fail_group = Some("sg-app".into());
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(false));
    let calls = ec2.calls();
    let untag = calls
        .iter()
        .find(|c| c.starts_with("untag "))
        .cloned()
        .unwrap_or_default();
    assert!(
        !untag.contains("firebreak:original-groups:eni-1"),
        "{untag}"
    );
    assert!(!untag.contains("firebreak:status"), "{untag}");
    // What did succeed is no longer recorded as to-do.
    assert!(
        untag.contains("firebreak:set-termination-protection"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn out_of_service_records_first_falls_back_to_detach_and_release_reads_the_records_back() {
    let ec2 = FakeEc2::new(vec!["sg-app".into()]);
    let estate = ServingEstate::default();
    let facts = ec2.facts.clone().unwrap();
    let budget = Budget::new(facts.tags.len(), 0);
    let outcomes =
        firebreak::actions::out_of_service::take_out_of_service(&ec2, &estate, &facts, &budget)
            .await;
    assert!(
        outcomes.iter().all(|o| o.status == Status::Succeeded),
        "{outcomes:?}"
    );
    // The records (the group's, then the rest, each a write of its own) are written before any
    // change, and the fallback to detach is recorded after it.
    let tags: Vec<String> = ec2
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("tag "))
        .collect();
    assert_eq!(
        tags,
        [
            "tag firebreak:auto-scaling",
            "tag firebreak:out-of-service",
            "tag firebreak:auto-scaling"
        ]
    );
    let calls = estate.calls.lock().unwrap().clone();
    for want in [
        "standby web",
        "detach web",
        "deregister arn:tg/web",
        "disassociate eipassoc-1",
    ] {
        assert!(calls.contains(&want.to_string()), "{calls:?}");
    }

    // Release, from the records as an earlier version wrote them (a tag per item), after the
    // fallback; the instance is out of the group.
    let mut recorded = facts.clone();
    recorded.tags = vec![
        ("firebreak:auto-scaling".into(), "web detached".into()),
        ("firebreak:target:0".into(), "arn:tg/web 80".into()),
        ("firebreak:eip:eipalloc-1".into(), "eni-1 10.0.0.5".into()),
    ];
    let detached = ServingEstate {
        detached: true,
        ..ServingEstate::default()
    };
    let (outcomes, restored) =
        firebreak::actions::out_of_service::put_back_in_service(&detached, &recorded).await;
    assert!(
        outcomes.iter().all(|o| o.status == Status::Succeeded),
        "{outcomes:?}"
    );
    assert_eq!(restored.len(), 3);
    let calls = detached.calls.lock().unwrap().clone();
    assert!(calls.contains(&"attach web".to_string()), "{calls:?}");
    assert!(calls.contains(&"register arn:tg/web Some(80)".to_string()));
    assert!(calls.contains(&"associate eipalloc-1 eni-1 10.0.0.5".to_string()));
}

#[tokio::test]
async fn a_terminated_instance_s_release_still_removes_its_network_acl_entries() {
    let mut ec2 = FakeEc2::new(vec![]);
    ec2.acl_entries.lock().unwrap().push(AclEntryFacts {
        rule_number: 90,
        egress: false,
        allow: false,
        cidr: "10.0.0.5/32".into(),
    });
    if let Some(f) = ec2.facts.as_mut() {
        f.state = "terminated".into();
        // EC2 lists no interface for a terminated instance: the ACLs are found by their ids.
        f.interfaces.clear();
        f.tags = vec![(
            "firebreak:network-acl:acl-1".into(),
            "i90=10.0.0.5/32".into(),
        )];
    }
    let r = release(&ec2).await;
    assert_eq!(r.completed, Some(true), "{:?}", r.outcomes);
    assert!(ec2
        .calls()
        .contains(&"acl-delete acl-1 90 false".to_string()));
    assert!(ec2.acl_entries.lock().unwrap().is_empty());
}
