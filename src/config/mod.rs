//! The function's configuration: every environment variable it reads, with
//! its default and its check, in one place. Read once at cold start; a bad
//! value stops the init with a message that names the variable.
//!
//! The engine's settings are variables too (`VARIANTS`, one per setting of
//! the variant table, the limits); the CLI exposes the same ones as flags.

mod engine;

pub use engine::{engine_settings, engine_variables, limit_variable, variable_of_setting};

use crate::handler::HandlerSettings;
use crate::telemetry::{level, metrics::MetricsConfig};
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

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
    fn new(name: &str, default: impl fmt::Display, help: &str, set_by: SetBy) -> Self {
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

/// A variable's value: `None` when unset or blank.
fn get(lookup: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// What the handler needs: where variants go, how they are written, the
/// engine's settings, concurrency and the deadline margin.
pub fn handler_settings(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HandlerSettings, ConfigError> {
    let processed_bucket = get(lookup, PROCESSED_BUCKET).ok_or_else(|| {
        invalid(
            PROCESSED_BUCKET,
            "",
            "required: the bucket the variants are written to",
        )
    })?;
    if !valid_bucket_name(&processed_bucket) {
        return Err(invalid(
            PROCESSED_BUCKET,
            &processed_bucket,
            "not a valid S3 bucket name",
        ));
    }
    let kms_key_arn = get(lookup, KMS_KEY_ARN);
    if let Some(arn) = &kms_key_arn {
        if !arn.starts_with("arn:") || !arn.contains(":kms:") {
            return Err(invalid(
                KMS_KEY_ARN,
                arn,
                "expected a KMS key ARN (arn:aws:kms:…)",
            ));
        }
    }
    let number = |name: &str, default: u64, max: u64| match get(lookup, name) {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                name,
                &v,
                format!("expected an integer from 1 to {max}"),
            )),
        },
    };
    Ok(HandlerSettings {
        processed_bucket,
        cache_control: get(lookup, CACHE_CONTROL)
            .unwrap_or_else(|| DEFAULT_CACHE_CONTROL.to_owned()),
        kms_key_arn,
        engine: Arc::new(engine_settings(lookup)?),
        record_concurrency: number(RECORD_CONCURRENCY, 2, 64)? as usize,
        deadline_margin: Duration::from_millis(number(DEADLINE_MARGIN_MS, 1500, 60_000)?),
        memory: memory_budget(lookup)?,
    })
}

/// MiB the process needs for itself beside the images: measured 16 MiB after
/// init and 24 MiB more at the peak of a warm invocation besides the
/// image's own estimate (`cargo bench --bench lambda`: runtime, SDK, HTTP
/// buffers), doubled.
pub const PROCESS_RESERVE_MIB: u64 = 48;

/// The images' memory budget: `MEMORY_BUDGET_MB`, else the function's
/// memory size less [`PROCESS_RESERVE_MIB`], else (not on Lambda) none.
fn memory_budget(
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<std::sync::Arc<imgflow_engine::memory::Budget>, ConfigError> {
    const MIB: u64 = 1024 * 1024;
    let mib = |name: &str, min: u64| -> Result<Option<u64>, ConfigError> {
        get(lookup, name)
            .map(|v| match v.parse::<u64>() {
                Ok(n) if (min..=10_240).contains(&n) => Ok(n),
                _ => Err(invalid(
                    name,
                    &v,
                    format!("expected an integer from {min} to 10240 (MB)"),
                )),
            })
            .transpose()
    };
    let budget = match (
        mib(MEMORY_BUDGET_MB, 1)?,
        mib(AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 128)?,
    ) {
        (Some(budget), _) => budget * MIB,
        (None, Some(size)) => size.saturating_sub(PROCESS_RESERVE_MIB) * MIB,
        (None, None) => u64::MAX,
    };
    Ok(imgflow_engine::memory::Budget::new(budget))
}

/// Everything the `bootstrap` binary reads at cold start.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub handler: HandlerSettings,
    pub log_level: tracing::Level,
    pub metrics: MetricsConfig,
    /// Where X-Ray segments go; `None`: tracing is off.
    pub xray_daemon: Option<SocketAddr>,
    pub function_name: String,
    pub log_group: Option<String>,
    /// The function's memory size, MB (`MemoryUtilization` is against it).
    pub memory_size_mb: Option<u64>,
}

