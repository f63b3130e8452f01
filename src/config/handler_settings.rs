//! The handler's settings: the output bucket and how variants are written,
//! the engine's settings, concurrency, the deadline margin and the memory
//! budget.

use super::{
    engine_settings, get, invalid, ConfigError, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, CACHE_CONTROL,
    DEADLINE_MARGIN_MS, DEFAULT_CACHE_CONTROL, KMS_KEY_ARN, MEMORY_BUDGET_MB, PROCESSED_BUCKET,
    RECORD_CONCURRENCY,
};
use crate::handler::HandlerSettings;
use std::sync::Arc;
use std::time::Duration;

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
        admission: Default::default(),
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
