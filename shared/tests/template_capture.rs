//! The template's memory capture (docs/memory.md): the evidence bucket is versioned, encrypted
//! with its own KMS key, locked in governance mode for `EvidenceRetentionDays`, access-logged,
//! public access blocked and TLS required (the properties `tests/capture_e2e.rs` gives the bucket
//! it makes in the local AWS); the capture document's every parameter is anchored by its
//! `allowedPattern` to characters that cannot leave the single quotes the script puts it in; the
//! functions' environment names the bucket and the document.

use std::path::PathBuf;

use serde_yaml::Value;

fn template() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!Ref X` / `!GetAtt X.Arn` → `X` / `X.Arn`.
fn tagged(v: &Value, tag: &str) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == tag => t.value.as_str().map(String::from),
        _ => None,
    }
}

#[test]
fn the_evidence_bucket_is_versioned_encrypted_locked_and_logged() {
    let t = template();
    let b = &t["Resources"]["EvidenceBucket"];
    assert_eq!(b["Type"], "AWS::S3::Bucket");
    assert_eq!(b["DeletionPolicy"], "Retain");
    let p = &b["Properties"];
    assert_eq!(p["VersioningConfiguration"]["Status"], "Enabled");
    assert_eq!(p["ObjectLockEnabled"], true);
    let lock = &p["ObjectLockConfiguration"];
    assert_eq!(lock["ObjectLockEnabled"], "Enabled");
    let retention = &lock["Rule"]["DefaultRetention"];
    assert_eq!(retention["Mode"], "GOVERNANCE");
    assert_eq!(
        tagged(&retention["Days"], "!Ref").as_deref(),
        Some("EvidenceRetentionDays")
    );
    let sse = &p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
    assert_eq!(
        sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
        "aws:kms"
    );
    assert_eq!(
        tagged(
            &sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"],
            "!GetAtt"
        )
        .as_deref(),
        Some("EvidenceKey.Arn")
    );
    assert_eq!(t["Resources"]["EvidenceKey"]["Type"], "AWS::KMS::Key");
    assert_eq!(
        t["Resources"]["EvidenceKey"]["Properties"]["EnableKeyRotation"],
        true
    );
    assert_eq!(
        tagged(&p["LoggingConfiguration"]["DestinationBucketName"], "!Ref").as_deref(),
        Some("EvidenceLogBucket")
    );
    let block = &p["PublicAccessBlockConfiguration"];
    for setting in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[setting], true, "{setting}");
    }
    let policy = &t["Resources"]["EvidenceBucketPolicy"]["Properties"]["PolicyDocument"];
    let tls = policy["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "DenyWithoutTls")
        .expect("TLS required");
    assert_eq!(tls["Effect"], "Deny");
    assert_eq!(tls["Condition"]["Bool"]["aws:SecureTransport"], "false");
}

#[test]
fn every_capture_parameter_is_validated_and_quoted() {
    let t = template();
    let d = &t["Resources"]["CaptureDocument"]["Properties"];
    assert_eq!(d["DocumentType"], "Command");
    let content = &d["Content"];
    assert_eq!(content["schemaVersion"], "2.2");
    let step = &content["mainSteps"][0];
    assert_eq!(step["action"], "aws:runShellScript");
    let script: Vec<&str> = step["inputs"]["runCommand"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    let params = content["parameters"].as_mapping().unwrap();
    let names: Vec<&str> = params.keys().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(names, ["ToolUrl", "ToolSha256", "UploadUrl"]);
    for (name, spec) in params {
        let name = name.as_str().unwrap();
        let pattern = spec["allowedPattern"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}"));
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "{name}: {pattern}"
        );
        // No character that ends a single-quoted word or starts an expansion can match.
        let body = &pattern[1..pattern.len() - 1];
        for c in [
            '\'', '"', '$', '`', ' ', ';', '\\', '\n', '(', ')', '|', '<', '>',
        ] {
            assert!(!body.contains(c), "{name}: {pattern} admits {c:?}");
        }
        // Used once, inside single quotes.
        let uses: Vec<&&str> = script
            .iter()
            .filter(|l| l.contains(&format!("{{{{ {name} }}}}")))
            .collect();
        assert_eq!(uses.len(), 1, "{name}");
        assert!(
            uses[0].contains(&format!("='{{{{ {name} }}}}'")),
            "{name} unquoted: {}",
            uses[0]
        );
    }
    // The tool is checked before it runs; the upload carries Content-MD5 (Object Lock).
    let check = script
        .iter()
        .position(|l| l.contains("sha256sum --check"))
        .unwrap();
    let run = script
        .iter()
        .position(|l| l.contains("--compress"))
        .unwrap();
    assert!(check < run);
    assert!(script.iter().any(|l| l.contains("Content-MD5")));
    assert!(script
        .iter()
        .all(|l| !l.contains("curl") || l.contains("--proto '=https'")));
}

#[test]
fn the_functions_are_told_where_the_bucket_and_the_document_are() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    for (var, resource) in [
        ("FIREBREAK_EVIDENCE_BUCKET", "EvidenceBucket"),
        ("FIREBREAK_CAPTURE_DOCUMENT", "CaptureDocument"),
        ("FIREBREAK_CAPTURE_TOOL_SHA256", "CaptureToolSha256"),
        (
            "FIREBREAK_CAPTURE_THROUGH_ENDPOINTS",
            "CaptureThroughEndpoints",
        ),
    ] {
        assert_eq!(
            tagged(&env[var], "!Ref").as_deref(),
            Some(resource),
            "{var}"
        );
    }
    assert_eq!(
        t["Parameters"]["CaptureThroughEndpoints"]["Default"],
        "false"
    );
}
