//! A Lambda function's containment, one step per action, each with its undo beside it:
//! `stop-function` (reserved concurrency 0, the previous setting recorded), `disable-event-sources`
//! (the enabled mappings recorded, then disabled), `isolate-function` (a function in a VPC moved to
//! the VPC's isolation group, its groups recorded) and `revoke-function-sessions` (an inline policy
//! on the execution role denying the sessions it issued to this function before the response:
//! `lambda:SourceFunctionArn` and `aws:TokenIssueTime`; the role's other users keep working).
//! The records are tags on the function; `FbRelease` reads them back.

use serde_json::json;

use crate::actions::registry::ActionKind;
use crate::error::AwsError;
use crate::incident::tag_value;
use crate::outcome::{Outcome, Status};
use crate::ports::{FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, PrincipalsPort};
use crate::records;
use crate::retry::until_settled;
use crate::tags;

type Tags = [(String, String)];

// ---- stop-function ----

/// The concurrency record to write: the setting before Firebreak's (`none` or the number); nothing
/// when one is recorded already (a redelivery keeps the first).
pub fn concurrency_record(facts: &FunctionFacts) -> Vec<(String, String)> {
    // A function Firebreak already worked on (its status tag) without this record: what is there
    // now may be Firebreak's own 0, never to be taken for the owner's setting.
    if tag_value(&facts.tags, tags::CONCURRENCY).is_some() || touched(&facts.tags) {
        return Vec::new();
    }
    let before = match facts.reserved_concurrency {
        Some(n) => n.to_string(),
        None => "none".into(),
    };
    vec![(tags::CONCURRENCY.to_string(), before)]
}

/// Reserved concurrency 0: Lambda starts no new execution of it, whatever invokes it.
pub async fn stop<S: FunctionsPort>(s: &S, name: &str, facts: &FunctionFacts) -> Outcome {
    let kind = ActionKind::StopFunction;
    if facts.reserved_concurrency == Some(0) {
        return Outcome::new(kind, name, Status::AlreadyDone, "reserved concurrency is 0");
    }
    let before = match facts.reserved_concurrency {
        Some(n) => format!("reserved concurrency {n}"),
        None => "no reserved concurrency".into(),
    };
    match s.set_concurrency(name, Some(0)).await {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("reserved concurrency 0: no new executions (it had {before})"),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            "could not set its reserved concurrency to 0",
            &e,
        ),
    }
}

/// True when Firebreak has worked on the function (it carries Firebreak's status tag).
pub fn touched(tags: &Tags) -> bool {
    tag_value(tags, tags::STATUS).is_some()
}

/// The undo: the recorded concurrency back (`none`: the reservation removed); `None` when
/// nothing is recorded and Firebreak never stopped it; refused when it did without a record.
pub async fn restore_concurrency<S: FunctionsPort>(
    s: &S,
    name: &str,
    tags: &Tags,
) -> Option<Outcome> {
    let kind = ActionKind::StopFunction;
    let Some(recorded) = tag_value(tags, tags::CONCURRENCY) else {
        return touched(tags).then(|| {
            let why =
                "no record of its concurrency before Firebreak: left as it is (set it by hand)";
            Outcome::refused(kind, name, why)
        });
    };
    let before = match recorded {
        "none" => None,
        n => match n.parse::<i32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let why = format!("its concurrency record {recorded:?} is unreadable: left at 0");
                return Some(Outcome::refused(kind, name, why));
            }
        },
    };
    let detail = match before {
        Some(n) => format!("reserved concurrency {n} again"),
        None => "reserved concurrency removed again".into(),
    };
    Some(match s.set_concurrency(name, before).await {
        Ok(()) => Outcome::new(kind, name, Status::Succeeded, detail),
        Err(e) => Outcome::failed(kind, name, "could not give its concurrency back", &e),
    })
}

// ---- disable-event-sources ----

/// The UUIDs recorded as disabled by Firebreak.
pub fn recorded_sources(tags: &Tags) -> Vec<String> {
    records::chunk_keys(tags, tags::EVENT_SOURCES)
        .iter()
        .filter_map(|k| tag_value(tags, k))
        .flat_map(str::split_whitespace)
        .map(String::from)
        .collect()
}

/// The event-sources record to write: the recorded UUIDs and those delivering now; nothing when
/// that is what is recorded.
pub fn sources_record(tags: &Tags, mappings: &[MappingFacts]) -> Vec<(String, String)> {
    let recorded = recorded_sources(tags);
    let mut all = recorded.clone();
    for m in mappings.iter().filter(|m| m.delivers()) {
        if !all.contains(&m.uuid) {
            all.push(m.uuid.clone());
        }
    }
    match all == recorded {
        true => Vec::new(),
        false => records::chunked(tags::EVENT_SOURCES, &all, tags),
    }
}

