//! Firebreak cannot be turned against its owner (issue 20), through the real binaries against the
//! local AWS: one who may tag an instance writes Firebreak's records on it — unsealed (as an earlier
//! version wrote them), with a made-up seal, or with a genuine seal copied from another instance —
//! and waits for an analyst's `FbRelease` or a redelivery. Nothing they wrote is applied: not a
//! privileged security group, not an admin instance profile, not the removal of the security team's
//! own network ACL deny entry; the blast-radius cap does not count them; the team is told of the
//! tampering. A quarantine by an earlier version (records without a seal) still releases what the
//! facts confirm.

use std::time::Duration;

use aws_sdk_ec2::types::{RuleAction, Tag};
use firebreak_tests::fixtures::{
    asff_instance, filter, guardduty_event, readable, sealed, unique, unsealed, Aws,
};
use firebreak_tests::Function;
use serde_json::{json, Value};

const C2: &str = "Backdoor:EC2/C&CActivity.B";

/// Tags written straight on a resource, as anyone allowed `ec2:CreateTags` on it can.
async fn write_tags(aws: &Aws, resource: &str, tags: &[(&str, String)]) {
    let tags: Vec<Tag> = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(*k).value(v).build())
        .collect();
    aws.ec2
        .create_tags()
        .resources(resource)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
}

/// A made-up seal: the right shape, no key behind it.
fn made_up(value: &str) -> String {
    format!("{value} fb=AAAA.BBBBBB.CCCCCCCCCCCCCCCCCCCCCC")
}

/// The texts of the notifications that reached the queue.
async fn texts(aws: &Aws, queue: &str, at_least: usize) -> Vec<String> {
    let messages = aws.messages(queue, at_least, Duration::from_secs(5)).await;
    messages.iter().map(readable).collect()
}

/// The VPC's default network ACL.
async fn default_acl(aws: &Aws, vpc: &str) -> String {
    let out = aws
        .ec2
        .describe_network_acls()
        .filters(filter("vpc-id", vpc))
        .filters(filter("default", "true"))
        .send()
        .await
        .unwrap();
    out.network_acls()[0].network_acl_id().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_records_on_an_untouched_instance_are_never_applied_and_the_tampering_is_told() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.91.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    // A privileged group of the same VPC the instance never had, an admin instance profile, and
    // the security team's own deny entry in the VPC's network ACL.
    let privileged = aws.app_group(&vpc).await;
    let (_, admin_profile) = aws.role_with_profile().await;
    let acl = default_acl(&aws, &vpc).await;
    aws.ec2
        .create_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(50)
        .egress(true)
        .protocol("-1")
        .rule_action(RuleAction::Deny)
        .cidr_block("203.0.113.0/24")
        .send()
        .await
        .unwrap();
    let team_deny = (acl.clone(), 50, true, false, "203.0.113.0/24".to_string());
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let other = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let eni = aws.interfaces(&instance).await[0].0.clone();
    let finding = unique("tamper");

    // The attacker's records: unsealed (an earlier version's format, both of them), made-up seals,
    // and a genuine seal copied from another instance.
    let copied = |key: &str, value: &str| sealed(&other, &finding, key, value);
    write_tags(
        &aws,
        &instance,
        &[
            (
                "firebreak:isolation",
                format!("started=2026-01-01T00:00:00Z {eni}={privileged}"),
            ),
            (
                "firebreak:original-groups:eni-00000000000000000",
                privileged.clone(),
            ),
            ("firebreak:removed-instance-profile", admin_profile.clone()),
            (
                "firebreak:acl-denies",
                made_up(&format!("{acl}:o50=203.0.113.0/24")),
            ),
            (
                "firebreak:out-of-service",
                copied(
                    "firebreak:out-of-service",
                    "eip=eipalloc-0123456789abcdef0@eni-1@10.0.0.1",
                ),
            ),
            (
                "firebreak:status",
                copied("firebreak:status", "quarantined"),
            ),
            (
                "firebreak:finding-id",
                copied("firebreak:finding-id", &finding),
            ),
        ],
    )
    .await;

    // An analyst presses FbRelease on the finding.
    let got = aws
        .fb_release(&topic, &finding, C2, asff_instance(&instance, &vpc))
        .await;
    assert_eq!(aws.groups_of(&instance).await, vec![app.clone()], "{got}");
    assert!(
        aws.profile_associations(&instance).await.is_empty(),
        "{got}"
    );
    assert!(aws.acl_entries(&vpc).await.contains(&team_deny), "{got}");
    let told = texts(&aws, &queue, 1).await.join("\n");
    assert!(
        told.contains("TAMPERING") && told.contains(&instance),
        "{told}"
    );
    assert!(told.contains("NOT RESTORED"), "{told}");

    // GuardDuty's finding arrives (and is redelivered): the instance is contained as any other,
    // and the forged isolation record is not taken for what it had.
    let enis = aws.eni_vpcs(&instance).await;
    let event = guardduty_event(&finding, C2, 8.0, &instance, &enis, "ACTOR");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    let first = responder.invoke(&event).await.unwrap();
    assert_eq!(first["verdict"], "contained", "{first}");
    assert!(readable_warnings(&first).contains("TAMPERING"), "{first}");
    // Logged (one JSON line naming the resource) and counted (the `Tampering` metric).
    let logs = responder.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("\"outcome\":\"tampering\"") && l.contains(&instance)),
        "{logs:#?}"
    );
    assert!(
        logs.iter().any(|l| l.contains("\"Tampering\":1")),
        "{logs:#?}"
    );
    let again = responder.invoke(&event).await.unwrap();
    assert_eq!(again["verdict"], "contained", "{again}");
    let isolation = aws.isolation_group(&vpc).await;
    assert_eq!(aws.groups_of(&instance).await, vec![isolation]);
    let tags = aws.tags(&instance).await;
    let record = tags
        .iter()
        .find(|(k, _)| k == "firebreak:isolation")
        .unwrap();
    assert_eq!(record.1.split_once(' ').unwrap().1, format!("{eni}={app}"));

    // Released: back in its own group, never the privileged one; the team's deny entry stays.
    let got = aws
        .fb_release(&topic, &finding, C2, asff_instance(&instance, &vpc))
        .await;
    assert_eq!(aws.groups_of(&instance).await, vec![app], "{got}");
    assert!(aws.profile_associations(&instance).await.is_empty());
    assert!(aws.acl_entries(&vpc).await.contains(&team_deny));
}

