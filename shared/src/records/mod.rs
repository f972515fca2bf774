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
//!
//! One file per record (`isolation.rs`, `acl.rs`, `evidence.rs`, `out_of_service.rs`,
//! `sharing.rs`), the packing into numbered tags in `chunks.rs`, the [`Budget`] in `budget.rs`; all
//! re-exported here (`crate::records::X`).

mod acl;
mod budget;
mod chunks;
mod evidence;
mod isolation;
mod out_of_service;
mod sharing;

pub use acl::AclDenies;
pub use budget::{counted, new_keys, Budget, NoRoom, Room, TAG_LIMIT};
pub use chunks::{chunk_keys, chunked, CONTENT_LIMIT};
pub use evidence::Evidence;
pub use isolation::Isolation;
pub use out_of_service::Service;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::{self, VALUE_LIMIT};

    pub(super) fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
}
