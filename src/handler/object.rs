//! One upload through the pipeline: fetch (refusing what its headers rule
//! out), compare with the manifest in place, encode every variant, write
//! them all or none, then the manifest, then delete what it replaced. Each
//! step returns the record's outcome when it ends the record.

use super::fetch::{fetch, size};
use super::manifests::{self, InPlace};
use super::variants::Held;
use super::variants::{beyond_s3_limits, encode, ms_since, write};
use super::HandlerSettings;
use crate::event::{Sequencer, SourceObject};
use crate::manifest::{self, Manifest};
use crate::outcome::{Outcome, WrittenVariant};
use crate::store::{ObjectStore, StoreError};
use imgflow_engine::{naming, Reason};
use std::time::{Instant, SystemTime};

/// How often the manifest is read again when another record replaced it
/// between our read and our write (two events of one key at once).
pub(super) const MANIFEST_ATTEMPTS: usize = 3;

pub(super) async fn process<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
    stop_at: Instant,
) -> Outcome {
    let started = Instant::now();
    let key = source.key.as_str();
    if let Some(message) = beyond_s3_limits(settings, source) {
        return Outcome::stopped(key, Reason::BadKey, message);
    }
    // The upload's bytes are held in the memory budget before they are
    // read, and grown into the image's estimate at its admission: a record
    // waiting for room never holds a body the budget does not count. One
    // record at a time goes from its reservation to its admission, so two
    // never each hold a body while waiting for the other's room.
    let size = match size(store, settings, source).await {
        Ok(size) => size,
        Err(outcome) => return outcome,
    };
    let mut held = match Held::reserve(settings, key, size, stop_at).await {
        Ok(held) => Some(held),
        Err(outcome) => return outcome,
    };
    // The manifest in place is read beside the upload: one round trip.
    let (fetched, first_read) = futures_util::future::join(
        fetch(store, settings, source),
        manifests::read(store, settings, key),
    )
    .await;
    let fetched = match fetched {
        Ok(fetched) => fetched,
        Err(outcome) => return outcome,
    };
    let mut first_read = Some(first_read);
    let upload = Upload {
        source,
        bytes: fetched.bytes.len(),
        sha256: naming::sha256_hex(&fetched.bytes),
        version: fetched.version,
    };
    let mut pixels = Some(fetched.bytes);
    let mut encoded: Option<Encoded> = None;
    for _ in 0..MANIFEST_ATTEMPTS {
        let read = match first_read.take() {
            Some(read) => read,
            None => manifests::read(store, settings, key).await,
        };
        let in_place = match read {
            Ok(in_place) => in_place,
            Err(e) => return store_failed(key, "GET the manifest", &e),
        };
        let sequencer = upload.sequencer(&in_place);
        if let Some(newer) = in_place
            .manifest
            .as_ref()
            .filter(|m| m.is_newer_than(source.sequencer.as_ref()))
        {
            // Nothing to encode: the turn and the reserved bytes go back
            // before the requests that follow.
            drop(held.take());
            let ours = encoded
                .as_ref()
                .map(|e| e.variant_keys())
                .unwrap_or_default();
            return superseded(store, settings, key, newer, &in_place, &ours).await;
        }
        if let Some(current) = in_place.manifest.as_ref().filter(|m| {
            m.id == upload.id()
                && m.names_exactly(
                    expected_keys(settings, key, upload.id())
                        .iter()
                        .map(String::as_str),
                )
        }) {
            held = None;
            match unchanged(store, settings, &upload, current, &in_place, sequencer).await {
                Some(outcome) => return outcome,
                None => continue,
            }
        }
        if encoded.is_none() {
            let Some(bytes) = pixels.take() else {
                break;
            };
            // Given back by a turn of this loop that did not encode: the
            // body waits uncounted for its turn (rare: a manifest that
            // changed under us).
            let held = match held.take() {
                Some(held) => held,
                None => match Held::reserve(settings, key, bytes.len() as u64, stop_at).await {
                    Ok(held) => held,
                    Err(outcome) => return outcome,
                },
            };
            let encoding =
                encode_and_write(store, settings, &upload, (bytes, held), &in_place, stop_at);
            encoded = match encoding.await {
                Ok(done) => Some(done),
                Err(outcome) => return outcome,
            };
        }
        let Some(done) = encoded.as_ref() else {
            break;
        };
        let next = done.manifest(&upload, sequencer);
        match manifests::replace(store, settings, &in_place, &next).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return store_failed(key, "PUT the manifest", &e),
        }
        // The new manifest is in place: nothing names the old variants now.
        let retired = match &in_place.manifest {
            Some(previous) => previous.retired_by(&next),
            None if in_place.etag.is_some() => {
                match leftovers(store, settings, key, &next.id, None).await {
                    Ok(keys) => keys,
                    Err(e) => return store_failed(key, "LIST the replaced variants", &e),
                }
            }
            None => Vec::new(),
        };
        let (replaced, failure) =
            manifests::delete_all(store, &settings.processed_bucket, &retired).await;
        if let Some(e) = failure {
            return store_failed(
                key,
                "DELETE the replaced variants (the new manifest is in place; the retry deletes them)",
                &e,
            );
        }
        return done.outcome(key, upload.bytes, started, replaced);
    }
    Outcome::stopped(
        key,
        Reason::StoreFailed,
        format!("the manifest changed under us {MANIFEST_ATTEMPTS} times; Lambda will retry"),
    )
}