impl FunctionConfig {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(&|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            log_level: log_level(lookup)?,
            xray_daemon: match get(lookup, AWS_XRAY_DAEMON_ADDRESS) {
                None => None,
                Some(value) => Some(
                    daemon_address(&value)
                        .map_err(|reason| invalid(AWS_XRAY_DAEMON_ADDRESS, &value, reason))?,
                ),
            },
            metrics: MetricsConfig {
                namespace: get(lookup, METRICS_NAMESPACE)
                    .or_else(|| get(lookup, POWERTOOLS_METRICS_NAMESPACE))
                    .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
                service: get(lookup, POWERTOOLS_SERVICE_NAME)
                    .unwrap_or_else(|| DEFAULT_SERVICE.to_owned()),
            },
            function_name: get(lookup, AWS_LAMBDA_FUNCTION_NAME)
                .unwrap_or_else(|| DEFAULT_SERVICE.to_owned()),
            log_group: get(lookup, AWS_LAMBDA_LOG_GROUP_NAME),
            // Checked by handler_settings (the memory budget).
            memory_size_mb: get(lookup, AWS_LAMBDA_FUNCTION_MEMORY_SIZE)
                .and_then(|v| v.parse().ok()),
            handler: handler_settings(lookup)?,
        })
    }
}

/// `LOG_LEVEL`, else Lambda's `AWS_LAMBDA_LOG_LEVEL`, else INFO. A set but
/// invalid value is an error, so that a typo never silences the logs.
pub fn log_level(lookup: &dyn Fn(&str) -> Option<String>) -> Result<tracing::Level, ConfigError> {
    for name in [LOG_LEVEL, AWS_LAMBDA_LOG_LEVEL] {
        if let Some(value) = get(lookup, name) {
            return level::parse_level(&value).ok_or_else(|| {
                invalid(name, &value, "expected ERROR, WARN, INFO, DEBUG or TRACE")
            });
        }
    }
    Ok(tracing::Level::INFO)
}

/// The UDP address of the daemon (`AWS_XRAY_DAEMON_ADDRESS`): `host:port`,
/// or the two-protocol form `tcp:host:port udp:host:port`. The error says why not.
pub fn daemon_address(value: &str) -> Result<SocketAddr, String> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    let udp = match parts.as_slice() {
        [single] if !single.starts_with("tcp:") => single.strip_prefix("udp:").unwrap_or(single),
        [_, _] => parts
            .iter()
            .find_map(|p| p.strip_prefix("udp:"))
            .ok_or_else(|| "two addresses but no `udp:` one".to_owned())?,
        _ => return Err("expected host:port or `tcp:host:port udp:host:port`".to_owned()),
    };
    udp.to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or_else(|| "the host resolves to no address".to_owned())
}

