//! S3 event → records → engine → store, with the failure model of DESIGN.md:
//! permanent problems are reported and the invocation succeeds; transient
//! ones fail it so Lambda retries and the on-failure destination keeps the
//! event. Knows nothing of pixels (the engine) or of HTTP (the store).

use crate::config::Settings;
use crate::engine::{self, EngineError, RejectReason};
use crate::event::{S3Event, Skip, SourceObject};
use crate::naming;
use crate::store::object::{
    ObjectHead, ObjectStore, PutObject, StoreError, META_SOURCE_KEY, META_SOURCE_VERSION,
    META_VARIANT,
};
use futures_util::stream::{self, StreamExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{field::Empty, Instrument, Span};

/// Everything a record needs besides the store, read once at start.
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
}

/// One written variant.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenVariant {
    pub name: &'static str,
    pub key: String,
    pub bytes: usize,
    pub bytes_saved: i64,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    pub encode_ms: f64,
}

/// What happened to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Processed {
        key: String,
        id: String,
        source_bytes: usize,
        decode_ms: f64,
        /// Wall time of the engine (decode and every encode): the part of
        /// `processing_ms` that is not S3.
        engine_ms: f64,
        processing_ms: f64,
        variants: Vec<WrittenVariant>,
    },
    /// Nothing to do: not counted as a rejection.
    Skipped { key: String, reason: &'static str },
    /// Permanent: logged and counted (`ImagesRejected`); the invocation succeeds.
    Rejected {
        key: String,
        code: &'static str,
        message: String,
    },
    /// Transient: the invocation fails so that Lambda retries.
    Failed { key: String, message: String },
}

impl Outcome {
    pub fn key(&self) -> &str {
        match self {
            Outcome::Processed { key, .. }
            | Outcome::Skipped { key, .. }
            | Outcome::Rejected { key, .. }
            | Outcome::Failed { key, .. } => key,
        }
    }

