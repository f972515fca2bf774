//! The bounded wait the function's actions share: a call again, after a growing wait, until
//! Lambda answers as hoped or the incident's deadline comes.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::AwsError;

/// `call` again, after a growing wait, while `again` says so and `deadline` is not reached.
pub(super) async fn until_deadline<T, F, Fut>(
    deadline: Instant,
    again: impl Fn(&Result<T, AwsError>) -> bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let mut wait = Duration::from_millis(200);
    loop {
        let done = call().await;
        let left = deadline.saturating_duration_since(Instant::now());
        if !again(&done) || left.is_zero() {
            return done;
        }
        tokio::time::sleep(wait.min(left)).await;
        wait = (wait * 2).min(Duration::from_secs(5));
    }
}
