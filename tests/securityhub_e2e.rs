//! `securityhub-action`, the real binary, through the Lambda Runtime API, against the local AWS:
//! analysts' custom actions on several findings at once, read back from EC2 and from Security Hub's
//! `GetFindings`.

use std::time::Duration;

use firebreak_tests::fixtures::{
    asff_instance, custom_action_event, filter, guardduty_asff, readable, unique, Aws,
};
use firebreak_tests::{Function, Invocation};
use serde_json::{json, Value};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

async fn action_function(topic_arn: &str, extra: &[(&str, &str)]) -> Function {
    let mut env = vec![("FIREBREAK_TOPIC_ARN", topic_arn)];
    env.extend_from_slice(extra);
    Function::start("securityhub-action", &env).await
}

/// An instance with an application group, and its GuardDuty finding imported into Security Hub.
struct Target {
    instance: String,
    before: Vec<(String, String, Vec<String>)>,
    /// DeleteOnTermination of each volume before the quarantine.
    delete_on_termination: Vec<bool>,
    finding: Value,
    finding_id: String,
}

async fn target(aws: &Aws, vpc: &str, subnet: &str) -> Target {
    let app = aws.app_group(vpc).await;
    let instance = aws.instance(subnet, std::slice::from_ref(&app), &[]).await;
    let finding_id = unique("gd");
    let finding = guardduty_asff(&finding_id, C2, 8.0, asff_instance(&instance, vpc));
    aws.import_findings(std::slice::from_ref(&finding)).await;
    let delete_on_termination = aws
        .describe(&instance)
        .await
        .block_device_mappings()
        .iter()
        .map(|b| b.ebs().unwrap().delete_on_termination().unwrap_or(false))
        .collect();
    Target {
        delete_on_termination,
        before: aws.interfaces(&instance).await,
        instance,
        finding,
        finding_id,
    }
}

/// Every ENI of the instance is only in a group with no rules, in its own VPC.
async fn assert_isolated(aws: &Aws, instance: &str) {
    for (eni, vpc, groups) in aws.interfaces(instance).await {
        assert_eq!(groups.len(), 1, "{eni}: {groups:?}");
        assert_eq!(aws.group_rules(&groups[0]).await, (vpc, 0, 0), "{eni}");
    }
}

