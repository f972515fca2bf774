//! Records only Firebreak can write: every `firebreak:*` tag value Firebreak writes carries an
//! authentication code (HMAC-SHA-256, truncated to 128 bits) bound to the resource it is on, to its
//! tag key and to the finding Firebreak acted for, so a value cannot be forged, moved to another
//! resource or key, or passed off as another incident's.
//!
//! A sealed value is `<content> fb=<key id>.<binding>.<code>`: the key id names the key that made
//! it (a rotated key still verifies while it is listed among the previous ones), the binding is a
//! short digest of the finding id, and the code covers the key id, the resource, the binding, the
//! tag key and the content. Tokens use only characters every AWS service accepts in tag values.
//!
//! What a read finds ([`open_tags`]): values whose code verifies (their content, trusted); values
//! carrying no code (written by a version before sealing: `legacy`, trusted by nobody but a release
//! that checks the facts they describe); and values whose code does not verify (`forged`: never
//! acted on, reported as tampering). The owner-written exemption tag is never sealed.
//!
//! The key is a Secrets Manager secret the template creates (`RecordKey`): JSON
//! `{"key": "<secret>", "previous": ["<earlier secret>", …]}`.

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The prefix of every tag key Firebreak writes.
pub const PREFIX: &str = "firebreak:";
/// The token that carries the code.
const MARK: &str = " fb=";
/// Characters of the key id, the binding and the code (base64url, no padding).
const KEY_ID_LEN: usize = 4;
const BINDING_LEN: usize = 6;
const CODE_LEN: usize = 22;
/// Characters a seal adds to a value: ` fb=` + key id + `.` + binding + `.` + code.
pub const SEAL_LEN: usize = MARK.len() + KEY_ID_LEN + 1 + BINDING_LEN + 1 + CODE_LEN;

/// One key: its id and its secret bytes.
#[derive(Clone)]
struct Key {
    id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({})", self.id)
    }
}

impl Key {
    fn new(secret: &str) -> Key {
        let digest = Sha256::digest(format!("firebreak-record-key-id\0{secret}").as_bytes());
        Key {
            id: b64(&digest)[..KEY_ID_LEN].to_string(),
            secret: secret.as_bytes().to_vec(),
        }
    }

    fn code(&self, resource: &str, binding: &str, key: &str, content: &str) -> String {
        // Errors only on a key length HMAC refuses, and HMAC takes any.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .expect("HMAC takes a key of any length");
        for part in [
            "firebreak-record-v1",
            &self.id,
            resource,
            binding,
            key,
            content,
        ] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        let code = mac.finalize().into_bytes();
        b64(&code[..16])
    }
}

/// Why a key could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the record key {0}")]
pub struct KeyError(pub String);

/// The keys: the current one seals, every one verifies.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

/// The least a key may hold.
const MIN_KEY_LEN: usize = 32;

impl Keyring {
    /// From one secret (at least 32 characters) and the earlier ones that still verify.
    pub fn new(current: &str, previous: &[&str]) -> Result<Keyring, KeyError> {
        let all = std::iter::once(current).chain(previous.iter().copied());
        if let Some(short) = all.clone().find(|k| k.len() < MIN_KEY_LEN) {
            let n = short.len();
            return Err(KeyError(format!(
                "is {n} characters long: at least {MIN_KEY_LEN} are needed"
            )));
        }
        Ok(Keyring {
            current: Key::new(current),
            previous: previous.iter().map(|k| Key::new(k)).collect(),
        })
    }

    /// From the secret's JSON: `{"key": "…", "previous": ["…", …]}`.
    pub fn from_secret(json: &str) -> Result<Keyring, KeyError> {
        let v: serde_json::Value = serde_json::from_str(json)
            .map_err(|_| KeyError("secret is not JSON: {\"key\": \"…\"} expected".into()))?;
        let current = v
            .get("key")
            .and_then(|k| k.as_str())
            .ok_or_else(|| KeyError("secret has no \"key\" string".into()))?;
        let previous: Vec<&str> = match v.get("previous") {
            None => Vec::new(),
            Some(p) => p
                .as_array()
                .and_then(|a| a.iter().map(|k| k.as_str()).collect::<Option<Vec<_>>>())
                .ok_or_else(|| KeyError("secret's \"previous\" is not a list of strings".into()))?,
        };
        Keyring::new(current, &previous)
    }

