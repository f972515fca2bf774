//! The tag vocabulary is Firebreak's durable state: instances quarantined by one version must be
//! released by the next. Every key string and every record format is pinned here, each codec
//! round-trips, and the tag table of `docs/state.md` names every key.

use firebreak::ports::{LoginProfileFacts, Registration};
use firebreak::records::{self, AclDenies, Evidence, Isolation, Service};
use firebreak::tags::{
    self, AclEntryRecord, AutoScalingRecord, EipRecord, GroupRole, LoginProfileRecord,
    MemoryRecord, NetworkAclRecord, OriginalGroups, TargetRecord,
};

#[test]
fn the_memory_record_is_pinned_and_round_trips() {
    let sent = MemoryRecord {
        key: "memory/i-0abc/0123456789abcdef.lime".into(),
        command_id: Some("4f3c2b1a-0000-4000-8000-000000000001".into()),
    };
    let value = sent.encode();
    assert_eq!(
        value,
        "memory/i-0abc/0123456789abcdef.lime 4f3c2b1a-0000-4000-8000-000000000001"
    );
    assert_eq!(MemoryRecord::decode(&value), Some(sent));
    let pending = MemoryRecord {
        key: "memory/i-0abc/0123456789abcdef.lime".into(),
        command_id: None,
    };
    assert_eq!(
        pending.encode(),
        "memory/i-0abc/0123456789abcdef.lime pending"
    );
    assert_eq!(MemoryRecord::decode(&pending.encode()), Some(pending));
    assert_eq!(MemoryRecord::decode("no-space"), None);
    assert_eq!(MemoryRecord::decode("a b c"), None);
    assert_eq!(
        tags::CAPTURE_EGRESS,
        "firebreak memory capture: HTTPS to a VPC endpoint"
    );
}

