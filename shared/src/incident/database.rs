//! An RDS DB instance a finding names (GuardDuty RDS Protection, resource type `RDSDBInstance`;
//! Security Hub's `AwsRdsDbInstance`), and the login the finding saw: who, with what, from where.
//! Every field of the login is the attacker's to choose: it is shown escaped (`chat.rs`) and never
//! printed in a command unless it passes a check of its own (`report` quotes it as SQL).

use serde::Serialize;
use serde_json::Value;

/// An RDS DB instance named by a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseRef {
    /// The DB instance identifier, validated ([`is_db_identifier`]).
    pub db_instance: String,
    /// Its ARN, when the finding gives one.
    pub arn: Option<String>,
    /// The engine (`aurora-postgresql`, `postgres`, `mysql`, …), when the finding names it.
    pub engine: Option<String>,
    /// The Aurora cluster it belongs to (validated), when the finding names one: the cluster
    /// carries the security groups and is what is snapshotted.
    pub cluster: Option<String>,
    /// The login the finding saw, when it describes one.
    pub login: Option<DbLogin>,
}

/// The login attempt a finding describes (`resource.rdsDbUserDetails`,
/// `service.action.rdsLoginAttemptAction`). Attacker-influenced, every field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbLogin {
    /// The database user name used.
    pub user: Option<String>,
    /// The client application name it gave.
    pub application: Option<String>,
    /// The database it logged in to.
    pub database: Option<String>,
    /// The authentication method.
    pub auth_method: Option<String>,
    /// The remote IP address.
    pub remote_ip: Option<String>,
    /// The remote address's ASN and its organisation, as GuardDuty reports them.
    pub asn: Option<String>,
    /// The remote address's organisation (`asnOrg`, else `org`, else `isp`).
    pub organization: Option<String>,
}

/// Whether `s` is a DB instance or cluster identifier as RDS allows it: 1–63 letters, digits or
/// hyphens, first a letter, no two consecutive hyphens, not ending with a hyphen (RDS API
/// reference, `CreateDBInstance`, `DBInstanceIdentifier`).
pub fn is_db_identifier(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !s.contains("--")
        && !s.ends_with('-')
}

/// A string field of `v` by either casing of its first letter (GuardDuty's API writes
/// `LoginAttributes` where its other fields are camel case).
fn field<'a>(v: &'a Value, camel: &str) -> Option<&'a Value> {
    let mut pascal = camel.to_string();
    if let Some(first) = pascal.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    v.get(camel).or_else(|| v.get(&pascal))
}

