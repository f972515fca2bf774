//! AWS's eventual consistency: right after Firebreak creates a resource (a security group), a call
//! that uses it may answer `….NotFound` for a moment (EC2 API reference, "Eventual consistency").
//! Such calls are retried with a short, bounded backoff — only for what this invocation created.

use std::future::Future;
use std::time::Duration;

use crate::error::AwsError;

/// The waits between attempts: 3.1 s in all, well inside an incident's deadline.
pub const EVENTUAL_CONSISTENCY_WAITS: [Duration; 5] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1600),
];

/// `call`, again after each wait while it answers that a resource just created does not exist.
pub async fn until_visible<T, F, Fut>(call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    until_visible_with(&EVENTUAL_CONSISTENCY_WAITS, call).await
}

async fn until_visible_with<T, F, Fut>(waits: &[Duration], call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    again_while(waits, AwsError::is_not_found, call).await
}

/// The waits while a Lambda function's earlier update is in progress: 6.3 s in all.
pub const UPDATE_IN_PROGRESS_WAITS: [Duration; 6] = [
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(1600),
    Duration::from_millis(3200),
];

/// `call`, again after each wait while Lambda answers that an earlier update of the function is
/// still in progress (`ResourceConflictException`, Lambda API reference, UpdateFunctionConfiguration).
pub async fn until_settled<T, F, Fut>(call: F) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let conflict = |e: &AwsError| e.code.as_deref() == Some("ResourceConflictException");
    again_while(&UPDATE_IN_PROGRESS_WAITS, conflict, call).await
}

async fn again_while<T, F, Fut>(
    waits: &[Duration],
    again: impl Fn(&AwsError) -> bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    for wait in waits.iter().copied() {
        match call().await {
            Err(e) if again(&e) => tokio::time::sleep(wait).await,
            done => return done,
        }
    }
    call().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn not_found() -> AwsError {
        AwsError {
            code: Some("InvalidGroup.NotFound".into()),
            message: "The security group 'sg-1' does not exist".into(),
        }
    }

    const SHORT: [Duration; 5] = [Duration::from_millis(1); 5];

    #[tokio::test]
    async fn a_new_resource_is_retried_until_visible_and_no_longer() {
        let calls = AtomicUsize::new(0);
        let visible_after = 3;
        let r = until_visible_with(&SHORT, || async {
            match calls.fetch_add(1, Ordering::SeqCst) < visible_after {
                true => Err(not_found()),
                false => Ok("done"),
            }
        })
        .await;
        assert_eq!(r, Ok("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 4);

        let calls = AtomicUsize::new(0);
        let r: Result<(), _> = until_visible_with(&SHORT, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(not_found())
        })
        .await;
        assert_eq!(r, Err(not_found()));
        assert_eq!(calls.load(Ordering::SeqCst), 6, "bounded: 5 waits");

        let calls = AtomicUsize::new(0);
        let other = AwsError {
            code: Some("UnauthorizedOperation".into()),
            message: "no".into(),
        };
        let r: Result<(), _> = until_visible_with(&SHORT, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(other.clone())
        })
        .await;
        assert_eq!(r, Err(other));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "other errors are not retried"
        );
    }
}
