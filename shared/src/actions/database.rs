//! An RDS DB instance (or its Aurora cluster): `snapshot-database`, one manual snapshot per
//! finding (a cluster snapshot for Aurora), tagged with the finding (no undo: evidence is kept);
//! `isolate-database`, its VPC security groups recorded (`firebreak:vpc-groups`) then replaced by
//! its VPC's isolation group; the undo gives the recorded groups back. The declaration of
//! `release-database` (`execute/database.rs` carries it out) is here too.
//!
//! RDS applies a change of VPC security groups asynchronously, "as soon as possible" (RDS API
//! reference, `ModifyDBInstance`, `VpcSecurityGroupIds`), whatever `ApplyImmediately` says; and a
//! security group is stateful, so connections already open are not cut by it: the sessions the
//! attacker holds stay until the database ends them (the notification says how).

use crate::actions::spec::ActionSpec;
use crate::incident::{tag_value, DatabaseRef};
use crate::kind::ActionKind;
use crate::outcome::{Outcome, Status};
use crate::ports::{DatabaseFacts, DatabasesPort};
use crate::retry::until_settled;
use crate::tags;

/// The reads every database step starts with: the instance, its cluster, their tags.
const READ: [&str; 3] = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:ListTagsForResource",
];

/// What `snapshot-database` calls and writes (no undo: the snapshot is evidence).
pub const SNAPSHOT_DATABASE: ActionSpec = ActionSpec {
    kind: ActionKind::SnapshotDatabase,
    permissions: &[
        READ[0],
        READ[1],
        READ[2],
        "rds:CreateDBSnapshot",
        "rds:CreateDBClusterSnapshot",
        "rds:AddTagsToResource",
    ],
    tags: &[tags::FINDING, tags::STATUS],
    undo_permissions: &[],
};

/// What `isolate-database` calls, writes and undoes.
pub const ISOLATE_DATABASE: ActionSpec = ActionSpec {
    kind: ActionKind::IsolateDatabase,
    permissions: &[
        READ[0],
        READ[1],
        READ[2],
        "rds:ModifyDBInstance",
        "rds:ModifyDBCluster",
        "rds:AddTagsToResource",
        "ec2:DescribeSecurityGroups",
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
    ],
    tags: &[
        tags::VPC_GROUPS,
        tags::FINDING,
        tags::STATUS,
        tags::CONTAINED_AT,
    ],
    undo_permissions: &[
        "rds:ModifyDBInstance",
        "rds:ModifyDBCluster",
        "rds:RemoveTagsFromResource",
    ],
};

/// What `release-database` calls itself (the undo it runs is `isolate-database`'s): the reads,
/// the recorded groups checked against the VPC, the records' removal.
pub const RELEASE_DATABASE: ActionSpec = ActionSpec {
    kind: ActionKind::ReleaseDatabase,
    permissions: &[
        READ[0],
        READ[1],
        READ[2],
        "ec2:DescribeSecurityGroups",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
    ],
    tags: &[tags::RELEASED_AT],
    undo_permissions: &[],
};

/// The snapshot's identifier for one finding: `firebreak-<database>-<finding>`, the finding's
/// letters and digits only (at most 64), lowercase. Always a valid `DBSnapshotIdentifier` and
/// `DBClusterSnapshotIdentifier` (1–255 letters, digits and hyphens, first a letter, no two
/// consecutive hyphens, not ending with one): `database` is a DB identifier, which holds the same
/// rules within 63 characters.
pub fn snapshot_name(database: &str, finding_id: &str) -> String {
    let finding: String = finding_id
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    let finding = if finding.is_empty() {
        "finding".to_string()
    } else {
        finding
    };
    format!("firebreak-{}-{finding}", database.to_ascii_lowercase())
}

/// One snapshot of the database for the finding, tagged with it: started, or there already.
pub async fn snapshot<D: DatabasesPort>(d: &D, db: &DatabaseFacts, finding_id: &str) -> Outcome {
    let kind = ActionKind::SnapshotDatabase;
    let name = snapshot_name(db.name(), finding_id);
    let what = match db.cluster {
        Some(_) => "cluster snapshot",
        None => "DB snapshot",
    };
    let tags = [tags::pair(tags::FINDING, finding_id)];
    match d.snapshot_database(db, &name, &tags).await {
        Ok(true) => Outcome::new(
            kind,
            db.name(),
            Status::Succeeded,
            format!(
                "{what} {name} started, tagged with the finding (RDS completes it in the \
                 background; it is kept: no undo)"
            ),
        ),
        Ok(false) => Outcome::new(
            kind,
            db.name(),
            Status::AlreadyDone,
            format!("{what} {name} exists already"),
        ),
        Err(e) => Outcome::failed(
            kind,
            db.name(),
            &format!("could not start {what} {name}"),
            &e,
        ),
    }
}