/// The warnings of a Report, as one text.
fn readable_warnings(report: &Value) -> String {
    report["warnings"].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blast_radius_cap_counts_no_forged_quarantine() {
    // A region of its own: the cap counts the account's quarantines in the region.
    let region = "ap-south-1";
    let aws = Aws::in_region(region).await;
    let home = Aws::new().await;
    let (topic, _queue) = home.topic_with_queue().await;
    // A rerun on the same emulator finds the earlier run's genuine quarantines: the cap is raised
    // by as many.
    let earlier = genuine_quarantines(&aws).await;
    let (vpc, subnet) = aws.vpc("10.92.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let made = aws
        .instances(&subnet, std::slice::from_ref(&app), &[], 5)
        .await;
    let now = "2099-01-01T00:00:00Z";
    let (forged, real) = made.split_at(3);
    // Three quarantines "started" in the last hour, none of them Firebreak's.
    let copied = sealed(
        &real[1].0,
        "f",
        "firebreak:isolation",
        &format!("started={now}"),
    );
    let records = [
        format!("started={now}"),
        made_up(&format!("started={now}")),
        copied,
    ];
    for ((instance, _), record) in forged.iter().zip(records) {
        write_tags(&aws, instance, &[("firebreak:isolation", record)]).await;
    }
    let cap = (1 + earlier).to_string();
    let responder = Function::start(
        "guardduty-responder",
        &[
            ("FIREBREAK_TOPIC_ARN", topic.as_str()),
            ("FIREBREAK_MAX_QUARANTINES_PER_HOUR", cap.as_str()),
        ],
    )
    .await;
    let mut verdicts = Vec::new();
    for (instance, enis) in real {
        let mut event = guardduty_event(&unique("cap"), C2, 8.0, instance, enis, "ACTOR");
        event["region"] = json!(region);
        event["detail"]["region"] = json!(region);
        let got = responder.invoke(&event).await.unwrap();
        verdicts.push(got["verdict"].as_str().unwrap_or_default().to_string());
    }
    // The first real one is contained (the forged three count for nothing); the cap then holds the
    // second, so it does count genuine quarantines.
    assert_eq!(verdicts, ["contained", "needs-human"], "{verdicts:?}");
}

/// Instances of the region whose isolation record's seal verifies (the e2e key).
async fn genuine_quarantines(aws: &Aws) -> usize {
    let out = aws
        .ec2
        .describe_instances()
        .filters(filter("tag-key", "firebreak:isolation"))
        .send()
        .await
        .unwrap();
    let mut n = 0;
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        let id = i.instance_id().unwrap();
        let raw: Vec<(String, String)> = i
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().into(),
                    t.value().unwrap_or_default().into(),
                )
            })
            .collect();
        if unsealed(id, raw.clone()) != raw {
            n += 1;
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantine_by_an_earlier_version_releases_what_the_facts_confirm() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.93.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    // A genuine quarantine in the VPC first: its isolation group exists.
    let first = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let enis = aws.eni_vpcs(&first).await;
    let event = guardduty_event(&unique("first"), C2, 8.0, &first, &enis, "ACTOR");
    let responder =
        Function::start("guardduty-responder", &[("FIREBREAK_TOPIC_ARN", &topic)]).await;
    assert_eq!(
        responder.invoke(&event).await.unwrap()["verdict"],
        "contained"
    );
    let isolation = aws.isolation_group(&vpc).await;
    // Another instance as an earlier version left it: in the isolation group, its records without
    // a seal, termination protection turned on by "Firebreak".
    let old = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let eni = aws.interfaces(&old).await[0].0.clone();
    aws.ec2
        .modify_network_interface_attribute()
        .network_interface_id(&eni)
        .groups(&isolation)
        .send()
        .await
        .unwrap();
    aws.ec2
        .modify_instance_attribute()
        .instance_id(&old)
        .disable_api_termination(
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let finding = unique("earlier");
    write_tags(
        &aws,
        &old,
        &[
            (
                "firebreak:quarantine-started-at",
                "2026-11-01T00:00:00Z".into(),
            ),
            (&format!("firebreak:original-groups:{eni}"), app.clone()),
            ("firebreak:set-termination-protection", "true".into()),
            ("firebreak:status", "quarantined".into()),
            ("firebreak:finding-id", finding.clone()),
        ],
    )
    .await;
    let got = aws
        .fb_release(&topic, &finding, C2, asff_instance(&old, &vpc))
        .await;
    // The groups come back (its interface is in the isolation group, the group is of its VPC);
    // termination protection, which no fact confirms Firebreak turned on, stays, and the team is
    // told to check it.
    assert_eq!(aws.groups_of(&old).await, vec![app], "{got}");
    assert!(aws.protection(&old).await.termination_protection);
    let told = texts(&aws, &queue, 2).await.join("\n");
    assert!(
        told.contains("NOT RESTORED") && told.contains("firebreak:set-termination-protection"),
        "{told}"
    );
    let tags = aws.tags(&old).await;
    assert!(
        !tags
            .iter()
            .any(|(k, _)| k.starts_with("firebreak:original-groups")),
        "{tags:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_out_of_service_records_never_register_an_instance_nor_give_it_an_address() {
    let aws = Aws::new().await;
    let (topic, queue) = aws.topic_with_queue().await;
    let (vpc, subnet) = aws.vpc("10.94.0.0/16").await;
    let app = aws.app_group(&vpc).await;
    let instance = aws.instance(&subnet, std::slice::from_ref(&app), &[]).await;
    let (eni, _, _) = aws.interfaces(&instance).await.remove(0);
    let ip = aws
        .describe(&instance)
        .await
        .private_ip_address()
        .unwrap()
        .to_string();
    // Someone else's target group, and a spare Elastic IP of the account.
    let target_group = aws.target_group(&vpc, 80).await;
    let spare = aws.elastic_ip().await;
    let finding = unique("forged-service");
    write_tags(
        &aws,
        &instance,
        &[
            (
                "firebreak:out-of-service",
                format!("tg={target_group}@80 eip={spare}@{eni}@{ip}"),
            ),
            ("firebreak:target:0", format!("{target_group} 80")),
            (
                &format!("firebreak:eip:{spare}"),
                made_up(&format!("{eni} {ip}")),
            ),
        ],
    )
    .await;
    let got = aws
        .fb_release(&topic, &finding, C2, asff_instance(&instance, &vpc))
        .await;
    let registered = aws
        .elb
        .describe_target_health()
        .target_group_arn(&target_group)
        .send()
        .await
        .unwrap()
        .target_health_descriptions()
        .len();
    assert_eq!(registered, 0, "registered into a target group: {got}");
    let addresses = aws
        .ec2
        .describe_addresses()
        .allocation_ids(&spare)
        .send()
        .await
        .unwrap();
    assert!(
        addresses.addresses()[0].association_id().is_none(),
        "the spare Elastic IP was associated: {got}"
    );
    let told = texts(&aws, &queue, 1).await.join("\n");
    assert!(
        told.contains("TAMPERING") && told.contains("NOT RESTORED"),
        "{told}"
    );
}
