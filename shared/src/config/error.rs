//! A configuration value that cannot be used.

use thiserror::Error;

/// A configuration value that cannot be used.
#[derive(Debug, Error, PartialEq)]
#[error("configuration {name}={value:?}: {reason}")]
pub struct ConfigError {
    /// The variable.
    pub name: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}
