//! Observability: EMF metrics ([`emf`], [`catalog`], [`metrics`]), JSON logs
//! ([`level`]; `logging` installs them), X-Ray traces (`xray`), and
//! [`report`], which turns one record's outcome into its log lines and
//! metrics. `logging` and `xray` are the Lambda runtime's side: they come
//! with the `runtime` feature, which the `bootstrap` binary needs and the
//! CLI does without.

pub mod catalog;
pub mod emf;
pub mod level;
#[cfg(feature = "runtime")]
pub mod logging;
pub mod memory;
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod xray;

use crate::outcome::Outcome;
use metrics::MetricsConfig;
use tracing::{debug, error, info, warn};

/// The invocation's fields, repeated on every log line so that Logs Insights
/// can filter one invocation, one trace, or cold starts.
#[derive(Debug, Clone, Copy)]
pub struct Invocation<'a> {
    pub request_id: &'a str,
    pub trace_id: &'a str,
    pub cold_start: bool,
    pub function_name: &'a str,
}

/// Logs one record's outcome (one line per image at INFO, one per variant
/// at DEBUG; rejections and failures at ERROR) and prints its EMF records.
pub fn report(outcome: &Outcome, at: &Invocation<'_>, metrics: &MetricsConfig) {
    let Invocation {
        request_id,
        trace_id: xray_trace_id,
        cold_start,
        function_name,
    } = *at;
    let key = outcome.key();
    match outcome {
        Outcome::Processed {
            id,
            source_bytes,
            engine_ms,
            processing_ms,
            variants,
            ..
        } => {
            for v in variants {
                debug!(request_id, xray_trace_id, cold_start, function_name, key,
                    variant = v.name, output_key = %v.key, width = v.width, height = v.height,
                    quality = v.quality, bytes = v.bytes, encode_ms = v.encode_ms, "variant written");
            }
            info!(request_id, xray_trace_id, cold_start, function_name, key,
                outcome = "processed", id = %id, source_bytes, engine_ms, processing_ms,
                replaced = outcome.deleted().len(), "image processed");
        }
        Outcome::Unchanged {
            id,
            manifest_written,
            deleted,
            ..
        } => {
            info!(request_id, xray_trace_id, cold_start, function_name, key,
                outcome = "unchanged", id = %id, manifest_written, deleted = deleted.len(),
                "same bytes as the manifest's upload: no variant written");
        }
        Outcome::Removed {
            manifest_deleted,
            deleted,
            ..
        } => {
            for variant in deleted {
                debug!(request_id, key, output_key = %variant, "variant deleted");
            }
            info!(
                request_id,
                xray_trace_id,
                cold_start,
                function_name,
                key,
                outcome = "removed",
                manifest_deleted,
                deleted = deleted.len(),
                "upload deleted: its variants are gone"
            );
        }
        Outcome::Skipped { reason, .. } => {
            info!(
                request_id,
                xray_trace_id,
                cold_start,
                function_name,
                key,
                outcome = "skipped",
                reason = reason.code(),
                "record skipped"
            );
        }
        Outcome::Rejected {
            reason, message, ..
        }
        | Outcome::Failed {
            reason, message, ..
        } => {
            error!(
                request_id,
                xray_trace_id,
                cold_start,
                function_name,
                key,
                outcome = outcome.label(),
                reason = reason.code(),
                "{message}"
            );
        }
    }
    match metrics::records_for(outcome, metrics) {
        Ok(lines) => metrics::emit(&lines),
        Err(e) => warn!(request_id, key, error = %e, "metrics not emitted"),
    }
}
