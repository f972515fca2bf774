//! The target groups and Elastic IPs taken away from an instance.

use std::collections::BTreeMap;

use crate::ports::Registration;
use crate::records::chunks::{chunk_keys, prefixed, read_tokens, Tags};
use crate::tags::{self, EipRecord, TargetRecord};

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
