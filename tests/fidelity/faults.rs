//! The launcher's test controls (`firebreak_tests::faults`): injected failures and stalls on the
//! way into an isolation group, failing IAM reads of one principal.

use std::time::{Duration, Instant};

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::modify_network_interface_attribute::ModifyNetworkInterfaceAttributeError;
use firebreak_tests::faults;
use firebreak_tests::fixtures::{unique, Aws};

use super::{code, new_group, refusal};

/// ModifyNetworkInterfaceAttribute(eni, groups).
async fn set_groups(
    aws: &Aws,
    eni: &str,
    groups: &[&String],
) -> Result<(), SdkError<ModifyNetworkInterfaceAttributeError, HttpResponse>> {
    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(eni)
        .set_groups(Some(groups.iter().map(|g| g.to_string()).collect()))
        .send()
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_injected_failure_fails_only_changes_into_the_isolation_group() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.58.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let isolation = new_group(&aws, &vpc, Some("isolation")).await;
    let untracking = new_group(&aws, &vpc, Some("untracking")).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 2)
        .await;
    let (eni, other) = (made[0].1[0].0.clone(), made[1].1[0].0.clone());
    let id = unique("fail");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::fail_isolation(&id, &eni, "UnauthorizedOperation", 403).await;

    let injected = (
        "UnauthorizedOperation".to_string(),
        format!("injected by test rule {id}"),
        403,
    );
    // Every time, whatever else is asked for with it.
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&isolation]).await),
        injected
    );
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&isolation]).await),
        injected
    );
    assert_eq!(
        refusal(set_groups(&aws, &eni, &[&app, &isolation]).await),
        injected
    );
    // Any other change on that ENI, and the same change on another ENI, go through.
    set_groups(&aws, &eni, &[&untracking]).await.unwrap();
    set_groups(&aws, &eni, &[&app]).await.unwrap();
    set_groups(&aws, &other, &[&isolation]).await.unwrap();
    let groups = |eni: String| {
        let aws = &aws;
        async move {
            aws.ec2
                .describe_network_interfaces()
                .network_interface_ids(eni)
                .send()
                .await
                .unwrap()
                .network_interfaces()[0]
                .groups()
                .iter()
                .map(|g| g.group_id().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(groups(eni.clone()).await, vec![app.clone()]);
    assert_eq!(groups(other.clone()).await, vec![isolation.clone()]);

    faults::clear(&id).await;
    set_groups(&aws, &eni, &[&isolation]).await.unwrap();
    assert_eq!(groups(eni).await, vec![isolation]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_change_answers_late_is_applied_and_holds_up_nothing_else() {
    // Longer than the SDK's 5 s stalled-stream grace period: a stall must still get its answer.
    const STALL: f64 = 6.0;
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.59.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let isolation = new_group(&aws, &vpc, Some("isolation")).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 2)
        .await;
    let (eni, other) = (made[0].1[0].0.clone(), made[1].1[0].0.clone());
    let id = unique("stall");
    let _rule = faults::ClearOnDrop::new(&id);
    faults::stall_isolation(&id, &eni, STALL).await;

    let started = Instant::now();
    let stalled = {
        let (ec2, eni, isolation) = (aws.ec2.clone(), eni.clone(), isolation.clone());
        tokio::spawn(async move {
            let answer = ec2
                .modify_network_interface_attribute()
                .network_interface_id(eni)
                .groups(isolation)
                .send()
                .await;
            (answer.map(|_| ()), started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile the same server answers at once: a read, and the same change on another ENI.
    let meanwhile = Instant::now();
    let during = aws.interfaces(&made[0].0).await[0].2.clone();
    set_groups(&aws, &other, &[&isolation]).await.unwrap();
    let took = meanwhile.elapsed();
    assert!(
        !stalled.is_finished(),
        "the stalled call answered within {:?}",
        started.elapsed()
    );
    assert!(
        took.as_secs_f64() < STALL / 3.0,
        "two other calls took {took:?} during the stall"
    );
    assert_eq!(during, vec![app], "not applied before the stall ends");

    let (answer, elapsed) = stalled.await.unwrap();
    answer.unwrap();
    assert!(
        elapsed.as_secs_f64() >= STALL,
        "answered after {elapsed:?}, less than the {STALL} s stall"
    );
    assert_eq!(aws.interfaces(&made[0].0).await[0].2, vec![isolation]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_iam_read_failures_hit_only_their_principal_until_cleared() {
    let aws = Aws::new().await;
    let (user, _) = aws.user_with_keys().await;
    let (other, _) = aws.user_with_keys().await;
    let (role, _) = aws.role_with_profile().await;
    let (user_rule, role_rule) = (unique("throttle-user"), unique("deny-role"));
    let _user_rule = faults::ClearOnDrop::new(&user_rule);
    let _role_rule = faults::ClearOnDrop::new(&role_rule);
    faults::fail_iam_reads(&user_rule, &user, "Throttling", 400).await;
    faults::fail_iam_reads(&role_rule, &role, "AccessDenied", 403).await;
    let get_user = |name: &str| aws.iam.get_user().user_name(name).send();

    // Every read of that user, every time (after the SDK's own retries of Throttling).
    let throttled = ("Throttling".to_string(), "Rate exceeded".to_string(), 400);
    assert_eq!(refusal(get_user(&user).await), throttled);
    assert_eq!(refusal(get_user(&user).await), throttled);
    let tags = aws.iam.list_user_tags().user_name(&user).send().await;
    assert_eq!(code(tags), "Throttling");
    let keys = aws.iam.list_access_keys().user_name(&user).send().await;
    assert_eq!(code(keys), "Throttling");
    let login = aws.iam.get_login_profile().user_name(&user).send().await;
    assert_eq!(code(login), "Throttling");
    // The role's reads fail with the role's rule.
    let denied = (
        "AccessDenied".to_string(),
        format!("injected by test rule {role_rule}"),
        403,
    );
    assert_eq!(
        refusal(aws.iam.get_role().role_name(&role).send().await),
        denied
    );
    let role_tags = aws.iam.list_role_tags().role_name(&role).send().await;
    assert_eq!(code(role_tags), "AccessDenied");

    // Another user is read normally, and a write on the throttled user goes through.
    get_user(&other).await.unwrap();
    aws.iam
        .tag_user()
        .user_name(&user)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("k")
                .value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    faults::clear(&user_rule).await;
    let read = get_user(&user).await.unwrap();
    assert_eq!(read.user().map(|u| u.user_name()), Some(user.as_str()));
    assert_eq!(
        aws.user_state(&user).await.tags,
        vec![("k".into(), "v".into())]
    );
    faults::clear(&role_rule).await;
    aws.iam.get_role().role_name(&role).send().await.unwrap();
}
