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

/// GETs the object as it is now. Without a size in the event, a HEAD checks
/// it first; with one (S3 always sends it), the GET's own headers are
/// checked before its body is read: one request fewer per image. The object
/// may have been replaced since the event, so its headers decide either way;
/// in a versioned bucket, an event whose version is no longer the current
/// one is left to the newer version's event (a late create after a delete
/// marker finds nothing: `gone`).
pub(super) async fn fetch<S: ObjectStore>(
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
    };
    let wanted = source.version_id.as_deref();
    let refuse =
        |head: &ObjectHead| refuse(key, head, max_bytes).or_else(|| replaced(key, head, wanted));
    if source.size.is_none() {
        let head = store
            .head(&source.bucket, key)
            .instrument(s3_span("HeadObject", &source.bucket))
            .await
            .map_err(|e| store_error("HEAD", e))?;
        if let Some(outcome) = refuse(&head) {
            return Err(outcome);
        }
    }
    let read_body = |head: &ObjectHead| refuse(head).is_none();
    let fetched = store
        .get(&source.bucket, key, None, &read_body)
        .instrument(s3_span("GetObject", &source.bucket))
        .await
        .map_err(|e| store_error("GET", e))?;
    match fetched.body {
        Some(bytes) => Ok(Source {
            bytes,
            version: fetched.head.version_id,
        }),
        None => Err(refuse(&fetched.head)
            .unwrap_or_else(|| Outcome::stopped(key, Reason::StoreFailed, "GET returned no body"))),
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
