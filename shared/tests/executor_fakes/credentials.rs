//! The credential schedulers: a user's leaked key, an instance's exfiltrated credentials, and
//! a user's deny.

use firebreak::denies::{self, Instance};

use crate::estates::NoEstate;
use crate::fake_iam::FakeIam;
use crate::fakes::{throttled, FakeEc2, FakeSns};
use crate::scenarios::*;

#[tokio::test]
async fn a_leaked_user_key_is_cut_off_and_the_password_recorded_before_it_is_removed() {
    let iam = FakeIam::default();
    let ec2 = FakeEc2::new(vec![]);
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = iam.calls();
    // Exactly the leaked key.
    assert!(calls.contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(!calls.iter().any(|c| c.contains("AKIAOTHER")), "{calls:?}");
    // The password is recorded in a tag before it is deleted.
    assert!(
        position(&calls, "tag-user firebreak:removed-login-profile")
            < position(&calls, "delete-login")
    );
    // The cutoff is written at once, then moved past the deactivation and the deletion.
    let puts: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("put-user-policy FirebreakRevokeOlderSessions"))
        .collect();
    assert_eq!(puts.len(), 2, "{calls:?}");
    assert!(position(&calls, "put-user-policy") < position(&calls, "delete-login"));
    assert!(cutoff(puts[1]) >= cutoff(puts[0]));
    let last = calls
        .iter()
        .rposition(|c| c.starts_with("put-user-policy"))
        .unwrap();
    assert!(last > position(&calls, "delete-login"));
    // Nothing touched EC2, and the notification says how to undo each step.
    assert!(ec2.calls().is_empty(), "{:?}", ec2.calls());
    let body = &sns.0.lock().unwrap()[0].email();
    for undo in [
        "update-access-key --user-name alice --access-key-id AKIALEAKEDLEAKED0001 --status Active",
        "delete-user-policy --user-name alice --policy-name FirebreakRevokeOlderSessions",
        "create-login-profile --user-name alice",
    ] {
        assert!(body.contains(undo), "{undo} missing from\n{body}");
    }
}

#[tokio::test]
async fn forged_records_on_a_user_are_not_trusted_and_the_tampering_is_told() {
    // Someone wrote Firebreak's finding and password record on the user, with a seal that does
    // not verify: the adapter keeps them out of the tags (so the response records the finding
    // and the password itself, as for a user never answered) and reports them.
    let iam = FakeIam {
        forged: vec![
            "firebreak:finding-id".into(),
            "firebreak:removed-login-profile".into(),
        ],
        ..FakeIam::default()
    };
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let ec2 = FakeEc2::new(vec![]);
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = iam.calls();
    assert!(calls.contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(
        position(&calls, "tag-user firebreak:removed-login-profile")
            < position(&calls, "delete-login")
    );
    assert!(
        calls.iter().any(|c| c.starts_with("tag-user")
            && c.contains(&format!("firebreak:finding-id={}", i.finding_id))),
        "the finding recorded as if none were: {calls:?}"
    );
    let body = sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("TAMPERING: alice carries firebreak:* tags whose seal does not verify")
            && body.contains("\"firebreak:removed-login-profile\""),
        "{body}"
    );
}

#[tokio::test]
async fn a_key_that_is_not_the_users_or_that_cannot_be_deactivated_fails_containment() {
    let sns = FakeSns::default();
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIANOTHERSNOTHERS03"),
    );
    let iam = FakeIam::default();
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert!(!iam.calls().iter().any(|c| c.starts_with("deactivate")));
    // The sessions are still denied: one failed step does not stop the others.
    assert!(iam.calls().iter().any(|c| c.starts_with("put-user-policy")));

    let iam = FakeIam {
        fail_deactivate: true,
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    let calls = iam.calls();
    assert!(
        calls
            .iter()
            .any(|c| c.contains("firebreak:status=revocation-failed")),
        "{calls:?}"
    );
    assert!(sns.0.lock().unwrap()[1]
        .subject
        .contains("CONTAINMENT FAILED"));
}

#[tokio::test]
async fn an_exempt_user_is_left_alone_and_an_inactive_key_is_already_done() {
    let iam = FakeIam {
        user_tags: vec![("firebreak:exempt".into(), "true".into())],
        ..FakeIam::default()
    };
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "skipped");
    assert!(
        iam.calls()
            .iter()
            .all(|c| c.starts_with("get-") || c == "list-keys"),
        "{:?}",
        iam.calls()
    );

    let mut iam = FakeIam::default();
    iam.keys[0].status = "Inactive".into();
    iam.login = None;
    let report = firebreak::respond::respond(
        &i,
        &config(),
        &FakeEc2::new(vec![]),
        &NoEstate,
        &iam,
        &FakeSns::default(),
    )
    .await
    .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    assert!(!iam
        .calls()
        .iter()
        .any(|c| c.starts_with("deactivate") || c == "delete-login"));
    // Nothing new was closed, so the cutoff is written once.
    assert_eq!(
        iam.calls()
            .iter()
            .filter(|c| c.starts_with("put-user-policy"))
            .count(),
        1
    );
}

