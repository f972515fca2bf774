//! The products whose imported findings Firebreak acts on (GuardDuty, Inspector, Macie), each
//! recognised by its `ProductArn` alone, and the GuardDuty-style type its findings are matched by.

use serde_json::Value;

use crate::error::ParseError;
use crate::incident::ids::Arn;
use crate::incident::{Incident, Resource};
use crate::shell;

/// The products whose imported findings Firebreak acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Product {
    /// GuardDuty: the finding's own type.
    GuardDuty,
    /// Amazon Inspector: `Inspector:EC2/NetworkExploitableVulnerability` (an exploit exists and
    /// the CVSS attack vector is the network) or `Inspector:<EC2|Other>/Vulnerability`.
    Inspector,
    /// Amazon Macie: `Macie:S3/<policy finding>` (`BucketPublic`, `BlockPublicAccessDisabled`, …)
    /// or `Macie:S3/SensitiveData`.
    Macie,
}

/// Each product: its id in AWS's product ARN (`product/aws/<id>`) and the name Security Hub gives it
/// (`ProductFields["aws/securityhub/ProductName"]`).
const PRODUCTS: [(Product, &str, &str); 3] = [
    (Product::GuardDuty, "guardduty", "GuardDuty"),
    (Product::Inspector, "inspector", "Inspector"),
    (Product::Macie, "macie", "Macie"),
];

/// The `<id>` of an AWS product ARN: exactly
/// `arn:<aws|aws-cn|aws-us-gov>:securityhub:<region>::product/aws/<id>`, the account part empty.
/// The region is the one of the Security Hub that received the finding (`regions` reads it as the
/// hub's), not necessarily the finding's `Region`, which many findings omit: it is only checked to
/// be a region code.
fn aws_product(product_arn: &str) -> Option<&str> {
    // Exactly six parts: the resource holds no colon.
    let arn = Arn::parse(product_arn).filter(|a| !a.resource.contains(':'))?;
    let partition = matches!(arn.partition, "aws" | "aws-cn" | "aws-us-gov");
    let hub = arn.service == "securityhub" && arn.account.is_empty();
    (hub && partition && shell::region(arn.region))
        .then(|| arn.resource.strip_prefix("product/aws/"))
        .flatten()
}

impl Product {
    /// The product of the finding, recognised by its `ProductArn` alone (the one field AWS
    /// controls: Security Hub accepts a finding only under a product ARN the importer may use):
    /// `Ok(None)` for any other product (Security Hub's controls, a partner's, a custom
    /// integration's). An ARN shaped like one of the three that is not exactly AWS's
    /// (`product/<account>/…`, an account in the account part, another partition), or a
    /// `ProductFields["aws/securityhub/ProductName"]` (which the importer writes) claiming one of
    /// them under another product's ARN, is an `InvalidField` of `ProductArn`.
    pub(super) fn of(finding: &Value, product_arn: &str) -> Result<Option<Product>, ParseError> {
        let id = aws_product(product_arn);
        if let Some((product, _, _)) = PRODUCTS.iter().find(|(_, p, _)| id == Some(*p)) {
            return Ok(Some(*product));
        }
        let name = finding
            .get("ProductFields")
            .and_then(|p| p.get("aws/securityhub/ProductName"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let claimed = PRODUCTS.iter().find(|(_, id, product_name)| {
            product_arn.ends_with(&format!("/aws/{id}")) || name == *product_name
        });
        match claimed {
            Some((_, id, product_name)) => Err(ParseError::InvalidField {
                field: "ProductArn",
                reason: format!(
                    "{product_arn:?} is not AWS's {product_name} product \
                     (arn:<partition>:securityhub:<region>::product/aws/{id}): the finding is not \
                     trusted as {product_name}'s"
                ),
            }),
            None => Ok(None),
        }
    }

    /// A GuardDuty-style type (`Family:Resource/Name`) the playbook's globs can match.
    pub(super) fn finding_type(self, f: &Value, incident: &Incident) -> String {
        let types: Vec<&str> = f
            .get("Types")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        match self {
            Product::GuardDuty => incident.finding_type.clone(),
            Product::Inspector => {
                let on = match incident.resource {
                    Resource::Instance(_) => "EC2",
                    _ => "Other",
                };
                let vulns = f.get("Vulnerabilities").and_then(Value::as_array);
                let exploitable = vulns.into_iter().flatten().any(|v| {
                    let exploit = v.get("ExploitAvailable").and_then(Value::as_str) == Some("YES");
                    let network = v
                        .get("Cvss")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("BaseVector").and_then(Value::as_str))
                        .any(|vector| vector.split('/').any(|part| part == "AV:N"));
                    exploit && network
                });
                match exploitable {
                    true => format!("Inspector:{on}/NetworkExploitableVulnerability"),
                    false => format!("Inspector:{on}/Vulnerability"),
                }
            }
            Product::Macie => {
                // Macie's types end with its own finding type, `/` written `-`:
                // `…/Policy:IAMUser-S3BucketPublic`.
                let policy = types.iter().find_map(|t| {
                    let last = t.rsplit('/').next()?;
                    let name = last.strip_prefix("Policy:IAMUser-S3")?;
                    name.chars()
                        .all(|c| c.is_ascii_alphanumeric())
                        .then_some(name)
                });
                match policy {
                    Some(name) => format!("Macie:S3/{name}"),
                    None => "Macie:S3/SensitiveData".into(),
                }
            }
        }
    }
}
