//! Reading the upload: its headers decide before its body is read (our own
//! output, empty, too large, a version no longer current).

use super::variants::s3_span;
use super::HandlerSettings;
use crate::config;
use crate::event::SourceObject;
use crate::outcome::Outcome;
use crate::store::{ObjectHead, ObjectStore, StoreError, META_VARIANT};
use imgflow_engine::{Reason, RejectReason};
use tracing::Instrument;

/// The source's bytes and the version they were read from.
pub(super) struct Source {
    pub bytes: Vec<u8>,
    pub version: Option<String>,
}

/// The upload's size, before its body is read: the event's (S3 always
/// sends it), refused when over the limit without a request; else a HEAD's,
/// whose headers are checked as the GET's are ([`fetch`]).
pub(super) async fn size<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
) -> Result<u64, Outcome> {
    let max_bytes = settings.engine.limits.max_bytes;
    if let Some(size) = source.size {
        if size > max_bytes {
            let too_many = RejectReason::TooManyBytes {
                bytes: size,
                limit: max_bytes,
            };
            return Err(rejected(&source.key, &too_many));
        }
        return Ok(size);
    }
    let head = store
        .head(&source.bucket, &source.key)
        .instrument(s3_span("HeadObject", &source.bucket))
        .await
        .map_err(|e| store_error(source, "HEAD", e))?;
    match checks(source, &head, max_bytes) {
        Some(outcome) => Err(outcome),
        None => Ok(head.size),
    }
}

/// GETs the object as it is now, its headers checked before its body is
/// read (after [`size`]: one request per image when the event has the
/// size). The object may have been replaced since the event, so its headers
/// decide either way; in a versioned bucket, an event whose version is no
/// longer the current one is left to the newer version's event (a late
/// create after a delete marker finds nothing: `gone`).
pub(super) async fn fetch<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
) -> Result<Source, Outcome> {
    let max_bytes = settings.engine.limits.max_bytes;
    let read_body = |head: &ObjectHead| checks(source, head, max_bytes).is_none();
    let fetched = store
        .get(&source.bucket, &source.key, None, &read_body)
        .instrument(s3_span("GetObject", &source.bucket))
        .await
        .map_err(|e| store_error(source, "GET", e))?;
    match fetched.body {
        Some(bytes) => Ok(Source {
            bytes,
            version: fetched.head.version_id,
        }),
        None => Err(checks(source, &fetched.head, max_bytes).unwrap_or_else(|| {
            Outcome::stopped(&source.key, Reason::StoreFailed, "GET returned no body")
        })),
    }
}

/// What the object's headers decide: [`refuse`]d, or [`replaced`].
fn checks(source: &SourceObject, head: &ObjectHead, max_bytes: u64) -> Option<Outcome> {
    let key = source.key.as_str();
    refuse(key, head, max_bytes).or_else(|| replaced(key, head, source.version_id.as_deref()))
}

/// A request about the upload that failed.
fn store_error(source: &SourceObject, operation: &str, e: StoreError) -> Outcome {
    let key = source.key.as_str();
    match e {
        StoreError::NotFound(_) => Outcome::stopped(key, Reason::Gone, "deleted since the event"),
        StoreError::Archived(_) => Outcome::stopped(
            key,
            Reason::Archived,
            format!(
                "s3://{}/{key} is in an archive storage class: restore it, then run \
                 `imgflow reprocess` on it",
                source.bucket
            ),
        ),
        e => Outcome::stopped(
            key,
            Reason::StoreFailed,
            format!("{operation} s3://{}/{key}: {e}", source.bucket),
        ),
    }
}

/// A versioned upload whose current version is not the event's: a newer
/// upload replaced it, and that upload's own event makes the variants.
fn replaced(key: &str, head: &ObjectHead, wanted: Option<&str>) -> Option<Outcome> {
    let (wanted, current) = (wanted?, head.version_id.as_deref()?);
    (wanted != current).then(|| {
        Outcome::stopped(
            key,
            Reason::Superseded,
            format!("version {wanted} is no longer current (version {current} is)"),
        )
    })
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
pub(super) fn rejected(key: &str, rejection: &RejectReason) -> Outcome {
    let reason = rejection.reason();
    let message = match config::limit_variable(reason) {
        Some(variable) => format!("{rejection} ({variable})"),
        None => rejection.to_string(),
    };
    Outcome::stopped(key, reason, message)
}
