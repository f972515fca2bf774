//! SNS through the SDK, bound to the notification topic, and the message in SNS's form: one text
//! per protocol, fitted within SNS's limit on one message.

use std::collections::HashMap;

use aws_sdk_sns::types::MessageAttributeValue;

use crate::aws::sdk::local_error;
use crate::error::AwsError;
use crate::ports::{Notification, Notifier};

/// SNS through the SDK, bound to the notification topic.
#[derive(Clone)]
pub struct Sns {
    pub(crate) client: aws_sdk_sns::Client,
    pub(crate) topic_arn: String,
}

impl Notifier for Sns {
    async fn publish(&self, n: &Notification) -> Result<String, AwsError> {
        let attributes = n
            .attributes
            .iter()
            .map(|(name, value, number)| {
                let attr = MessageAttributeValue::builder()
                    .data_type(if *number { "Number" } else { "String" })
                    .string_value(value)
                    .build()
                    .map_err(local_error)?;
                Ok((name.clone(), attr))
            })
            .collect::<Result<HashMap<_, _>, AwsError>>()?;
        let out = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            // One text per protocol: chat, e-mail, SMS, automation (`Notification::message_structure`).
            .message_structure("json")
            .message(n.message_structure())
            .set_message_attributes(Some(attributes))
            .send()
            .await?;
        Ok(out.message_id().unwrap_or_default().to_string())
    }
}

/// SNS's limit on one message, in bytes.
pub const SNS_MESSAGE_BYTES: usize = 262_144;

impl Notification {
    /// The SNS message for `MessageStructure=json`, one key per protocol: `default` (chat
    /// channels through Chatbot's HTTPS subscription, SQS, HTTP/S, `email-json`, …) the chat
    /// notification, `email` the e-mail, `sms` the subject, `lambda` the structured report. Within
    /// SNS's limit: an e-mail too long for it is cut at the end, with a note.
    pub fn message_structure(&self) -> String {
        let attributes: usize = (self.attributes.iter())
            .map(|(name, value, _)| name.len() + value.len() + 16)
            .sum();
        let budget = SNS_MESSAGE_BYTES.saturating_sub(attributes + self.subject.len() + 1024);
        let structure = |email: &str| {
            serde_json::json!({
                "default": self.chat,
                "email": email,
                "sms": self.subject,
                "lambda": self.report,
            })
            .to_string()
        };
        let mut email = self.email();
        let mut message = structure(&email);
        for _ in 0..4 {
            if message.len() <= budget {
                break;
            }
            const CUT: &str = "\n[… cut here: SNS takes 256 KB per message]\n";
            let keep = email
                .len()
                .saturating_sub(message.len() - budget + CUT.len());
            let mut at = keep;
            while !email.is_char_boundary(at) {
                at -= 1;
            }
            email = format!("{}{CUT}", &email[..at]);
            message = structure(&email);
        }
        message
    }
}