#[test]
fn every_key_and_name_is_pinned() {
    let pinned = [
        (tags::FINDING, "firebreak:finding-id"),
        (tags::CONTAINED_AT, "firebreak:contained-at"),
        (tags::STATUS, "firebreak:status"),
        (tags::QUARANTINE_STARTED, "firebreak:quarantine-started-at"),
        (tags::ORIGINAL_GROUPS, "firebreak:original-groups:"),
        (
            tags::SET_TERMINATION_PROTECTION,
            "firebreak:set-termination-protection",
        ),
        (tags::SHUTDOWN_BEHAVIOUR, "firebreak:shutdown-behaviour"),
        (tags::KEPT_VOLUMES, "firebreak:kept-volumes"),
        (tags::AUTO_SCALING, "firebreak:auto-scaling"),
        (tags::TARGET, "firebreak:target:"),
        (tags::EIP, "firebreak:eip:"),
        (tags::NETWORK_ACL, "firebreak:network-acl:"),
        (tags::ISOLATION, "firebreak:isolation"),
        (tags::ACL_DENIES, "firebreak:acl-denies"),
        (tags::EVIDENCE, "firebreak:evidence"),
        (tags::OUT_OF_SERVICE, "firebreak:out-of-service"),
        (tags::DECISION, "firebreak:decision"),
        (tags::AWAITING_SINCE, "firebreak:awaiting-since"),
        (tags::REMINDED_AT, "firebreak:reminded-at"),
        (tags::REMOVED_PROFILE, "firebreak:removed-instance-profile"),
        (
            tags::REMOVED_PROFILE_FINDING,
            "firebreak:removed-instance-profile-finding",
        ),
        (tags::MEMORY, "firebreak:memory"),
        (tags::RELEASED_AT, "firebreak:released-at"),
        (tags::DEFAULT_EXEMPT, "firebreak:exempt"),
        (tags::SNAPSHOT_INSTANCE, "firebreak:instance-id"),
        (tags::SNAPSHOT_TAKEN_AT, "firebreak:taken-at"),
        (tags::SHARED_WITH, "firebreak:shared-with"),
        (tags::GROUP_ROLE, "firebreak:quarantine-role"),
        (tags::REVOKED_BEFORE, "firebreak:sessions-revoked-before"),
        (tags::DEACTIVATED_KEY, "firebreak:deactivated-key:"),
        (tags::LOGIN_PROFILE, "firebreak:removed-login-profile"),
        (tags::CONCURRENCY, "firebreak:concurrency"),
        (tags::EVENT_SOURCES, "firebreak:event-sources"),
        (tags::VPC_GROUPS, "firebreak:vpc-groups"),
        (tags::PROVISIONED, "firebreak:provisioned-concurrency"),
        (tags::PUBLIC_ACCESS_BLOCK, "firebreak:public-access-block"),
        (tags::MALWARE_DENY, "firebreak:malware-deny"),
    ];
    assert_eq!(tags::ALL_KEYS.len(), pinned.len(), "a key is not pinned");
    for (key, want) in pinned {
        assert_eq!(key, want);
        assert!(tags::ALL_KEYS.contains(&key), "{key} missing from ALL_KEYS");
    }
    assert_eq!(tags::ROLE_REVOKE_POLICY, "AWSRevokeOlderSessions");
    // Unique per partition, region and account (IAM is global); the earlier name still read.
    assert_eq!(
        tags::function_revoke_policy("arn:aws:lambda:us-east-1:123456789012:function:fn-1"),
        "FirebreakRevokeSessionsOfFunction-fn-1-e7ea2cb72334"
    );
    assert_eq!(
        tags::function_revoke_policy("arn:aws:lambda:us-west-2:123456789012:function:fn-1"),
        "FirebreakRevokeSessionsOfFunction-fn-1-2eb628da4297"
    );
    let longest = format!(
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:{}",
        "f".repeat(64)
    );
    assert!(
        tags::function_revoke_policy(&longest).len() <= 128,
        "IAM's policy-name limit"
    );
    assert_eq!(
        tags::legacy_function_revoke_policy("fn-1"),
        "FirebreakRevokeSessionsOfFunction-fn-1"
    );
    assert_eq!(tags::USER_REVOKE_POLICY, "FirebreakRevokeOlderSessions");
    assert_eq!(
        tags::instance_revoke_policy("i-1"),
        "FirebreakRevokeSessionsOf-i-1"
    );
    assert_eq!(
        tags::instance_of_revoke_policy("FirebreakRevokeSessionsOf-i-1"),
        Some("i-1")
    );
    assert_eq!(
        tags::instance_of_revoke_policy("FirebreakRevokeSessionsOfFunction-fn-1"),
        None
    );
    assert_eq!(
        tags::instance_sessions_policy("2026-11-30T03:01:00Z"),
        "FirebreakRevokeInstanceSessions-20261130T030100Z"
    );
    assert_eq!(tags::status::QUARANTINED, "quarantined");
    assert_eq!(tags::status::CONTAINMENT_FAILED, "containment-failed");
    assert_eq!(tags::status::NEEDS_HUMAN, "needs-human");
    assert_eq!(tags::status::AWAITING_APPROVAL, "awaiting-approval");
    assert_eq!(tags::status::CREDENTIALS_REVOKED, "credentials-revoked");
    assert_eq!(tags::status::SESSIONS_REVOKED, "sessions-revoked");
    assert_eq!(tags::status::REVOCATION_FAILED, "revocation-failed");
    assert_eq!(tags::TRUE, "true");
    assert_eq!(GroupRole::Isolation.tag_value(), "isolation");
    assert_eq!(GroupRole::Untracking.tag_value(), "untracking");
    assert_eq!(
        GroupRole::Isolation.group_name("vpc-1"),
        "firebreak-isolation-vpc-1"
    );
    assert_eq!(
        GroupRole::Untracking.group_name("vpc-1"),
        "firebreak-untracking-vpc-1"
    );
    assert_eq!(tags::snapshot_name("i-1"), "firebreak-evidence-i-1");
}

