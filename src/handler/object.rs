//! One object through the pipeline: fetch (refusing what its headers rule
//! out), encode every variant, write them all or none. Each step returns
//! the record's outcome when it ends the record.

use super::HandlerSettings;
use crate::config;
use crate::event::SourceObject;
use crate::outcome::{Outcome, WrittenVariant};
use crate::store::{
    metadata_value, ObjectHead, ObjectStore, PutObject, StoreError, META_SOURCE_KEY,
    META_SOURCE_VERSION, META_VARIANT,
};
use imgflow_engine::memory::{Admission, Budget, NotAdmitted};
use imgflow_engine::{
    self as engine, naming, EngineError, Inspection, ProcessedImage, Reason, RejectReason, Schedule,
};
use std::sync::Arc;
use std::time::Instant;
use tracing::{field::Empty, Instrument, Span};

/// The source's bytes and the version they were read from.
struct Source {
    bytes: Vec<u8>,
    version: Option<String>,
}

pub(super) async fn process<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
    stop_at: Instant,
) -> Outcome {
    let started = Instant::now();
    let key = source.key.as_str();
    let fetched = match fetch(store, settings, source).await {
        Ok(fetched) => fetched,
        Err(outcome) => return outcome,
    };
    let source_bytes = fetched.bytes.len();
    let engine_started = Instant::now();
    // The admission is held until the variants are written: they are in
    // memory until then.
    let (image, _admission) = match encode(settings, key, fetched.bytes, stop_at).await {
        Ok(encoded) => encoded,
        Err(outcome) => return outcome,
    };
    let engine_ms = ms_since(engine_started);
    if Instant::now() >= stop_at {
        return Outcome::stopped(
            key,
            Reason::Deadline,
            "no time left to write the variants; Lambda will retry",
        );
    }
    let (id, decode_ms) = (image.source.id.clone(), image.decode_ms);
    let variants = match write(store, settings, key, fetched.version.as_deref(), image).await {
        Ok(variants) => variants,
        Err(outcome) => return outcome,
    };
    Outcome::Processed {
        key: key.to_owned(),
        id,
        source_bytes,
        decode_ms,
        engine_ms,
        processing_ms: ms_since(started),
        variants,
    }
}

/// GETs the object. Without a size in the event, a HEAD checks it first;
/// with one (S3 always sends it), the GET's own headers are checked before
/// its body is read: one request fewer per image. The object may have been
/// replaced since the event, so its headers decide either way.
async fn fetch<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
) -> Result<Source, Outcome> {
    let key = source.key.as_str();
    let max_bytes = settings.engine.limits.max_bytes;
    // The event's size refuses a huge upload without a request.
    if let Some(size) = source.size.filter(|&s| s > max_bytes) {
        return Err(rejected(
            key,
            &RejectReason::TooManyBytes {
                bytes: size,
                limit: max_bytes,
            },
        ));
    }
    let store_error = |operation: &str, e: StoreError| match e {
        StoreError::NotFound(_) => Outcome::stopped(key, Reason::Gone, "deleted since the event"),
        StoreError::Transient(e) => Outcome::stopped(
            key,
            Reason::StoreFailed,
            format!("{operation} s3://{}/{key}: {e}", source.bucket),
        ),
    };
    let mut version = source.version_id.clone();
    if source.size.is_none() {
        let head = store
            .head(&source.bucket, key)
            .instrument(s3_span("HeadObject", &source.bucket))
            .await
            .map_err(|e| store_error("HEAD", e))?;
        if let Some(outcome) = refuse(key, &head, max_bytes) {
            return Err(outcome);
        }
        version = version.or(head.version_id);
    }
    let read_body = |head: &ObjectHead| refuse(key, head, max_bytes).is_none();
    let fetched = store
        .get(&source.bucket, key, version.as_deref(), &read_body)
        .instrument(s3_span("GetObject", &source.bucket))
        .await
        .map_err(|e| store_error("GET", e))?;
    match fetched.body {
        Some(bytes) => Ok(Source {
            bytes,
            version: version.or(fetched.head.version_id),
        }),
        None => Err(refuse(key, &fetched.head, max_bytes)
            .unwrap_or_else(|| Outcome::stopped(key, Reason::StoreFailed, "GET returned no body"))),
    }
}

