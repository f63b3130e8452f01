//! The function's configuration: every environment variable it reads, with
//! its default and its check, in one place. Read once at cold start; a bad
//! value stops the init with a message that names the variable.
//!
//! The engine's settings are variables too (`VARIANTS`, one per setting of
//! the variant table, the limits); the CLI exposes the same ones as flags.

// Split by concern so each file reads on its own: the catalogue of variables,
// the handler's settings (with the memory budget), the bootstrap's whole
// configuration, and the engine's variables.
mod engine;
mod function;
mod handler_settings;
mod variables;

pub use engine::{engine_settings, engine_variables, limit_variable, variable_of_setting};
pub use function::{daemon_address, log_level, FunctionConfig};
pub use handler_settings::{handler_settings, PROCESS_RESERVE_MIB};
pub use variables::{flag_of, variables, SetBy, Variable};

pub const VARIANTS: &str = "VARIANTS";
pub const MAX_INPUT_PIXELS: &str = "MAX_INPUT_PIXELS";
pub const MAX_INPUT_BYTES: &str = "MAX_INPUT_BYTES";
pub const PROCESSED_BUCKET: &str = "PROCESSED_BUCKET";
pub const CACHE_CONTROL: &str = "CACHE_CONTROL";
pub const KMS_KEY_ARN: &str = "KMS_KEY_ARN";
pub const RECORD_CONCURRENCY: &str = "RECORD_CONCURRENCY";
pub const DEADLINE_MARGIN_MS: &str = "DEADLINE_MARGIN_MS";
pub const MEMORY_BUDGET_MB: &str = "MEMORY_BUDGET_MB";
pub const AWS_LAMBDA_FUNCTION_MEMORY_SIZE: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";
pub const LOG_LEVEL: &str = "LOG_LEVEL";
pub const AWS_LAMBDA_LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
pub const POWERTOOLS_METRICS_NAMESPACE: &str = "POWERTOOLS_METRICS_NAMESPACE";
pub const POWERTOOLS_SERVICE_NAME: &str = "POWERTOOLS_SERVICE_NAME";
pub const AWS_XRAY_DAEMON_ADDRESS: &str = "AWS_XRAY_DAEMON_ADDRESS";
pub const AWS_LAMBDA_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
pub const AWS_LAMBDA_LOG_GROUP_NAME: &str = "AWS_LAMBDA_LOG_GROUP_NAME";

/// `Cache-Control` of the variants when `CACHE_CONTROL` is not set: the keys
/// are content-addressed, so a variant never changes under its key.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// Namespace when neither `METRICS_NAMESPACE` nor `POWERTOOLS_METRICS_NAMESPACE` is set.
pub const DEFAULT_NAMESPACE: &str = "ImageProcessor";
/// `service` dimension when `POWERTOOLS_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE: &str = "imgflow";

/// A setting that could not be accepted; names the variable, the value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub reason: String,
}

fn invalid(variable: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

/// A variable's value: `None` when unset or blank.
fn get(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}
