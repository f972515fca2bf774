//! The records a quarantine keeps on an instance, packed to live within EC2's 50 tags per resource.
//!
//! One record per writer — [`Isolation`] (when it started, each interface's original groups),
//! [`AclDenies`] (the network ACL entries), [`Evidence`] (what evidence protection changed) and
//! [`Service`] (the target groups and Elastic IPs taken away) — so writers that run at the same
//! time never overwrite each other. A record is a list of space-separated tokens stored in as few
//! tags as EC2's 256-character values allow: `<key>`, then `<key>:2`, `<key>:3`, … Each record is
//! read back in this format and in the one-tag-per-item format of earlier versions
//! (`firebreak:original-groups:<eni>`, `firebreak:network-acl:<acl>`, …), so an instance
//! quarantined by an earlier Firebreak is released by this one.
//!
//! [`Budget`]: how many tags the instance can still take, shared by the writers of one response, so
//! a record is never attempted where it cannot fit and the markers (status, finding) keep a place.
//!
//! Tokens use only characters every AWS service accepts in tag values (letters, digits, spaces and
//! `+ - = . _ : / @`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::incident::tag_value;
use crate::ports::{Registration, Sharing};
use crate::tags::{
    self, AclEntryRecord, EipRecord, NetworkAclRecord, OriginalGroups, TargetRecord, VALUE_LIMIT,
};

/// EC2's limit of tags on one resource.
pub const TAG_LIMIT: usize = 50;

type Tags = [(String, String)];

fn chunk_key(base: &str, n: usize) -> String {
    match n {
        1 => base.to_string(),
        n => format!("{base}:{n}"),
    }
}

/// The keys of a record's tags on the resource, in order.
pub fn chunk_keys(tags: &Tags, base: &str) -> Vec<String> {
    (1..)
        .map(|n| chunk_key(base, n))
        .take_while(|k| tag_value(tags, k).is_some())
        .collect()
}

/// A record's tokens, read from its tags.
fn read_tokens<'a>(tags: &'a Tags, base: &str) -> Vec<&'a str> {
    chunk_keys(tags, base)
        .iter()
        .filter_map(|k| tag_value(tags, k))
        .flat_map(str::split_whitespace)
        .collect()
}

/// What a record's tag value may hold: [`VALUE_LIMIT`] less the seal every `firebreak:*` value
/// carries (`seal.rs`).
pub const CONTENT_LIMIT: usize = VALUE_LIMIT - crate::seal::SEAL_LEN;

/// The tags that store `tokens` under `base`: tokens packed in order, each tag's content within
/// [`CONTENT_LIMIT`] (a token is never split); a tag left by a longer earlier version of the record
/// is emptied.
pub fn chunked(base: &str, tokens: &[String], present: &Tags) -> Vec<(String, String)> {
    let mut values: Vec<String> = Vec::new();
    for t in tokens {
        match values.last_mut() {
            Some(v) if v.len() + 1 + t.len() <= CONTENT_LIMIT => {
                v.push(' ');
                v.push_str(t);
            }
            _ => values.push(t.clone()),
        }
    }
    let mut out: Vec<(String, String)> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| (chunk_key(base, i + 1), v))
        .collect();
    for key in chunk_keys(present, base).into_iter().skip(out.len()) {
        out.push((key, String::new()));
    }
    out
}

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

/// The keys of `tags` that start with `prefix`.
fn prefixed(tags: &Tags, prefix: &str) -> Vec<String> {
    tags.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

// ---- isolation ----

/// [`tags::ISOLATION`]: `started=<time>` and `<eni>=<group>+<group>` per interface. Earlier format:
/// [`tags::QUARANTINE_STARTED`] and [`tags::ORIGINAL_GROUPS`]`<eni>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Isolation {
    /// When Firebreak decided to quarantine the instance (what the blast-radius cap counts).
    pub started: Option<String>,
    /// Each interface's groups before quarantine.
    pub groups: BTreeMap<String, Vec<String>>,
}

