//! Chat-ready notifications: the custom-notification schema of AWS Chatbot (Amazon Q Developer in
//! chat applications), which posts them in Slack, Microsoft Teams and Amazon Chime, and the
//! escaping that keeps a finding's text (attacker-influenced) from formatting, linking or
//! mentioning anyone in the channel.
//!
//! Chatbot renders `textType: client-markdown` in each platform's own markdown: Slack's mrkdwn
//! has no backslash escape, so text is neutralised instead — formatting characters become
//! look-alikes in running text ([`text`]), and a code span ([`code`]) or block ([`block`]), where
//! no markdown applies, only loses what could close it or reach Slack's `<…>` control sequences.

use std::collections::BTreeMap;

use serde::Serialize;

/// The longest title kept (Slack's header block takes 150 characters).
pub const TITLE_LIMIT: usize = 150;
/// The longest description kept, in characters; longer text is cut with a note.
pub const DESCRIPTION_LIMIT: usize = 12_000;
/// The longest summary kept (the notification preview).
pub const SUMMARY_LIMIT: usize = 200;
/// The longest `additionalContext` value kept (Chatbot custom actions take 1,024).
pub const CONTEXT_VALUE_LIMIT: usize = 1_024;

/// A custom notification, as Chatbot's custom-notification schema has it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatNotification {
    /// Always `1.0`.
    pub version: &'static str,
    /// Always `custom`.
    pub source: &'static str,
    /// What the channel shows.
    pub content: ChatContent,
    /// Threading, preview and context for custom actions.
    pub metadata: ChatMetadata,
}

/// What the channel shows; every text already escaped (see [`text`], [`code`], [`block`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatContent {
    /// Always `client-markdown`.
    pub text_type: &'static str,
    /// One line.
    pub title: String,
    /// The body.
    pub description: String,
    /// What to do now, one item each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub next_steps: Vec<String>,
    /// Short tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
}

/// Threading, preview and context for custom actions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMetadata {
    /// Every notification with this id lands in one thread (the finding id).
    pub thread_id: String,
    /// The preview line.
    pub summary: String,
    /// `firebreak-<verdict>` (or `firebreak-digest`): what custom-action buttons attach to.
    pub event_type: String,
    /// The resources and the finding.
    pub related_resources: Vec<String>,
    /// Plain values (finding id, verdict, resource…) for custom actions and automation.
    pub additional_context: BTreeMap<String, String>,
    /// Lets the channel's custom-action buttons attach.
    pub enable_custom_actions: bool,
}

impl ChatNotification {
    /// A notification with the schema's constants, the title and description within their limits.
    pub fn new(title: String, description: String, metadata: ChatMetadata) -> ChatNotification {
        ChatNotification {
            version: "1.0",
            source: "custom",
            content: ChatContent {
                text_type: "client-markdown",
                title: truncate(&title, TITLE_LIMIT),
                description,
                next_steps: Vec::new(),
                keywords: Vec::new(),
            },
            metadata: ChatMetadata {
                summary: truncate(&metadata.summary, SUMMARY_LIMIT),
                additional_context: metadata
                    .additional_context
                    .into_iter()
                    .map(|(k, v)| (k, truncate(&plain(&v), CONTEXT_VALUE_LIMIT)))
                    .collect(),
                related_resources: metadata
                    .related_resources
                    .iter()
                    .map(|r| plain(r))
                    .collect(),
                ..metadata
            },
        }
    }

