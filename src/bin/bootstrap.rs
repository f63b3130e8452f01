//! The Lambda entry point (`provided.al2023`): S3 events in, variants out.
//!
//! Everything that can be read once is read at cold start: settings (a bad
//! value stops the init with a message naming the variable), the S3 client,
//! the metrics namespace.

use imgflow::event::S3Event;
use imgflow::handler::{handle_event, HandlerSettings, Outcome};
use imgflow::store::s3::S3Store;
use imgflow::telemetry::metrics::{cold_start_record, records_for, MetricsConfig};
use imgflow::telemetry::{level, logging, xray};
use lambda_runtime::layers::{OpenTelemetryFaasTrigger, OpenTelemetryLayer};
use lambda_runtime::{service_fn, Error, LambdaEvent, Runtime};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{debug, error, info, warn, Level};

struct Function {
    store: S3Store,
    settings: HandlerSettings,
    metrics: MetricsConfig,
    function_name: String,
    cold: AtomicBool,
}

#[tokio::main]
async fn main() -> ExitCode {
    match start().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One JSON line naming the variable, then Lambda reports the
            // init failure (Runtime.ExitError) with this log.
            error!(error = %e, "cannot start");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> Result<(), Error> {
    let env = |name: &str| std::env::var(name).ok();
    let log_level = level::resolve(
        env("LOG_LEVEL").as_deref(),
        env("AWS_LAMBDA_LOG_LEVEL").as_deref(),
    );
    // Lambda sets the daemon address when tracing is on (Active or
    // PassThrough); the trace header of each invocation says whether to send.
    let xray = env("AWS_XRAY_DAEMON_ADDRESS")
        .map(|address| {
            xray::Xray::to_daemon(
                xray::daemon_address(&address)?,
                env("AWS_LAMBDA_FUNCTION_NAME")
                    .as_deref()
                    .unwrap_or("imgflow"),
                env("AWS_LAMBDA_LOG_GROUP_NAME").as_deref(),
            )
        })
        .transpose();
    // Logging first, so that a bad LOG_LEVEL or daemon address is reported
    // as a log line too.
    logging::init(
        *log_level.as_ref().unwrap_or(&Level::INFO),
        xray.as_ref().ok().and_then(Option::as_ref),
    );
    log_level?;
    let xray = xray?;
    let settings = HandlerSettings::from_lookup(env)?;
    let function = Function {
        store: S3Store::from_env().await,
        metrics: MetricsConfig::from_lookup(env),
        function_name: env("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
        settings,
        cold: AtomicBool::new(true),
    };
    info!(settings = %function.settings.engine, processed_bucket = %function.settings.processed_bucket,
        xray = xray.is_some(), "ready");
    let function = &function;
    let runtime = Runtime::new(service_fn(move |event: LambdaEvent<S3Event>| {
        invoke(function, event)
    }));
    match &xray {
        // The OpenTelemetry layer wraps each invocation in a span and flushes
        // the finished spans after it; the outer layer parents that span on
        // the invocation's trace header.
        Some(xray) => {
            runtime
                .layer(
                    OpenTelemetryLayer::new(xray.flusher())
                        .with_trigger(OpenTelemetryFaasTrigger::Datasource),
                )
                .layer(xray::ParentFromTraceHeader)
                .run()
                .await
        }
        None => runtime.run().await,
    }
    .map_err(|e| format!("the Lambda runtime stopped: {e}").into())
}

/// The invocation deadline (epoch milliseconds) as an `Instant`.
fn deadline_instant(deadline_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

async fn invoke(f: &Function, event: LambdaEvent<S3Event>) -> Result<serde_json::Value, Error> {
    let cold_start = f.cold.swap(false, Ordering::Relaxed);
    let ctx = &event.context;
    let request_id = ctx.request_id.as_str();
    let trace_id = ctx.xray_trace_id.as_deref().unwrap_or("");
    if cold_start {
        logging::emit_lines(&[cold_start_record(&f.metrics, &f.function_name)?]);
    }
    let outcomes = handle_event(
        &f.store,
        &f.settings,
        &event.payload,
        deadline_instant(ctx.deadline),
    )
    .await;

    let mut failed = Vec::new();
    for outcome in &outcomes {
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
                    debug!(request_id, xray_trace_id = trace_id, cold_start, function_name = %f.function_name,
                        key, variant = v.name, output_key = %v.key, width = v.width, height = v.height,
                        quality = v.quality, bytes = v.bytes, encode_ms = v.encode_ms, "variant written");
                }
                info!(request_id, xray_trace_id = trace_id, cold_start, function_name = %f.function_name,
                    key, outcome = "processed", id = %id, source_bytes, engine_ms, processing_ms, "image processed");
            }
            Outcome::Skipped { reason, .. } => {
                info!(request_id, xray_trace_id = trace_id, cold_start, function_name = %f.function_name,
                    key, outcome = "skipped", reason, "record skipped");
            }
            Outcome::Rejected { code, message, .. } => {
                error!(request_id, xray_trace_id = trace_id, cold_start, function_name = %f.function_name,
                    key, outcome = "rejected", reason = code, "{message}");
            }
            Outcome::Failed { message, .. } => {
                error!(request_id, xray_trace_id = trace_id, cold_start, function_name = %f.function_name,
                    key, outcome = "failed", "{message}");
                failed.push(format!("{key}: {message}"));
            }
        }
        match records_for(outcome, &f.metrics) {
            Ok(lines) => logging::emit_lines(&lines),
            Err(e) => warn!(request_id, key, error = %e, "metrics not emitted"),
        }
    }
    if failed.is_empty() {
        let summary: Vec<_> = outcomes
            .iter()
            .map(|o| serde_json::json!({"key": o.key(), "outcome": o.label()}))
            .collect();
        Ok(serde_json::json!({ "records": summary }))
    } else {
        // Failing the invocation makes Lambda retry, then keep the event in
        // the on-failure destination: nothing is lost.
        Err(format!(
            "{} record(s) failed and will be retried: {}",
            failed.len(),
            failed.join("; ")
        )
        .into())
    }
}