impl Isolation {
    /// The tokens of the record.
    pub fn tokens(&self) -> Vec<String> {
        let started = self.started.iter().map(|t| format!("started={t}"));
        // At most 8 groups a token (an interface may have 16): every token fits a tag value.
        let groups = self.groups.iter().flat_map(|(eni, gs)| {
            gs.chunks(8)
                .map(move |part| format!("{eni}={}", part.join("+")))
        });
        started.chain(groups).collect()
    }

    /// From tokens (an unreadable token is skipped).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Isolation {
        let mut record = Isolation::default();
        for (k, v) in tokens.into_iter().filter_map(|t| t.split_once('=')) {
            match k {
                "started" => record.started = Some(v.to_string()),
                eni => {
                    let groups = v.split('+').filter(|g| !g.is_empty()).map(String::from);
                    record
                        .groups
                        .entry(eni.to_string())
                        .or_default()
                        .extend(groups);
                }
            }
        }
        record
    }

    /// This version's record only.
    pub fn packed(tags: &Tags) -> Isolation {
        Isolation::from_tokens(read_tokens(tags, tags::ISOLATION))
    }

    /// Everything recorded, in either format (the earlier format first: what was written first wins).
    pub fn read(tags: &Tags) -> Isolation {
        let mut record = Isolation::packed(tags);
        if let Some(t) = tag_value(tags, tags::QUARANTINE_STARTED) {
            record.started = Some(t.to_string());
        }
        for (k, v) in tags {
            if let Some(eni) = k.strip_prefix(tags::ORIGINAL_GROUPS) {
                record
                    .groups
                    .insert(eni.to_string(), OriginalGroups::decode(v).0);
            }
        }
        record
    }

    /// Every key that holds it, in either format (the earlier start tag is a marker of the whole
    /// quarantine and goes with the others: `tag_instance::quarantine_tags`).
    pub fn keys(tags: &Tags) -> Vec<String> {
        let mut keys = chunk_keys(tags, tags::ISOLATION);
        keys.extend(prefixed(tags, tags::ORIGINAL_GROUPS));
        keys
    }
}

// ---- network ACL entries ----

/// [`tags::ACL_DENIES`]: `<acl>:i<rule>=<cidr>` (inbound) and `<acl>:o<rule>=<cidr>` (outbound).
/// Earlier format: [`tags::NETWORK_ACL`]`<acl>` = [`NetworkAclRecord`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclDenies(pub BTreeMap<String, NetworkAclRecord>);

impl AclDenies {
    /// The tokens of the record.
    pub fn tokens(&self) -> Vec<String> {
        self.0
            .iter()
            .flat_map(|(acl, r)| {
                r.0.iter()
                    .map(move |e| format!("{acl}:{}", NetworkAclRecord(vec![e.clone()]).encode()))
            })
            .collect()
    }

    /// From tokens (an unreadable token is skipped).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> AclDenies {
        let mut record = AclDenies::default();
        for (acl, entry) in tokens.into_iter().filter_map(|t| t.split_once(':')) {
            let entries: Vec<AclEntryRecord> = NetworkAclRecord::decode(entry).0;
            record
                .0
                .entry(acl.to_string())
                .or_default()
                .0
                .extend(entries);
        }
        record
    }

    /// This version's record only.
    pub fn packed(tags: &Tags) -> AclDenies {
        AclDenies::from_tokens(read_tokens(tags, tags::ACL_DENIES))
    }

    /// Everything recorded, in either format.
    pub fn read(tags: &Tags) -> AclDenies {
        let mut record = AclDenies::packed(tags);
        for (k, v) in tags {
            if let Some(acl) = NetworkAclRecord::acl(k) {
                let entries = &mut record.0.entry(acl.to_string()).or_default().0;
                for e in NetworkAclRecord::decode(v).0 {
                    if !entries.contains(&e) {
                        entries.push(e);
                    }
                }
            }
        }
        record.0.retain(|_, r| !r.0.is_empty());
        record
    }

    /// Every key that holds it, in either format.
    pub fn keys(tags: &Tags) -> Vec<String> {
        let mut keys = chunk_keys(tags, tags::ACL_DENIES);
        keys.extend(prefixed(tags, tags::NETWORK_ACL));
        keys
    }
}