/// What the record knows of its upload once fetched.
struct Upload<'a> {
    source: &'a SourceObject,
    bytes: usize,
    sha256: String,
    version: Option<String>,
}

impl Upload<'_> {
    fn id(&self) -> &str {
        &self.sha256[..8]
    }

    /// The event's sequencer; an object without one (`imgflow reprocess`)
    /// keeps the one in place, so that the order of later events still holds.
    fn sequencer(&self, in_place: &InPlace) -> Option<Sequencer> {
        self.source.sequencer.clone().or_else(|| {
            in_place
                .manifest
                .as_ref()
                .and_then(|m| m.source.sequencer.clone())
        })
    }
}

/// The variants made and written, waiting for their manifest.
struct Encoded {
    id: String,
    format: &'static str,
    width: u32,
    height: u32,
    decode_ms: f64,
    engine_ms: f64,
    variants: Vec<WrittenVariant>,
}

impl Encoded {
    fn variant_keys(&self) -> Vec<String> {
        self.variants.iter().map(|v| v.key.clone()).collect()
    }

    fn manifest(&self, upload: &Upload<'_>, sequencer: Option<Sequencer>) -> Manifest {
        Manifest {
            source: manifest::Source {
                bucket: upload.source.bucket.clone(),
                key: upload.source.key.clone(),
                version_id: upload.version.clone(),
                sequencer,
                bytes: upload.bytes as u64,
                sha256: upload.sha256.clone(),
                format: self.format.to_owned(),
                width: self.width,
                height: self.height,
            },
            id: self.id.clone(),
            variants: self
                .variants
                .iter()
                .map(|v| manifest::Variant {
                    name: v.name.to_owned(),
                    key: v.key.clone(),
                    content_type: v.content_type.to_owned(),
                    width: v.width,
                    height: v.height,
                    bytes: v.bytes as u64,
                })
                .collect(),
            updated: now_rfc3339(),
        }
    }

    fn outcome(
        &self,
        key: &str,
        source_bytes: usize,
        started: Instant,
        replaced: Vec<String>,
    ) -> Outcome {
        Outcome::Processed {
            key: key.to_owned(),
            id: self.id.clone(),
            source_bytes,
            decode_ms: self.decode_ms,
            engine_ms: self.engine_ms,
            processing_ms: ms_since(started),
            variants: self.variants.clone(),
            replaced,
        }
    }
}

/// Decodes, encodes and writes every variant (not yet named by a manifest).
async fn encode_and_write<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    upload: &Upload<'_>,
    (bytes, held): (Vec<u8>, Held),
    in_place: &InPlace,
    stop_at: Instant,
) -> Result<Encoded, Outcome> {
    let key = upload.source.key.as_str();
    let engine_started = Instant::now();
    // The admission is held until the variants are written: they are in
    // memory until then.
    let (image, _admission) = encode(settings, key, bytes, held, stop_at).await?;
    let engine_ms = ms_since(engine_started);
    if Instant::now() >= stop_at {
        return Err(Outcome::stopped(
            key,
            Reason::Deadline,
            "no time left to write the variants; Lambda will retry",
        ));
    }
    let (id, decode_ms) = (image.source.id.clone(), image.decode_ms);
    let (format, width, height) = (image.source.format, image.source.width, image.source.height);
    let variants = write(
        store,
        settings,
        key,
        upload.version.as_deref(),
        image,
        in_place,
    )
    .await?;
    Ok(Encoded {
        id,
        format,
        width,
        height,
        decode_ms,
        engine_ms,
        variants,
    })
}

