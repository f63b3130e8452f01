//! Encoding the upload (admitted against the memory budget) and writing its
//! variants, all or none.

use super::fetch::rejected;
use super::manifests::InPlace;
use super::HandlerSettings;
use crate::config;
use crate::event::SourceObject;
use crate::manifest;
use crate::outcome::{Outcome, WrittenVariant};
use crate::store::{
    metadata_bytes, metadata_value, ObjectStore, PutObject, MAX_KEY_BYTES, MAX_METADATA_BYTES,
    META_SOURCE_KEY, META_SOURCE_VERSION, META_VARIANT,
};
use imgflow_engine::memory::{Admission, NotAdmitted};
use imgflow_engine::{
    self as engine, naming, EngineError, Inspection, ProcessedImage, Reason, Schedule,
};
use std::sync::Arc;
use std::time::Instant;
use tracing::{field::Empty, Instrument, Span};

/// What a record holds from before its upload is read to its admission:
/// the upload's bytes in the memory budget, and the turn to be admitted
/// (`HandlerSettings::admission`).
pub(super) struct Held {
    bytes: Admission,
    /// `None` without a budget (`u64::MAX`: not on Lambda, no
    /// `MEMORY_BUDGET_MB`): nothing to wait for, no turns to take.
    turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Held {
    /// Waits for the turn, then for `size` bytes of the budget, until
    /// `stop_at`. An upload of the whole budget or more reserves nothing:
    /// its estimate (input included) will refuse it at once, and waiting
    /// for the whole budget would hold every other record back first.
    pub(super) async fn reserve(
        settings: &HandlerSettings,
        key: &str,
        size: u64,
        stop_at: Instant,
    ) -> Result<Self, Outcome> {
        let budget = Arc::clone(&settings.memory);
        let turn = if budget.total() == u64::MAX {
            None
        } else {
            let left = stop_at.saturating_duration_since(Instant::now());
            let turn = tokio::time::timeout(left, Arc::clone(&settings.admission).lock_owned());
            Some(turn.await.map_err(|_| no_time_for_memory(key))?)
        };
        let size = if size >= budget.total() { 0 } else { size };
        // Most records find room at once: a blocking thread only to wait.
        if let Some(bytes) = budget.try_admit(size) {
            return Ok(Held { bytes, turn });
        }
        let bytes = tokio::task::spawn_blocking(move || budget.admit(size, Some(stop_at)))
            .await
            .map_err(|join| {
                Outcome::stopped(
                    key,
                    Reason::EngineCrashed,
                    format!("memory reservation: {join}"),
                )
            })?
            .map_err(|_| no_time_for_memory(key))?;
        Ok(Held { bytes, turn })
    }
}

fn no_time_for_memory(key: &str) -> Outcome {
    Outcome::stopped(
        key,
        Reason::Deadline,
        "waited for memory until the deadline; Lambda will retry",
    )
}

/// Checks the header, waits for the memory the image needs (growing what
/// `held` reserved for its bytes), then decodes and encodes, on a blocking
/// thread, in the record's trace span.
pub(super) async fn encode(
    settings: &HandlerSettings,
    key: &str,
    bytes: Vec<u8>,
    held: Held,
    stop_at: Instant,
) -> Result<(ProcessedImage, Admission), Outcome> {
    let engine_settings = Arc::clone(&settings.engine);
    let record_span = Span::current();
    let result = tokio::task::spawn_blocking(move || {
        record_span.in_scope(|| {
            // The engine runs on rayon's global pool: one thread per core.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let Held {
                bytes: reserved,
                turn,
            } = held;
            let inspection = engine::inspect(&bytes, &engine_settings, threads)?;
            let (admission, schedule) = admit(reserved, &inspection, stop_at)?;
            // Admitted: the next record may reserve and read its upload.
            drop(turn);
            let image = engine::process_with(&bytes, &engine_settings, schedule)?;
            Ok((image, admission))
        })
    })
    .await;
    match result {
        Ok(Ok(encoded)) => Ok(encoded),
        Ok(Err(Refusal::Engine(EngineError::Rejected(rejection)))) => {
            Err(rejected(key, &rejection))
        }
        // An encoder failing on valid pixels is our bug: keep the event for a redrive.
        Ok(Err(Refusal::Engine(e @ EngineError::Encode { .. }))) => {
            Err(Outcome::stopped(key, e.reason(), e.to_string()))
        }
        Ok(Err(Refusal::NoTime)) => Err(no_time_for_memory(key)),
        Err(join) => Err(Outcome::stopped(
            key,
            Reason::EngineCrashed,
            format!("engine task failed: {join}"),
        )),
    }
}

/// Why [`encode`] stopped before the engine's result.
enum Refusal {
    Engine(EngineError),
    /// The deadline came while waiting for memory.
    NoTime,
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Self {
        Refusal::Engine(e)
    }
}

/// Admits an image against the invocation's budget ([`Inspection::admit_from`]),
/// waiting for the records ahead of it until the deadline. The variants go
/// to S3 without a copy: the engine's estimate covers them.
fn admit(
    reserved: Admission,
    inspection: &Inspection,
    stop_at: Instant,
) -> Result<(Admission, Schedule), Refusal> {
    let budget = Arc::clone(reserved.budget());
    inspection
        .admit_from(reserved, Some(stop_at))
        .map_err(|why| match why {
            NotAdmitted::TimedOut => Refusal::NoTime,
            NotAdmitted::TooLarge => {
                let too_large = inspection.too_large(&budget, |needed_mib| {
                    format!(
                        "a memory size of at least {} MB would process it (the stack's memory_size, or {} when set)",
                        needed_mib + config::PROCESS_RESERVE_MIB,
                        config::MEMORY_BUDGET_MB
                    )
                });
                Refusal::Engine(too_large.into())
            }
        })
}

