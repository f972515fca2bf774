//! A deny's cutoff: rounded up to its minute, compared, and expired once every credential issued
//! before it has.

use crate::clock::epoch_seconds;

/// The longest a temporary credential lasts: 129,600 s, 36 h (IAM User Guide, "Disabling
/// permissions for temporary security credentials"; `GetSessionToken`, `GetFederationToken`). A
/// role session lasts at most 12 h, but "the maximum session duration setting does not limit
/// sessions assumed by AWS services" (IAM and AWS STS quotas), such as EC2's instance-profile
/// sessions: only the 36 h bound is documented for them.
pub const LONGEST_CREDENTIAL_SECONDS: i64 = 129_600;
/// What a cutoff keeps beyond [`LONGEST_CREDENTIAL_SECONDS`] before it is pruned: clocks differ.
pub const SKEW_SECONDS: i64 = 300;
/// The instances revoked within one minute share a policy.
pub const MINUTE_SECONDS: i64 = 60;

/// `cutoff` rounded up to a whole minute (RFC 3339); `None` when it does not parse.
pub fn minute_after(cutoff: &str) -> Option<String> {
    let secs = epoch_seconds(cutoff)?;
    let minute = secs.div_euclid(MINUTE_SECONDS) * MINUTE_SECONDS;
    let up = match minute < secs || fraction(cutoff) {
        true => minute + MINUTE_SECONDS,
        false => minute,
    };
    aws_smithy_types::DateTime::from_secs(up)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .ok()
}

/// Whether an RFC 3339 time has a non-zero fraction of a second.
fn fraction(t: &str) -> bool {
    t.split_once('.')
        .is_some_and(|(_, f)| f.chars().take_while(char::is_ascii_digit).any(|c| c != '0'))
}

/// Whether a cutoff denies nothing any more at `now` (seconds since the epoch): every credential
/// issued before it has expired. One that does not parse is never taken as expired.
pub fn expired(cutoff: &str, now: i64) -> bool {
    epoch_seconds(cutoff).is_some_and(|c| now >= c + LONGEST_CREDENTIAL_SECONDS + SKEW_SECONDS)
}

/// The later of two cutoffs (`a` when either does not parse).
pub(super) fn later<'a>(a: &'a str, b: &'a str) -> &'a str {
    match (epoch_seconds(a), epoch_seconds(b)) {
        (Some(x), Some(y)) if y > x || (y == x && fraction(b) && !fraction(a)) => b,
        _ => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denies::fixtures::NOW;

    #[test]
    fn a_cutoff_rounds_up_to_its_minute_and_expires_after_the_longest_credential() {
        assert_eq!(minute_after(NOW).unwrap(), "2026-11-30T03:01:00Z");
        assert_eq!(
            minute_after("2026-11-30T03:01:00Z").unwrap(),
            "2026-11-30T03:01:00Z"
        );
        assert_eq!(
            minute_after("2026-11-30T03:01:00.5Z").unwrap(),
            "2026-11-30T03:02:00Z"
        );
        assert_eq!(minute_after("garbled"), None);
        let last = epoch_seconds("2026-11-30T03:00:00Z").unwrap() + 36 * 3600 + 300;
        assert!(!expired("2026-11-30T03:00:00Z", last - 1));
        assert!(expired("2026-11-30T03:00:00Z", last));
        assert!(!expired("garbled", i64::MAX));
    }
}
