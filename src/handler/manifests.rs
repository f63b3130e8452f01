//! Reading and replacing an upload's manifest in the processed bucket with
//! S3's conditional writes, so that two records racing on one key never
//! overwrite each other's manifest unseen; and finding variants by their
//! metadata when no manifest names them.

use super::HandlerSettings;
use crate::manifest::{self, Manifest};
use crate::store::{
    metadata_text, metadata_value, Condition, Listed, ObjectStore, PutObject, StoreError,
};
use crate::store::{META_SOURCE_KEY, META_VARIANT};
use imgflow_engine::naming;
use std::time::SystemTime;

/// The manifest of a key as it is now in the processed bucket.
#[derive(Debug, Clone, Default)]
pub(super) struct InPlace {
    /// `None`: there is none, or it cannot be read (then `etag` is set and it
    /// is replaced like any other).
    pub manifest: Option<Manifest>,
    /// What a conditional replace names; `None` when there is no manifest.
    pub etag: Option<String>,
    pub last_modified: Option<SystemTime>,
}

impl InPlace {
    pub fn condition(&self) -> Condition {
        match &self.etag {
            Some(etag) => Condition::Unchanged(etag.clone()),
            None => Condition::Absent,
        }
    }

    /// Whether it names `key` as a variant.
    pub fn names(&self, key: &str) -> bool {
        self.manifest
            .as_ref()
            .is_some_and(|m| m.variants.iter().any(|v| v.key == key))
    }
}

pub(super) async fn read<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source_key: &str,
) -> Result<InPlace, StoreError> {
    let key = manifest::key_of(source_key);
    let fetched = match store
        .get(&settings.processed_bucket, &key, None, &|_| true)
        .await
    {
        Ok(fetched) => fetched,
        Err(StoreError::NotFound(_)) => return Ok(InPlace::default()),
        Err(e) => return Err(e),
    };
    let body = fetched.body.unwrap_or_default();
    let manifest = match Manifest::parse(&key, &body) {
        Ok(manifest) => Some(manifest),
        Err(e) => {
            // Only this function writes manifests; one that does not parse
            // is replaced, and its variants are found by their metadata.
            tracing::warn!(error = %e, "unreadable manifest: replacing it");
            None
        }
    };
    Ok(InPlace {
        manifest,
        etag: fetched.head.etag,
        last_modified: fetched.head.last_modified,
    })
}

/// Writes `next` in place of `in_place`, only if nobody replaced it since it
/// was read ([`StoreError::Conflict`] otherwise).
pub(super) async fn replace<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    in_place: &InPlace,
    next: &Manifest,
) -> Result<(), StoreError> {
    let key = manifest::key_of(&next.source.key);
    let result = store
        .put(PutObject {
            bucket: &settings.processed_bucket,
            key: &key,
            body: next.to_json(),
            content_type: manifest::CONTENT_TYPE,
            cache_control: manifest::CACHE_CONTROL,
            metadata: vec![(META_SOURCE_KEY, metadata_value(&next.source.key))],
            kms_key_arn: settings.kms_key_arn.as_deref(),
            condition: Some(in_place.condition()),
        })
        .await;
    match result {
        // `If-Match` on an object deleted meanwhile answers 404.
        Err(StoreError::NotFound(e)) => Err(StoreError::Conflict(e)),
        other => other,
    }
}

/// Deletes the manifest only if it is still the one read.
pub(super) async fn remove<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source_key: &str,
    in_place: &InPlace,
) -> Result<bool, StoreError> {
    let Some(etag) = in_place.etag.as_deref() else {
        return Ok(false);
    };
    let key = manifest::key_of(source_key);
    match store
        .delete(&settings.processed_bucket, &key, Some(etag))
        .await
    {
        Ok(()) => Ok(true),
        Err(StoreError::NotFound(e)) => Err(StoreError::Conflict(e)),
        Err(e) => Err(e),
    }
}

/// Every variant of `source_key` in the processed bucket, found by the shape
/// of its key and confirmed by its metadata (the source key each variant
/// carries): what uploads processed before manifests existed, or an
/// interrupted replacement, left behind.
pub async fn variants_by_metadata<S: ObjectStore>(
    store: &S,
    processed_bucket: &str,
    source_key: &str,
) -> Result<Vec<Listed>, StoreError> {
    let (folders, stem) = naming::split_key(source_key);
    let listed = store
        .list(processed_bucket, &format!("{folders}{stem}_"))
        .await?;
    let mut found = Vec::new();
    for object in listed {
        if naming::variant_of(source_key, &object.key).is_none() {
            continue;
        }
        let head = match store.head(processed_bucket, &object.key).await {
            Ok(head) => head,
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        // Decoded, not compared with today's encoding: outputs written
        // with other settings may hold the key in the other form.
        let ours = head.metadata.contains_key(META_VARIANT)
            && (head.metadata.get(META_SOURCE_KEY)).is_some_and(|v| metadata_text(v) == source_key);
        if ours {
            found.push(object);
        }
    }
    Ok(found)
}

/// Deletes `keys` side by side: what was deleted, and the first failure.
pub(super) async fn delete_all<S: ObjectStore>(
    store: &S,
    bucket: &str,
    keys: &[String],
) -> (Vec<String>, Option<StoreError>) {
    let results =
        futures_util::future::join_all(keys.iter().map(|key| store.delete(bucket, key, None)))
            .await;
    let mut deleted = Vec::new();
    let mut failure = None;
    for (key, result) in keys.iter().zip(results) {
        match result {
            Ok(()) => deleted.push(key.clone()),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    (deleted, failure)
}
