//! The clock, injectable: the deployed functions read the system time, tests fix it.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;

/// Where "now" comes from.
pub trait Clock: Send + Sync {
    /// The time now.
    fn now(&self) -> SystemTime;

    /// Now as RFC 3339 (UTC, seconds).
    fn rfc3339(&self) -> String {
        DateTime::from(self.now())
            .fmt(Format::DateTime)
            .unwrap_or_default()
    }

    /// Now rounded *up* to the next whole second, RFC 3339: every session issued so far is older.
    fn cutoff(&self) -> String {
        let now = self.now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = now.as_secs() + u64::from(now.subsec_nanos() > 0);
        DateTime::from_secs(secs as i64)
            .fmt(Format::DateTime)
            .unwrap_or_default()
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that always says the same time (tests).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub SystemTime);

impl FixedClock {
    /// The clock stopped at `rfc3339` (e.g. `2026-11-22T04:00:00Z`); the epoch if it does not parse.
    pub fn at(rfc3339: &str) -> FixedClock {
        let t = DateTime::from_str(rfc3339, Format::DateTime)
            .ok()
            .and_then(|t| SystemTime::try_from(t).ok())
            .unwrap_or(UNIX_EPOCH);
        FixedClock(t)
    }
}

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// Seconds since the epoch of an RFC 3339 time, `None` when it does not parse.
pub fn epoch_seconds(rfc3339: &str) -> Option<i64> {
    DateTime::from_str(rfc3339, Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_cutoff_rounds_up_to_the_next_second() {
        let c = FixedClock(UNIX_EPOCH + Duration::from_millis(1_700_000_000_250));
        assert_eq!(c.rfc3339(), "2023-11-14T22:13:20.25Z");
        assert_eq!(c.cutoff(), "2023-11-14T22:13:21Z");
        let whole = FixedClock::at("2026-11-22T04:00:00Z");
        assert_eq!(whole.cutoff(), "2026-11-22T04:00:00Z");
        assert_eq!(whole.rfc3339(), "2026-11-22T04:00:00Z");
        assert_eq!(epoch_seconds("garbled"), None);
    }
}
