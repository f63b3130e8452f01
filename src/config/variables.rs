//! The catalogue of variables: each one's name, default, help and who sets
//! it in a deployment (the CLI's flags and the docs are checked against it).

use super::{
    engine_variables, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, AWS_LAMBDA_FUNCTION_NAME,
    AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_LEVEL, AWS_XRAY_DAEMON_ADDRESS, CACHE_CONTROL,
    DEADLINE_MARGIN_MS, DEFAULT_CACHE_CONTROL, DEFAULT_NAMESPACE, DEFAULT_SERVICE, KMS_KEY_ARN,
    LOG_LEVEL, MEMORY_BUDGET_MB, METRICS_NAMESPACE, POWERTOOLS_METRICS_NAMESPACE,
    POWERTOOLS_SERVICE_NAME, PROCESSED_BUCKET, RECORD_CONCURRENCY,
};
use std::fmt;

/// Who sets a variable in a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetBy {
    /// The Terraform stack, from its variables.
    Stack,
    /// Lambda itself.
    Lambda,
    /// Nobody by default: an operator's override.
    Operator,
}

/// One variable: its name, its default (as text) and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub default: String,
    pub help: String,
    pub set_by: SetBy,
}

impl Variable {
    pub(super) fn new(name: &str, default: impl fmt::Display, help: &str, set_by: SetBy) -> Self {
        Self {
            name: name.to_owned(),
            default: default.to_string(),
            help: help.to_owned(),
            set_by,
        }
    }

    /// The CLI flag of an engine variable: `JPEG_QUALITY` → `jpeg-quality`.
    pub fn flag(&self) -> String {
        flag_of(&self.name)
    }
}

/// The CLI flag (without `--`) that stands for a variable.
pub fn flag_of(variable: &str) -> String {
    variable.to_ascii_lowercase().replace('_', "-")
}

/// Every variable the function reads, the engine's included.
pub fn variables() -> Vec<Variable> {
    use SetBy::*;
    let mut out = vec![
        Variable::new(
            PROCESSED_BUCKET,
            "(required)",
            "where the variants go",
            Stack,
        ),
        Variable::new(
            CACHE_CONTROL,
            DEFAULT_CACHE_CONTROL,
            "Cache-Control of the variants (their keys are content-addressed)",
            Stack,
        ),
        Variable::new(
            KMS_KEY_ARN,
            "(bucket default)",
            "SSE-KMS key for the variants",
            Stack,
        ),
        Variable::new(
            RECORD_CONCURRENCY,
            2,
            "records of one event processed at once (1-64)",
            Stack,
        ),
        Variable::new(
            DEADLINE_MARGIN_MS,
            1500,
            "stop this long before the invocation deadline, and fail cleanly (1-60000)",
            Stack,
        ),
        Variable::new(
            MEMORY_BUDGET_MB,
            "(memory size − 48)",
            "MiB the images of one invocation may take at once; each is admitted by its estimate, and one that can never fit is rejected (too_large_for_memory)",
            Operator,
        ),
        Variable::new(
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
            "(unset: no budget)",
            "the function's memory size, MB (the stack's memory_size)",
            Lambda,
        ),
        Variable::new(
            LOG_LEVEL,
            "(AWS_LAMBDA_LOG_LEVEL)",
            "ERROR, WARN, INFO, DEBUG or TRACE; overrides AWS_LAMBDA_LOG_LEVEL",
            Operator,
        ),
        Variable::new(
            AWS_LAMBDA_LOG_LEVEL,
            "INFO",
            "Lambda's application log level (the stack's log_level)",
            Lambda,
        ),
        Variable::new(
            METRICS_NAMESPACE,
            "(POWERTOOLS_METRICS_NAMESPACE)",
            "EMF namespace",
            Stack,
        ),
        Variable::new(
            POWERTOOLS_METRICS_NAMESPACE,
            DEFAULT_NAMESPACE,
            "EMF namespace when METRICS_NAMESPACE is not set",
            Stack,
        ),
        Variable::new(
            POWERTOOLS_SERVICE_NAME,
            DEFAULT_SERVICE,
            "the `service` dimension of every metric",
            Stack,
        ),
        Variable::new(
            AWS_XRAY_DAEMON_ADDRESS,
            "(unset: no traces)",
            "X-Ray daemon, host:port or `tcp:… udp:…` (Lambda sets it when tracing is on)",
            Lambda,
        ),
        Variable::new(
            AWS_LAMBDA_FUNCTION_NAME,
            "imgflow",
            "the function's name (the ColdStart dimension, trace origin)",
            Lambda,
        ),
        Variable::new(
            AWS_LAMBDA_LOG_GROUP_NAME,
            "(none)",
            "links traces to the logs",
            Lambda,
        ),
    ];
    out.extend(engine_variables());
    out
}