/// The groups record to write: the database's groups now, unless one is recorded (sealed, or
/// unsealed, which stays as it is and is never restored) or it is in the isolation group already.
pub fn groups_record(db: &DatabaseFacts, isolation: &str) -> Vec<(String, String)> {
    let recorded = [&db.tags, &db.legacy]
        .iter()
        .any(|t| tag_value(t, tags::VPC_GROUPS).is_some());
    match !recorded && db.groups != [isolation] && !db.groups.is_empty() {
        true => vec![tags::pair(tags::VPC_GROUPS, db.groups.join("+"))],
        false => Vec::new(),
    }
}

/// The groups a sealed record holds (never an unsealed one's).
pub fn recorded_groups(db: &DatabaseFacts) -> Option<Vec<String>> {
    let value = tag_value(&db.tags, tags::VPC_GROUPS)?;
    Some(value.split('+').map(String::from).collect())
}

/// What isolation does and does not do, in the outcome.
pub const SESSIONS_NOT_CUT: &str = "new connections are refused once RDS has applied it (RDS \
    applies a change of security groups asynchronously, as soon as possible); connections already \
    open are NOT cut (a security group is stateful): end the user's sessions in the database";

/// The database moved to the isolation group (its record written before: the caller's part).
pub async fn isolate<D: DatabasesPort>(d: &D, db: &DatabaseFacts, isolation: &str) -> Outcome {
    let kind = ActionKind::IsolateDatabase;
    if db.groups == [isolation] {
        let why = format!("in the isolation group {isolation} already: {SESSIONS_NOT_CUT}");
        return Outcome::new(kind, db.name(), Status::AlreadyDone, why);
    }
    let only = [isolation.to_string()];
    match until_settled(|| d.set_database_groups(db, &only)).await {
        Ok(()) => Outcome::new(
            kind,
            db.name(),
            Status::Succeeded,
            format!(
                "moved from {} to the isolation group {isolation}: {SESSIONS_NOT_CUT}",
                db.groups.join(", ")
            ),
        ),
        Err(e) => Outcome::failed(
            kind,
            db.name(),
            "could not move it to the isolation group (it keeps its groups)",
            &e,
        ),
    }
}

/// The undo: the recorded groups given back (already there: done).
pub async fn restore<D: DatabasesPort>(d: &D, db: &DatabaseFacts, groups: &[String]) -> Outcome {
    let kind = ActionKind::IsolateDatabase;
    if db.groups == groups {
        let why = format!("its groups are {} already", groups.join(", "));
        return Outcome::new(kind, db.name(), Status::AlreadyDone, why);
    }
    match d.set_database_groups(db, groups).await {
        Ok(()) => Outcome::new(
            kind,
            db.name(),
            Status::Succeeded,
            format!("its groups given back: {}", groups.join(", ")),
        ),
        Err(e) => Outcome::failed(kind, db.name(), "could not give its groups back", &e),
    }
}

/// What the team does in the database itself, which no security group does: the login GuardDuty
/// saw, and the engine's statements that lock the user and end its sessions. The user name is the
/// attacker's choice: it is printed in SQL only quoted, and only when it is a name the quoting
/// keeps whole ([`sql_safe`]).
pub struct DbGuidance<'a> {
    db: &'a DatabaseRef,
    engine: String,
}

/// A name quoting keeps whole in PostgreSQL and MySQL alike: 1–63 bytes, no control character,
/// no backslash (MySQL's escape character in a string; PostgreSQL's too without
/// `standard_conforming_strings`).
pub fn sql_safe(name: &str) -> bool {
    (1..=63).contains(&name.len()) && !name.chars().any(|c| c.is_control() || c == '\\')
}

/// `name` as a SQL string literal: single quotes doubled.
fn literal(name: &str) -> String {
    format!("'{}'", name.replace('\'', "''"))
}