/// The packed records this version writes: one per writer, continued in `<key>:2`, … when long.
#[test]
fn packed_record_formats_are_pinned_and_round_trip() {
    let i = Isolation {
        started: Some("2026-11-30T10:00:00Z".into()),
        groups: [
            (
                "eni-1".to_string(),
                vec!["sg-a".to_string(), "sg-b".to_string()],
            ),
            ("eni-2".to_string(), vec!["sg-c".to_string()]),
        ]
        .into(),
    };
    let w = records::chunked(tags::ISOLATION, &i.tokens(), &[]);
    assert_eq!(
        w,
        [(
            "firebreak:isolation".to_string(),
            "started=2026-11-30T10:00:00Z eni-1=sg-a+sg-b eni-2=sg-c".to_string()
        )]
    );
    assert_eq!(Isolation::read(&w), i);

    let mut a = AclDenies::default();
    a.0.insert(
        "acl-1".into(),
        NetworkAclRecord(vec![
            AclEntryRecord {
                rule_number: 99,
                egress: false,
                cidr: "10.0.0.5/32".into(),
            },
            AclEntryRecord {
                rule_number: 98,
                egress: true,
                cidr: "2001:db8::5/128".into(),
            },
        ]),
    );
    let w = records::chunked(tags::ACL_DENIES, &a.tokens(), &[]);
    assert_eq!(w[0].1, "acl-1:i99=10.0.0.5/32 acl-1:o98=2001:db8::5/128");
    assert_eq!(AclDenies::read(&w), a);

    let e = Evidence {
        termination_protection: true,
        shutdown: Some("terminate".into()),
        kept_volumes: vec!["/dev/xvda".into(), "/dev/sdf".into()],
    };
    let w = records::chunked(tags::EVIDENCE, &e.tokens(), &[]);
    assert_eq!(
        w[0].1,
        "termination-protection shutdown=terminate volumes=/dev/xvda+/dev/sdf"
    );
    assert_eq!(Evidence::read(&w), e);

    let arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc";
    let mut sv = Service::default();
    sv.targets.push(Registration {
        target_group_arn: arn.into(),
        port: Some(80),
        ip: None,
    });
    sv.targets.push(Registration {
        target_group_arn: arn.into(),
        port: None,
        ip: Some("10.0.0.5".into()),
    });
    sv.addresses.insert(
        "eipalloc-1".into(),
        EipRecord {
            network_interface_id: "eni-1".into(),
            private_ip: "10.0.0.5".into(),
        },
    );
    let w = records::chunked(tags::OUT_OF_SERVICE, &sv.tokens(), &[]);
    assert_eq!(
        w[0].1,
        format!("tg={arn}@80 tg={arn}@-@10.0.0.5 eip=eipalloc-1@eni-1@10.0.0.5")
    );
    assert_eq!(Service::read(&w), sv);

    // Only characters every AWS service accepts in a tag value.
    let portable = |v: &str| {
        v.chars()
            .all(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(c))
    };
    for v in [i.tokens(), a.tokens(), e.tokens(), sv.tokens()].concat() {
        assert!(portable(&v), "{v}");
    }
}

