//! Carries out a plan about an EBS snapshot or AMI: `unshare` (who could use it recorded on it
//! first, then every public and cross-account permission removed) and its undo, `restore-sharing`
//! (`FbRelease`: the recorded permissions given back, then the record removed).

use crate::execute::Request;
use crate::incident::ArtifactRef;
use crate::kind::ActionKind;
use crate::outcome::{Execution, Outcome, Status};
use crate::ports::{ArtifactFacts, ArtifactsPort, Ports, Sharing};
use crate::records::{self, chunk_keys, Budget};
use crate::seal;
use crate::tags;

fn ended(outcome: Outcome, completed: Option<bool>) -> Execution {
    Execution {
        outcomes: vec![outcome],
        completed,
        ..Execution::default()
    }
}

/// The artifact now, or the execution that ends here (gone, unreadable).
async fn read<E: ArtifactsPort>(
    ec2: &E,
    a: &ArtifactRef,
    kind: ActionKind,
) -> Result<ArtifactFacts, Execution> {
    match ec2.artifact(a).await {
        Ok(Some(f)) => Ok(f),
        Ok(None) => Err(ended(
            Outcome::new(kind, &a.id, Status::Skipped, "it no longer exists"),
            None,
        )),
        Err(e) => Err(ended(
            Outcome::failed(kind, &a.id, "could not read who may use it", &e),
            Some(false),
        )),
    }
}

/// Removes every public and cross-account permission, recorded first. A record that cannot be
/// written never keeps it shared: the permissions are removed and the notification says who had
/// them, for a human to give back.
pub async fn run<E: ArtifactsPort, S, I>(p: &Ports<'_, E, S, I>, r: Request<'_>) -> Execution {
    match r.incident.artifact() {
        Some(a) => unshare_it(p.ec2, a).await,
        None => Execution::default(),
    }
}

async fn unshare_it<E: ArtifactsPort>(ec2: &E, a: &ArtifactRef) -> Execution {
    match read(ec2, a, ActionKind::Unshare).await {
        Ok(f) => noted(unshare_read(ec2, a, &f).await, &a.id, &f),
        Err(ended) => ended,
    }
}

/// With what the team must know of records Firebreak could not trust: forged ones (tampering),
/// and unsealed ones, which a release never restores from.
fn noted(mut done: Execution, id: &str, facts: &ArtifactFacts) -> Execution {
    if !facts.forged.is_empty() {
        done.warnings.push(seal::tampering(id, &facts.forged));
    }
    if !facts.legacy.is_empty() {
        done.warnings.push(seal::unverified(id, &facts.legacy));
    }
    done
}

async fn unshare_read<E: ArtifactsPort>(
    ec2: &E,
    a: &ArtifactRef,
    facts: &ArtifactFacts,
) -> Execution {
    let kind = ActionKind::Unshare;
    let id = a.id.as_str();
    if facts.sharing.is_empty() {
        let done = Outcome::new(kind, id, Status::AlreadyDone, "shared with no one");
        return ended(done, Some(true));
    }
    let recorded = Sharing::read(&facts.tags);
    let record = recorded.union(&facts.sharing);
    let write = match record == recorded {
        true => Vec::new(),
        false => records::chunked(tags::SHARED_WITH, &record.tokens(), &facts.tags),
    };
    let present = records::counted(&facts.tags) + facts.legacy.len() + facts.forged.len();
    let unrecorded = Budget::new(present, 0)
        .record(&facts.tags, write, |w| async move {
            ec2.tag_artifact(a, &w).await
        })
        .await;
    let who = facts.sharing.describe();
    let outcome = match ec2.unshare(a, &facts.sharing).await {
        Ok(()) => Outcome::new(
            kind,
            id,
            Status::Succeeded,
            format!("no longer usable by {who}"),
        ),
        Err(e) => {
            let failed = Outcome::failed(kind, id, "could not remove its permissions", &e);
            return ended(failed, Some(false));
        }
    };
    let outcome = match unrecorded {
        Some(why) => outcome.unrecorded(format!("it was usable by {who}"), why),
        None => outcome,
    };
    ended(outcome, Some(true))
}

/// The undo: the recorded permissions given back, then the record removed.
pub async fn release<E: ArtifactsPort, S, I>(p: &Ports<'_, E, S, I>, r: Request<'_>) -> Execution {
    match r.incident.artifact() {
        Some(a) => restore_it(p.ec2, a).await,
        None => Execution::default(),
    }
}

async fn restore_it<E: ArtifactsPort>(ec2: &E, a: &ArtifactRef) -> Execution {
    match read(ec2, a, ActionKind::RestoreSharing).await {
        Ok(f) => noted(restore_read(ec2, a, &f).await, &a.id, &f),
        Err(ended) => ended,
    }
}

async fn restore_read<E: ArtifactsPort>(
    ec2: &E,
    a: &ArtifactRef,
    facts: &ArtifactFacts,
) -> Execution {
    let kind = ActionKind::RestoreSharing;
    let id = a.id.as_str();
    let recorded = Sharing::read(&facts.tags);
    if recorded.is_empty() {
        let done = Outcome::new(kind, id, Status::AlreadyDone, "no sharing recorded");
        return ended(done, Some(true));
    }
    if let Err(e) = ec2.share(a, &recorded).await {
        let failed = Outcome::failed(kind, id, "could not give its permissions back", &e);
        return ended(failed, Some(false));
    }
    let keys = chunk_keys(&facts.tags, tags::SHARED_WITH);
    let detail = format!("usable again by {}", recorded.describe());
    match ec2.untag_artifact(a, &keys).await {
        Ok(()) => ended(
            Outcome::new(kind, id, Status::Succeeded, detail),
            Some(true),
        ),
        Err(e) => ended(
            Outcome::failed(kind, id, &format!("{detail}, but its record stays"), &e),
            Some(false),
        ),
    }
}
