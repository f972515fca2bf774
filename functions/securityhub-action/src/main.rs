//! `securityhub-action`: carries out the Security Hub custom actions analysts choose on findings,
//! and the approvals of `ask` responses.
// The custom action's response (carry out, ticket, notify, note) nests futures deeper than the
// compiler's default layout query depth.
#![recursion_limit = "256"]

use firebreak::{aws::clients::AwsClients, Config, Responder};
use lambda_runtime::{run, service_fn, tracing, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    // A configuration or playbook that cannot be used stops the function here, saying why.
    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "start-up"))?;
    let clients = AwsClients::from_env(&config).await;
    let responder = Responder::new(config, clients);
    let responder = &responder;
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        responder.handle_action_function(event).await
    }))
    .await
}
