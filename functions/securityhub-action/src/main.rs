//! `securityhub-action`: carries out the Security Hub custom actions analysts choose on findings.

use firebreak::{aws::clients::AwsClients, Config, Responder};
use lambda_runtime::{run, service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let clients = AwsClients::from_env(&config).await;
    let responder = Responder::new(config, clients);
    let responder = &responder;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        responder.handle_custom_action(event).await
    }))
    .await
}