// ---- evidence protection ----

/// [`tags::EVIDENCE`]: `termination-protection` (Firebreak turned it on), `shutdown=<before>`,
/// `volumes=<device>+<device>` (those that were deleted on termination). Earlier format:
/// [`tags::SET_TERMINATION_PROTECTION`], [`tags::SHUTDOWN_BEHAVIOUR`], [`tags::KEPT_VOLUMES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Firebreak turned termination protection on.
    pub termination_protection: bool,
    /// The shutdown behaviour before Firebreak made it `stop`.
    pub shutdown: Option<String>,
    /// The devices whose volumes were deleted on termination before Firebreak kept them.
    pub kept_volumes: Vec<String>,
}

const TERMINATION_PROTECTION: &str = "termination-protection";

impl Evidence {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        *self == Evidence::default()
    }

    /// The tokens of the record.
    pub fn tokens(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.termination_protection {
            out.push(TERMINATION_PROTECTION.to_string());
        }
        if let Some(s) = &self.shutdown {
            out.push(format!("shutdown={s}"));
        }
        // At most 8 devices a token: every token fits a tag value.
        for part in self.kept_volumes.chunks(8) {
            out.push(format!("volumes={}", part.join("+")));
        }
        out
    }

    /// From tokens (an unreadable token is skipped).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Evidence {
        let mut record = Evidence::default();
        for t in tokens {
            match t.split_once('=') {
                None if t == TERMINATION_PROTECTION => record.termination_protection = true,
                Some(("shutdown", s)) => record.shutdown = Some(s.to_string()),
                Some(("volumes", v)) => {
                    record.kept_volumes.extend(v.split('+').map(String::from));
                }
                _ => {}
            }
        }
        record
    }

    /// This version's record only.
    pub fn packed(tags: &Tags) -> Evidence {
        Evidence::from_tokens(read_tokens(tags, tags::EVIDENCE))
    }

    /// Everything recorded, in either format (the earlier format wins).
    pub fn read(tags: &Tags) -> Evidence {
        let mut record = Evidence::packed(tags);
        if tag_value(tags, tags::SET_TERMINATION_PROTECTION) == Some(tags::TRUE) {
            record.termination_protection = true;
        }
        if let Some(s) = tag_value(tags, tags::SHUTDOWN_BEHAVIOUR) {
            record.shutdown = Some(s.to_string());
        }
        if let Some(v) = tag_value(tags, tags::KEPT_VOLUMES) {
            record.kept_volumes = v.split_whitespace().map(String::from).collect();
        }
        record
    }

    /// Every key that holds it, in either format.
    pub fn keys(tags: &Tags) -> Vec<String> {
        let mut keys = chunk_keys(tags, tags::EVIDENCE);
        for k in [
            tags::SET_TERMINATION_PROTECTION,
            tags::SHUTDOWN_BEHAVIOUR,
            tags::KEPT_VOLUMES,
        ] {
            if tag_value(tags, k).is_some() {
                keys.push(k.to_string());
            }
        }
        keys
    }
}

// ---- out of service ----

/// [`tags::OUT_OF_SERVICE`]: `tg=<target group ARN>@<port|->[@<ip>]` per registration taken away,
/// `eip=<allocation>@<eni>@<private ip>` per Elastic IP. Earlier format: [`tags::TARGET`]`<n>` and
/// [`tags::EIP`]`<allocation>`. (The Auto Scaling group keeps a tag of its own,
/// [`tags::AUTO_SCALING`]: a group's name may contain spaces.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Service {
    /// The registrations taken away.
    pub targets: Vec<Registration>,
    /// The Elastic IPs disassociated, by allocation id.
    pub addresses: BTreeMap<String, EipRecord>,
}

