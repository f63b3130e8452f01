//! JSON log lines on stdout (one object per line), at the level chosen by
//! `LOG_LEVEL` / `AWS_LAMBDA_LOG_LEVEL`.

use std::io::Write;
use tracing::Level;

/// Installs the global JSON subscriber. Events are flattened (fields at the
/// top level next to `timestamp`, `level` and `message`), so Logs Insights
/// can filter on `key`, `request_id`, `outcome`… directly. With `xray`, spans
/// also go to X-Ray, whatever the log level.
pub fn init(level: Level, xray: Option<&super::xray::Xray>) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer as _;
    // LOG_LEVEL is for this function's own logs; the AWS SDK and the runtime
    // only speak up for warnings (their DEBUG output would drown ours).
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("imgflow_lambda", level)
        .with_target("imgflow_engine", level)
        .with_target("bootstrap", level)
        .with_default(Level::WARN.min(level));
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_writer(LineWriter::stdout)
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(logs)
        .with(xray.map(|x| x.layer()))
        .try_init();
}

/// Writes each log line with one `write_all` on a locked stdout, so log
/// lines and EMF lines never interleave.
pub struct LineWriter(std::io::StdoutLock<'static>);

impl LineWriter {
    fn stdout() -> Self {
        LineWriter(std::io::stdout().lock())
    }
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