/// What the object's headers alone decide: our own output (skipped), empty
/// or too large (rejected, never downloaded).
fn refuse(key: &str, head: &ObjectHead, max_bytes: u64) -> Option<Outcome> {
    if head.metadata.contains_key(META_VARIANT) {
        return Some(Outcome::stopped(
            key,
            Reason::OwnOutput,
            "a variant this pipeline wrote",
        ));
    }
    if head.size == 0 {
        return Some(rejected(key, &RejectReason::Empty));
    }
    (head.size > max_bytes).then(|| {
        rejected(
            key,
            &RejectReason::TooManyBytes {
                bytes: head.size,
                limit: max_bytes,
            },
        )
    })
}

/// The engine's refusal as a rejection, naming the variable behind a limit.
fn rejected(key: &str, rejection: &RejectReason) -> Outcome {
    let reason = rejection.reason();
    let message = match config::limit_variable(reason) {
        Some(variable) => format!("{rejection} ({variable})"),
        None => rejection.to_string(),
    };
    Outcome::stopped(key, reason, message)
}

/// Checks the header, waits for the memory the image needs, then decodes
/// and encodes, on a blocking thread, in the record's trace span.
async fn encode(
    settings: &HandlerSettings,
    key: &str,
    bytes: Vec<u8>,
    stop_at: Instant,
) -> Result<(ProcessedImage, Admission), Outcome> {
    let engine_settings = Arc::clone(&settings.engine);
    let budget = Arc::clone(&settings.memory);
    let record_span = Span::current();
    let result = tokio::task::spawn_blocking(move || {
        record_span.in_scope(|| {
            // The engine runs on rayon's global pool: one thread per core.
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let inspection = engine::inspect(&bytes, &engine_settings, threads)?;
            let (admission, schedule) = admit(&budget, &inspection, stop_at)?;
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
        Ok(Err(Refusal::NoTime)) => Err(Outcome::stopped(
            key,
            Reason::Deadline,
            "waited for memory until the deadline; Lambda will retry",
        )),
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

/// Admits an image against the invocation's budget ([`Inspection::admit`]),
/// waiting for the records ahead of it until the deadline. The variants go
/// to S3 without a copy: the engine's estimate covers them.
fn admit(
    budget: &Arc<Budget>,
    inspection: &Inspection,
    stop_at: Instant,
) -> Result<(Admission, Schedule), Refusal> {
    inspection
        .admit(budget, Some(stop_at))
        .map_err(|why| match why {
            NotAdmitted::TimedOut => Refusal::NoTime,
            NotAdmitted::TooLarge => {
                let too_large = inspection.too_large(budget, |needed_mib| {
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
/// are deleted again (best effort; a retry rewrites the same keys anyway).
async fn write<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    key: &str,
    version: Option<&str>,
    image: ProcessedImage,
) -> Result<Vec<WrittenVariant>, Outcome> {
    let bucket = settings.processed_bucket.as_str();
    let id = image.source.id.as_str();
    let written: Vec<WrittenVariant> = image
        .variants
        .iter()
        .map(|v| WrittenVariant {
            name: v.spec.name,
            key: naming::output_key(key, v.spec.name, id, v.spec.extension),
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
        let mut metadata = vec![
            (META_SOURCE_KEY, metadata_value(key)),
            (META_VARIANT, v.spec.name.to_owned()),
        ];
        if let Some(version) = version {
            metadata.push((META_SOURCE_VERSION, metadata_value(version)));
        }
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
            })
            .instrument(span)
    });
    let results = futures_util::future::join_all(puts).await;
    if let Some(error) = results.iter().find_map(|r| r.as_ref().err()) {
        let landed = results.iter().zip(&written).filter(|(r, _)| r.is_ok());
        for (_, w) in landed {
            let _ = store.delete(bucket, &w.key).await;
        }
        return Err(Outcome::stopped(
            key,
            Reason::StoreFailed,
            format!("PUT to s3://{bucket}: {error}"),
        ));
    }
    Ok(written)
}

/// A trace span for one S3 call, shaped the way X-Ray shows AWS SDK calls
/// (a client span naming the service and operation).
fn s3_span(operation: &'static str, bucket: &str) -> Span {
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

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