impl Service {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.addresses.is_empty()
    }

    /// The tokens of the record.
    pub fn tokens(&self) -> Vec<String> {
        let targets = self.targets.iter().map(|r| {
            let port = r.port.map_or("-".to_string(), |p| p.to_string());
            match &r.ip {
                Some(ip) => format!("tg={}@{port}@{ip}", r.target_group_arn),
                None => format!("tg={}@{port}", r.target_group_arn),
            }
        });
        let addresses = self.addresses.iter().map(|(allocation, e)| {
            format!(
                "eip={allocation}@{}@{}",
                e.network_interface_id, e.private_ip
            )
        });
        targets.chain(addresses).collect()
    }

    /// From tokens (an unreadable token is skipped).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Service {
        let mut record = Service::default();
        for t in tokens {
            match t.split_once('=') {
                Some(("tg", v)) => {
                    let mut parts = v.split('@');
                    record.targets.push(Registration {
                        target_group_arn: parts.next().unwrap_or_default().to_string(),
                        port: parts.next().and_then(|p| p.parse().ok()),
                        ip: parts.next().filter(|ip| !ip.is_empty()).map(String::from),
                    });
                }
                Some(("eip", v)) => {
                    let mut parts = v.split('@');
                    let allocation = parts.next().unwrap_or_default().to_string();
                    let e = EipRecord {
                        network_interface_id: parts.next().unwrap_or_default().to_string(),
                        private_ip: parts.next().unwrap_or_default().to_string(),
                    };
                    record.addresses.insert(allocation, e);
                }
                _ => {}
            }
        }
        record
    }

    /// This version's record only.
    pub fn packed(tags: &Tags) -> Service {
        Service::from_tokens(read_tokens(tags, tags::OUT_OF_SERVICE))
    }

    /// Everything recorded, in either format.
    pub fn read(tags: &Tags) -> Service {
        let mut record = Service::packed(tags);
        for (k, v) in tags {
            if k.starts_with(tags::TARGET) {
                let r = TargetRecord::decode(v);
                if !record.targets.contains(&r) {
                    record.targets.push(r);
                }
            } else if let Some(allocation) = EipRecord::allocation(k) {
                record
                    .addresses
                    .insert(allocation.to_string(), EipRecord::decode(v));
            }
        }
        record
    }

    /// Every key that holds it, in either format.
    pub fn keys(tags: &Tags) -> Vec<String> {
        let mut keys = chunk_keys(tags, tags::OUT_OF_SERVICE);
        keys.extend(prefixed(tags, tags::TARGET));
        keys.extend(prefixed(tags, tags::EIP));
        keys
    }
}

// ---- sharing of snapshots and AMIs ----

/// [`tags::SHARED_WITH`]: `all` (public), `account=<id>`, `org=<organization ARN>`,
/// `ou=<organizational unit ARN>` — who could create volumes from the snapshot or launch the AMI.
impl Sharing {
    /// The tokens of the record.
    pub fn tokens(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.public {
            out.push("all".into());
        }
        out.extend(self.accounts.iter().map(|a| format!("account={a}")));
        out.extend(self.organizations.iter().map(|a| format!("org={a}")));
        out.extend(self.units.iter().map(|a| format!("ou={a}")));
        out
    }

    /// From tokens (an unreadable token is skipped).
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Sharing {
        let mut s = Sharing::default();
        for t in tokens {
            match t.split_once('=') {
                None if t == "all" => s.public = true,
                Some(("account", a)) => s.accounts.push(a.to_string()),
                Some(("org", a)) => s.organizations.push(a.to_string()),
                Some(("ou", a)) => s.units.push(a.to_string()),
                _ => {}
            }
        }
        s
    }

    /// The record on a snapshot's or AMI's tags.
    pub fn read(tags: &Tags) -> Sharing {
        Sharing::from_tokens(read_tokens(tags, tags::SHARED_WITH))
    }
}