    /// The JSON Chatbot reads.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The characters that format, link or quote in Slack's mrkdwn or in Markdown (Teams, Chime), and
/// the look-alikes that take their place in running text.
const LOOK_ALIKES: [(char, char); 13] = [
    ('*', '∗'),
    ('_', 'ˍ'),
    ('~', '∼'),
    ('`', 'ˋ'),
    ('<', '‹'),
    ('>', '›'),
    ('|', 'ǀ'),
    ('[', '［'),
    (']', '］'),
    ('(', '（'),
    (')', '）'),
    ('@', '＠'),
    ('\\', '∖'),
];

/// Characters that reorder or hide text (bidirectional overrides, zero-width): dropped.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Running text: one line, nothing that formats, links or mentions.
pub fn text(s: &str) -> String {
    s.chars()
        .filter(|c| !invisible(*c))
        .map(|c| match LOOK_ALIKES.iter().find(|(from, _)| *from == c) {
            Some((_, to)) => *to,
            None if c.is_control() => ' ',
            None => c,
        })
        .collect()
}

/// An inline code span: copied as it is written, except what could end it or reach Slack's
/// `<…>` control sequences; one line.
pub fn code(s: &str) -> String {
    let inner: String = literal(s).replace('\n', " ");
    format!("`{}`", if inner.is_empty() { " ".into() } else { inner })
}

/// A code block: the text as it is written, line for line, except what could end the block or
/// reach Slack's `<…>` control sequences; cut at [`DESCRIPTION_LIMIT`] with a note.
pub fn block(s: &str) -> String {
    let inner = literal(s);
    let inner = match inner.chars().count() > DESCRIPTION_LIMIT {
        false => inner,
        true => {
            let kept = truncate(&inner, DESCRIPTION_LIMIT - 100);
            let kept = kept.rsplit_once('\n').map(|(k, _)| k).unwrap_or(&kept);
            format!("{kept}\n[… cut here for chat: the e-mail has all of it]")
        }
    };
    format!("```\n{}\n```", inner.trim_end_matches('\n'))
}

/// Text for a code span or block: backticks, angle brackets and mention words neutralised,
/// invisible characters dropped, other control characters but the newline made spaces.
fn literal(s: &str) -> String {
    let s: String = s
        .chars()
        .filter(|c| !invisible(*c))
        .map(|c| match c {
            '`' => 'ˋ',
            '<' => '‹',
            '>' => '›',
            '\n' => '\n',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    unmention(&s)
}

/// A value outside any markdown (resources, context): control and invisible characters dropped.
fn plain(s: &str) -> String {
    s.chars()
        .filter(|c| !invisible(*c) && !c.is_control())
        .collect()
}

/// `@here`, `@channel`, `@everyone`, `@all` (any case) with a look-alike at sign: never a mention.
fn unmention(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let word: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect::<String>()
            .to_ascii_lowercase();
        let mention = matches!(word.as_str(), "here" | "channel" | "everyone" | "all");
        out.push(if mention { '＠' } else { '@' });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// At most `max` characters, the last one `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A stable thread id for a batch of findings (FNV-1a over the sorted ids): the same selection
/// of findings, whatever the action, lands in the same thread.
pub fn batch_thread_id<'a>(finding_ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut ids: Vec<&str> = finding_ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in ids.join("\n").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("firebreak-batch-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKUP: &str = "*bold* _it_ ~strike~ `code` <!channel> <@U123> <https://evil|click> \
        [link](https://evil) a|b \\* @here @Channel @everyone";

    #[test]
    fn running_text_keeps_no_markup_no_mention_and_one_line() {
        let t = text(&format!("{MARKUP}\nsecond line\r\tend"));
        for c in [
            '*', '_', '~', '`', '<', '>', '|', '[', ']', '(', ')', '@', '\\', '\n', '\r', '\t',
        ] {
            assert!(!t.contains(c), "{c:?} left in {t}");
        }
        // Still readable: the look-alikes stand where the characters were.
        assert!(t.contains("∗bold∗ ˍitˍ ∼strike∼ ˋcodeˋ ‹!channel›"), "{t}");
        assert!(t.contains("［link］（https://evil）"), "{t}");
        assert!(t.contains("＠here ＠Channel ＠everyone"), "{t}");
        assert!(t.ends_with("second line  end"), "{t}");
    }

    #[test]
    fn invisible_and_reordering_characters_are_dropped() {
        let t = text("safe\u{202E}txt.exe\u{200B}");
        assert_eq!(t, "safetxt.exe");
        assert_eq!(code("a\u{2066}b"), "`ab`");
    }

    #[test]
    fn a_code_span_cannot_be_closed_and_keeps_what_is_copied() {
        let c = code("i-0abc`; <!here> my_role*name @here\nnext");
        assert_eq!(c, "`i-0abcˋ; ‹!here› my_role*name ＠here next`");
        assert_eq!(c.matches('`').count(), 2);
        // E-mail addresses and names with underscores stay copyable.
        assert_eq!(code("alice@example.com"), "`alice@example.com`");
        assert_eq!(code(""), "` `");
    }

    #[test]
    fn a_block_cannot_be_closed_early_and_keeps_its_lines() {
        let b = block("line 1\n```\n<!channel> @here\n  aws iam x --user-name a_b*c");
        assert!(b.starts_with("```\n") && b.ends_with("\n```"), "{b}");
        assert_eq!(b.matches("```").count(), 2, "{b}");
        assert!(b.contains("ˋˋˋ\n‹!channel› ＠here\n  aws iam x --user-name a_b*c"));
    }

    #[test]
    fn a_long_block_is_cut_at_a_line_with_a_note() {
        let long = "0123456789\n".repeat(DESCRIPTION_LIMIT / 5);
        let b = block(&long);
        assert!(b.chars().count() <= DESCRIPTION_LIMIT + 10, "{}", b.len());
        assert!(b.contains("\n[… cut here for chat: the e-mail has all of it]\n```"));
        assert!(b.lines().all(|l| l.len() <= 11 || l.starts_with("[…")));
    }

    #[test]
    fn mentions_are_only_the_channel_wide_words() {
        assert_eq!(
            unmention("@here @HERE @channel @all"),
            "＠here ＠HERE ＠channel ＠all"
        );
        assert_eq!(unmention("root@host @hereby"), "root@host @hereby");
    }

    #[test]
    fn the_schema_constants_and_names_are_chatbot_s() {
        let n = ChatNotification::new(
            "x".repeat(300),
            block("body"),
            ChatMetadata {
                thread_id: "f-1".into(),
                summary: "s".into(),
                event_type: "firebreak-contained".into(),
                related_resources: vec!["i-1\n".into()],
                additional_context: BTreeMap::from([("findingId".into(), "f\u{202E}-1".into())]),
                enable_custom_actions: true,
            },
        );
        let v: serde_json::Value = serde_json::from_str(&n.to_json()).unwrap();
        assert_eq!(v["version"], "1.0");
        assert_eq!(v["source"], "custom");
        assert_eq!(v["content"]["textType"], "client-markdown");
        assert_eq!(
            v["content"]["title"].as_str().unwrap().chars().count(),
            TITLE_LIMIT
        );
        assert_eq!(v["content"]["description"], "```\nbody\n```");
        assert!(v["content"].get("nextSteps").is_none());
        assert_eq!(v["metadata"]["threadId"], "f-1");
        assert_eq!(v["metadata"]["eventType"], "firebreak-contained");
        assert_eq!(v["metadata"]["relatedResources"][0], "i-1");
        assert_eq!(v["metadata"]["additionalContext"]["findingId"], "f-1");
        assert_eq!(v["metadata"]["enableCustomActions"], true);
    }

    #[test]
    fn a_batch_has_one_thread_whatever_the_order() {
        let a = batch_thread_id(["f-2", "f-1", "f-3"]);
        assert_eq!(a, batch_thread_id(["f-3", "f-1", "f-2", "f-1"]));
        assert_ne!(a, batch_thread_id(["f-1", "f-2"]));
        assert!(a.starts_with("firebreak-batch-") && a.len() == 32);
    }
}
