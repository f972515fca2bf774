//! Instance revocations that scale: a role's denies shared per minute, pruned, re-read after a
//! concurrent write, and what happens with no room or no read.

use firebreak::denies::{self, Instance};
use firebreak::error::AwsError;
use firebreak::outcome::Status;

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{FakeEc2, FakeSns};
use crate::scenarios::*;

#[tokio::test]
async fn instance_revocations_share_a_minute_prune_what_expired_and_take_over_the_earlier_format() {
    let now = std::time::SystemTime::now();
    let hours = |h: u64| std::time::Duration::from_secs(h * 3600);
    let (old, recent) = (rfc3339(now - hours(37)), rfc3339(now - hours(2)));
    let (_, gone) = fleet(90);
    let (legacy_id, legacy) = fleet(91);
    let (_, expired_legacy) = fleet(92);
    let earlier = |i: &Instance, cutoff: &str| {
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "ArnEquals": {"ec2:SourceInstanceARN": i.arn}}},
            {"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "StringEquals": {"aws:userId": format!("AROAEXAMPLE:{}", i.id)}}}]});
        (
            firebreak::tags::instance_revoke_policy(&i.id),
            doc.to_string(),
        )
    };
    let mut expired_minute = denies::Minute::new(&denies::minute_after(&old).unwrap());
    // (Minute::add is private: an expired minute policy as an earlier response wrote it.)
    expired_minute.arns.insert(gone.arn.clone());
    expired_minute.sessions.insert(gone.session());
    let customer = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let iam = FakeIam::default();
    iam.role_policies.lock().unwrap().extend([
        (expired_minute.name(), expired_minute.document()),
        earlier(&legacy, &recent),
        earlier(&expired_legacy, &old),
        ("Customer".to_string(), customer.to_string()),
    ]);

    for n in 0..3 {
        let (id, _) = fleet(n);
        let report = firebreak::respond::respond(
            &exfiltration("web-role", &id),
            &config(),
            &ec2_with_profile(),
            &NoEstate,
            &iam,
            &FakeSns::default(),
        )
        .await
        .unwrap();
        assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    }
    let held = held(&iam);
    let names: Vec<&str> = held.iter().map(|(n, _)| n.as_str()).collect();
    // What expired is gone; the earlier format's live policy was taken over, then removed; the
    // customer's policy is untouched.
    assert!(
        !names.contains(&expired_minute.name().as_str()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("FirebreakRevokeSessionsOf-")),
        "{names:?}"
    );
    assert_eq!(
        iam.role_policies
            .lock()
            .unwrap()
            .get("Customer")
            .map(String::as_str),
        Some(customer)
    );
    assert!(
        denies::denies(&held, &recent, &legacy),
        "{legacy_id} no longer denied: {held:?}"
    );
    for n in 0..3 {
        assert!(denied_now(&iam, &fleet(n).1), "{n}: {held:?}");
    }
    // One policy per minute (the three responses may straddle a minute), plus the taken-over one.
    let minutes = names
        .iter()
        .filter(|n| n.starts_with("FirebreakRevokeInstanceSessions-"));
    assert!((2..=3).contains(&minutes.count()), "{names:?}");
    let size: usize = held.iter().map(|(_, d)| denies::iam_size(d)).sum();
    assert!(size < denies::ROLE_QUOTA / 4, "{size}");
}

#[tokio::test]
async fn a_redelivery_keeps_the_deny_the_role_holds_unless_the_instance_has_a_profile_again() {
    let hour_ago = rfc3339(std::time::SystemTime::now() - std::time::Duration::from_secs(3600));
    let (id, instance) = fleet(5);
    let (_, other) = fleet(6);
    let mut earlier = denies::Minute::new(&denies::minute_after(&hour_ago).unwrap());
    earlier.arns.insert(instance.arn.clone());
    earlier.sessions.insert(instance.session());
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert(earlier.name(), earlier.document());
    let respond = |ec2: FakeEc2| {
        let iam = &iam;
        let id = id.clone();
        async move {
            firebreak::respond::respond(
                &exfiltration("web-role", &id),
                &config(),
                &ec2,
                &NoEstate,
                iam,
                &FakeSns::default(),
            )
            .await
            .unwrap()
        }
    };

    // The instance has no profile any more (Firebreak took it off an hour ago): its stolen
    // sessions are denied already; nothing is written.
    let report = respond(FakeEc2::new(vec![])).await;
    let revoked = report
        .outcomes
        .iter()
        .find(|o| o.action == firebreak::kind::ActionKind::RevokeInstanceSessions)
        .unwrap();
    assert_eq!(revoked.status, Status::AlreadyDone, "{revoked:?}");
    assert!(!iam.calls().iter().any(|c| c.starts_with("put-role-policy")));

    // It has a profile again (re-attached), so it may hold new credentials: it moves to this
    // minute's policy, and off the earlier one, which is deleted once it lists no instance.
    let report = respond(ec2_with_profile()).await;
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let held = held(&iam);
    assert!(denied_now(&iam, &instance), "{held:?}");
    assert!(!held.iter().any(|(n, _)| *n == earlier.name()), "{held:?}");
    assert!(!denied_now(&iam, &other));
    assert_eq!(held.len(), 1, "{held:?}");
}

