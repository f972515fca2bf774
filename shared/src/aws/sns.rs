//! SNS through the SDK, bound to the notification topic.

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
