//! X-Ray traces: the function's `tracing` spans (target `imgflow…` and the
//! runtime's invocation span) become X-Ray subsegments, parented on the trace
//! header the Lambda runtime hands over, and sent to the X-Ray daemon over UDP.
//!
//! This is the only module that knows the exporter (OpenTelemetry SDK +
//! `opentelemetry-aws`): moving to OTLP later means changing this file.
//! The rest of the code only creates `tracing` spans with these fields:
//! `variant`, `outcome`, `reason` (annotations: searchable in filter
//! expressions) and anything else (metadata: bytes, dimensions).

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaInvocation;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Context;
use opentelemetry_aws::trace::xray_propagator::span_context_from_str;
use opentelemetry_aws::trace::XrayIdGenerator;
use opentelemetry_aws::xray_exporter::daemon_client::XrayDaemonClient;
use opentelemetry_aws::xray_exporter::{SegmentTranslator, XrayExporter};
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use std::net::SocketAddr;
use std::task;

/// Span fields that become X-Ray annotations.
pub const ANNOTATIONS: [&str; 3] = ["variant", "outcome", "reason"];

#[derive(Debug, thiserror::Error)]
#[error("cannot open a UDP socket to the X-Ray daemon at {addr}: {source}")]
pub struct XrayError {
    addr: SocketAddr,
    source: std::io::Error,
}

/// The tracer provider: a batch of finished spans is translated to segment
/// documents and sent when the invocation flushes.
pub struct Xray {
    provider: SdkTracerProvider,
}

impl Xray {
    /// Sends to the daemon at `addr`. `service` names the subsegments'
    /// origin (the function name); `log_group` (Lambda's
    /// `AWS_LAMBDA_LOG_GROUP_NAME`) links the traces to the logs.
    pub fn to_daemon(
        addr: SocketAddr,
        service: &str,
        log_group: Option<&str>,
    ) -> Result<Xray, XrayError> {
        let client = XrayDaemonClient::new(addr).map_err(|source| XrayError { addr, source })?;
        let mut translator = SegmentTranslator::new().metadata_all_attrs();
        for name in ANNOTATIONS {
            translator = translator.with_indexed_attr(name.to_owned());
        }
        if let Some(group) = log_group {
            translator = translator.with_log_group_name(group.to_owned());
        }
        let provider = SdkTracerProvider::builder()
            .with_id_generator(XrayIdGenerator::default())
            // Lambda decides: spans are recorded only under a header that
            // says Sampled=1. Without a header (a local run) nothing is sent.
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)))
            .with_resource(
                Resource::builder()
                    .with_service_name(service.to_owned())
                    .build(),
            )
            .with_batch_exporter(XrayExporter::new(client).with_translator(translator))
            .build();
        Ok(Xray { provider })
    }

    /// The `tracing` layer that turns our spans into OpenTelemetry spans.
    /// Only spans pass (events stay logs), and only ours and the runtime's
    /// invocation span: the AWS SDK's internals are not worth a subsegment each.
    pub fn layer<S>(&self) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer("imgflow"))
            .with_location(false)
            .with_threads(false)
            .with_level(false)
            .with_target(false)
            .with_tracked_inactivity(false)
            .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                meta.is_span() && is_traced_target(meta.target())
            }))
    }

    /// Sends every finished span now. Called after each invocation, before
    /// Lambda may freeze the process.
    pub fn flusher(&self) -> impl Fn() + Clone + Send + Sync + 'static {
        let provider = self.provider.clone();
        move || {
            if let Err(e) = provider.force_flush() {
                tracing::warn!(error = %e, "X-Ray spans not flushed");
            }
        }
    }
}

/// Our crates (the function, the engine), the binary, and the runtime's
/// invocation span.
fn is_traced_target(target: &str) -> bool {
    let ours = |krate: &str| {
        target
            .strip_prefix(krate)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    };
    ours("imgflow_lambda")
        || ours("imgflow_engine")
        || ours("bootstrap")
        || target == "lambda_runtime::layers::otel"
}

/// The OpenTelemetry context of a trace header
/// (`Root=1-…;Parent=…;Sampled=1`): spans started under it are its children.
pub fn parent_context(header: &str) -> Option<Context> {
    let span = span_context_from_str(header)?;
    span.is_valid()
        .then(|| Context::new().with_remote_span_context(span))
}

use opentelemetry::trace::TraceContextExt as _;

/// A runtime layer, outermost: while the inner layers set the invocation up
/// (the OpenTelemetry layer creates its span then), the invocation's trace
/// header is the current context, so that span hangs under Lambda's segment.
#[derive(Clone, Copy, Default)]
pub struct ParentFromTraceHeader;

impl<S> Layer<S> for ParentFromTraceHeader {
    type Service = ParentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ParentService { inner }
    }
}

pub struct ParentService<S> {
    inner: S,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for ParentService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut task::Context<'_>) -> task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: LambdaInvocation) -> Self::Future {
        let parent = req
            .context
            .xray_trace_id
            .as_deref()
            .and_then(parent_context);
        let _attached = parent.map(Context::attach);
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::TraceContextExt;

    #[test]
    fn the_trace_header_becomes_the_remote_parent() {
        let cx = parent_context(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        )
        .unwrap();
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(sc.span_id().to_string(), "53995c3f42cd8ad8");

        let unsampled = parent_context(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
        )
        .unwrap();
        assert!(!unsampled.span().span_context().is_sampled());
        for bad in [
            "",
            "garbage",
            "Parent=53995c3f42cd8ad8;Sampled=1",
            "Root=1-5759e988-short;Parent=53995c3f42cd8ad8",
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz",
        ] {
            assert!(parent_context(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn only_our_spans_are_traced() {
        assert!(is_traced_target("imgflow_lambda::handler::object"));
        assert!(is_traced_target("imgflow_engine"));
        assert!(is_traced_target("lambda_runtime::layers::otel"));
        assert!(!is_traced_target("aws_smithy_runtime::client"));
        assert!(!is_traced_target("imgflow_lambdax"));
    }
}
