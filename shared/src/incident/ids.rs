//! The id checks (access key, IAM name, instance), the S3 object key as kept, and the one ARN
//! parser, [`Arn`]: plain string functions, importing nothing of the crate, so any module may use
//! them.

/// `AKIA`/`ASIA` followed by 16 upper-case letters or digits: a long-term or temporary key id.
pub fn is_access_key_id(id: &str) -> bool {
    id.len() == 20
        && (id.starts_with("AKIA") || id.starts_with("ASIA"))
        && id[4..]
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// An IAM user or role name: 1–64 of letters, digits and `+=,.@_-`.
pub fn is_iam_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// `i-` followed by 8 or 17 lower-case hex digits.
pub fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        (hex.len() == 8 || hex.len() == 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// An object key as Firebreak keeps it: the attacker chose it, so control characters (a forged
/// line in a notification) become `?`, and it is cut at S3's 1,024 bytes.
pub(super) fn object_key(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if out.len() + c.len_utf8() > 1024 {
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

/// An ARN's parts, `arn:<partition>:<service>:<region>:<account>:<resource>`, split at its first
/// five colons: the resource may hold more (`function:<name>:<qualifier>`). Nothing is validated
/// beyond that shape: each caller checks the parts it relies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, … (unchecked).
    pub partition: &'a str,
    /// `lambda`, `securityhub`, … (unchecked).
    pub service: &'a str,
    /// The region, empty for a global resource.
    pub region: &'a str,
    /// The account, empty for some resources (an S3 bucket, a Security Hub product).
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// An ARN: `arn:` and at least five colons; `None` for anything else.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        (s.starts_with("arn:") && s.matches(':').count() >= 5).then(|| Arn::lenient(s))
    }

    /// The parts as far as the text has them (each missing one empty), whatever precedes the first
    /// colon: for the callers that read one part of an ARN AWS gave them and take an empty part
    /// for a malformed one (a topic's region, the function's own account).
    pub fn lenient(s: &'a str) -> Arn<'a> {
        let mut parts = s.splitn(6, ':').skip(1);
        let mut next = || parts.next().unwrap_or_default();
        Arn {
            partition: next(),
            service: next(),
            region: next(),
            account: next(),
            resource: next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_is_split_at_its_first_five_colons() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f:prod";
        assert_eq!(
            Arn::parse(arn),
            Some(Arn {
                partition: "aws",
                service: "lambda",
                region: "us-east-1",
                account: "123456789012",
                resource: "function:f:prod",
            })
        );
        let bucket = Arn::parse("arn:aws:s3:::b/k").unwrap();
        assert_eq!(
            (bucket.region, bucket.account, bucket.resource),
            ("", "", "b/k")
        );
        for bad in [
            "",
            "arn",
            "arn:aws:s3::",
            "arn:aws:s3:r:a",
            "nra:aws:s3:r:a:x",
            "x:arn:a:b:c:d",
        ] {
            assert_eq!(Arn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn read_leniently_a_missing_part_is_empty_and_the_first_part_unchecked() {
        let a = Arn::lenient("x:p:s:r");
        assert_eq!((a.partition, a.service, a.region), ("p", "s", "r"));
        assert_eq!((a.account, a.resource), ("", ""));
        assert_eq!(Arn::lenient(""), Arn::lenient(":::::"));
        assert_eq!(Arn::lenient("a:b:c:d:e:f:g").resource, "f:g");
    }
}