    /// Whether `value` carries a seal naming a key id these keys do not know.
    pub fn names_unknown_key(&self, value: &str) -> bool {
        let id = value
            .rsplit_once(MARK)
            .and_then(|(_, seal)| seal.split('.').next());
        id.is_some_and(|id| self.by_id(id).is_none())
    }

    fn by_id(&self, id: &str) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
    }

    /// `content` sealed for `key` on `resource`, for the finding `finding_id`.
    pub fn seal(&self, resource: &str, finding_id: &str, key: &str, content: &str) -> String {
        let binding = binding(finding_id);
        let code = self.current.code(resource, &binding, key, content);
        format!("{content}{MARK}{}.{binding}.{code}", self.current.id)
    }

    /// What the value of `key` on `resource` is.
    pub fn open<'a>(&self, resource: &str, key: &str, value: &'a str) -> Opened<'a> {
        let Some((content, seal)) = value.rsplit_once(MARK) else {
            return Opened::Legacy(value);
        };
        let mut parts = seal.splitn(3, '.');
        let (Some(id), Some(binding), Some(code)) = (parts.next(), parts.next(), parts.next())
        else {
            return Opened::Forged;
        };
        let Some(k) = self.by_id(id) else {
            return Opened::Forged;
        };
        let expected = k.code(resource, binding, key, content);
        match constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            true => Opened::Sealed {
                content,
                binding: binding.to_string(),
            },
            false => Opened::Forged,
        }
    }
}

/// What one tag value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened<'a> {
    /// Its code verifies: the content, and the binding of the finding it was written for.
    Sealed { content: &'a str, binding: String },
    /// It carries no code (an earlier version's record).
    Legacy(&'a str),
    /// It carries a code that does not verify.
    Forged,
}

/// The short digest of a finding id a seal carries.
pub fn binding(finding_id: &str) -> String {
    let digest = Sha256::digest(format!("firebreak-finding\0{finding_id}").as_bytes());
    b64(&digest)[..BINDING_LEN].to_string()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// base64url without padding.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len() * 4 / 3 + 2);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Whether Firebreak seals `key`: every `firebreak:*` key but the owner-written exemption tag.
pub fn sealable(key: &str, exempt_tag: &str) -> bool {
    key.starts_with(PREFIX) && key != exempt_tag
}

/// A resource's tags as read: what verifies, what predates sealing, what is forged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenedTags {
    /// Every tag Firebreak can trust: others' tags as they are, and Firebreak's whose code
    /// verifies, without their seal.
    pub trusted: Vec<(String, String)>,
    /// Firebreak's tags that carry no code (written before sealing), as they are.
    pub legacy: Vec<(String, String)>,
    /// The keys of Firebreak's tags whose code does not verify.
    pub forged: Vec<String>,
    /// A forged one names a key id these keys do not know: the secret may have been rotated since
    /// they were fetched ([`Seal::open`] fetches them again and reopens).
    pub unknown_key: bool,
}

/// Where the keys come from: fetched once (Secrets Manager, `aws/secrets.rs`), when a record is
/// first read: the adapter awaits the fetch together with its own call, so it runs beside the first
/// incident's first round trip rather than before it (and start-up does not wait for it). A fetch that fails is tried again by
/// the next caller. A seal made with a key this function does not know yet (the secret was rotated
/// since it started) has the keys fetched again, at most once every ten seconds.
pub struct KeySource {
    state: std::sync::Mutex<Option<(Arc<Keyring>, std::time::Instant)>>,
    fetching: tokio::sync::Mutex<()>,
    fetch: Box<dyn Fn() -> FetchKeys + Send + Sync>,
}

/// A fetch of the keys.
pub type FetchKeys =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Keyring, KeyError>> + Send>>;

/// The least time between two fetches of the keys for a seal of an unknown key.
const REFETCH_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeySource(fetched: {})", self.current().is_some())
    }
}

impl KeySource {
    /// Keys fetched by `fetch` when first needed.
    pub fn new(fetch: impl Fn() -> FetchKeys + Send + Sync + 'static) -> KeySource {
        KeySource {
            state: std::sync::Mutex::new(None),
            fetching: tokio::sync::Mutex::new(()),
            fetch: Box::new(fetch),
        }
    }

