//! The isolation record: when the quarantine started and each interface's original groups.

use std::collections::BTreeMap;

use crate::incident::tag_value;
use crate::records::chunks::{chunk_keys, prefixed, read_tokens, Tags};
use crate::tags::{self, OriginalGroups};

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
