//! S3 event → records → engine → store, with the failure model: permanent
//! problems are reported and the invocation succeeds; transient ones fail it
//! so that Lambda retries and the on-failure destination keeps the event.
//! Knows nothing of pixels (the engine) or of HTTP (the store).

mod fetch;
mod manifests;
mod object;
mod removal;
mod variants;

pub use manifests::variants_by_metadata;

use crate::event::{self, Change, S3Event, SourceObject};
use crate::outcome::Outcome;
use crate::store::ObjectStore;
use futures_util::stream::{self, StreamExt};
use imgflow_engine::memory::Budget;
use imgflow_engine::{Reason, Settings};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{field::Empty, Instrument, Span};

/// Everything a record needs besides the store, read once at start
/// (`config::handler_settings`).
#[derive(Debug, Clone)]
pub struct HandlerSettings {
    pub processed_bucket: String,
    pub cache_control: String,
    pub kms_key_arn: Option<String>,
    pub engine: Arc<Settings>,
    /// Records of one event processed at the same time.
    pub record_concurrency: usize,
    /// Stop this long before the invocation deadline rather than be killed
    /// in the middle of a write.
    pub deadline_margin: Duration,
    /// What the images of an invocation may take at once (`MEMORY_BUDGET_MB`,
    /// or the function's memory size less what the process needs).
    pub memory: Arc<Budget>,
    /// Held by one record at a time from the reservation of its upload's
    /// bytes to its admission (see `object::process`), so that two records
    /// never each hold a body while waiting for the other's room.
    pub admission: Arc<tokio::sync::Mutex<()>>,
}

/// Lambda's longest timeout.
pub const LAMBDA_MAX_TIMEOUT: Duration = Duration::from_secs(900);

/// The invocation's deadline as an `Instant` (timers want one; the runtime
/// gives wall-clock time), or `None` when it has already passed. Lambda's
/// deadline is always ahead when an event arrives; a past one comes from a
/// local emulator (`cargo lambda watch` sends 600000 ms after the epoch).
pub fn deadline_instant(wall_clock: SystemTime) -> Option<Instant> {
    let left = wall_clock.duration_since(SystemTime::now()).ok()?;
    Some(Instant::now() + left)
}

/// Processes every record of `event`, at most `record_concurrency` at a
/// time, each in its own trace span annotated with its outcome.
pub async fn handle_event<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    event: &S3Event,
    deadline: Instant,
) -> Vec<Outcome> {
    stream::iter(&event.records)
        .map(|record| {
            let change = event::change_of(record, &settings.processed_bucket);
            let key = match &change {
                Ok(change) => change.object().key.clone(),
                Err(outcome) => outcome.key().to_owned(),
            };
            let span = tracing::info_span!("record", key = %key, outcome = Empty, reason = Empty);
            async move {
                let outcome = match change {
                    Ok(Change::Created(object)) => {
                        handle_object(store, settings, object, deadline).await
                    }
                    Ok(Change::Removed(object)) => {
                        handle_removal(store, settings, object, deadline).await
                    }
                    Err(outcome) => outcome,
                };
                outcome.record_on(&Span::current());
                outcome
            }
            .instrument(span)
        })
        .buffered(settings.record_concurrency.max(1))
        .collect()
        .await
}

/// Processes one object, stopping `deadline_margin` before `deadline`.
pub async fn handle_object<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: SourceObject,
    deadline: Instant,
) -> Outcome {
    let stop_at = stop_at(settings, deadline);
    let work = object::process(store, settings, &source, stop_at);
    before(stop_at, &source.key, work).await
}

/// Removes a deleted upload's manifest and variants, stopping
/// `deadline_margin` before `deadline`.
pub async fn handle_removal<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: SourceObject,
    deadline: Instant,
) -> Outcome {
    let stop_at = stop_at(settings, deadline);
    before(
        stop_at,
        &source.key,
        removal::remove(store, settings, &source),
    )
    .await
}

/// `deadline_margin` before the invocation's deadline.
fn stop_at(settings: &HandlerSettings, deadline: Instant) -> Instant {
    deadline
        .checked_sub(settings.deadline_margin)
        .unwrap_or(deadline)
}

/// A record's work, or `deadline` (for a retry) when it is not done by `stop_at`.
async fn before(stop_at: Instant, key: &str, work: impl Future<Output = Outcome>) -> Outcome {
    tokio::time::timeout_at(stop_at.into(), work)
        .await
        .unwrap_or_else(|_| {
            Outcome::stopped(
                key,
                Reason::Deadline,
                "stopped before the invocation deadline; Lambda will retry",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_in_the_past_is_not_a_deadline() {
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        let instant = deadline_instant(in_a_minute).unwrap();
        let left = instant - Instant::now();
        assert!(
            left > Duration::from_secs(58) && left <= Duration::from_secs(60),
            "{left:?}"
        );
        let cargo_lambda = SystemTime::UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(deadline_instant(cargo_lambda), None);
    }
}