    /// Keys known already (tests, tools).
    pub fn fixed(keys: Keyring) -> KeySource {
        let source = KeySource::new(|| Box::pin(async { Err(KeyError("is fixed".into())) }));
        *source.lock() = Some((Arc::new(keys), std::time::Instant::now()));
        source
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(Arc<Keyring>, std::time::Instant)>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self) -> Option<(Arc<Keyring>, std::time::Instant)> {
        self.lock().clone()
    }

    /// The keys, fetched now if no earlier call has.
    pub async fn keys(&self) -> Result<Arc<Keyring>, KeyError> {
        match self.current() {
            Some((keys, _)) => Ok(keys),
            None => self.fetch_once(|held| held.is_none()).await,
        }
    }

    /// The keys fetched again, unless they were fetched within the last ten seconds (then, and when
    /// the fetch fails, the keys already held).
    pub async fn refreshed(&self) -> Result<Arc<Keyring>, KeyError> {
        let stale = |held: &Option<(Arc<Keyring>, std::time::Instant)>| {
            held.as_ref()
                .is_none_or(|(_, at)| at.elapsed() >= REFETCH_AFTER)
        };
        match self.fetch_once(stale).await {
            Ok(keys) => Ok(keys),
            Err(e) => self.current().map(|(k, _)| k).ok_or(e),
        }
    }

    /// One fetch at a time: the first caller for which `needed` holds fetches, the others wait
    /// and take what it got.
    async fn fetch_once(
        &self,
        needed: impl Fn(&Option<(Arc<Keyring>, std::time::Instant)>) -> bool,
    ) -> Result<Arc<Keyring>, KeyError> {
        let _one = self.fetching.lock().await;
        let held = self.current();
        if !needed(&held) {
            if let Some((keys, _)) = held {
                return Ok(keys);
            }
        }
        let keys = Arc::new((self.fetch)().await?);
        *self.lock() = Some((keys.clone(), std::time::Instant::now()));
        Ok(keys)
    }
}

/// How a warning about forged records starts (the notification, and the `Tampering` metric).
pub const TAMPERING: &str = "TAMPERING:";

/// What the team is told of forged records on `resource` (`keys`: theirs, escaped).
pub fn tampering(resource: &str, keys: &[String]) -> String {
    format!(
        "{TAMPERING} {resource} carries firebreak:* tags whose seal does not verify ({}): someone \
         other than Firebreak wrote them; Firebreak did not act on them",
        escaped(keys.iter().map(String::as_str))
    )
}

/// What the team is told of unsealed records that a release could not verify by the facts.
pub fn unverified(resource: &str, records: &[(String, String)]) -> String {
    let each = records.iter().map(|(k, v)| format!("{k:?}={v:?}"));
    format!(
        "NOT RESTORED on {resource}: firebreak:* records without a seal (written by an earlier \
         version, or by someone else) that the facts cannot confirm: {}; check them and restore by \
         hand what is genuine",
        each.collect::<Vec<_>>().join(", ")
    )
}

fn escaped<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sealing for one incident: the keys and the finding the writes are for.
#[derive(Debug, Clone)]
pub struct Seal {
    source: Arc<KeySource>,
    finding_id: String,
    exempt_tag: String,
}

impl Seal {
    /// Seals for `finding_id`; `exempt_tag` (written by owners) is never sealed.
    pub fn new(source: Arc<KeySource>, finding_id: &str, exempt_tag: &str) -> Seal {
        Seal {
            source,
            finding_id: finding_id.to_string(),
            exempt_tag: exempt_tag.to_string(),
        }
    }

    /// The keys.
    pub async fn keys(&self) -> Result<Arc<Keyring>, KeyError> {
        self.source.keys().await
    }

    /// `tags` as written on `resource`: each of Firebreak's values sealed (an empty value, which
    /// stands for nothing, stays empty).
    pub async fn seal_tags(
        &self,
        resource: &str,
        tags: &[(String, String)],
    ) -> Result<Vec<(String, String)>, KeyError> {
        let keys = self.keys().await?;
        Ok(self.sealed_with(&keys, resource, tags))
    }