#[tokio::test]
async fn a_write_a_concurrent_revocation_replaced_is_read_back_and_written_again() {
    let iam = FakeIam::default();
    *iam.clobber.lock().unwrap() = Some("FirebreakRevokeInstanceSessions-".into());
    let (id, instance) = fleet(7);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let puts = iam
        .calls()
        .iter()
        .filter(|c| c.starts_with("put-role-policy FirebreakRevokeInstanceSessions-"))
        .count();
    assert_eq!(puts, 2, "{:?}", iam.calls());
    assert!(denied_now(&iam, &instance), "{:?}", held(&iam));
}

#[tokio::test]
async fn an_instance_deny_with_no_room_denies_every_session_of_the_role_and_says_so() {
    // The role's own policies leave less room than an instance's deny takes, more than the
    // role-wide one does.
    let filler = |size: usize| format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(size));
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert("Customer".into(), filler(9_900));
    let sns = FakeSns::default();
    let (id, _) = fleet(8);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &sns,
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let names: Vec<String> = held(&iam).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["AWSRevokeOlderSessions", "Customer"]);
    // No write was refused by IAM: the sizes were counted before.
    assert!(!iam
        .calls()
        .iter()
        .any(|c| c.contains("FirebreakRevokeInstanceSessions-")));
    let body = &sns.0.lock().unwrap()[0].email();
    for needle in [
        "NOT ONLY THE INSTANCE'S SESSIONS",
        "AWSRevokeOlderSessions denies EVERY session of the role issued before",
        "delete-role-policy --role-name web-role --policy-name AWSRevokeOlderSessions",
    ] {
        assert!(body.contains(needle), "{needle} not in\n{body}");
    }

    // No room even for that: the response fails, says why, and is retried.
    let iam = FakeIam::default();
    iam.role_policies
        .lock()
        .unwrap()
        .insert("Customer".into(), filler(10_200));
    let err = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &sns,
    )
    .await
    .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert_eq!(held(&iam).len(), 1);
    let body = &sns.0.lock().unwrap()[1].email();
    assert!(
        body.contains("no room for the deny") && body.contains("over IAM's 10240"),
        "{body}"
    );
}

#[tokio::test]
async fn policies_that_cannot_be_read_still_get_the_deny_as_earlier_versions_wrote_it() {
    // A member role of an earlier template, without ListRolePolicies: the instance's own policy
    // of earlier versions (no other revocation writes its name), the outcome says why.
    let denied = AwsError {
        code: Some("AccessDenied".into()),
        message: "not authorized to perform iam:ListRolePolicies".into(),
    };
    let iam = FakeIam {
        policies_error: Some(denied.clone()),
        ..FakeIam::default()
    };
    let (id, instance) = fleet(9);
    let report = firebreak::respond::respond(
        &exfiltration("web-role", &id),
        &config(),
        &ec2_with_profile(),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let held = held(&iam);
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].0, firebreak::tags::instance_revoke_policy(&id));
    assert!(denies::denied_by(&held, &instance, 0).is_some(), "{held:?}");
    let revoked = report
        .outcomes
        .iter()
        .find(|o| o.action == firebreak::kind::ActionKind::RevokeInstanceSessions)
        .unwrap();
    assert!(
        revoked.detail.contains("could not be read (AccessDenied"),
        "{revoked:?}"
    );

    // A user's: the deny written as before.
    let iam = FakeIam {
        policies_error: Some(denied),
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert!(iam
        .user_policies
        .lock()
        .unwrap()
        .contains_key("FirebreakRevokeOlderSessions"));
}
