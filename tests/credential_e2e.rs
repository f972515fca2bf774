//! Credential containment: `guardduty-responder`, the real binary, through the Lambda Runtime API,
//! against the local AWS. Every assertion reads IAM / EC2 state back from the emulator.
//!
//! IAM is account-global, and two of these tests assert that *nothing* changed on their principals,
//! so the tests of this file take turns (one lock); those assertions read only the principals the
//! test made, since other files' tests (in the same binary) make principals of their own.

use std::time::{Duration, SystemTime};

use firebreak::incident::tag_value as tag;
use firebreak_tests::fixtures::{credential_event, readable, unique, Aws, RoleState, UserState};
use firebreak_tests::{Function, Invocation};
use serde_json::{json, Value};

pub(crate) static IAM: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn responder(topic_arn: &str, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![("FIREBREAK_TOPIC_ARN", topic_arn)];
    env.extend_from_slice(extra);
    Function::start("guardduty-responder", &env).await
}

fn epoch(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn parse_time(s: &str) -> f64 {
    let t = aws_smithy_types::DateTime::from_str(s, aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|e| panic!("{s:?} is not an RFC 3339 time: {e}"));
    t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

/// The cutoff of a deny-older-sessions policy, after checking the policy denies everything before it.
fn cutoff_of(policy: &Value) -> String {
    let statements = policy["Statement"].as_array().expect("a statement list");
    assert_eq!(statements.len(), 1, "{policy}");
    let s = &statements[0];
    assert_eq!(s["Effect"], "Deny", "{policy}");
    assert_eq!(s["Action"], json!(["*"]), "{policy}");
    assert_eq!(s["Resource"], json!(["*"]), "{policy}");
    s["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap_or_else(|| panic!("no DateLessThan aws:TokenIssueTime in {policy}"))
        .to_string()
}

/// What a minute's policy denies, after checking each statement denies everything to the sessions
/// issued before its cutoff that one condition on the instance names: (cutoff, the instances'
/// ARNs by `ec2:SourceInstanceARN`, the `aws:userId` patterns).
fn instance_denies(policy: &Value) -> (String, Vec<String>, Vec<String>) {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap_or_else(|| panic!("a list: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let statements = policy["Statement"].as_array().expect("a statement list");
    assert_eq!(statements.len(), 2, "{policy}");
    let mut cutoffs = Vec::new();
    let (mut arns, mut sessions) = (Vec::new(), Vec::new());
    for s in statements {
        assert_eq!(s["Effect"], "Deny", "{policy}");
        assert_eq!(s["Action"], "*", "{policy}");
        assert_eq!(s["Resource"], "*", "{policy}");
        let c = s["Condition"].as_object().expect("conditions");
        assert_eq!(c.len(), 2, "{s}");
        cutoffs.push(
            c["DateLessThan"]["aws:TokenIssueTime"]
                .as_str()
                .unwrap_or_else(|| panic!("no cutoff in {s}"))
                .to_string(),
        );
        match (c.get("ArnEquals"), c.get("StringLike")) {
            (Some(a), None) => arns = strings(&a["ec2:SourceInstanceARN"]),
            (None, Some(u)) => sessions = strings(&u["aws:userId"]),
            _ => panic!("unscoped: {s}"),
        }
    }
    assert_eq!(cutoffs[0], cutoffs[1], "{policy}");
    (cutoffs.remove(0), arns, sessions)
}

pub(crate) fn user_key(key: &str, user: &str) -> Value {
    json!({"accessKeyId": key, "principalId": "AIDAEXAMPLEUSERID0001", "userName": user, "userType": "IAMUser"})
}

fn role_session(role: &str, session: &str) -> Value {
    json!({"accessKeyId": "ASIAEXAMPLESESSION01", "principalId": format!("AROAEXAMPLEROLEID0001:{session}"),
           "userName": role, "userType": "AssumedRole"})
}

/// Tags the user `firebreak:exempt=true`.
async fn exempt_user(aws: &Aws, user: &str) {
    aws.iam
        .tag_user()
        .user_name(user)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("firebreak:exempt")
                .value("true")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

/// The state of these users and roles, by name: what "nothing changed in IAM" is checked against.
async fn iam_snapshot(
    aws: &Aws,
    users: &[&str],
    roles: &[&str],
) -> (Vec<(String, UserState)>, Vec<(String, RoleState)>) {
    let mut u = Vec::new();
    for name in users {
        u.push((name.to_string(), aws.user_state(name).await));
    }
    let mut r = Vec::new();
    for name in roles {
        r.push((name.to_string(), aws.role_state(name).await));
    }
    (u, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_key_is_deactivated_alone_and_the_users_sessions_and_password_are_revoked() {
    let _turn = IAM.lock().await;
    // GIVEN a user with two active keys and a console password
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;
    let finding = unique("finding");
    let event = credential_event(
        &finding,
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        8.0,
        &user_key(&keys[0], &user),
        None,
    );

    // WHEN GuardDuty reports the first key used from a malicious IP
    let (answer, delivered) = function.invoke_timed(&event).await;
    answer.unwrap();

    // THEN exactly that key is Inactive and the other still Active
    let state = aws.user_state(&user).await;
    let mut want = vec![
        (keys[0].clone(), "Inactive".to_string()),
        (keys[1].clone(), "Active".to_string()),
    ];
    want.sort();
    assert_eq!(state.keys, want);
    // AND one deny-older-sessions policy whose cutoff is no earlier than the delivery
    assert_eq!(state.policies.len(), 1, "{:?}", state.policies);
    assert_eq!(state.policies[0].0, "FirebreakRevokeOlderSessions");
    let cutoff = cutoff_of(&state.policies[0].1);
    assert!(
        parse_time(&cutoff) >= epoch(delivered),
        "cutoff {cutoff} is before the delivery at {}",
        epoch(delivered)
    );
    // AND the console password is gone, recorded first
    assert!(!state.login, "the login profile is still there");
    let record = tag(&state.tags, "firebreak:removed-login-profile").expect("password record");
    assert!(
        record.starts_with("created=") && record.contains("reset-required=false"),
        "{record}"
    );
    assert_eq!(
        tag(
            &state.tags,
            &format!("firebreak:deactivated-key:{}", keys[0])
        ),
        Some(finding.as_str())
    );
    assert_eq!(
        tag(&state.tags, "firebreak:status"),
        Some("credentials-revoked told"),
        "revoked, and the team told"
    );
    // Each record sealed for the user, as IAM holds it.
    let raw = aws
        .iam
        .list_user_tags()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    for t in raw.tags() {
        assert!(t.value().contains(" fb="), "{t:?} is not sealed");
    }
    assert_eq!(
        tag(&state.tags, "firebreak:sessions-revoked-before"),
        Some(cutoff.as_str())
    );

    // WHEN EventBridge delivers the same finding again
    function.invoke(&event).await.unwrap();

    // THEN still exactly one policy (its cutoff may only move later), the same keys, the same record
    let again = aws.user_state(&user).await;
    assert_eq!(again.keys, want);
    assert_eq!(again.policies.len(), 1, "{:?}", again.policies);
    assert!(parse_time(&cutoff_of(&again.policies[0].1)) >= parse_time(&cutoff));
    assert!(!again.login);
    assert_eq!(
        tag(&again.tags, "firebreak:removed-login-profile"),
        Some(record)
    );

    // AND one message said what was cut off and how to undo it: the redelivery, which only moved
    // the cutoff later, is not told again
    let messages = aws.messages(&queue, 2, Duration::from_secs(10)).await;
    assert_eq!(messages.len(), 1);
    assert!(messages[0]["Subject"].as_str().unwrap().contains(&keys[0]));
    assert_eq!(
        messages[0]["MessageAttributes"]["outcome"]["Value"],
        "contained"
    );
    let body = &readable(&messages[0]);
    for needle in [
        format!(
            "--user-name {user} --access-key-id {} --status Active",
            keys[0]
        ),
        format!("delete-user-policy --user-name {user} --policy-name FirebreakRevokeOlderSessions"),
        format!("create-login-profile --user-name {user}"),
    ] {
        assert!(body.contains(&needle), "{needle} not in\n{body}");
    }
    assert!(!body.contains(&keys[1]), "the other key is not mentioned");

    // AND the log names finding, resource, action and outcome
    assert!(
        function
            .logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .any(|v| v["fields"]["action"] == "deactivate-access-key"
                && v["fields"]["outcome"] == "succeeded"
                && v["fields"]["finding_id"] == finding.as_str()
                && v["fields"]["resource"] == keys[0].as_str()),
        "{:#?}",
        function.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assumed_role_session_finding_revokes_the_roles_older_sessions() {
    let _turn = IAM.lock().await;
    let aws = Aws::new().await;
    let (role, _profile) = aws.role_with_profile().await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;

    let (answer, delivered) = function
        .invoke_timed(&credential_event(
            &unique("finding"),
            "CredentialAccess:IAMUser/AnomalousBehavior",
            8.0,
            &role_session(&role, "deploy-session"),
            None,
        ))
        .await;
    answer.unwrap();

    let state = aws.role_state(&role).await;
    assert_eq!(state.policies.len(), 1, "{:?}", state.policies);
    assert_eq!(state.policies[0].0, "AWSRevokeOlderSessions");
    let cutoff = cutoff_of(&state.policies[0].1);
    assert!(parse_time(&cutoff) >= epoch(delivered), "{cutoff}");
    assert_eq!(
        tag(&state.tags, "firebreak:status"),
        Some("sessions-revoked told"),
        "revoked, and the team told"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exfiltration_finding_revokes_the_instance_role_and_detaches_its_profile() {
    let _turn = IAM.lock().await;
    // GIVEN an instance running with an instance profile whose role another instance shares
    let aws = Aws::new().await;
    let (_vpc, subnet) = aws.vpc("10.20.0.0/16").await;
    let (role, profile) = aws.role_with_profile().await;
    let app = aws.app_group(&_vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    aws.associate_profile(&instance, &profile).await;
    let other = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    aws.associate_profile(&other, &profile).await;
    assert_eq!(aws.profile_associations(&instance).await.len(), 1);
    let interfaces = aws.interfaces(&instance).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;

    // WHEN GuardDuty reports its credentials used outside AWS
    let (answer, delivered) = function
        .invoke_timed(&credential_event(
            &unique("finding"),
            "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            8.0,
            &role_session(&role, &instance),
            Some(&instance),
        ))
        .await;
    answer.unwrap();

    // THEN the role's sessions issued to that instance before the response are denied, in the
    // policy of the minute the response's cutoff rounds up to, and no statement denies the other
    // instance's sessions
    let state = aws.role_state(&role).await;
    assert_eq!(state.policies.len(), 1, "{:?}", state.policies);
    assert!(
        state.policies[0]
            .0
            .starts_with("FirebreakRevokeInstanceSessions-"),
        "{:?}",
        state.policies
    );
    let policy = &state.policies[0].1;
    let (cutoff, arns, sessions) = instance_denies(policy);
    assert!(parse_time(&cutoff) >= epoch(delivered));
    assert!(parse_time(&cutoff) < epoch(delivered) + 61.0, "{cutoff}");
    assert_eq!(
        arns,
        [format!(
            "arn:aws:ec2:us-east-1:123456789012:instance/{instance}"
        )]
    );
    assert_eq!(sessions, [format!("*:{instance}")]);
    assert!(!policy.to_string().contains(&other), "{policy}");
    // AND the other instance keeps its profile
    assert_eq!(aws.profile_associations(&other).await.len(), 1);
    // AND the instance has no profile any more, recorded on the instance
    assert!(aws.profile_associations(&instance).await.is_empty());
    let tags = aws.tags(&instance).await;
    assert_eq!(
        tag(&tags, "firebreak:removed-instance-profile"),
        Some(profile.as_str())
    );
    // AND the instance itself was not quarantined by a credential finding
    assert_eq!(aws.interfaces(&instance).await, interfaces);
    assert_eq!(
        aws.describe(&instance)
            .await
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string()),
        Some("running".to_string())
    );
    // AND the team is told only that instance's sessions are denied, and how to restore the profile
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    let body = &readable(&messages[0]);
    assert!(
        body.contains("WARNING") && body.contains(&role) && body.contains("Only the sessions"),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "associate-iam-instance-profile --region us-east-1 --instance-id {instance} --iam-instance-profile Arn={profile}"
        )),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_finding_changes_nothing_and_sends_one_message() {
    let _turn = IAM.lock().await;
    // GIVEN IAM with users and roles in it
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    let (role, _) = aws.role_with_profile().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[]).await;
    let before = iam_snapshot(&aws, &[&user], &[&role]).await;

    // WHEN a high-severity finding names the root user's credentials
    let report = function
        .invoke(&credential_event(
            &unique("finding"),
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            9.0,
            &json!({"accessKeyId": keys[0], "principalId": "123456789012", "userName": "root", "userType": "Root"}),
            None,
        ))
        .await
        .unwrap();

    // THEN nothing in IAM changed, and exactly one message says why
    assert_eq!(iam_snapshot(&aws, &[&user], &[&role]).await, before);
    assert_eq!(report["verdict"], "notified-only");
    let messages = aws.messages(&queue, 2, Duration::from_secs(3)).await;
    assert_eq!(messages.len(), 1);
    let body = &readable(&messages[0]);
    assert!(
        body.contains("root credentials") && body.contains("nothing was changed"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_and_exempt_users_change_nothing() {
    let _turn = IAM.lock().await;
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    let (exempt, exempt_keys) = aws.user_with_keys().await;
    exempt_user(&aws, &exempt).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let finding_type = "UnauthorizedAccess:IAMUser/MaliciousIPCaller";

    // A dry run: the plan is told, nothing in IAM changes.
    let dry = responder(&topic, &[("FIREBREAK_MODE", "dry-run")]).await;
    let principals = [user.as_str(), exempt.as_str()];
    let before = iam_snapshot(&aws, &principals, &[]).await;
    let report = dry
        .invoke(&credential_event(
            &unique("finding"),
            finding_type,
            8.0,
            &user_key(&keys[0], &user),
            None,
        ))
        .await
        .unwrap();
    assert_eq!(report["verdict"], "dry-run");
    assert_eq!(iam_snapshot(&aws, &principals, &[]).await, before);
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    let body = &readable(&messages[0]);
    assert!(
        body.contains("deactivate-access-key") && body.contains("Planned"),
        "{body}"
    );

    // An exempt user: skipped, nothing changes.
    let apply = responder(&topic, &[]).await;
    let answer = apply
        .invoke(&credential_event(
            &unique("finding"),
            finding_type,
            8.0,
            &user_key(&exempt_keys[0], &exempt),
            None,
        ))
        .await;
    let Invocation::Response(report) = answer else {
        panic!("{answer:?}")
    };
    assert_eq!(report["verdict"], "skipped");
    assert_eq!(iam_snapshot(&aws, &principals, &[]).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finding_about_firebreak_s_own_member_role_changes_nothing_and_asks_a_human() {
    let _turn = IAM.lock().await;
    // GIVEN a role that is Firebreak's member role in this account
    let aws = Aws::new().await;
    let (role, _profile) = aws.role_with_profile().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[("FIREBREAK_MEMBER_ROLE", role.as_str())]).await;

    // WHEN GuardDuty reports a session of it misused
    let answer = function
        .invoke(&credential_event(
            &unique("finding"),
            "PrivilegeEscalation:IAMUser/AnomalousBehavior",
            8.0,
            &role_session(&role, "firebreak"),
            None,
        ))
        .await;
    answer.unwrap();

    // THEN the role is untouched (no deny of Firebreak's own sessions, no tag)
    let state = aws.role_state(&role).await;
    assert!(state.policies.is_empty(), "{:?}", state.policies);
    assert!(
        !state.tags.iter().any(|(k, _)| k.starts_with("firebreak:")),
        "{:?}",
        state.tags
    );
    // AND the team is told, loudly, that a human must act
    let messages = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    let subject = messages[0]["Subject"].as_str().unwrap();
    assert!(subject.contains("NEEDS A HUMAN"), "{subject}");
    let body = &readable(&messages[0]);
    assert!(
        body.contains("lock Firebreak out") && body.contains(&role),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_user_whose_tags_cannot_be_read_keeps_its_key_and_gets_no_policy() {
    let _turn = IAM.lock().await;
    // GIVEN an exempt user whose IAM reads are throttled
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    exempt_user(&aws, &user).await;
    let rule = unique("iam-read");
    firebreak_tests::faults::fail_iam_reads(&rule, &user, "Throttling", 400).await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let function = responder(&topic, &[("AWS_MAX_ATTEMPTS", "2")]).await;

    // WHEN GuardDuty reports its key
    let answer = function
        .invoke(&credential_event(
            &unique("finding"),
            "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
            8.0,
            &user_key(&keys[0], &user),
            None,
        ))
        .await;
    firebreak_tests::faults::clear(&rule).await;

    // THEN nothing was done, and the invocation failed so that it is retried
    match &answer {
        Invocation::Error { error_type, .. } => assert_eq!(error_type, "ContainmentFailed"),
        other => panic!("expected a containment failure, got {other:?}"),
    }
    let state = aws.user_state(&user).await;
    assert!(state.policies.is_empty(), "{:?}", state.policies);
    assert!(
        state.keys.iter().all(|(_, status)| status == "Active"),
        "{:?}",
        state.keys
    );
}

/// The policy an earlier version wrote for one instance (`FirebreakRevokeSessionsOf-<instance>`).
fn earlier_instance_policy(instance: &str, cutoff: &str) -> String {
    let deny = |condition: Value| json!({"Effect": "Deny", "Action": ["*"], "Resource": ["*"], "Condition": condition});
    json!({"Version": "2012-10-17", "Statement": [
        deny(json!({"DateLessThan": {"aws:TokenIssueTime": cutoff},
                    "ArnEquals": {"ec2:SourceInstanceARN":
                        format!("arn:aws:ec2:us-east-1:123456789012:instance/{instance}")}})),
        deny(json!({"DateLessThan": {"aws:TokenIssueTime": cutoff},
                    "StringEquals": {"aws:userId": format!("AROAEXAMPLEROLEID0001:{instance}")}})),
    ]})
    .to_string()
}

/// A role's inline policies' size as IAM counts it: white space left out.
fn iam_size(state: &RoleState) -> usize {
    state
        .policies
        .iter()
        .map(|(_, p)| p.to_string().chars().filter(|c| !c.is_whitespace()).count())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exfiltration_burst_across_a_fleet_revokes_every_instance_and_the_role_stays_under_iam_s_limit(
) {
    let _turn = IAM.lock().await;
    // GIVEN 40 instances sharing one instance profile, whose role already holds an inline policy
    // of its own and 5 per-instance policies an earlier version wrote an hour ago (the local AWS
    // holds a role's inline policies to IAM's 10,240 characters)
    const FLEET: usize = 40;
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.21.0.0/16").await;
    let (role, profile) = aws.role_with_profile().await;
    let app = aws.app_group(&vpc).await;
    let fleet: Vec<String> = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], FLEET as i32)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for id in &fleet {
        aws.associate_profile(id, &profile).await;
    }
    let own = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": (0..20).map(|n| format!("arn:aws:s3:::fleet-data-{n}/*")).collect::<Vec<_>>()}]});
    let mut put = vec![("FleetData".to_string(), own.to_string())];
    let hour_ago = aws_smithy_types::DateTime::from_secs(epoch(SystemTime::now()) as i64 - 3600)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    let earlier: Vec<String> = (0..5).map(|n| format!("i-0e{n:015x}")).collect();
    for id in &earlier {
        put.push((
            format!("FirebreakRevokeSessionsOf-{id}"),
            earlier_instance_policy(id, &hour_ago),
        ));
    }
    for (name, document) in &put {
        aws.iam
            .put_role_policy()
            .role_name(&role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .unwrap();
    }
    let (topic, _queue) = aws.topic_with_queue().await;

    // WHEN GuardDuty reports each instance's credentials used outside AWS, the findings handled
    // concurrently by 8 function instances, as Lambda scales out for a burst
    let mut runs = tokio::task::JoinSet::new();
    for chunk in fleet.chunks(FLEET / 8) {
        let function = responder(&topic, &[]).await;
        let chunk = chunk.to_vec();
        let role = role.clone();
        runs.spawn(async move {
            let mut answers = Vec::new();
            for id in chunk {
                let event = credential_event(
                    &unique("finding"),
                    "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
                    8.0,
                    &role_session(&role, &id),
                    Some(&id),
                );
                let (answer, delivered) = function.invoke_timed(&event).await;
                answers.push((id, answer, delivered));
            }
            (answers, function.logs())
        });
    }
    let mut delivered = Vec::new();
    while let Some(run) = runs.join_next().await {
        let (answers, logs) = run.unwrap();
        for (id, answer, at) in answers {
            let Invocation::Response(report) = &answer else {
                panic!("{id}: {answer:?}\n{}", logs.join("\n"))
            };
            assert_eq!(report["verdict"], "contained", "{id}: {report}");
            delivered.push((id, at));
        }
    }
    assert_eq!(delivered.len(), FLEET);

    // THEN the role, as IAM holds it, denies each instance's sessions issued before its
    // response, by the instance's ARN and by its session name
    let state = aws.role_state(&role).await;
    let mut denied: Vec<(f64, String)> = Vec::new();
    for (name, policy) in &state.policies {
        if !name.starts_with("FirebreakRevokeInstanceSessions-") {
            continue;
        }
        let (cutoff, arns, sessions) = instance_denies(policy);
        for arn in arns {
            let id = arn.rsplit('/').next().unwrap().to_string();
            assert!(
                sessions.contains(&format!("*:{id}")),
                "{id} by ARN only: {policy}"
            );
            denied.push((parse_time(&cutoff), id));
        }
    }
    for (id, at) in &delivered {
        assert!(
            denied
                .iter()
                .any(|(cutoff, d)| d == id && *cutoff >= epoch(*at)),
            "{id} is not denied: {:#?}",
            state.policies
        );
        assert!(
            aws.profile_associations(id).await.is_empty(),
            "{id} keeps its profile"
        );
    }
    // AND the earlier version's instances are still denied, their policies taken over and removed
    for id in &earlier {
        assert!(denied.iter().any(|(_, d)| d == id), "{id} no longer denied");
    }
    let names: Vec<&str> = state.policies.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("FirebreakRevokeSessionsOf-")),
        "{names:?}"
    );
    // AND no revocation had to deny the whole role, the role's own policy is untouched, and the
    // role is under IAM's limit: one policy per minute the burst spanned, and the hour-old one
    let size = iam_size(&state);
    assert!(size <= 10_240, "{size}");
    assert!(!names.contains(&"AWSRevokeOlderSessions"), "{names:?}");
    assert!(names.len() <= 5, "{names:?}");
    let kept = state
        .policies
        .iter()
        .find(|(n, _)| n == "FleetData")
        .unwrap();
    assert_eq!(kept.1, own);
    eprintln!(
        "{FLEET} instances revoked: {} inline policies, {size} of 10,240 characters",
        names.len()
    );
}