    fn sealed_with(
        &self,
        keys: &Keyring,
        resource: &str,
        tags: &[(String, String)],
    ) -> Vec<(String, String)> {
        tags.iter()
            .map(
                |(k, v)| match sealable(k, &self.exempt_tag) && !v.is_empty() {
                    true => (k.clone(), keys.seal(resource, &self.finding_id, k, v)),
                    false => (k.clone(), v.clone()),
                },
            )
            .collect()
    }

    /// `tags` as read from `resource`, with `keys`.
    pub fn open_with(
        &self,
        keys: &Keyring,
        resource: &str,
        tags: &[(String, String)],
    ) -> OpenedTags {
        let mut out = OpenedTags::default();
        for (k, v) in tags {
            if !sealable(k, &self.exempt_tag) || v.is_empty() {
                out.trusted.push((k.clone(), v.clone()));
                continue;
            }
            match keys.open(resource, k, v) {
                Opened::Sealed { content, .. } => out.trusted.push((k.clone(), content.into())),
                Opened::Legacy(v) => out.legacy.push((k.clone(), v.to_string())),
                Opened::Forged => {
                    out.unknown_key |= keys.names_unknown_key(v);
                    out.forged.push(k.clone());
                }
            }
        }
        out
    }

    /// `tags` as read from `resource`, opened with `keys`, or with keys fetched again when a seal
    /// names a key they do not know (a rotation since they were fetched).
    pub async fn open(
        &self,
        keys: &Keyring,
        resource: &str,
        tags: &[(String, String)],
    ) -> OpenedTags {
        let opened = self.open_with(keys, resource, tags);
        if !opened.unknown_key {
            return opened;
        }
        match self.source.refreshed().await {
            Ok(fresh) => self.open_with(&fresh, resource, tags),
            Err(_) => opened,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "0123456789abcdef0123456789abcdef-one";
    const K2: &str = "0123456789abcdef0123456789abcdef-two";

    fn ring(current: &str, previous: &[&str]) -> Arc<Keyring> {
        Arc::new(Keyring::new(current, previous).unwrap())
    }

    fn pair(k: &str, v: &str) -> (String, String) {
        (k.to_string(), v.to_string())
    }

    #[test]
    fn a_sealed_record_verifies_only_on_its_resource_key_and_incident() {
        let keys = ring(K1, &[]);
        let v = keys.seal("i-1", "finding-a", "firebreak:isolation", "eni-1=sg-1");
        assert!(v.len() == "eni-1=sg-1".len() + SEAL_LEN, "{v}");
        let ok = keys.open("i-1", "firebreak:isolation", &v);
        let Opened::Sealed {
            content,
            binding: b,
        } = ok
        else {
            panic!("{ok:?}")
        };
        assert_eq!(content, "eni-1=sg-1");
        assert_eq!(b, binding("finding-a"));
        assert_ne!(
            b,
            binding("finding-b"),
            "another incident's binding differs"
        );
        // Copied to another resource, or another key: forged.
        assert_eq!(keys.open("i-2", "firebreak:isolation", &v), Opened::Forged);
        assert_eq!(keys.open("i-1", "firebreak:evidence", &v), Opened::Forged);
        // Edited content, or a binding swapped for another incident's: forged.
        let edited = v.replace("sg-1", "sg-9");
        assert_eq!(
            keys.open("i-1", "firebreak:isolation", &edited),
            Opened::Forged
        );
        let rebound = v.replace(&binding("finding-a"), &binding("finding-b"));
        assert_eq!(
            keys.open("i-1", "firebreak:isolation", &rebound),
            Opened::Forged
        );
        // Made with another key: forged.
        let other = ring(K2, &[]).seal("i-1", "finding-a", "firebreak:isolation", "eni-1=sg-1");
        assert_eq!(
            keys.open("i-1", "firebreak:isolation", &other),
            Opened::Forged
        );
        // No code at all: an earlier version's record.
        assert_eq!(
            keys.open("i-1", "firebreak:isolation", "eni-1=sg-1"),
            Opened::Legacy("eni-1=sg-1")
        );
        // A garbled seal.
        assert_eq!(keys.open("i-1", "k", "x fb=zz"), Opened::Forged);
    }

    #[test]
    fn a_rotated_key_still_verifies_what_the_earlier_one_sealed() {
        let old = ring(K1, &[]);
        let v = old.seal("i-1", "f", "firebreak:status", "quarantined");
        let rotated = ring(K2, &[K1]);
        assert!(matches!(
            rotated.open("i-1", "firebreak:status", &v),
            Opened::Sealed { .. }
        ));
        let dropped = ring(K2, &[]);
        assert_eq!(dropped.open("i-1", "firebreak:status", &v), Opened::Forged);
    }

    #[test]
    fn the_secret_is_json_with_a_long_enough_key() {
        assert!(Keyring::from_secret(&format!("{{\"key\":\"{K1}\"}}")).is_ok());
        let rotated = format!("{{\"key\":\"{K2}\",\"previous\":[\"{K1}\"]}}");
        assert_eq!(Keyring::from_secret(&rotated).unwrap().previous.len(), 1);
        assert!(Keyring::from_secret("{\"key\":\"short\"}").is_err());
        assert!(Keyring::from_secret("not json").is_err());
        assert!(Keyring::from_secret(&format!("{{\"key\":\"{K1}\",\"previous\":\"x\"}}")).is_err());
    }

    #[test]
    fn tags_are_sealed_and_opened_whole_and_the_exemption_is_the_owners() {
        let keys = Keyring::new(K1, &[]).unwrap();
        let seal = Seal::new(
            Arc::new(KeySource::fixed(keys.clone())),
            "f",
            "firebreak:exempt",
        );
        let written = seal.sealed_with(
            &keys,
            "i-1",
            &[
                pair("Name", "web"),
                pair("firebreak:exempt", "true"),
                pair("firebreak:status", "quarantined"),
                pair("firebreak:isolation:2", ""),
            ],
        );
        assert_eq!(written[0].1, "web");
        assert_eq!(written[1].1, "true");
        assert!(written[2].1.starts_with("quarantined fb="));
        assert_eq!(written[3].1, "");
        let mut read = written.clone();
        read.push(pair("firebreak:original-groups:eni-1", "sg-1"));
        read.push(pair("firebreak:decision", "approved fb=AAAA.BBBBBB.CCCC"));
        let opened = seal.open_with(&keys, "i-1", &read);
        assert_eq!(
            opened.trusted,
            vec![
                pair("Name", "web"),
                pair("firebreak:exempt", "true"),
                pair("firebreak:status", "quarantined"),
                pair("firebreak:isolation:2", ""),
            ]
        );
        assert_eq!(
            opened.legacy,
            vec![pair("firebreak:original-groups:eni-1", "sg-1")]
        );
        assert_eq!(opened.forged, vec!["firebreak:decision".to_string()]);
        // The same tags read on another instance: every sealed one is forged there.
        let elsewhere = seal.open_with(&keys, "i-2", &written);
        assert_eq!(elsewhere.forged, vec!["firebreak:status".to_string()]);
    }

    #[tokio::test]
    async fn a_seal_of_a_key_rotated_in_since_the_fetch_has_the_keys_fetched_again() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let fetches = Arc::new(AtomicUsize::new(0));
        let counted = fetches.clone();
        let source = Arc::new(KeySource::new(move || -> FetchKeys {
            // The first fetch sees the old key; later ones the rotated secret.
            let n = counted.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match n {
                    0 => Keyring::new(K1, &[]),
                    _ => Keyring::new(K2, &[K1]),
                }
            })
        }));
        let seal = Seal::new(source.clone(), "f", "firebreak:exempt");
        let old = seal.keys().await.unwrap();
        let newer = Keyring::new(K2, &[]).unwrap();
        let tags = vec![pair(
            "firebreak:status",
            &newer.seal("i-1", "f", "firebreak:status", "quarantined"),
        )];
        // Just fetched: not fetched again (a flood of unknown key ids costs one fetch per 10 s).
        let opened = seal.open(&old, "i-1", &tags).await;
        assert!(opened.unknown_key && opened.forged.len() == 1);
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        // Held long enough: fetched again, and the seal verifies.
        source.lock().as_mut().unwrap().1 -= REFETCH_AFTER;
        let opened = seal.open(&old, "i-1", &tags).await;
        assert_eq!(
            opened.trusted,
            vec![pair("firebreak:status", "quarantined")]
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn base64url_matches_the_rfc() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg");
        assert_eq!(b64(b"fo"), "Zm8");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foob"), "Zm9vYg");
        assert_eq!(b64(&[0xfb, 0xff]), "-_8");
    }
}
