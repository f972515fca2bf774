//! The blast-radius cap: at most so many instances of the account and region quarantined per
//! rolling hour; beyond it a human decides.

use crate::clock::epoch_seconds;
use crate::error::AwsError;
use crate::execute::Request;
use crate::kind::ActionKind;
use crate::outcome::Outcome;
use crate::ports::InstanceFacts;
use crate::records::Isolation;

const ISOLATE: ActionKind = ActionKind::IsolateInstance;

/// Instances whose quarantine started within the hour before `now`, other than `instance_id`.
fn quarantines_in_the_last_hour(
    starts: &[(String, String)],
    instance_id: &str,
    now: &str,
) -> usize {
    let Some(now) = epoch_seconds(now) else {
        return 0;
    };
    let since = now - 3600;
    starts
        .iter()
        .filter(|(id, _)| id != instance_id)
        // An unreadable time counts: the cap errs on the side of asking a human.
        .filter(|(_, at)| epoch_seconds(at).is_none_or(|t| t >= since))
        .count()
}

/// The blast-radius cap. An instance whose quarantine already started (a redelivery) is finished
/// whatever the count; a count that cannot be read fails containment, to be retried. `Ok(Some(why))`
/// when the cap holds isolation back.
pub(super) fn cap_check(
    r: Request<'_>,
    facts: &InstanceFacts,
    cap: usize,
    recent: Result<Vec<(String, String)>, AwsError>,
    now: &str,
) -> Result<Option<String>, Outcome> {
    let id = facts.instance_id.as_str();
    let starts = recent.map_err(|e| {
        Outcome::failed(
            ISOLATE,
            id,
            "could not count the quarantines of the last hour (blast-radius cap)",
            &e,
        )
    })?;
    if Isolation::read(&facts.tags).started.is_some() {
        return Ok(None);
    }
    let n = quarantines_in_the_last_hour(&starts, id, now);
    Ok((n >= cap).then(|| {
        format!(
            "blast-radius cap: {n} instance(s) of account {} in {} were quarantined in \
             the last hour (FIREBREAK_MAX_QUARANTINES_PER_HOUR={cap}). {id} was NOT \
             isolated; evidence was preserved. A human must decide: to isolate it, \
             select the finding in Security Hub and choose the custom action \
             FbQuarantine.",
            r.incident.account, r.incident.region
        )
    }))
}

#[cfg(test)]
mod tests {
    use super::quarantines_in_the_last_hour;

    #[test]
    fn the_cap_counts_other_instances_quarantined_within_the_rolling_hour() {
        let now = "2026-11-23T10:00:00Z";
        let starts = [
            ("i-self".to_string(), "2026-11-23T09:59:00Z".to_string()),
            ("i-a".to_string(), "2026-11-23T09:00:00Z".to_string()), // exactly an hour: counts
            ("i-b".to_string(), "2026-11-23T09:30:00.250Z".to_string()),
            ("i-c".to_string(), "2026-11-23T08:59:59Z".to_string()), // older: does not
            ("i-d".to_string(), "garbled".to_string()),              // unreadable: counts
        ];
        assert_eq!(quarantines_in_the_last_hour(&starts, "i-self", now), 3);
        assert_eq!(quarantines_in_the_last_hour(&[], "i-self", now), 0);
    }
}
