//! What evidence protection changed on an instance.

use crate::incident::tag_value;
use crate::records::chunks::{chunk_keys, read_tokens, Tags};
use crate::tags;

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
