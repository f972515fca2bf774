//! The network ACL entries Firebreak adds for an instance.

use std::collections::BTreeMap;

use crate::records::chunks::{chunk_keys, prefixed, read_tokens, Tags};
use crate::tags::{self, AclEntryRecord, NetworkAclRecord};

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