    /// `processed`, `skipped`, `rejected` or `failed`: the X-Ray annotation and log field.
    /// The reason code of a skip or a rejection.
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Outcome::Skipped { reason, .. } => Some(reason),
            Outcome::Rejected { code, .. } => Some(code),
            Outcome::Processed { .. } | Outcome::Failed { .. } => None,
        }
    }

    /// Annotates the record's trace span (`outcome`, `reason`).
    fn record_on(&self, span: &Span) {
        span.record("outcome", self.label());
        if let Some(reason) = self.reason() {
            span.record("reason", reason);
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Processed { .. } => "processed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// Processes every record of `event`, at most `record_concurrency` at a time.
pub async fn handle_event<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    event: &S3Event,
    deadline: Instant,
) -> Vec<Outcome> {
    stream::iter(&event.records)
        .map(|record| {
            let span = tracing::info_span!("record", key = %key_of(record), outcome = Empty, reason = Empty);
            async move {
                let key = record.s3.object.key.clone();
                let outcome = match record.source(&settings.processed_bucket) {
                    Err(message) => Outcome::Rejected {
                        key,
                        code: "bad_key",
                        message,
                    },
                    Ok(Err(skip)) => skipped(key_of(record), skip),
                    Ok(Ok(source)) => handle_object(store, settings, source, deadline).await,
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

fn key_of(record: &crate::event::EventRecord) -> String {
    crate::event::decode_key(&record.s3.object.key).unwrap_or_else(|_| record.s3.object.key.clone())
}

fn skipped(key: String, skip: Skip) -> Outcome {
    match skip {
        Skip::NotACreate(_) => Outcome::Skipped {
            key,
            reason: "not_object_created",
        },
        Skip::FromProcessedBucket => Outcome::Skipped {
            key,
            reason: "processed_bucket",
        },
        Skip::FolderKey => Outcome::Rejected {
            key,
            code: "folder_key",
            message: "the key ends with '/': a folder, not a file".to_owned(),
        },
        Skip::Empty => Outcome::Rejected {
            key,
            code: RejectReason::Empty.code(),
            message: RejectReason::Empty.to_string(),
        },
    }
}

fn rejected(key: &str, reason: RejectReason) -> Outcome {
    Outcome::Rejected {
        key: key.to_owned(),
        code: reason.code(),
        message: reason.to_string(),
    }
}

fn failed(key: &str, message: impl Into<String>) -> Outcome {
    Outcome::Failed {
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Processes one object, within the deadline.
pub async fn handle_object<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: SourceObject,
    deadline: Instant,
) -> Outcome {
    let stop_at = deadline
        .checked_sub(settings.deadline_margin)
        .unwrap_or(deadline);
    let key = source.key.clone();
    match tokio::time::timeout_at(
        stop_at.into(),
        process_object(store, settings, &source, stop_at),
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(_) => failed(
            &key,
            "stopped before the invocation deadline; Lambda will retry",
        ),
    }
}

async fn process_object<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
    stop_at: Instant,
) -> Outcome {
    let started = Instant::now();
    let key = source.key.as_str();
    let limits = settings.engine.limits;
    // The event's size refuses a huge upload without a request.
    if let Some(size) = source.size.filter(|&s| s > limits.max_bytes) {
        return rejected(
            key,
            RejectReason::TooManyBytes {
                bytes: size,
                limit: limits.max_bytes,
            },
        );
    }
    let gone = || Outcome::Skipped {
        key: key.to_owned(),
        reason: "gone",
    };
    // Without a size in the event, a HEAD checks the object before the GET.
    // With one (S3 always sends it), the GET's own headers are checked before
    // its body is read: one request fewer per image.
    let mut version = source.version_id.clone();
    if source.size.is_none() {
        let head = match store
            .head(&source.bucket, key)
            .instrument(s3_span("HeadObject", &source.bucket))
            .await
        {
            Ok(head) => head,
            Err(StoreError::NotFound(_)) => return gone(),
            Err(StoreError::Transient(e)) => {
                return failed(key, format!("HEAD s3://{}/{key}: {e}", source.bucket))
            }
        };
        if let Some(outcome) = refuse(key, &head, limits.max_bytes) {
            return outcome;
        }
        version = version.or(head.version_id);
    }
    // The object may have been replaced since the event: its headers decide
    // before the body is read.
    let read_body = |head: &ObjectHead| refuse(key, head, limits.max_bytes).is_none();
    let fetched = match store
        .get(&source.bucket, key, version.as_deref(), &read_body)
        .instrument(s3_span("GetObject", &source.bucket))
        .await
    {
        Ok(fetched) => fetched,
        Err(StoreError::NotFound(_)) => return gone(),
        Err(StoreError::Transient(e)) => {
            return failed(key, format!("GET s3://{}/{key}: {e}", source.bucket))
        }
    };
    let Some(bytes) = fetched.body else {
        return refuse(key, &fetched.head, limits.max_bytes)
            .unwrap_or_else(|| failed(key, "GET returned no body"));
    };
    let version = version.or(fetched.head.version_id);

    let engine_settings = Arc::clone(&settings.engine);
    let record_span = Span::current();
    let engine_started = Instant::now();
    let encoded = tokio::task::spawn_blocking(move || {
        let result = record_span.in_scope(|| engine::process(&bytes, &engine_settings));
        (bytes.len(), result)
    })
    .await;
    let engine_ms = engine_started.elapsed().as_secs_f64() * 1000.0;
    let (source_bytes, image) = match encoded {
        Ok((n, Ok(image))) => (n, image),
        Ok((_, Err(EngineError::Rejected(reason)))) => return rejected(key, reason),
        // An encoder failing on valid pixels is our bug: keep the event for a redrive.
        Ok((_, Err(e @ EngineError::Encode { .. }))) => return failed(key, e.to_string()),
        Err(join) => return failed(key, format!("engine task failed: {join}")),
    };
    if Instant::now() >= stop_at {
        return failed(key, "no time left to write the variants; Lambda will retry");
    }

    let id = image.source.id.clone();
    let keys: Vec<String> = image
        .variants
        .iter()
        .map(|v| naming::output_key(key, v.spec.name, &id, v.spec.extension))
        .collect();
    let puts = image.variants.iter().zip(&keys).map(|(v, out_key)| {
        let mut metadata = vec![
            (META_SOURCE_KEY, metadata_value(key)),
            (META_VARIANT, v.spec.name.to_owned()),
        ];
        if let Some(version) = &version {
            metadata.push((META_SOURCE_VERSION, metadata_value(version)));
        }
        let span = s3_span("PutObject", &settings.processed_bucket);
        span.record("variant", v.spec.name);
        span.record("bytes", v.bytes.len());
        store
            .put(PutObject {
                bucket: &settings.processed_bucket,
                key: out_key,
                body: &v.bytes,
                content_type: v.spec.content_type,
                cache_control: &settings.cache_control,
                metadata,
                kms_key_arn: settings.kms_key_arn.as_deref(),
            })
            .instrument(span)
    });
    let results = futures_util::future::join_all(puts).await;
    if let Some(error) = results.iter().find_map(|r| r.as_ref().err()) {
        // Never half-land: take back what did land (best effort; a retry
        // rewrites the same keys anyway).
        let landed = results
            .iter()
            .zip(&keys)
            .filter(|(r, _)| r.is_ok())
            .map(|(_, k)| k);
        for out_key in landed {
            let _ = store.delete(&settings.processed_bucket, out_key).await;
        }
        return failed(
            key,
            format!("PUT to s3://{}: {error}", settings.processed_bucket),
        );
    }

    let variants = image
        .variants
        .iter()
        .zip(keys)
        .map(|(v, out_key)| WrittenVariant {
            name: v.spec.name,
            key: out_key,
            bytes: v.bytes.len(),
            bytes_saved: v.bytes_saved(source_bytes),
            width: v.width,
            height: v.height,
            quality: v.quality,
            encode_ms: v.encode_ms,
        })
        .collect();
    Outcome::Processed {
        key: key.to_owned(),
        id,
        source_bytes,
        decode_ms: image.decode_ms + image.prepare_ms,
        engine_ms,
        processing_ms: started.elapsed().as_secs_f64() * 1000.0,
        variants,
    }
}

/// What the object's headers alone decide: our own output (skipped), empty
/// or too large (rejected, never downloaded).
fn refuse(key: &str, head: &ObjectHead, max_bytes: u64) -> Option<Outcome> {
    if head.metadata.contains_key(META_VARIANT) {
        return Some(Outcome::Skipped {
            key: key.to_owned(),
            reason: "own_output",
        });
    }
    if head.size == 0 {
        return Some(rejected(key, RejectReason::Empty));
    }
    (head.size > max_bytes).then(|| {
        rejected(
            key,
            RejectReason::TooManyBytes {
                bytes: head.size,
                limit: max_bytes,
            },
        )
    })
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

/// S3 metadata travels as HTTP headers: ASCII only. Keys may be any UTF-8,
/// so they are stored percent-encoded (reversible, readable for ASCII keys).
pub fn metadata_value(text: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'/')
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    utf8_percent_encode(text, KEEP).to_string()
}

/// `Cache-Control` of the variants when `CACHE_CONTROL` is not set: the keys
/// are content-addressed, so a variant never changes under its key.
pub const DEFAULT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

impl HandlerSettings {
    /// Reads `PROCESSED_BUCKET` (required), `CACHE_CONTROL`, `KMS_KEY_ARN`,
    /// `RECORD_CONCURRENCY`, `DEADLINE_MARGIN_MS` and the engine's variables.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, crate::config::ConfigError> {
        use crate::config::ConfigError;
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let invalid = |variable: &str, value: &str, reason: &str| ConfigError {
            variable: variable.to_owned(),
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        let processed_bucket = get("PROCESSED_BUCKET").ok_or_else(|| {
            invalid(
                "PROCESSED_BUCKET",
                "",
                "required: the bucket the variants are written to",
            )
        })?;
        if !valid_bucket_name(&processed_bucket) {
            return Err(invalid(
                "PROCESSED_BUCKET",
                &processed_bucket,
                "not a valid S3 bucket name",
            ));
        }
        let kms_key_arn = get("KMS_KEY_ARN");
        if let Some(arn) = &kms_key_arn {
            if !arn.starts_with("arn:") || !arn.contains(":kms:") {
                return Err(invalid(
                    "KMS_KEY_ARN",
                    arn,
                    "expected a KMS key ARN (arn:aws:kms:…)",
                ));
            }
        }
        let number = |name: &str, default: u64, max: u64| -> Result<u64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(invalid(
                        name,
                        &v,
                        &format!("expected an integer from 1 to {max}"),
                    )),
                },
            }
        };
        Ok(Self {
            processed_bucket,
            cache_control: get("CACHE_CONTROL").unwrap_or_else(|| DEFAULT_CACHE_CONTROL.to_owned()),
            kms_key_arn,
            engine: Arc::new(Settings::from_lookup(&lookup)?),
            record_concurrency: number("RECORD_CONCURRENCY", 2, 64)? as usize,
            deadline_margin: Duration::from_millis(number("DEADLINE_MARGIN_MS", 1500, 60_000)?),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<HandlerSettings, crate::config::ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        HandlerSettings::from_lookup(|n| map.get(n).cloned())
    }

    #[test]
    fn metadata_values_are_ascii() {
        assert_eq!(
            metadata_value("holiday photos/été 1.png"),
            "holiday%20photos/%C3%A9t%C3%A9%201.png"
        );
        assert_eq!(metadata_value("plain/key-1_x.jpg"), "plain/key-1_x.jpg");
    }

    #[test]
    fn reads_the_function_environment() {
        let s = from(&[("PROCESSED_BUCKET", "out-bucket"), ("JPEG_QUALITY", "70")]).unwrap();
        assert_eq!(s.processed_bucket, "out-bucket");
        assert_eq!(s.cache_control, DEFAULT_CACHE_CONTROL);
        assert_eq!(s.kms_key_arn, None);
        assert_eq!(s.engine.variants[0].quality, Some(70));
        let s = from(&[
            ("PROCESSED_BUCKET", "out"),
            ("KMS_KEY_ARN", "arn:aws:kms:eu-west-1:123456789012:key/abc"),
            ("CACHE_CONTROL", "no-cache"),
            ("RECORD_CONCURRENCY", "8"),
        ])
        .unwrap();
        assert_eq!(s.record_concurrency, 8);
        assert_eq!(s.cache_control, "no-cache");
        assert!(s.kms_key_arn.is_some());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (pairs, variable) in [
            (vec![], "PROCESSED_BUCKET"),
            (
                vec![("PROCESSED_BUCKET", "Not_A_Bucket")],
                "PROCESSED_BUCKET",
            ),
            (
                vec![
                    ("PROCESSED_BUCKET", "ok-bucket"),
                    ("KMS_KEY_ARN", "alias/mine"),
                ],
                "KMS_KEY_ARN",
            ),
            (
                vec![
                    ("PROCESSED_BUCKET", "ok-bucket"),
                    ("RECORD_CONCURRENCY", "0"),
                ],
                "RECORD_CONCURRENCY",
            ),
            (
                vec![("PROCESSED_BUCKET", "ok-bucket"), ("WEBP_QUALITY", "x")],
                "WEBP_QUALITY",
            ),
        ] {
            let err = from(&pairs).unwrap_err();
            assert_eq!(err.variable, variable, "{pairs:?}");
        }
    }
}