/// `name` as a PostgreSQL identifier: double quotes doubled.
fn identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl<'a> DbGuidance<'a> {
    /// For `db`, whose engine RDS reports as `engine` (the finding's when RDS's is unknown).
    pub fn new(db: &'a DatabaseRef, engine: &str) -> DbGuidance<'a> {
        let engine = match engine.is_empty() {
            true => db.engine.clone().unwrap_or_default(),
            false => engine.to_string(),
        };
        DbGuidance { db, engine }
    }

    /// The lines of the notification's warning.
    pub fn lines(&self) -> Vec<String> {
        let login = self.db.login.clone().unwrap_or_default();
        let mut lines = Vec::new();
        let shown = |v: &Option<String>| v.as_deref().map(|s| format!("{s:?}"));
        let mut seen = Vec::new();
        for (what, v) in [
            ("user", shown(&login.user)),
            ("application", shown(&login.application)),
            ("database", shown(&login.database)),
            ("from", login.remote_ip.clone()),
            ("ASN", login.asn.clone()),
            ("organization", shown(&login.organization)),
        ] {
            if let Some(v) = v {
                seen.push(format!("{what} {v}"));
            }
        }
        if !seen.is_empty() {
            lines.push(format!(
                "The login GuardDuty saw (the client's own words, not verified): {}",
                seen.join(", ")
            ));
        }
        lines.push(
            "Isolating the database refuses new connections only: sessions already open are NOT \
             cut (security groups are stateful). In the database, as an administrator, lock the \
             user and end its sessions; then rotate its password and every secret it could read."
                .into(),
        );
        lines.extend(self.statements(login.user.as_deref()));
        lines
    }

    /// The engine's statements for `user`, or why none is printed.
    fn statements(&self, user: Option<&str>) -> Vec<String> {
        let Some(user) = user else {
            return vec![
                "The finding names no database user: review the database's users and \
                         open sessions."
                    .into(),
            ];
        };
        if !sql_safe(user) {
            return vec![format!(
                "(not printed: the user name {user:?} is not one Firebreak prints in SQL)"
            )];
        }
        let (id, lit) = (identifier(user), literal(user));
        let engine = self.engine.to_ascii_lowercase();
        if engine.contains("postgres") {
            vec![
                format!("  PostgreSQL: ALTER ROLE {id} NOLOGIN;"),
                format!(
                    "  PostgreSQL: SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE \
                     usename = {lit};"
                ),
            ]
        } else if engine.contains("mysql") || engine.contains("mariadb") || engine == "aurora" {
            vec![
                format!("  MySQL: SELECT user, host FROM mysql.user WHERE user = {lit};"),
                format!("  MySQL: ALTER USER {lit}@'<each host listed>' ACCOUNT LOCK;"),
                format!(
                    "  MySQL: SELECT id FROM information_schema.processlist WHERE user = {lit}; \
                     then KILL <id>; for each (on RDS: CALL mysql.rds_kill(<id>);)"
                ),
            ]
        } else {
            vec![format!(
                "  {}: disable the login {lit} and end its sessions with the engine's own \
                 statements",
                match self.engine.is_empty() {
                    true => "The engine",
                    false => self.engine.as_str(),
                }
            )]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `DBSnapshotIdentifier`'s rules (RDS API reference, `CreateDBSnapshot`).
    fn valid_snapshot_identifier(s: &str) -> bool {
        (1..=255).contains(&s.len())
            && s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !s.contains("--")
            && !s.ends_with('-')
    }

    #[test]
    fn the_guidance_quotes_the_user_and_prints_no_hostile_name() {
        use crate::incident::DbLogin;
        let db = |user: &str, engine: &str| DatabaseRef {
            db_instance: "orders-1".into(),
            arn: None,
            engine: Some(engine.into()),
            cluster: None,
            login: Some(DbLogin {
                user: Some(user.into()),
                remote_ip: Some("198.51.100.7".into()),
                ..DbLogin::default()
            }),
        };
        let pg = db("app\"; DROP TABLE x; --'", "postgres");
        let lines = DbGuidance::new(&pg, "").lines().join("\n");
        assert!(
            lines.contains(r#"ALTER ROLE "app""; DROP TABLE x; --'" NOLOGIN;"#),
            "{lines}"
        );
        assert!(
            lines.contains(r#"usename = 'app"; DROP TABLE x; --''';"#),
            "{lines}"
        );
        assert!(lines.contains("from 198.51.100.7"), "{lines}");
        let my = db("o'neil", "aurora-mysql");
        let lines = DbGuidance::new(&my, "aurora-mysql").lines().join("\n");
        assert!(lines.contains("WHERE user = 'o''neil';"), "{lines}");
        assert!(lines.contains("ACCOUNT LOCK"), "{lines}");
        for hostile in ["a\\' OR 1=1", "a\nb", "", &"x".repeat(64)] {
            let lines = DbGuidance::new(&db(hostile, "postgres"), "")
                .lines()
                .join("\n");
            assert!(!lines.contains("ALTER ROLE"), "{lines}");
            assert!(
                !hostile.is_empty() || lines.contains("not printed"),
                "{lines}"
            );
        }
    }

    #[test]
    fn snapshot_names_are_valid_identifiers_whatever_the_finding_id() {
        let long = "x".repeat(400);
        for finding in [
            "",
            "--",
            "f-1",
            "abc'; rm -rf /",
            "ÄÖ",
            &long,
            "32a4f0c1d2e3",
        ] {
            for db in ["a", "orders-1", &"b".repeat(63)] {
                let name = snapshot_name(db, finding);
                assert!(valid_snapshot_identifier(&name), "{name}");
            }
        }
        assert_eq!(
            snapshot_name("Orders-1", "32A4-f0"),
            "firebreak-orders-1-32a4f0"
        );
    }

    #[test]
    fn the_record_is_the_groups_now_unless_recorded_or_isolated() {
        let mut db = DatabaseFacts {
            groups: vec!["sg-a".into(), "sg-b".into()],
            ..DatabaseFacts::default()
        };
        assert_eq!(
            groups_record(&db, "sg-iso"),
            vec![(tags::VPC_GROUPS.to_string(), "sg-a+sg-b".to_string())]
        );
        db.legacy = vec![(tags::VPC_GROUPS.into(), "sg-x".into())];
        assert!(groups_record(&db, "sg-iso").is_empty());
        assert_eq!(
            recorded_groups(&db),
            None,
            "an unsealed record is never used"
        );
        db.legacy.clear();
        db.groups = vec!["sg-iso".into()];
        assert!(groups_record(&db, "sg-iso").is_empty());
    }
}
