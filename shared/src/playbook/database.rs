//! An RDS DB instance (RDS Protection findings, `CredentialAccess:RDS/*`): `ask` (the default)
//! snapshots it now and waits for a human to approve its isolation; `contain` snapshots and
//! isolates it at once; `evidence` snapshots only. Isolation moves the instance (an Aurora
//! instance's cluster) to its VPC's isolation group; sessions already open are not cut, so every
//! notification says how to lock the user in the database.

use crate::incident::{DatabaseRef, Incident};
use crate::kind::ActionKind;
use crate::plan::{Action, Plan, Target};
use crate::playbook::file::Response;
use crate::playbook::instance::ASK_RULE;
use crate::playbook::notify::{family_and_kind, NOTIFY_RULE};

/// The rule of a database isolated at once.
pub const ISOLATE_DATABASE_RULE: &str = "isolate-compromised-database";

/// A database: the response's actions.
pub(super) fn plan_database(incident: &Incident, db: &DatabaseRef, response: Response) -> Plan {
    let (family, _) = family_and_kind(&incident.finding_type);
    let about = format!(
        "{family} finding of severity {} on RDS database {}",
        incident.severity,
        db.name()
    );
    match response {
        Response::Contain => Plan {
            rule: ISOLATE_DATABASE_RULE,
            reason: about,
            actions: isolate_database(db),
            decided_by: None,
        },
        Response::Evidence => Plan {
            rule: "preserve-evidence",
            reason: format!("{about}: evidence only"),
            actions: vec![snapshot(db), Action::notify()],
            decided_by: None,
        },
        Response::Ask => Plan {
            rule: ASK_RULE,
            reason: format!("{about}: a snapshot now, isolation once a human approves"),
            actions: vec![
                Action::new(ActionKind::AwaitApproval, target(db)),
                snapshot(db),
                Action::notify(),
            ],
            decided_by: None,
        },
        Response::Notify | Response::Ignore => Plan::notify_only(NOTIFY_RULE, about),
    }
}

fn target(db: &DatabaseRef) -> Target {
    Target::database(db.db_instance.clone(), db.cluster.clone())
}

fn snapshot(db: &DatabaseRef) -> Action {
    Action::new(ActionKind::SnapshotDatabase, target(db))
}

/// A database's containment: its snapshot, its isolation, the team told.
pub(super) fn isolate_database(db: &DatabaseRef) -> Vec<Action> {
    vec![
        Action::new(ActionKind::IsolateDatabase, target(db)),
        snapshot(db),
        Action::notify(),
    ]
}

/// A database's release: its recorded groups given back, the team told.
pub(super) fn release_database(db: &DatabaseRef) -> Vec<Action> {
    vec![
        Action::new(ActionKind::ReleaseDatabase, target(db)),
        Action::notify(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::incident::{Resource, Source};
    use crate::playbook::plan;

    fn incident(finding_type: &str, severity: f64) -> Incident {
        Incident {
            source: Source::GuardDuty,
            finding_id: "f-1".into(),
            finding_arn: None,
            finding_type: finding_type.into(),
            title: None,
            severity,
            account: "123456789012".into(),
            region: "us-east-1".into(),
            partition: "aws".into(),
            sample: false,
            archived: false,
            resource_role: None,
            resource: Resource::Database(DatabaseRef {
                db_instance: "orders-1".into(),
                arn: None,
                engine: Some("postgres".into()),
                cluster: None,
                login: None,
            }),
            security_hub: None,
        }
    }

    #[test]
    fn rds_findings_ask_by_default_a_snapshot_now_isolation_on_approval() {
        let config = Config::for_tests();
        let p = plan(
            &incident(
                "CredentialAccess:RDS/MaliciousIPCaller.SuccessfulLogin",
                8.0,
            ),
            &config,
        );
        assert_eq!(p.rule, ASK_RULE, "{p:?}");
        assert!(p.has(ActionKind::SnapshotDatabase) && p.has(ActionKind::AwaitApproval));
        assert!(!p.has(ActionKind::IsolateDatabase));
        let low = plan(
            &incident("CredentialAccess:RDS/AnomalousBehavior.FailedLogin", 2.0),
            &config,
        );
        assert_eq!(low.rule, NOTIFY_RULE, "{low:?}");
        let db = incident("x", 1.0);
        let Resource::Database(d) = &db.resource else {
            unreachable!()
        };
        let contained = plan_database(&db, d, Response::Contain);
        assert!(contained.has(ActionKind::IsolateDatabase), "{contained:?}");
        assert!(contained.has_containment());
    }
}