#[tokio::test]
async fn instance_credentials_revoke_the_role_and_detach_the_profile_after_recording_it() {
    let iam = FakeIam::default();
    let ec2 = ec2_with_profile();
    let sns = FakeSns::default();
    let i = exfiltration("web-role", "i-0123456789abcdef0");
    let report = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(report.verdict).unwrap(), "contained");
    let calls = ec2.calls();
    assert!(
        position(&calls, "tag firebreak:removed-instance-profile")
            < position(&calls, "disassociate iip-assoc-1"),
        "{calls:?}"
    );
    // The instance itself is not quarantined by this finding.
    assert!(!calls.iter().any(|c| c.starts_with("set ")));
    // Only that instance's sessions, in the policy of the minute its cutoff rounds up to: read
    // first, written, read back.
    let role_calls = iam.calls();
    let first = position(
        &role_calls,
        "put-role-policy FirebreakRevokeInstanceSessions-",
    );
    assert!(position(&role_calls, "list-role-policies") < first);
    assert!(role_calls[first + 1..].contains(&"list-role-policies".to_string()));
    let held = held(&iam);
    assert_eq!(held.len(), 1, "{held:?}");
    let minute = denies::Minute::parse(&held[0].1).expect("a minute's policy");
    let instance = Instance::new(
        "i-0123456789abcdef0",
        "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0",
    )
    .unwrap();
    assert!(minute.denies(&instance) && minute.len() == 1, "{minute:?}");
    assert!(held[0]
        .1
        .contains("\"aws:userId\":[\"*:i-0123456789abcdef0\"]"));
    assert!(denied_now(&iam, &instance));
    // The cutoff recorded on the role is the minute's.
    assert!(role_calls
        .iter()
        .any(|c| c.starts_with("tag-role") && c.contains("firebreak:sessions-revoked-before")));
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("WARNING") && body.contains("Only the sessions") && body.contains("FbRevoke"),
        "{body}"
    );
    assert!(body.contains(&format!(
        "delete-role-policy --role-name web-role --policy-name {}",
        held[0].0
    )));
    assert!(body.contains("associate-iam-instance-profile --region us-east-1 --instance-id i-0123456789abcdef0 --iam-instance-profile Arn=arn:aws:iam::123456789012:instance-profile/web"));
}

#[tokio::test]
async fn a_user_s_deny_is_sized_and_never_moves_an_earlier_cutoff_back() {
    let iam = FakeIam::default();
    let far = "2099-01-01T00:00:00Z";
    iam.user_policies.lock().unwrap().insert(
        "FirebreakRevokeOlderSessions".into(),
        denies::older_sessions(far),
    );
    let i = key_incident(
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let ec2 = FakeEc2::new(vec![]);
    let sns = FakeSns::default();
    firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap();
    let held = iam.user_policies.lock().unwrap().clone();
    assert_eq!(
        denies::cutoff_of(&held["FirebreakRevokeOlderSessions"]).as_deref(),
        Some(far)
    );

    // A user whose inline policies leave no room: the key is still deactivated, the deny fails
    // with the reason, not IAM's LimitExceeded.
    let iam = FakeIam::default();
    let filler = format!(r#"{{"Version":"2012-10-17","Id":"{}"}}"#, "x".repeat(1_950));
    iam.user_policies
        .lock()
        .unwrap()
        .insert("Own".into(), filler);
    let err = firebreak::respond::respond(&i, &config(), &ec2, &NoEstate, &iam, &sns)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    assert!(iam
        .calls()
        .contains(&"deactivate AKIALEAKEDLEAKED0001".to_string()));
    assert!(!iam.calls().iter().any(|c| c.starts_with("put-user-policy")));
    let body = &sns.0.lock().unwrap()[1].email();
    assert!(
        body.contains("could not deny the user's older sessions: no room for the deny"),
        "{body}"
    );
    assert!(body.contains("over IAM's 2048"), "{body}");
}

#[tokio::test]
async fn a_user_whose_exemption_cannot_be_read_is_not_touched_and_the_invocation_fails() {
    let iam = FakeIam {
        read_error: Some(throttled()),
        ..FakeIam::default()
    };
    let sns = FakeSns::default();
    let i = key_incident(
        "CredentialAccess:IAMUser/AnomalousBehavior",
        user_key("AKIALEAKEDLEAKED0001"),
    );
    let err =
        firebreak::respond::respond(&i, &config(), &FakeEc2::new(vec![]), &NoEstate, &iam, &sns)
            .await
            .unwrap_err();
    assert_eq!(err.error_type(), "ContainmentFailed");
    // Read, and nothing else: no key deactivated, no policy, no tag.
    assert!(
        iam.calls()
            .iter()
            .all(|c| c.starts_with("get-") || c.starts_with("list-")),
        "{:?}",
        iam.calls()
    );
    let body = &sns.0.lock().unwrap()[0].email();
    assert!(
        body.contains("is exempt") && body.contains("NOT acted on"),
        "{body}"
    );
}