/// Every mapping that delivers events disabled, concurrently.
pub async fn disable<S: FunctionsPort>(s: &S, name: &str, mappings: &[MappingFacts]) -> Outcome {
    let kind = ActionKind::DisableEventSources;
    let live: Vec<&MappingFacts> = mappings.iter().filter(|m| m.delivers()).collect();
    if live.is_empty() {
        let why = match mappings.is_empty() {
            true => "it has no event source mapping",
            false => "its event source mappings are disabled",
        };
        return Outcome::new(kind, name, Status::AlreadyDone, why);
    }
    let results =
        futures::future::join_all(live.iter().map(|m| s.set_mapping_enabled(&m.uuid, false))).await;
    let failed: Vec<(&str, AwsError)> = live
        .iter()
        .zip(results)
        .filter_map(|(m, r)| r.err().map(|e| (m.uuid.as_str(), e)))
        .collect();
    match failed.first() {
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{} event source mapping(s) disabled", live.len()),
        ),
        Some((uuid, e)) => Outcome::failed(
            kind,
            name,
            &format!(
                "could not disable {} mapping(s), {uuid} first",
                failed.len()
            ),
            e,
        ),
    }
}

/// The undo: the recorded mappings enabled again; `None` when none is recorded.
pub async fn enable_recorded<S: FunctionsPort>(s: &S, name: &str, tags: &Tags) -> Option<Outcome> {
    let kind = ActionKind::DisableEventSources;
    let recorded = recorded_sources(tags);
    if recorded.is_empty() {
        return None;
    }
    let results =
        futures::future::join_all(recorded.iter().map(|u| s.set_mapping_enabled(u, true))).await;
    // A mapping deleted since has nothing to give back.
    let failed: Vec<(&String, AwsError)> = recorded
        .iter()
        .zip(results)
        .filter_map(|(u, r)| r.err().filter(|e| !e.is_not_found()).map(|e| (u, e)))
        .collect();
    Some(match failed.first() {
        None => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{} event source mapping(s) enabled again", recorded.len()),
        ),
        Some((uuid, e)) => Outcome::failed(
            kind,
            name,
            &format!(
                "could not enable {} mapping(s) again, {uuid} first",
                failed.len()
            ),
            e,
        ),
    })
}

// ---- isolate-function ----

/// The VPC-groups record to write: the function's groups now, unless one is recorded or it is in
/// the isolation group already.
pub fn groups_record(facts: &FunctionFacts, isolation: &str) -> Vec<(String, String)> {
    match &facts.vpc {
        Some(vpc)
            if tag_value(&facts.tags, tags::VPC_GROUPS).is_none() && vpc.groups != [isolation] =>
        {
            vec![(tags::VPC_GROUPS.to_string(), vpc.groups.join("+"))]
        }
        _ => Vec::new(),
    }
}

/// The function's VPC configuration moved to the isolation group: its new execution environments
/// reach nothing, and nothing reaches them.
pub async fn isolate<S: FunctionsPort>(
    s: &S,
    name: &str,
    vpc: &FunctionVpc,
    isolation: &str,
) -> Outcome {
    let kind = ActionKind::IsolateFunction;
    if vpc.groups == [isolation] {
        return Outcome::new(kind, name, Status::AlreadyDone, "in the isolation group");
    }
    let isolation_only = [isolation.to_string()];
    let moved = until_settled(|| s.set_function_groups(name, vpc, &isolation_only)).await;
    match moved {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "moved to isolation group {isolation} in {} (was {})",
                vpc.vpc_id,
                vpc.groups.join(", ")
            ),
        ),
        Err(e) => Outcome::failed(kind, name, "could not move it to the isolation group", &e),
    }
}

/// The undo: the recorded groups back (same subnets); `None` when nothing is recorded.
pub async fn restore_groups<S: FunctionsPort>(
    s: &S,
    name: &str,
    facts: &FunctionFacts,
) -> Option<Outcome> {
    let kind = ActionKind::IsolateFunction;
    let Some(recorded) = tag_value(&facts.tags, tags::VPC_GROUPS) else {
        // Stopped by Firebreak, in a VPC, and no record: its groups are not known.
        return (touched(&facts.tags) && facts.vpc.is_some()).then(|| {
            let why = "no record of its security groups before Firebreak: left as they are \
                       (set them by hand)";
            Outcome::refused(kind, name, why)
        });
    };
    let groups: Vec<String> = recorded.split('+').map(String::from).collect();
    let readable = groups.iter().all(|g| g.starts_with("sg-"));
    let Some(vpc) = facts
        .vpc
        .as_ref()
        .filter(|_| readable && !groups.is_empty())
    else {
        let why = format!("its VPC record {recorded:?} no longer applies: left as it is");
        return Some(Outcome::refused(kind, name, why));
    };
    if vpc.groups == groups {
        return Some(Outcome::new(
            kind,
            name,
            Status::AlreadyDone,
            "in its groups",
        ));
    }
    let moved = until_settled(|| s.set_function_groups(name, vpc, &groups)).await;
    Some(match moved {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("back in {}", groups.join(", ")),
        ),
        Err(e) => Outcome::failed(kind, name, "could not give its groups back", &e),
    })
}

// ---- revoke-function-sessions ----

