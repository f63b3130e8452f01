//! What the `bootstrap` binary reads at cold start: the handler's settings
//! plus logging, metrics and tracing.

use super::{
    get, handler_settings, invalid, ConfigError, AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_LOG_GROUP_NAME, AWS_LAMBDA_LOG_LEVEL,
    AWS_XRAY_DAEMON_ADDRESS, DEFAULT_NAMESPACE, DEFAULT_SERVICE, LOG_LEVEL, METRICS_NAMESPACE,
    POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME,
};
use crate::handler::HandlerSettings;
use crate::telemetry::{level, metrics::MetricsConfig};
use std::net::{SocketAddr, ToSocketAddrs};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_CACHE_CONTROL, PROCESSED_BUCKET};
    use std::collections::HashMap;
    use std::time::Duration;

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
