//! A record's tags: its tokens packed in order into `<key>`, `<key>:2`, `<key>:3`, … each within a
//! tag value, and read back.

use crate::incident::tag_value;
use crate::tags::VALUE_LIMIT;

pub(super) type Tags = [(String, String)];

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
pub(super) fn read_tokens<'a>(tags: &'a Tags, base: &str) -> Vec<&'a str> {
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

/// The keys of `tags` that start with `prefix`.
pub(super) fn prefixed(tags: &Tags, prefix: &str) -> Vec<String> {
    tags.iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::isolation::Isolation;
    use crate::tags;

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
}
