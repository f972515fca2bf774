//! Firebreak: automated incident response for AWS.
//!
//! ```text
//! event JSON ──parse──▶ Incident ──playbook──▶ Plan [Action…] ──execute(ports, mode)──▶ Report
//!                                                                                   └─▶ notify (SNS)
//! ```

pub mod asff;
pub mod aws;
pub mod config;
pub mod credentials;
pub mod error;
pub mod estate;
pub mod executor;
pub mod incident;
pub mod permissions;
pub mod playbook;
pub mod ports;
pub mod release;
pub mod report;
pub mod responder;

pub use config::{Config, Mode};
pub use error::{AwsError, FirebreakError, ParseError};
pub use incident::Incident;
pub use playbook::{Action, Plan};
pub use report::Report;
pub use responder::Responder;