/// S3's rules: 3–63 characters of lower-case letters, digits, dots and
/// hyphens, starting and ending with a letter or digit.
fn valid_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
        && name
            .as_bytes()
            .last()
            .is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn function(pairs: &[(&str, &str)]) -> Result<FunctionConfig, ConfigError> {
        let mut all = vec![(PROCESSED_BUCKET, "out-bucket")];
        all.extend_from_slice(pairs);
        FunctionConfig::from_lookup(&lookup(&all))
    }

    #[test]
    fn every_bad_value_names_its_variable_and_value() {
        let cases = [
            ("JPEG_QUALITY", "0"),
            ("JPEG_QUALITY", "101"),
            ("LOW_QUALITY", "high"),
            ("WEBP_QUALITY", "-5"),
            ("THUMBNAIL_SIZE", "200"),
            ("THUMBNAIL_SIZE", "0x200"),
            ("THUMBNAIL_SIZE", "200x99999"),
            ("VARIANTS", "jpeg,avif"),
            ("VARIANTS", "png,,webp"),
            ("VARIANTS", "png,png"),
            ("MAX_INPUT_PIXELS", "0"),
            ("MAX_INPUT_BYTES", "1e6"),
            ("PROCESSED_BUCKET", "Not_A_Bucket"),
            ("KMS_KEY_ARN", "alias/mine"),
            ("RECORD_CONCURRENCY", "0"),
            ("RECORD_CONCURRENCY", "65"),
            ("MEMORY_BUDGET_MB", "0"),
            ("MEMORY_BUDGET_MB", "lots"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "64"),
            ("DEADLINE_MARGIN_MS", "soon"),
            ("LOG_LEVEL", "loud"),
            ("AWS_LAMBDA_LOG_LEVEL", "x"),
            ("AWS_XRAY_DAEMON_ADDRESS", "localhost"),
        ];
        for (var, value) in cases {
            let err = function(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            let msg = err.to_string();
            assert!(msg.starts_with(var) && msg.contains(value), "{msg}");
        }
        let err = FunctionConfig::from_lookup(&lookup(&[])).unwrap_err();
        assert_eq!(err.variable, PROCESSED_BUCKET, "required");
    }

    #[test]
    fn reads_the_daemon_address_forms() {
        assert_eq!(
            daemon_address("169.254.79.129:2000").unwrap(),
            "169.254.79.129:2000".parse().unwrap()
        );
        assert_eq!(
            daemon_address("tcp:127.0.0.1:2000 udp:127.0.0.2:2001").unwrap(),
            "127.0.0.2:2001".parse().unwrap()
        );
        assert_eq!(
            daemon_address("udp:127.0.0.1:3000").unwrap(),
            "127.0.0.1:3000".parse().unwrap()
        );
        for bad in [
            "",
            "localhost",
            "tcp:127.0.0.1:2000",
            "a b c",
            "127.0.0.1:notaport",
        ] {
            assert!(daemon_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_function_environment() {
        let c = function(&[]).unwrap();
        assert_eq!(c.handler.processed_bucket, "out-bucket");
        assert_eq!(c.handler.cache_control, DEFAULT_CACHE_CONTROL);
        assert_eq!(c.handler.kms_key_arn, None);
        assert_eq!(c.handler.record_concurrency, 2);
        assert_eq!(c.handler.deadline_margin, Duration::from_millis(1500));
        assert_eq!(c.log_level, tracing::Level::INFO);
        assert_eq!(c.xray_daemon, None);
        assert_eq!(
            (c.metrics.namespace.as_str(), c.metrics.service.as_str()),
            ("ImageProcessor", "imgflow")
        );
        let c = function(&[
            ("KMS_KEY_ARN", "arn:aws:kms:eu-west-1:123456789012:key/abc"),
            ("CACHE_CONTROL", "no-cache"),
            ("RECORD_CONCURRENCY", "8"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
            ("POWERTOOLS_METRICS_NAMESPACE", "Power"),
            ("POWERTOOLS_SERVICE_NAME", "thumbs"),
            ("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000"),
            ("JPEG_QUALITY", "70"),
        ])
        .unwrap();
        assert_eq!(c.handler.record_concurrency, 8);
        assert_eq!(c.handler.cache_control, "no-cache");
        assert!(c.handler.kms_key_arn.is_some());
        assert_eq!(c.handler.engine.variants[0].quality, Some(70));
        assert_eq!(c.log_level, tracing::Level::DEBUG);
        assert_eq!(c.metrics.namespace, "Power");
        assert_eq!(c.metrics.service, "thumbs");
        assert!(c.xray_daemon.is_some());
        let c = function(&[
            ("METRICS_NAMESPACE", "Mine"),
            ("POWERTOOLS_METRICS_NAMESPACE", "Power"),
            ("LOG_LEVEL", "error"),
            ("AWS_LAMBDA_LOG_LEVEL", "DEBUG"),
        ])
        .unwrap();
        assert_eq!(c.metrics.namespace, "Mine");
        assert_eq!(c.log_level, tracing::Level::ERROR, "LOG_LEVEL wins");
    }
}
