//! The ECS task and EBS snapshot / AMI schedulers (`execute/task.rs`, `execute/artifact.rs`) driven
//! through recording fakes of only the port each needs (`TasksPort`, `ArtifactsPort`): what they
//! call, in which order, and what they report. (The instance, credential, function and bucket
//! schedulers have theirs in `executor_fakes/` and beside their code.)

use std::sync::Mutex;

use firebreak::clock::FixedClock;
use firebreak::error::AwsError;
use firebreak::execute::{artifact, task, Request};
use firebreak::incident::{ArtifactKind, ArtifactRef, Incident, Resource, Source, TaskRef};
use firebreak::outcome::{Execution, Status};
use firebreak::plan::Plan;
use firebreak::ports::{ArtifactFacts, ArtifactsPort, Ports, Sharing, TaskFacts, TasksPort};

const TASK: &str = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef";

fn incident(resource: Resource) -> Incident {
    Incident {
        source: Source::GuardDuty,
        finding_id: "f-1".into(),
        finding_arn: None,
        finding_type: "Execution:Runtime/ReverseShell".into(),
        title: None,
        severity: 8.0,
        account: "123456789012".into(),
        region: "us-east-1".into(),
        partition: "aws".into(),
        sample: false,
        archived: false,
        resource_role: None,
        resource,
        security_hub: None,
    }
}

fn failure(code: &str) -> AwsError {
    AwsError {
        code: Some(code.into()),
        message: "injected".into(),
    }
}

