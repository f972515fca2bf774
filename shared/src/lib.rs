//! Firebreak: automated incident response for AWS.
//!
//! ```text
//! event JSON ──parse──▶ Incident ──playbook──▶ Plan [Action…] ──execute(ports, mode)──▶ Report
//!                                                                                   └─▶ notify (SNS)
//! ```
//!
//! `ARCHITECTURE.md` at the repository root is the map: which module owns what, the tag vocabulary,
//! and how to add an action.

// Ground floor: values, errors, the clock, the tag vocabulary, the kinds of action.
pub mod clock;
pub mod denies;
pub mod error;
pub mod kind;
pub mod outcome;
pub mod records;
pub mod retry;
pub mod seal;
pub mod shell;
pub mod tags;

// Input: configuration and the typed incident parsed from an event.
pub mod config;
pub mod incident;

// Decision: the plan and the playbook that makes it.
pub mod plan;
pub mod playbook;

// Ports, actions (one module per action: its declaration, process and undo), the registry of their
// declarations and the permissions derived from it, and the schedulers that run them.
pub mod actions;
pub mod execute;
pub mod permissions;
pub mod ports;

// Output and wiring.
pub mod approval;
pub mod aws;
pub mod chat;
pub mod custom_action;
pub mod digest;
pub mod imported;
pub mod metrics;
pub mod reminder;
pub mod report;
pub mod respond;
pub mod responder;
pub mod sequence;
pub mod ticketing;
pub mod tickets;

pub use config::{Config, Mode};
pub use error::{AwsError, FirebreakError, ParseError};
pub use incident::Incident;
pub use plan::{Action, Plan};
pub use report::Report;
pub use responder::Responder;