/// The deny policy for the sessions a role issued to one function before `cutoff`: Lambda puts
/// the function's ARN in its execution environment's credentials (`lambda:SourceFunctionArn`).
pub fn function_revoke_policy(cutoff: &str, function_arn: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Deny",
            "Action": ["*"],
            "Resource": ["*"],
            "Condition": {
                "DateLessThan": {"aws:TokenIssueTime": cutoff},
                "ArnLike": {"lambda:SourceFunctionArn": [function_arn, format!("{function_arn}:*")]}
            }
        }]
    })
    .to_string()
}

/// Writes the deny policy on the execution role.
pub async fn revoke<I: PrincipalsPort>(
    iam: &I,
    role: &str,
    name: &str,
    function_arn: &str,
    cutoff: &str,
) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(name);
    let document = function_revoke_policy(cutoff, function_arn);
    match iam.put_role_policy(role, &policy, &document).await {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!(
                "sessions of role {role} issued to the function before {cutoff} denied \
                 ({policy}); the role's other users are not affected"
            ),
        ),
        Err(e) => Outcome::failed(
            kind,
            name,
            &format!("could not revoke the sessions role {role} issued to it"),
            &e,
        ),
    }
}

/// The undo: the deny policy removed from the role.
pub async fn unrevoke<I: PrincipalsPort>(iam: &I, role: &str, name: &str) -> Outcome {
    let kind = ActionKind::RevokeFunctionSessions;
    let policy = tags::function_revoke_policy(name);
    match iam.delete_role_policy(role, &policy).await {
        Ok(()) => Outcome::new(
            kind,
            name,
            Status::Succeeded,
            format!("{policy} removed from role {role}"),
        ),
        Err(e) => Outcome::failed(kind, name, &format!("could not remove {policy}"), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records the calls; every call succeeds.
    #[derive(Default)]
    struct Calls(Mutex<Vec<String>>);

    impl FunctionsPort for Calls {
        async fn function(&self, _: &str) -> Result<Option<FunctionFacts>, AwsError> {
            Ok(None)
        }
        async fn mappings(&self, _: &str) -> Result<Vec<MappingFacts>, AwsError> {
            Ok(vec![])
        }
        async fn set_concurrency(&self, _: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("concurrency {n:?}"));
            Ok(())
        }
        async fn set_mapping_enabled(&self, uuid: &str, on: bool) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("mapping {uuid} {on}"));
            Ok(())
        }
        async fn set_function_groups(
            &self,
            _: &str,
            _: &FunctionVpc,
            groups: &[String],
        ) -> Result<(), AwsError> {
            self.0.lock().unwrap().push(format!("groups {groups:?}"));
            Ok(())
        }
        async fn tag_function(&self, _: &str, _: &[(String, String)]) -> Result<(), AwsError> {
            Ok(())
        }
        async fn untag_function(&self, _: &str, _: &[String]) -> Result<(), AwsError> {
            Ok(())
        }
    }

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn stopped_in_a_vpc(tags: Vec<(String, String)>) -> FunctionFacts {
        FunctionFacts {
            arn: "arn:aws:lambda:us-east-1:123456789012:function:f".into(),
            role_arn: None,
            reserved_concurrency: Some(0),
            vpc: Some(FunctionVpc {
                vpc_id: "vpc-1".into(),
                subnets: vec!["subnet-1".into()],
                groups: vec!["sg-iso".into()],
                ipv6_dual_stack: None,
            }),
            tags,
        }
    }

    #[tokio::test]
    async fn a_function_stopped_without_its_records_is_left_stopped_never_released_blind() {
        // Firebreak's status is there, its records are not (their write failed): what the
        // function has now is Firebreak's, and must not be taken for its owner's.
        let facts = stopped_in_a_vpc(tags(&[(tags::STATUS, tags::status::STOPPED)]));
        assert!(
            concurrency_record(&facts).is_empty(),
            "0 is never recorded as the owner's"
        );
        let s = Calls::default();
        let c = restore_concurrency(&s, "f", &facts.tags).await.unwrap();
        let g = restore_groups(&s, "f", &facts).await.unwrap();
        assert_eq!((c.status, g.status), (Status::Failed, Status::Failed));
        assert!(s.0.lock().unwrap().is_empty(), "nothing changed");

        // An unreadable group record is refused whole, never applied in part.
        let facts = stopped_in_a_vpc(tags(&[
            (tags::STATUS, tags::status::STOPPED),
            (tags::CONCURRENCY, "5"),
            (tags::VPC_GROUPS, "sg-1+drop table"),
        ]));
        assert_eq!(
            restore_groups(&s, "f", &facts).await.unwrap().status,
            Status::Failed
        );
        let c = restore_concurrency(&s, "f", &facts.tags).await.unwrap();
        assert_eq!(c.status, Status::Succeeded);
        assert_eq!(*s.0.lock().unwrap(), vec!["concurrency Some(5)"]);

        // A function Firebreak never touched has nothing to release.
        let untouched = stopped_in_a_vpc(vec![]);
        assert!(restore_concurrency(&s, "f", &untouched.tags)
            .await
            .is_none());
        assert!(restore_groups(&s, "f", &untouched).await.is_none());
    }
}