/// Runs `f` with a request for `incident` (the plan is not read by these schedulers).
async fn with_request<T>(incident: &Incident, f: impl AsyncFnOnce(Request<'_>) -> T) -> T {
    let plan = Plan::notify_only("test", String::new());
    let clock = FixedClock::at("2026-12-06T12:00:00Z");
    let request = Request {
        incident,
        plan: &plan,
        exempt_tag: "firebreak:exempt",
        protected: &[],
        clock: &clock,
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        cap: None,
    };
    f(request).await
}

fn only(done: &Execution) -> (Status, String) {
    assert_eq!(done.outcomes.len(), 1, "{:?}", done.outcomes);
    (done.outcomes[0].status, done.outcomes[0].detail.clone())
}

/// An ECS task: its state, and every call made.
struct FakeEcs {
    task: Mutex<Result<Option<TaskFacts>, AwsError>>,
    calls: Mutex<Vec<String>>,
}

impl FakeEcs {
    fn with(task: Result<Option<TaskFacts>, AwsError>) -> FakeEcs {
        FakeEcs {
            task: Mutex::new(task),
            calls: Mutex::new(Vec::new()),
        }
    }

    fn running(tags: &[(&str, &str)]) -> FakeEcs {
        FakeEcs::with(Ok(Some(TaskFacts {
            last_status: "RUNNING".into(),
            network_interface_id: Some("eni-task".into()),
            tags: (tags.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })))
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl TasksPort for FakeEcs {
    async fn task(&self, cluster: &str, task_arn: &str) -> Result<Option<TaskFacts>, AwsError> {
        (self.calls.lock().unwrap()).push(format!("describe {cluster} {task_arn}"));
        self.task.lock().unwrap().clone()
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        (self.calls.lock().unwrap()).push(format!("stop {cluster} {task_arn} {reason}"));
        if let Ok(Some(t)) = &mut *self.task.lock().unwrap() {
            t.last_status = "STOPPED".into();
        }
        Ok(())
    }
}

/// Ports with ECS only (the task scheduler needs nothing else).
fn on_ecs(ecs: &FakeEcs) -> Ports<'_, (), FakeEcs, ()> {
    Ports {
        ec2: &(),
        service: ecs,
        iam: &(),
    }
}

fn task_ref() -> TaskRef {
    TaskRef {
        cluster: "prod".into(),
        task_arn: TASK.into(),
    }
}

#[tokio::test]
async fn a_running_task_is_stopped_once_with_the_finding_as_its_reason() {
    let ecs = FakeEcs::running(&[]);
    let t = task_ref();
    let i = incident(Resource::Task(t.clone()));
    let first = with_request(&i, async |r| task::run(&on_ecs(&ecs), r).await).await;
    let (status, detail) = only(&first);
    assert_eq!(status, Status::Succeeded);
    assert!(detail.contains("eni-task"), "{detail}");
    assert_eq!(first.completed, Some(true));
    let again = with_request(&i, async |r| task::run(&on_ecs(&ecs), r).await).await;
    assert_eq!(only(&again).0, Status::AlreadyDone);
    assert_eq!(again.completed, Some(true));
    assert_eq!(
        ecs.calls(),
        vec![
            format!("describe prod {TASK}"),
            format!("stop prod {TASK} Firebreak: GuardDuty finding f-1"),
            format!("describe prod {TASK}"),
        ]
    );
}

#[tokio::test]
async fn an_exempt_gone_or_unreadable_task_is_never_stopped() {
    let t = task_ref();
    let i = incident(Resource::Task(t.clone()));
    let cases = [
        (
            FakeEcs::running(&[("firebreak:exempt", "true")]),
            Status::Skipped,
            None,
        ),
        (FakeEcs::with(Ok(None)), Status::Skipped, None),
        (
            FakeEcs::with(Err(failure("AccessDeniedException"))),
            Status::Failed,
            Some(false),
        ),
    ];
    for (ecs, want, completed) in cases {
        let done = with_request(&i, async |r| task::run(&on_ecs(&ecs), r).await).await;
        assert_eq!(only(&done).0, want, "{:?}", done.outcomes);
        assert_eq!(done.completed, completed);
        assert!(
            !ecs.calls().iter().any(|c| c.starts_with("stop")),
            "{:?}",
            ecs.calls()
        );
    }
}

/// A snapshot: who may use it, its tags, and every call made; `fail` names calls that fail.
struct FakeArtifacts {
    sharing: Mutex<Sharing>,
    tags: Mutex<Vec<(String, String)>>,
    calls: Mutex<Vec<String>>,
    fail: &'static [&'static str],
}

impl FakeArtifacts {
    fn shared(sharing: Sharing, fail: &'static [&'static str]) -> FakeArtifacts {
        FakeArtifacts {
            sharing: Mutex::new(sharing),
            tags: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
            fail,
        }
    }

    fn call(&self, name: &'static str) -> Result<(), AwsError> {
        self.calls.lock().unwrap().push(name.to_string());
        match self.fail.contains(&name) {
            true => Err(failure("InternalError")),
            false => Ok(()),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl ArtifactsPort for FakeArtifacts {
    async fn artifact(&self, _: &ArtifactRef) -> Result<Option<ArtifactFacts>, AwsError> {
        self.call("describe")?;
        Ok(Some(ArtifactFacts {
            sharing: self.sharing.lock().unwrap().clone(),
            tags: self.tags.lock().unwrap().clone(),
            legacy: Vec::new(),
            forged: Vec::new(),
        }))
    }

    async fn unshare(&self, _: &ArtifactRef, who: &Sharing) -> Result<(), AwsError> {
        self.call("unshare")?;
        let mut now = self.sharing.lock().unwrap();
        now.public &= !who.public;
        now.accounts.retain(|a| !who.accounts.contains(a));
        Ok(())
    }

    async fn share(&self, _: &ArtifactRef, who: &Sharing) -> Result<(), AwsError> {
        self.call("share")?;
        let mut now = self.sharing.lock().unwrap();
        *now = now.union(who);
        Ok(())
    }

    async fn tag_artifact(
        &self,
        _: &ArtifactRef,
        tags: &[(String, String)],
    ) -> Result<(), AwsError> {
        self.call("tag")?;
        let mut held = self.tags.lock().unwrap();
        held.retain(|(k, _)| !tags.iter().any(|(t, _)| t == k));
        held.extend(tags.iter().cloned());
        Ok(())
    }

    async fn untag_artifact(&self, _: &ArtifactRef, keys: &[String]) -> Result<(), AwsError> {
        self.call("untag")?;
        self.tags.lock().unwrap().retain(|(k, _)| !keys.contains(k));
        Ok(())
    }
}

/// `unshare` of `a` with EC2's artifacts only (nothing else is needed).
async fn unshare(ec2: &FakeArtifacts, a: &ArtifactRef) -> Execution {
    let i = incident(Resource::Artifact(a.clone()));
    let ports = Ports {
        ec2,
        service: &(),
        iam: &(),
    };
    with_request(&i, async |r| artifact::run(&ports, r).await).await
}

/// `restore` (FbRelease) of `a`, the same way.
async fn restore(ec2: &FakeArtifacts, a: &ArtifactRef) -> Execution {
    let i = incident(Resource::Artifact(a.clone()));
    let ports = Ports {
        ec2,
        service: &(),
        iam: &(),
    };
    with_request(&i, async |r| artifact::release(&ports, r).await).await
}

fn public_and_one_account() -> Sharing {
    Sharing {
        public: true,
        accounts: vec!["210987654321".into()],
        ..Sharing::default()
    }
}

fn snapshot() -> ArtifactRef {
    ArtifactRef {
        kind: ArtifactKind::Snapshot,
        id: "snap-0123456789abcdef0".into(),
    }
}

#[tokio::test]
async fn who_could_use_a_snapshot_is_recorded_before_it_is_unshared_and_the_undo_gives_it_back() {
    let ec2 = FakeArtifacts::shared(public_and_one_account(), &[]);
    let a = snapshot();
    let done = unshare(&ec2, &a).await;
    let (status, detail) = only(&done);
    assert_eq!(status, Status::Succeeded);
    assert!(detail.contains("210987654321"), "{detail}");
    assert!(ec2.sharing.lock().unwrap().is_empty());
    assert_eq!(ec2.calls(), ["describe", "tag", "unshare"]);
    assert!(!ec2.tags.lock().unwrap().is_empty(), "recorded");

    // A redelivery: nothing left to remove, the record kept as it is.
    let again = unshare(&ec2, &a).await;
    assert_eq!(only(&again).0, Status::AlreadyDone);

    // FbRelease: the recorded permissions back, then the record removed.
    let restored = restore(&ec2, &a).await;
    assert_eq!(only(&restored).0, Status::Succeeded);
    assert_eq!(*ec2.sharing.lock().unwrap(), public_and_one_account());
    assert!(ec2.tags.lock().unwrap().is_empty(), "the record removed");
    let calls = ec2.calls();
    assert_eq!(&calls[calls.len() - 3..], ["describe", "share", "untag"]);
}

#[tokio::test]
async fn a_record_that_cannot_be_written_never_keeps_a_snapshot_shared() {
    let ec2 = FakeArtifacts::shared(public_and_one_account(), &["tag"]);
    let done = unshare(&ec2, &snapshot()).await;
    let (status, detail) = only(&done);
    assert_eq!(status, Status::Succeeded);
    assert!(ec2.sharing.lock().unwrap().is_empty(), "unshared anyway");
    // Who could use it is in the notification instead, for a human to give back.
    assert!(detail.contains("210987654321"), "{detail}");
    assert_eq!(done.completed, Some(true));
}

#[tokio::test]
async fn a_snapshot_that_cannot_be_unshared_is_a_failure() {
    let ec2 = FakeArtifacts::shared(public_and_one_account(), &["unshare"]);
    let done = unshare(&ec2, &snapshot()).await;
    assert_eq!(only(&done).0, Status::Failed);
    assert_eq!(done.completed, Some(false));
    assert_eq!(*ec2.sharing.lock().unwrap(), public_and_one_account());
}