#[test]
fn record_formats_are_pinned_and_round_trip() {
    // Original groups: space-separated, per ENI.
    let g = OriginalGroups(vec!["sg-app".into(), "sg-db".into()]);
    assert_eq!(
        OriginalGroups::key("eni-1"),
        "firebreak:original-groups:eni-1"
    );
    assert_eq!(g.encode(), "sg-app sg-db");
    assert_eq!(OriginalGroups::decode(&g.encode()), g);
    assert_eq!(OriginalGroups::decode("  sg-a   sg-b ").0, ["sg-a", "sg-b"]);

    // Auto Scaling: `<group> standby|detached`; a bare group reads as standby.
    for detached in [false, true] {
        let r = AutoScalingRecord {
            group: "web-asg".into(),
            detached,
        };
        assert_eq!(AutoScalingRecord::decode(&r.encode()), r);
    }
    assert_eq!(
        AutoScalingRecord {
            group: "web".into(),
            detached: false
        }
        .encode(),
        "web standby"
    );
    assert_eq!(
        AutoScalingRecord {
            group: "web".into(),
            detached: true
        }
        .encode(),
        "web detached"
    );
    assert!(!AutoScalingRecord::decode("web").detached);

    // Target registrations: `<target group ARN> [<port>]`, numbered.
    let arn = "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc";
    let r = Registration {
        target_group_arn: arn.into(),
        port: Some(8080),
        ip: None,
    };
    assert_eq!(TargetRecord::key(0), "firebreak:target:0");
    assert_eq!(TargetRecord::encode(&r), format!("{arn} 8080"));
    assert_eq!(TargetRecord::decode(&TargetRecord::encode(&r)), r);
    let no_port = Registration {
        port: None,
        ..r.clone()
    };
    assert_eq!(TargetRecord::encode(&no_port), arn);
    assert_eq!(TargetRecord::decode(arn), no_port);
    // An `ip` target group's registration carries the address.
    let by_ip = Registration {
        ip: Some("10.0.0.5".into()),
        ..r
    };
    assert_eq!(TargetRecord::encode(&by_ip), format!("{arn} 8080 10.0.0.5"));
    assert_eq!(TargetRecord::decode(&TargetRecord::encode(&by_ip)), by_ip);
    let by_ip_no_port = Registration {
        port: None,
        ..by_ip
    };
    assert_eq!(
        TargetRecord::encode(&by_ip_no_port),
        format!("{arn} - 10.0.0.5")
    );
    assert_eq!(
        TargetRecord::decode(&TargetRecord::encode(&by_ip_no_port)),
        by_ip_no_port
    );

    // Elastic IPs: key by allocation, value `<ENI> <private IP>`.
    let e = EipRecord {
        network_interface_id: "eni-1".into(),
        private_ip: "10.0.0.5".into(),
    };
    assert_eq!(EipRecord::key("eipalloc-1"), "firebreak:eip:eipalloc-1");
    assert_eq!(
        EipRecord::allocation("firebreak:eip:eipalloc-1"),
        Some("eipalloc-1")
    );
    assert_eq!(EipRecord::allocation("firebreak:target:0"), None);
    assert_eq!(e.encode(), "eni-1 10.0.0.5");
    assert_eq!(EipRecord::decode(&e.encode()), e);

    // Network ACL entries: key by ACL, value `i<rule>=<cidr>` / `o<rule>=<cidr>`.
    let acl = NetworkAclRecord(vec![
        AclEntryRecord {
            rule_number: 99,
            egress: false,
            cidr: "10.0.0.5/32".into(),
        },
        AclEntryRecord {
            rule_number: 98,
            egress: true,
            cidr: "2001:db8::5/128".into(),
        },
    ]);
    assert_eq!(
        NetworkAclRecord::key("acl-1"),
        "firebreak:network-acl:acl-1"
    );
    assert_eq!(
        NetworkAclRecord::acl("firebreak:network-acl:acl-1"),
        Some("acl-1")
    );
    assert_eq!(acl.encode(), "i99=10.0.0.5/32 o98=2001:db8::5/128");
    assert_eq!(NetworkAclRecord::decode(&acl.encode()), acl);
    assert_eq!(
        NetworkAclRecord::decode("i99=10.0.0.5/32 x1=bad o=bad o7").0,
        acl.0[..1]
    );

    // Login profile: `created=<time> reset-required=<bool>`.
    let p = LoginProfileFacts {
        created: "2026-01-02T03:04:05Z".into(),
        password_reset_required: true,
    };
    assert_eq!(
        LoginProfileRecord::encode(&p),
        "created=2026-01-02T03:04:05Z reset-required=true"
    );
    assert_eq!(
        LoginProfileRecord::decode(&LoginProfileRecord::encode(&p)),
        Some(p)
    );
    assert_eq!(LoginProfileRecord::decode("garbled"), None);

    assert_eq!(
        tags::deactivated_key("AKIAIOSFODNN7EXAMPLE"),
        "firebreak:deactivated-key:AKIAIOSFODNN7EXAMPLE"
    );
}

#[test]
fn the_state_doc_names_every_key() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/state.md"))
        .expect("docs/state.md at the repository root");
    let missing: Vec<&str> = tags::ALL_KEYS
        .iter()
        .copied()
        .chain([tags::ROLE_REVOKE_POLICY, tags::USER_REVOKE_POLICY])
        .filter(|k| !doc.contains(&format!("`{k}")))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/state.md does not name these tag keys / policies (in backticks): {missing:?}"
    );
}
