//! Security Hub through the SDK: notes and workflow status on findings.

use crate::error::AwsError;
use crate::incident::FindingRef;
use crate::ports::{FindingsPort, Workflow};

/// Security Hub through the SDK.
#[derive(Clone)]
pub struct SecurityHub(pub aws_sdk_securityhub::Client);

impl FindingsPort for SecurityHub {
    async fn update_finding(
        &self,
        finding: &FindingRef,
        note: &str,
        workflow: Option<Workflow>,
    ) -> Result<(), AwsError> {
        use aws_sdk_securityhub::types::{
            AwsSecurityFindingIdentifier, NoteUpdate, WorkflowStatus, WorkflowUpdate,
        };
        let mut req = self
            .0
            .batch_update_findings()
            .finding_identifiers(
                AwsSecurityFindingIdentifier::builder()
                    .id(&finding.id)
                    .product_arn(&finding.product_arn)
                    .build(),
            )
            .note(
                NoteUpdate::builder()
                    .text(note)
                    .updated_by("firebreak")
                    .build(),
            );
        if let Some(w) = workflow {
            req = req.workflow(
                WorkflowUpdate::builder()
                    .status(WorkflowStatus::from(w.as_str()))
                    .build(),
            );
        }
        let out = req.send().await?;
        match out.unprocessed_findings().first() {
            None => Ok(()),
            Some(u) => Err(AwsError {
                code: u.error_code().map(String::from),
                message: u
                    .error_message()
                    .unwrap_or("the finding was not updated")
                    .to_string(),
            }),
        }
    }
}