/// The keys the enabled variants of `id` get.
fn expected_keys(settings: &HandlerSettings, key: &str, id: &str) -> Vec<String> {
    settings
        .engine
        .variants
        .iter()
        .map(|v| naming::output_key(key, v.spec.name, id, v.spec.extension))
        .collect()
}

/// The same bytes as the manifest's upload: nothing to encode. A newer event
/// (or another version) rewrites the manifest's source; the same event
/// again (a duplicate delivery, or the retry of an interrupted replacement)
/// deletes what the replacement left. `None`: the manifest changed under
/// us; decide again.
async fn unchanged<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    upload: &Upload<'_>,
    current: &Manifest,
    in_place: &InPlace,
    sequencer: Option<Sequencer>,
) -> Option<Outcome> {
    let key = upload.source.key.as_str();
    let repeat = current.source.sequencer == sequencer
        && current.source.version_id == upload.version
        && current.source.bucket == upload.source.bucket;
    if repeat {
        let stale = match leftovers(store, settings, key, &current.id, in_place.last_modified).await
        {
            Ok(stale) => stale,
            Err(e) => return Some(store_failed(key, "LIST leftover variants", &e)),
        };
        let (deleted, failure) =
            manifests::delete_all(store, &settings.processed_bucket, &stale).await;
        if let Some(e) = failure {
            return Some(store_failed(key, "DELETE leftover variants", &e));
        }
        return Some(Outcome::Unchanged {
            key: key.to_owned(),
            id: current.id.clone(),
            manifest_written: false,
            deleted,
        });
    }
    let mut next = current.clone();
    next.source.bucket = upload.source.bucket.clone();
    next.source.version_id = upload.version.clone();
    next.source.sequencer = sequencer;
    next.updated = now_rfc3339();
    match manifests::replace(store, settings, in_place, &next).await {
        Ok(()) => Some(Outcome::Unchanged {
            key: key.to_owned(),
            id: current.id.clone(),
            manifest_written: true,
            deleted: Vec::new(),
        }),
        Err(StoreError::Conflict(_)) => None,
        Err(e) => Some(store_failed(key, "PUT the manifest", &e)),
    }
}

/// Variants of `key` with another id than `keep`, found by their metadata;
/// with `older_than`, only those written before it (a record racing ours may
/// be writing a newer upload's variants right now).
async fn leftovers<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    key: &str,
    keep: &str,
    older_than: Option<SystemTime>,
) -> Result<Vec<String>, StoreError> {
    let found = manifests::variants_by_metadata(store, &settings.processed_bucket, key).await?;
    Ok(found
        .into_iter()
        .filter(|v| naming::variant_of(key, &v.key).is_some_and(|(_, id)| id != keep))
        .filter(|v| match (older_than, v.last_modified) {
            (None, _) => true,
            (Some(limit), Some(written)) => written <= limit,
            (Some(_), None) => false,
        })
        .map(|v| v.key)
        .collect())
}

/// A later event's manifest is in place: this record writes nothing that
/// stays. Variants it already wrote that the newer manifest does not name
/// are taken back.
async fn superseded<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    key: &str,
    newer: &Manifest,
    in_place: &InPlace,
    ours: &[String],
) -> Outcome {
    let orphans: Vec<String> = ours
        .iter()
        .filter(|k| !in_place.names(k))
        .cloned()
        .collect();
    let (_, failure) = manifests::delete_all(store, &settings.processed_bucket, &orphans).await;
    if let Some(e) = failure {
        return store_failed(key, "DELETE variants a newer upload replaced", &e);
    }
    let sequencer = newer
        .source
        .sequencer
        .as_ref()
        .map_or_else(String::new, |s| s.to_string());
    Outcome::stopped(
        key,
        Reason::Superseded,
        format!(
            "the manifest in place comes from a later event of this key (sequencer {sequencer})"
        ),
    )
}

pub(super) fn store_failed(key: &str, what: &str, e: &StoreError) -> Outcome {
    Outcome::stopped(key, Reason::StoreFailed, format!("{what}: {e}"))
}

/// Now, as RFC 3339 in UTC to the microsecond (`2026-11-27T23:16:39.374857Z`).
pub(super) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}