fn id(finding: &Value) -> &str {
    finding["Id"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quarantine_two_findings_then_release_one() {
    // GIVEN two instances, each with a GuardDuty finding in Security Hub
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.40.0.0/16").await;
    let a = target(&aws, &vpc, &subnet).await;
    let b = target(&aws, &vpc, &subnet).await;
    let (topic, queue) = aws.topic_with_queue().await;
    let function = action_function(&topic, &[]).await;

    // WHEN an analyst selects both and chooses FbQuarantine
    let answer = function
        .invoke(&custom_action_event(
            "FbQuarantine",
            &[a.finding.clone(), b.finding.clone()],
        ))
        .await
        .unwrap();

    // THEN both instances are isolated, with one snapshot per volume, and both findings say so
    for t in [&a, &b] {
        assert_isolated(&aws, &t.instance).await;
        assert_eq!(aws.finding_snapshots(&t.finding_id).await.len(), 2);
        let (workflow, note, by) = aws.finding_state(id(&t.finding)).await;
        assert_eq!(workflow, "NOTIFIED");
        let note = note.expect("a note");
        assert!(
            note.contains("FbQuarantine")
                && note.contains("isolate-instance")
                && note.contains(&t.instance),
            "{note}"
        );
        assert!(note.chars().count() <= 512);
        assert_eq!(by.as_deref(), Some("firebreak"));
    }
    assert_eq!(answer["results"].as_array().unwrap().len(), 2);
    assert!(answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["verdict"] == "contained"));
    assert!(aws.protection(&a.instance).await.termination_protection);
    // AND the team is told once: one digest naming both (a second message would arrive by now)
    let told = aws.messages(&queue, 2, Duration::from_secs(3)).await;
    assert_eq!(told.len(), 1, "{told:?}");
    let digest = readable(&told[0]);
    for t in [&a, &b] {
        assert!(
            (digest.lines()).any(|l| l.contains("CONTAINED") && l.contains(&t.instance)),
            "{digest}"
        );
    }

    // WHEN the analyst releases the first
    let answer = function
        .invoke(&custom_action_event(
            "FbRelease",
            std::slice::from_ref(&a.finding),
        ))
        .await
        .unwrap();

    // THEN its ENIs have their original groups again, protection Firebreak set is lifted, its
    // quarantine tags are gone, the snapshots are still there, and its finding is RESOLVED
    assert_eq!(answer["results"][0]["verdict"], "released", "{answer}");
    assert_eq!(aws.interfaces(&a.instance).await, a.before);
    let protection = aws.protection(&a.instance).await;
    assert!(!protection.termination_protection);
    // AND the shutdown behaviour and DeleteOnTermination are what they were (terminate; the root
    // volume deleted on termination, the data volume kept)
    assert_eq!(protection.shutdown_behaviour, "terminate");
    assert_eq!(protection.deleted_on_termination, a.delete_on_termination);
    let tags = aws.tags(&a.instance).await;
    assert!(
        !tags
            .iter()
            .any(|(k, _)| k == "firebreak:status" || k.starts_with("firebreak:isolation")),
        "{tags:?}"
    );
    assert!(tags.iter().any(|(k, _)| k == "firebreak:released-at"));
    assert_eq!(aws.finding_snapshots(&a.finding_id).await.len(), 2);
    let (workflow, note, _) = aws.finding_state(id(&a.finding)).await;
    assert_eq!(workflow, "RESOLVED");
    assert!(note.unwrap().contains("FbRelease"));
    // AND the other stays quarantined
    assert_isolated(&aws, &b.instance).await;

    // WHEN the release is clicked again, nothing changes and it says so
    let again = function
        .invoke(&custom_action_event(
            "FbRelease",
            std::slice::from_ref(&a.finding),
        ))
        .await
        .unwrap();
    assert_eq!(again["results"][0]["verdict"], "released", "{again}");
    assert_eq!(aws.interfaces(&a.instance).await, a.before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_instance_is_skipped_and_does_not_stop_the_other_finding() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.41.0.0/16").await;
    let a = target(&aws, &vpc, &subnet).await;
    let ghost_id = unique("gd");
    let ghost = guardduty_asff(
        &ghost_id,
        C2,
        8.0,
        asff_instance("i-0fffffffffffffff0", &vpc),
    );
    aws.import_findings(std::slice::from_ref(&ghost)).await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let function = action_function(&topic, &[]).await;

    let answer = function
        .invoke(&custom_action_event(
            "FbQuarantine",
            &[a.finding.clone(), ghost.clone()],
        ))
        .await
        .unwrap();

    assert_eq!(answer["results"][0]["verdict"], "contained", "{answer}");
    assert_eq!(answer["results"][1]["verdict"], "skipped", "{answer}");
    assert_isolated(&aws, &a.instance).await;
    let (workflow, note, _) = aws.finding_state(id(&ghost)).await;
    assert_eq!(workflow, "NEW", "a skipped finding keeps its workflow");
    assert!(note.unwrap().contains("SKIPPED"));
    assert_eq!(aws.finding_state(id(&a.finding)).await.0, "NOTIFIED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_only_notes_the_finding_and_unknown_actions_are_rejected() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.42.0.0/16").await;
    let a = target(&aws, &vpc, &subnet).await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let function = action_function(&topic, &[("FIREBREAK_MODE", "dry-run")]).await;

    let answer = function
        .invoke(&custom_action_event(
            "FbQuarantine",
            std::slice::from_ref(&a.finding),
        ))
        .await
        .unwrap();
    assert_eq!(answer["results"][0]["verdict"], "dry-run");
    assert_eq!(aws.interfaces(&a.instance).await, a.before);
    assert!(aws.finding_snapshots(&a.finding_id).await.is_empty());
    let (workflow, note, _) = aws.finding_state(id(&a.finding)).await;
    assert_eq!(workflow, "NEW");
    let note = note.unwrap();
    assert!(
        note.contains("dry run") && note.contains("nothing was changed"),
        "{note}"
    );

    // An action Firebreak does not have: a typed error, and the function keeps serving.
    match function
        .invoke(&custom_action_event(
            "FbNuke",
            std::slice::from_ref(&a.finding),
        ))
        .await
    {
        Invocation::Error {
            error_type,
            message,
        } => {
            assert_eq!(error_type, "InvalidEvent.UnknownAction");
            assert!(message.contains("FbNuke"));
        }
        other => panic!("{other:?}"),
    }
    let answer = function
        .invoke(&custom_action_event(
            "FbNotify",
            std::slice::from_ref(&a.finding),
        ))
        .await
        .unwrap();
    // Escalation only notifies, so it does the same in dry-run; the workflow is still left alone.
    assert_eq!(answer["results"][0]["verdict"], "notified-only");
    assert_eq!(aws.finding_state(id(&a.finding)).await.0, "NEW");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fb_revoke_deactivates_the_key_of_an_iam_finding() {
    let aws = Aws::new().await;
    let (user, keys) = aws.user_with_keys().await;
    let finding = guardduty_asff(
        &unique("gd"),
        "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        5.0,
        json!({"Type": "AwsIamAccessKey", "Region": "us-east-1", "Partition": "aws",
               "Id": format!("AWS::IAM::AccessKey:{}", keys[0]),
               "Details": {"AwsIamAccessKey": {"PrincipalName": user, "PrincipalType": "IAMUser"}}}),
    );
    aws.import_findings(std::slice::from_ref(&finding)).await;
    let (topic, _queue) = aws.topic_with_queue().await;
    let function = action_function(&topic, &[]).await;

    // A MEDIUM finding: the playbook would only notify, but the analyst asked for revocation.
    let answer = function
        .invoke(&custom_action_event(
            "FbRevoke",
            std::slice::from_ref(&finding),
        ))
        .await
        .unwrap();
    assert_eq!(answer["results"][0]["verdict"], "contained", "{answer}");
    let state = aws.user_state(&user).await;
    let status = |k: &str| {
        state
            .keys
            .iter()
            .find(|(id, _)| id == k)
            .map(|(_, s)| s.clone())
            .unwrap()
    };
    assert_eq!(status(&keys[0]), "Inactive");
    assert_eq!(status(&keys[1]), "Active");
    assert_eq!(state.policies.len(), 1);
    // Below HIGH, the console password stays (the documented rule, not the click).
    assert!(state.login);
    assert_eq!(aws.finding_state(id(&finding)).await.0, "NOTIFIED");
}

/// The Auto Scaling group's view of the instance: its lifecycle state, if it is in the group.
async fn lifecycle(aws: &Aws, instance: &str) -> Option<String> {
    aws.asg
        .describe_auto_scaling_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap()
        .auto_scaling_instances()
        .first()
        .and_then(|i| i.lifecycle_state().map(String::from))
}

async fn registered(aws: &Aws, target_group: &str, instance: &str) -> bool {
    aws.elb
        .describe_target_health()
        .target_group_arn(target_group)
        .send()
        .await
        .unwrap()
        .target_health_descriptions()
        .iter()
        .any(|d| d.target().and_then(|t| t.id()) == Some(instance))
}

async fn elastic_ips(aws: &Aws, instance: &str) -> Vec<String> {
    aws.ec2
        .describe_addresses()
        .filters(filter("instance-id", instance))
        .send()
        .await
        .unwrap()
        .addresses()
        .iter()
        .filter_map(|a| a.allocation_id().map(String::from))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auto_scaled_instance_behind_a_load_balancer_is_taken_out_of_service_and_put_back() {
    let aws = Aws::new().await;
    let (vpc, subnet) = aws.vpc("10.43.0.0/16").await;
    let app = aws.app_group(&vpc).await;

    // GIVEN an instance of an Auto Scaling group that registers it with a target group, and an
    // Elastic IP on it
    let target_group = aws.target_group(&vpc, 80).await;
    let (group, instance) = aws
        .auto_scaled_instance(&subnet, std::slice::from_ref(&app), &target_group)
        .await;
    // … and registered by hand (port 8080) in a second target group the group does not manage.
    let by_hand = aws.target_group(&vpc, 8080).await;
    aws.elb
        .register_targets()
        .target_group_arn(&by_hand)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id(&instance)
                .port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let allocation = aws.elastic_ip().await;
    aws.ec2
        .associate_address()
        .allocation_id(&allocation)
        .instance_id(&instance)
        .send()
        .await
        .unwrap();
    assert_eq!(
        lifecycle(&aws, &instance).await.as_deref(),
        Some("InService")
    );
    assert!(registered(&aws, &target_group, &instance).await);
    assert!(registered(&aws, &by_hand, &instance).await);
    assert_eq!(elastic_ips(&aws, &instance).await, vec![allocation.clone()]);
    let before = aws.interfaces(&instance).await;

    // WHEN GuardDuty reports it
    let (topic, queue) = aws.topic_with_queue().await;
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let finding_id = unique("gd");
    let enis = aws.eni_vpcs(&instance).await;
    let event =
        firebreak_tests::fixtures::guardduty_event(&finding_id, C2, 8.0, &instance, &enis, "ACTOR");
    let report = responder.invoke(&event).await.unwrap();
    assert_eq!(report["verdict"], "contained", "{report}");
    // The team is told how to put it back.
    let told = aws.messages(&queue, 1, Duration::from_secs(10)).await;
    assert!(
        told.iter()
            .map(readable)
            .any(|b| b.contains("taken out of service") && b.contains("FbRelease")),
        "{told:?}"
    );

    // THEN it is out of service: not InService in its group (which replaced the capacity), not
    // registered in the target group, without its Elastic IP, isolated, and not terminated
    assert_ne!(
        lifecycle(&aws, &instance).await.as_deref(),
        Some("InService")
    );
    let in_service = aws
        .asg
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(&group)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()[0]
        .instances()
        .iter()
        .filter(|i| i.lifecycle_state().map(|s| s.as_str()) == Some("InService"))
        .count();
    assert_eq!(in_service, 1, "the group replaced the capacity");
    assert!(!registered(&aws, &target_group, &instance).await);
    assert!(!registered(&aws, &by_hand, &instance).await);
    assert!(elastic_ips(&aws, &instance).await.is_empty());
    assert_isolated(&aws, &instance).await;
    assert_eq!(
        aws.describe(&instance)
            .await
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str()),
        Some("running")
    );
    // A redelivery changes nothing and fails nothing.
    let again = responder.invoke(&event).await.unwrap();
    assert_eq!(again["verdict"], "contained", "{again}");

    // WHEN the analyst releases it
    let finding = guardduty_asff(&finding_id, C2, 8.0, asff_instance(&instance, &vpc));
    aws.import_findings(std::slice::from_ref(&finding)).await;
    let action = action_function(&topic, &[]).await;
    let answer = action
        .invoke(&custom_action_event(
            "FbRelease",
            std::slice::from_ref(&finding),
        ))
        .await
        .unwrap();
    assert_eq!(answer["results"][0]["verdict"], "released", "{answer}");

    // THEN all of it is back
    assert_eq!(
        lifecycle(&aws, &instance).await.as_deref(),
        Some("InService")
    );
    assert!(registered(&aws, &target_group, &instance).await);
    assert!(registered(&aws, &by_hand, &instance).await);
    assert_eq!(elastic_ips(&aws, &instance).await, vec![allocation]);
    assert_eq!(aws.interfaces(&instance).await, before);
    let tags = aws.tags(&instance).await;
    assert!(
        !tags.iter().any(
            |(k, _)| k == "firebreak:auto-scaling" || k.starts_with("firebreak:out-of-service")
        ),
        "{tags:?}"
    );
}
