//! The Lambda entry point (`provided.al2023`): S3 events in, variants out.
//!
//! Everything that can be read once is read at cold start: the configuration
//! (a bad value stops the init with a log line naming the variable), the S3
//! client, the telemetry. Each invocation only handles its event.

use imgflow_lambda::config::FunctionConfig;
use imgflow_lambda::event::S3Event;
use imgflow_lambda::handler::{deadline_instant, handle_event, LAMBDA_MAX_TIMEOUT};
use imgflow_lambda::outcome::Outcome;
use imgflow_lambda::store::s3::S3Store;
use imgflow_lambda::telemetry::{self, logging, metrics, xray::Xray, Invocation};
use lambda_runtime::layers::{OpenTelemetryFaasTrigger, OpenTelemetryLayer};
use lambda_runtime::{service_fn, Error, LambdaEvent, Runtime};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tracing::{error, info, warn, Level};

struct Function {
    store: S3Store,
    config: FunctionConfig,
    cold: AtomicBool,
}

fn main() -> ExitCode {
    // Before any thread allocates: the memory budget assumes it.
    imgflow_engine::memory::keep_large_blocks_mapped();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(start()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One JSON line naming the problem; Lambda then reports the init
            // failure (Runtime.ExitError) with this log.
            error!(error = %e, "cannot start");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> Result<(), Error> {
    let config = match FunctionConfig::from_env() {
        Ok(config) => config,
        Err(e) => {
            // Logging first, so that a bad setting is reported as a log line.
            logging::init(Level::INFO, None);
            return Err(e.into());
        }
    };
    // Lambda sets the daemon address when tracing is on; each invocation's
    // trace header says whether to send.
    let xray = config
        .xray_daemon
        .map(|addr| Xray::to_daemon(addr, &config.function_name, config.log_group.as_deref()))
        .transpose();
    logging::init(
        config.log_level,
        xray.as_ref().ok().and_then(Option::as_ref),
    );
    let xray = xray?;
    let function = Function {
        store: S3Store::from_env().await,
        config,
        cold: AtomicBool::new(true),
    };
    info!(settings = %function.config.handler.engine,
        processed_bucket = %function.config.handler.processed_bucket,
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
                .layer(telemetry::xray::ParentFromTraceHeader)
                .run()
                .await
        }
        None => runtime.run().await,
    }
    .map_err(|e| format!("the Lambda runtime stopped: {e}").into())
}

async fn invoke(f: &Function, event: LambdaEvent<S3Event>) -> Result<serde_json::Value, Error> {
    let ctx = &event.context;
    let at = Invocation {
        request_id: &ctx.request_id,
        trace_id: ctx.xray_trace_id.as_deref().unwrap_or(""),
        cold_start: f.cold.swap(false, Ordering::Relaxed),
        function_name: &f.config.function_name,
    };
    if at.cold_start {
        metrics::emit(&[metrics::cold_start_record(
            &f.config.metrics,
            at.function_name,
        )?]);
    }
    telemetry::memory::reset_peak();
    let outcomes = handle_event(
        &f.store,
        &f.config.handler,
        &event.payload,
        // Without a usable deadline (a local emulator's placeholder), Lambda's
        // longest timeout stands in rather than failing every record at once.
        deadline_instant(ctx.deadline()).unwrap_or_else(|| {
            warn!("the invocation's deadline has already passed (a local emulator?): using Lambda's 15-minute maximum");
            Instant::now() + LAMBDA_MAX_TIMEOUT
        }),
    )
    .await;

    if let Some(peak) = telemetry::memory::peak_bytes() {
        let record = metrics::memory_record(&f.config.metrics, peak, f.config.memory_size_mb)?;
        metrics::emit(&[record]);
    }
    let mut failed = Vec::new();
    for outcome in &outcomes {
        telemetry::report(outcome, &at, &f.config.metrics);
        if let Outcome::Failed { key, message, .. } = outcome {
            failed.push(format!("{key}: {message}"));
        }
    }
    if failed.is_empty() {
        let summary: Vec<_> = outcomes
            .iter()
            .map(|o| {
                let mut record = serde_json::json!({"key": o.key(), "outcome": o.label()});
                if let Some(reason) = o.reason() {
                    record["reason"] = reason.code().into();
                }
                record
            })
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
