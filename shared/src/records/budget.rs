//! The [`Budget`] of tags an instance can still take under EC2's limit, shared by the writers of
//! one response, so a record is never attempted where it cannot fit and the markers (status,
//! finding) keep a place.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::incident::tag_value;
use crate::records::chunks::Tags;

/// EC2's limit of tags on one resource.
pub const TAG_LIMIT: usize = 50;

/// The tags that count against EC2's limit: not the `aws:` ones AWS writes itself (Auto Scaling,
/// CloudFormation, launch templates), which EC2 does not count.
pub fn counted(tags: &Tags) -> usize {
    let reserved = |k: &str| k.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:"));
    tags.iter().filter(|(k, _)| !reserved(k)).count()
}

/// How many of `write`'s keys the resource does not carry yet (what the write costs the budget).
pub fn new_keys(present: &Tags, write: &[(String, String)]) -> usize {
    write
        .iter()
        .filter(|(k, _)| tag_value(present, k).is_none())
        .count()
}

/// Why a record was not written: the tags it needs do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRoom {
    /// Tags the record needs.
    pub needed: usize,
    /// Tags the instance can still take.
    pub left: usize,
}

impl fmt::Display for NoRoom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the record needs {} more tag(s) and the instance can take only {} more \
             (EC2 allows {TAG_LIMIT} per resource)",
            self.needed, self.left
        )
    }
}

/// The tags one instance can still take, shared by the writers of one response. The markers
/// (status, finding) have a reserve of their own; records draw from the rest, in the order they
/// are written (the isolation record first).
#[derive(Debug)]
pub struct Budget {
    left: AtomicUsize,
    reserve: AtomicUsize,
}

impl Budget {
    /// For a resource carrying `present` tags, `reserve` of the free ones kept for the markers.
    pub fn new(present: usize, reserve: usize) -> Budget {
        let free = TAG_LIMIT.saturating_sub(present);
        let reserve = reserve.min(free);
        Budget {
            left: AtomicUsize::new(free - reserve),
            reserve: AtomicUsize::new(reserve),
        }
    }

    /// Room for `n` more tags from the shared pool, taken; or why not.
    pub fn take(&self, n: usize) -> Result<(), NoRoom> {
        let taken = self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(n));
        taken.map(|_| ()).map_err(|left| NoRoom { needed: n, left })
    }

    /// Room for `n` marker tags: the reserve first, then the pool.
    pub fn take_marker(&self, n: usize) -> Result<(), NoRoom> {
        let from_reserve = self
            .reserve
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| {
                Some(r.saturating_sub(n))
            })
            .unwrap_or_default()
            .min(n);
        self.take(n - from_reserve).inspect_err(|_| {
            self.reserve.fetch_add(from_reserve, Ordering::SeqCst);
        })
    }

    /// Room for `write` on a resource carrying `present` (only keys it lacks cost anything).
    pub fn reserve(&self, present: &Tags, write: Vec<(String, String)>) -> Room {
        if write.is_empty() {
            return Room::Nothing;
        }
        match self.take(new_keys(present, &write)) {
            Ok(()) => Room::Write(write),
            Err(no) => Room::Refused(no),
        }
    }
}

impl Budget {
    /// Reserves room for `write` on a resource carrying `present` and, when there is some, writes
    /// it with `tag`: `None` when recorded (or nothing was new), else why it was not.
    pub async fn record<F, Fut, E>(
        &self,
        present: &Tags,
        write: Vec<(String, String)>,
        tag: F,
    ) -> Option<String>
    where
        F: FnOnce(Vec<(String, String)>) -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        match self.reserve(present, write) {
            Room::Nothing => None,
            Room::Refused(no) => Some(no.to_string()),
            Room::Write(w) => tag(w).await.err().map(|e| e.to_string()),
        }
    }
}

/// What [`Budget::reserve`] decided for a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Room {
    /// Nothing new to write.
    Nothing,
    /// Room taken: write these tags.
    Write(Vec<(String, String)>),
    /// It does not fit.
    Refused(NoRoom),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::tests::tags;

    #[test]
    fn the_budget_keeps_the_markers_place_and_refuses_what_does_not_fit() {
        let b = Budget::new(44, 2);
        assert_eq!(b.take(3), Ok(()));
        assert_eq!(b.take(2), Err(NoRoom { needed: 2, left: 1 }));
        assert_eq!(b.take(1), Ok(()));
        assert_eq!(b.take_marker(2), Ok(()));
        assert_eq!(b.take_marker(1), Err(NoRoom { needed: 1, left: 0 }));
        let full = Budget::new(50, 2);
        assert!(full.take_marker(1).is_err());
        assert_eq!(
            new_keys(&tags(&[("a", "1")]), &tags(&[("a", "2"), ("b", "")])),
            1
        );
    }
}