fn text(v: Option<&Value>, camel: &str) -> Option<String> {
    v.and_then(|v| field(v, camel))
        .and_then(|f| match f {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.trim().is_empty())
}

impl DatabaseRef {
    /// From a GuardDuty finding's `detail`: `resource.rdsDbInstanceDetails` (the instance),
    /// `resource.rdsDbUserDetails` and `service.action.rdsLoginAttemptAction` (the login). `None`
    /// when the instance's identifier is missing or not one RDS allows.
    pub fn from_guardduty(detail: &Value) -> Option<DatabaseRef> {
        let resource = detail.get("resource")?;
        let db = field(resource, "rdsDbInstanceDetails")?;
        let id = text(Some(db), "dbInstanceIdentifier").filter(|i| is_db_identifier(i))?;
        let user = field(resource, "rdsDbUserDetails");
        let attempt = detail
            .get("service")
            .and_then(|s| s.get("action"))
            .and_then(|a| field(a, "rdsLoginAttemptAction"));
        let remote = attempt.and_then(|a| field(a, "remoteIpDetails"));
        let org = remote.and_then(|r| field(r, "organization"));
        // The login attributes name the user and application too, when the user details do not.
        let attribute = attempt
            .and_then(|a| field(a, "loginAttributes"))
            .and_then(Value::as_array)
            .and_then(|a| a.first());
        let login = DbLogin {
            user: text(user, "user").or_else(|| text(attribute, "user")),
            application: text(user, "application").or_else(|| text(attribute, "application")),
            database: text(user, "database"),
            auth_method: text(user, "authMethod"),
            remote_ip: text(remote, "ipAddressV4").or_else(|| text(remote, "ipAddressV6")),
            asn: text(org, "asn"),
            organization: text(org, "asnOrg")
                .or_else(|| text(org, "org"))
                .or_else(|| text(org, "isp")),
        };
        Some(DatabaseRef {
            db_instance: id,
            arn: text(Some(db), "dbInstanceArn"),
            engine: text(Some(db), "engine"),
            cluster: text(Some(db), "dbClusterIdentifier").filter(|c| is_db_identifier(c)),
            login: (login != DbLogin::default()).then_some(login),
        })
    }

    /// From an ASFF `AwsRdsDbInstance` resource (its `Id`, the instance's ARN, and
    /// `Details.AwsRdsDbInstance`); `None` when no valid identifier can be had.
    pub fn from_asff(resource: &Value) -> Option<DatabaseRef> {
        let arn = resource
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let details = resource.pointer("/Details/AwsRdsDbInstance");
        let from_arn = arn
            .split_once(":db:")
            .map(|(_, id)| id.to_string())
            .filter(|_| arn.starts_with("arn:"));
        let id = text(details, "DbInstanceIdentifier")
            .or(from_arn)
            .filter(|i| is_db_identifier(i))?;
        Some(DatabaseRef {
            db_instance: id,
            arn: arn.starts_with("arn:").then(|| arn.to_string()),
            engine: text(details, "Engine"),
            cluster: text(details, "DbClusterIdentifier").filter(|c| is_db_identifier(c)),
            login: None,
        })
    }

    /// What carries its security groups and is snapshotted: the cluster for Aurora.
    pub fn name(&self) -> &str {
        self.cluster.as_deref().unwrap_or(&self.db_instance)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_follow_rds_rules() {
        for ok in ["a", "orders-1", "A1b2", &"a".repeat(63)] {
            assert!(is_db_identifier(ok), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "a--b",
            "a-",
            "a_b",
            "a;b",
            &"a".repeat(64),
            "a b",
        ] {
            assert!(!is_db_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn a_guardduty_rds_finding_names_the_instance_the_cluster_and_the_login() {
        let d = json!({
            "resource": {"resourceType": "RDSDBInstance",
                "rdsDbInstanceDetails": {"dbInstanceIdentifier": "orders-1", "engine": "aurora-postgresql",
                    "dbClusterIdentifier": "orders", "dbInstanceArn": "arn:aws:rds:us-east-1:123456789012:db:orders-1"},
                "rdsDbUserDetails": {"user": "app'; DROP", "application": "psql", "database": "orders", "authMethod": "PASSWORD"}},
            "service": {"action": {"actionType": "RDS_LOGIN_ATTEMPT", "rdsLoginAttemptAction": {
                "remoteIpDetails": {"ipAddressV4": "198.51.100.7", "organization": {"asn": "64496", "asnOrg": "Example"}},
                "LoginAttributes": [{"user": "other", "application": "x", "successfulLoginAttempts": 1}]}}}
        });
        let db = DatabaseRef::from_guardduty(&d).unwrap();
        assert_eq!(db.db_instance, "orders-1");
        assert_eq!(db.cluster.as_deref(), Some("orders"));
        assert_eq!(db.name(), "orders");
        let login = db.login.unwrap();
        assert_eq!(login.user.as_deref(), Some("app'; DROP"));
        assert_eq!(login.remote_ip.as_deref(), Some("198.51.100.7"));
        assert_eq!(login.asn.as_deref(), Some("64496"));
        assert_eq!(login.organization.as_deref(), Some("Example"));
        let bad = json!({"resource": {"rdsDbInstanceDetails": {"dbInstanceIdentifier": "x;rm"}}});
        assert_eq!(DatabaseRef::from_guardduty(&bad), None);
    }

    #[test]
    fn an_asff_rds_resource_names_the_instance() {
        let r = json!({"Type": "AwsRdsDbInstance", "Id": "arn:aws:rds:us-east-1:123456789012:db:orders-1",
                       "Details": {"AwsRdsDbInstance": {"Engine": "postgres"}}});
        let db = DatabaseRef::from_asff(&r).unwrap();
        assert_eq!((db.db_instance.as_str(), db.cluster), ("orders-1", None));
        assert_eq!(db.engine.as_deref(), Some("postgres"));
    }
}
