//! A Lambda function's containment, one step per action, each with its undo beside it:
//! `stop-function` (reserved concurrency 0, which holds every version and alias; the provisioned
//! concurrency that would forbid it removed first; both recorded), `disable-event-sources` (the
//! enabled mappings of the function and its aliases recorded, then disabled, a mapping in
//! transition retried), `isolate-function` (a function in a VPC moved to the VPC's isolation group,
//! its groups recorded, confirmed once Lambda has applied it; not applicable outside a VPC) and
//! `revoke-function-sessions` (an inline policy on the execution role denying the sessions it
//! issued to this function before the response: `lambda:SourceFunctionArn` and
//! `aws:TokenIssueTime`; the role's other users keep working). The records are tags on the
//! function; `FbRelease` reads them back.
//!
//! One file per action: `concurrency` (`stop-function`), `mappings` (`disable-event-sources`),
//! `isolation` (`isolate-function`), `sessions` (`revoke-function-sessions`); `poll` holds the
//! bounded wait for Lambda they share. Each file declares its action's `SPEC` beside its process
//! and undo.

mod concurrency;
mod isolation;
mod mappings;
mod poll;
mod sessions;

pub use self::concurrency::{
    concurrency_record, provisioned_record, recorded_provisioned, restore_concurrency, stop,
    touched,
};
pub use self::isolation::{groups_record, isolate, restore_groups, NO_NETWORK};
pub use self::mappings::{
    disable, enable_recorded, recorded_sources, sources_record, vetted_sources,
};
pub use self::sessions::{function_revoke_policy, names_function, revoke, unrevoke};

// Each action's declaration, by its kind (`registry::REGISTRY` lists them).
pub use self::concurrency::SPEC as STOP_FUNCTION;
pub use self::isolation::SPEC as ISOLATE_FUNCTION;
pub use self::mappings::SPEC as DISABLE_EVENT_SOURCES;
pub use self::sessions::SPEC as REVOKE_FUNCTION_SESSIONS;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    use tokio::time::Instant;

    use crate::error::AwsError;
    use crate::outcome::Status;
    use crate::ports::{
        FunctionFacts, FunctionVpc, FunctionsPort, MappingFacts, ProvisionedFacts, UpdateStatus,
    };
    use crate::tags;

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
        async fn provisioned(&self, _: &str) -> Result<Vec<ProvisionedFacts>, AwsError> {
            Ok(vec![])
        }
        async fn set_provisioned(&self, _: &str, q: &str, n: Option<i32>) -> Result<(), AwsError> {
            self.0
                .lock()
                .unwrap()
                .push(format!("provisioned {q} {n:?}"));
            Ok(())
        }
        async fn update_status(&self, _: &str) -> Result<UpdateStatus, AwsError> {
            Ok(UpdateStatus {
                status: "Successful".into(),
                ..UpdateStatus::default()
            })
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
        async fn security_group_vpcs(
            &self,
            _: &[String],
        ) -> Result<Vec<(String, String)>, AwsError> {
            Ok(vec![])
        }
        async fn quarantine_group_ids(&self, _: &str) -> Result<Vec<String>, AwsError> {
            Ok(vec![])
        }
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
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
            ..FunctionFacts::default()
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
        let g = restore_groups(&s, "f", &facts, soon()).await.unwrap();
        assert_eq!((c.status, g.status), (Status::Failed, Status::Failed));
        assert!(s.0.lock().unwrap().is_empty(), "nothing changed");

        // An unreadable group record is refused whole, never applied in part.
        let facts = stopped_in_a_vpc(tags(&[
            (tags::STATUS, tags::status::STOPPED),
            (tags::CONCURRENCY, "5"),
            (tags::VPC_GROUPS, "sg-1+drop table"),
        ]));
        assert_eq!(
            restore_groups(&s, "f", &facts, soon())
                .await
                .unwrap()
                .status,
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
        assert!(restore_groups(&s, "f", &untouched, soon()).await.is_none());
    }

    #[test]
    fn an_earlier_version_s_records_are_kept_and_never_copied_unless_the_facts_confirm_them() {
        // Stopped by an earlier version: its unsealed records stay as they are (a release checks
        // them); Firebreak's own 0 is never recorded as the owner's.
        let mut facts = stopped_in_a_vpc(vec![]);
        facts.legacy = tags(&[
            (tags::STATUS, tags::status::STOPPED),
            (tags::CONCURRENCY, "5"),
            (tags::VPC_GROUPS, "sg-app"),
        ]);
        facts.vpc.as_mut().unwrap().groups = vec!["sg-app".into()];
        assert!(concurrency_record(&facts).is_empty());
        assert!(groups_record(&facts, "sg-iso").is_empty());
        facts.legacy.retain(|(k, _)| k == tags::STATUS);
        assert!(
            concurrency_record(&facts).is_empty(),
            "its status alone: the 0 may be Firebreak's"
        );

        // Event sources: the unsealed record's mappings of this very function are carried into
        // the sealed record, never another function's.
        let arn = facts.arn.clone();
        let mapping = |uuid: &str, state: &str, function_arn: &str| MappingFacts {
            uuid: uuid.into(),
            state: state.into(),
            function_arn: function_arn.into(),
        };
        facts.legacy = tags(&[(tags::EVENT_SOURCES, "u-old u-someone-else")]);
        let mappings = vec![
            mapping("u-old", "Disabled", &arn),
            mapping("u-new", "Enabled", &arn),
        ];
        assert_eq!(
            vetted_sources(&facts, &mappings),
            (
                vec!["u-old".to_string()],
                vec!["u-someone-else".to_string()]
            )
        );
        assert_eq!(
            sources_record(&facts, &mappings),
            tags(&[(tags::EVENT_SOURCES, "u-old u-new")])
        );
        // Nothing new delivering: nothing written, the unsealed record left as it is.
        assert!(sources_record(&facts, &mappings[..1]).is_empty());
        // A mapping of another function named like a prefix of this one is not its own.
        let other = mapping("u-old", "Disabled", &format!("{arn}2"));
        assert!(!other.invokes(&arn));
        assert!(mapping("u", "Enabled", &format!("{arn}:live")).invokes(&arn));
    }
}
