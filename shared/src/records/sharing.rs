//! Who could use a snapshot or AMI before Firebreak unshared it.

use crate::ports::Sharing;
use crate::records::chunks::{read_tokens, Tags};
use crate::tags;

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