// ---- the budget ----

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

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_long_record_spreads_over_numbered_tags_and_reads_back_whole() {
        let mut r = Isolation {
            started: Some("2026-11-30T10:00:00Z".into()),
            ..Isolation::default()
        };
        for n in 0..6 {
            let groups = (0..5)
                .map(|g| format!("sg-0123456789abcdef{n}{g}"))
                .collect();
            r.groups.insert(format!("eni-0123456789abcdef{n}"), groups);
        }
        let written = chunked(tags::ISOLATION, &r.tokens(), &[]);
        assert!(written.len() > 1, "{written:?}");
        assert!(written.iter().all(|(_, v)| v.len() <= VALUE_LIMIT));
        assert_eq!(written[1].0, format!("{}:2", tags::ISOLATION));
        assert_eq!(Isolation::read(&written), r);
        // A shorter rewrite empties the tags it no longer needs.
        let short = Isolation {
            started: r.started.clone(),
            ..Isolation::default()
        };
        let rewritten = chunked(tags::ISOLATION, &short.tokens(), &written);
        assert_eq!(rewritten.len(), written.len());
        assert!(rewritten[1..].iter().all(|(_, v)| v.is_empty()));
        assert_eq!(Isolation::read(&rewritten), short);
    }

    #[test]
    fn sixteen_groups_and_many_volumes_still_fit_tag_values() {
        let mut r = Isolation::default();
        let gs: Vec<String> = (0..16)
            .map(|g| format!("sg-0123456789abcde{g:02}"))
            .collect();
        r.groups.insert("eni-0123456789abcdef0".into(), gs);
        let w = chunked(tags::ISOLATION, &r.tokens(), &[]);
        assert!(w.iter().all(|(_, v)| v.len() <= VALUE_LIMIT), "{w:?}");
        assert_eq!(Isolation::read(&w), r);
        let e = Evidence {
            kept_volumes: (0..30).map(|n| format!("/dev/sd{n:02}x")).collect(),
            ..Evidence::default()
        };
        let w = chunked(tags::EVIDENCE, &e.tokens(), &[]);
        assert!(w.iter().all(|(_, v)| v.len() <= VALUE_LIMIT), "{w:?}");
        assert_eq!(Evidence::read(&w), e);
        assert_eq!(
            counted(&tags(&[
                ("aws:autoscaling:groupName", "g"),
                ("AWS:x", "y"),
                ("a", "b")
            ])),
            1
        );
    }

    #[test]
    fn both_formats_are_read_and_every_key_is_found_for_release() {
        let t = tags(&[
            ("firebreak:quarantine-started-at", "2026-11-01T00:00:00Z"),
            ("firebreak:original-groups:eni-1", "sg-a sg-b"),
            ("firebreak:isolation", "eni-2=sg-c"),
            (
                "firebreak:network-acl:acl-1",
                "i100=10.0.0.5/32 o100=10.0.0.5/32",
            ),
            ("firebreak:acl-denies", "acl-2:i7=fd00::5/128"),
            ("firebreak:set-termination-protection", "true"),
            ("firebreak:evidence", "shutdown=terminate"),
            ("firebreak:target:0", "arn:tg/web 80"),
            ("firebreak:out-of-service", "eip=eipalloc-1@eni-1@10.0.0.5"),
        ]);
        let i = Isolation::read(&t);
        assert_eq!(i.started.as_deref(), Some("2026-11-01T00:00:00Z"));
        assert_eq!(i.groups["eni-1"], ["sg-a", "sg-b"]);
        assert_eq!(i.groups["eni-2"], ["sg-c"]);
        assert_eq!(Isolation::keys(&t).len(), 2);
        let a = AclDenies::read(&t);
        assert_eq!(a.0["acl-1"].0.len(), 2);
        assert_eq!(a.0["acl-2"].0[0].cidr, "fd00::5/128");
        assert_eq!(AclDenies::keys(&t).len(), 2);
        let e = Evidence::read(&t);
        assert!(e.termination_protection);
        assert_eq!(e.shutdown.as_deref(), Some("terminate"));
        assert_eq!(Evidence::keys(&t).len(), 2);
        let s = Service::read(&t);
        assert_eq!(s.targets[0].port, Some(80));
        assert_eq!(s.addresses["eipalloc-1"].private_ip, "10.0.0.5");
        assert_eq!(Service::keys(&t).len(), 2);
    }

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
