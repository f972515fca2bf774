//! IAM: the inline policy size quota.

use firebreak_tests::fixtures::Aws;

use super::refusal;

/// IAM's inline policy quotas (IAM User Guide, "IAM and AWS STS quotas"): a role's inline policies
/// hold 10,240 characters in all, a user's 2,048, white space not counted; past it PutRolePolicy /
/// PutUserPolicy answer 409 `LimitExceeded`. Plain moto takes any number of policies of any size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inline_policies_are_capped_in_all_per_role_and_user_white_space_not_counted() {
    let aws = Aws::new().await;
    let (role, _) = aws.role_with_profile().await;
    let (user, _) = aws.user_with_keys().await;
    // A document of exactly `size` characters as IAM counts them, padded with white space that
    // does not count.
    let document = |size: usize| {
        let head = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:userId":""#;
        let tail = r#""}}}]}"#;
        let fill = size - head.len() - tail.len();
        format!(
            "{head}{}{tail}\n   \t\n{}",
            "x".repeat(fill),
            " ".repeat(4000)
        )
    };
    let put_role = |name: &str, size: usize| {
        aws.iam
            .put_role_policy()
            .role_name(&role)
            .policy_name(name)
            .policy_document(document(size))
            .send()
    };
    // 6,000 + 4,240 = 10,240: exactly the quota, however much white space.
    put_role("a", 6_000).await.unwrap();
    put_role("b", 4_240).await.unwrap();
    // One character more, in a third policy or by growing one: refused, and nothing changes.
    let refused = (
        "LimitExceeded".to_string(),
        format!("Maximum policy size of 10240 bytes exceeded for role {role}"),
        409,
    );
    assert_eq!(refusal(put_role("c", 200).await), refused);
    assert_eq!(refusal(put_role("b", 4_241).await), refused);
    assert_eq!(aws.role_state(&role).await.policies.len(), 2);
    // A document replaced by a smaller one, or one deleted, makes room again.
    put_role("b", 4_000).await.unwrap();
    put_role("c", 240).await.unwrap();
    aws.iam
        .delete_role_policy()
        .role_name(&role)
        .policy_name("a")
        .send()
        .await
        .unwrap();
    put_role("d", 6_000).await.unwrap();

    // A user's: 2,048.
    let put_user = |name: &str, size: usize| {
        aws.iam
            .put_user_policy()
            .user_name(&user)
            .policy_name(name)
            .policy_document(document(size))
            .send()
    };
    put_user("a", 1_048).await.unwrap();
    put_user("b", 1_000).await.unwrap();
    assert_eq!(
        refusal(put_user("c", 150).await),
        (
            "LimitExceeded".to_string(),
            format!("Maximum policy size of 2048 bytes exceeded for user {user}"),
            409,
        )
    );
    assert_eq!(aws.user_state(&user).await.policies.len(), 2);
}