/// PUTs every variant side by side. If any PUT fails, the ones that landed
/// are deleted again (best effort; a retry rewrites the same keys anyway),
/// except those the manifest in place names.
pub(super) async fn write<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    key: &str,
    version: Option<&str>,
    image: ProcessedImage,
    in_place: &InPlace,
) -> Result<Vec<WrittenVariant>, Outcome> {
    let bucket = settings.processed_bucket.as_str();
    let id = image.source.id.as_str();
    let written: Vec<WrittenVariant> = image
        .variants
        .iter()
        .map(|v| WrittenVariant {
            name: v.spec.name,
            key: naming::output_key(key, v.spec.name, id, v.spec.extension),
            content_type: v.spec.content_type,
            bytes: v.bytes.len(),
            bytes_saved: v.bytes_saved(image.source.bytes),
            width: v.width,
            height: v.height,
            quality: v.quality,
            encode_ms: v.encode_ms,
        })
        .collect();
    // The bodies move to the SDK: the variants are not copied on the way out.
    let puts = image.variants.into_iter().zip(&written).map(|(v, w)| {
        let metadata = metadata(key, v.spec.name, version);
        let span = s3_span("PutObject", bucket);
        span.record("variant", v.spec.name);
        span.record("bytes", v.bytes.len());
        store
            .put(PutObject {
                bucket,
                key: &w.key,
                body: v.bytes,
                content_type: v.spec.content_type,
                cache_control: &settings.cache_control,
                metadata,
                kms_key_arn: settings.kms_key_arn.as_deref(),
                condition: None,
            })
            .instrument(span)
    });
    let results = futures_util::future::join_all(puts).await;
    if let Some(error) = results.iter().find_map(|r| r.as_ref().err()) {
        let landed = results.iter().zip(&written).filter(|(r, _)| r.is_ok());
        for (_, w) in landed.filter(|(_, w)| !in_place.names(&w.key)) {
            let _ = store.delete(bucket, &w.key, None).await;
        }
        return Err(Outcome::stopped(
            key,
            Reason::StoreFailed,
            format!("PUT to s3://{bucket}: {error}"),
        ));
    }
    Ok(written)
}

/// The user metadata of a variant: what marks it as ours, and its upload.
fn metadata(key: &str, variant: &str, version: Option<&str>) -> Vec<(&'static str, String)> {
    let mut metadata = vec![
        (META_SOURCE_KEY, metadata_value(key)),
        (META_VARIANT, variant.to_owned()),
    ];
    if let Some(version) = version {
        metadata.push((META_SOURCE_VERSION, metadata_value(version)));
    }
    metadata
}

/// Why S3 would refuse the outputs of `source` on every retry, if it
/// would: an output key past [`MAX_KEY_BYTES`] (the variants' names and
/// the manifest's add to the upload's key), or the key, encoded in each
/// variant's metadata (`store::metadata_value`) beside its version, past
/// [`MAX_METADATA_BYTES`]: only a version id longer than S3's can do that.
/// Known from the event alone, so it is checked before the upload is read.
pub(super) fn beyond_s3_limits(
    settings: &HandlerSettings,
    source: &SourceObject,
) -> Option<String> {
    let key = source.key.as_str();
    // Every id has 8 characters.
    let outputs = settings.engine.variants.iter().map(|v| {
        (
            format!("{} variant", v.spec.name),
            naming::output_key(key, v.spec.name, "00000000", v.spec.extension),
        )
    });
    let manifest = ("manifest".to_owned(), manifest::key_of(key));
    if let Some((what, longest)) = outputs
        .chain([manifest])
        .max_by_key(|(_, output)| output.len())
        .filter(|(_, output)| output.len() > MAX_KEY_BYTES)
    {
        return Some(format!(
            "the {what}'s key would be {} bytes, past S3's limit of {MAX_KEY_BYTES}: \
             shorten the file name or its folders",
            longest.len()
        ));
    }
    // An event of a versioned bucket names the version; S3's are 32
    // characters.
    let version = source.version_id.clone().unwrap_or_else(|| "v".repeat(32));
    let longest_name = (settings.engine.variants.iter())
        .map(|v| v.spec.name)
        .max_by_key(|name| name.len())?;
    let bytes = metadata_bytes(&metadata(key, longest_name, Some(&version)));
    (bytes > MAX_METADATA_BYTES).then(|| {
        format!(
            "the key takes {bytes} bytes in each variant's metadata (encoded, with its \
             version), past S3's limit of {MAX_METADATA_BYTES}: shorten the file name or \
             its folders"
        )
    })
}

/// A trace span for one S3 call, shaped the way X-Ray shows AWS SDK calls
/// (a client span naming the service and operation).
pub(super) fn s3_span(operation: &'static str, bucket: &str) -> Span {
    tracing::info_span!(
        "S3",
        otel.name = "S3",
        otel.kind = "client",
        rpc.system = "aws-api",
        rpc.service = "S3",
        rpc.method = operation,
        aws.s3.bucket = bucket,
        variant = Empty,
        bytes = Empty,
    )
}

pub(super) fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
