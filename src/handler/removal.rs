//! An upload was deleted (`ObjectRemoved:*`): its manifest goes first, so
//! that no reader ever sees a manifest naming a deleted variant, then its
//! variants. An older delete never touches a newer upload's variants.

use super::manifests;
use super::object::{store_failed, MANIFEST_ATTEMPTS};
use super::HandlerSettings;
use crate::event::SourceObject;
use crate::outcome::Outcome;
use crate::store::{ObjectHead, ObjectStore, StoreError};
use imgflow_engine::Reason;

pub(super) async fn remove<S: ObjectStore>(
    store: &S,
    settings: &HandlerSettings,
    source: &SourceObject,
) -> Outcome {
    let key = source.key.as_str();
    let failed = |what: &str, e: StoreError| store_failed(key, what, &e);
    for _ in 0..MANIFEST_ATTEMPTS {
        let in_place = match manifests::read(store, settings, key).await {
            Ok(in_place) => in_place,
            Err(e) => return failed("GET the manifest", e),
        };
        let manifest = in_place.manifest.as_ref();
        if manifest.is_some_and(|m| m.is_newer_than(source.sequencer.as_ref())) {
            return Outcome::stopped(
                key,
                Reason::Superseded,
                "a later upload of this key has its manifest in place",
            );
        }
        // Is there an upload under the key now (again, or still when only an
        // old version was deleted)?
        let current = match store.head(&source.bucket, key).await {
            Ok(head) => Some(head),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return failed(&format!("HEAD s3://{}/{key}", source.bucket), e),
        };
        if let Some(head) = &current {
            if let Some(why) = still_current(head, source, manifest) {
                return Outcome::stopped(key, Reason::StillCurrent, why);
            }
        }
        let manifest_deleted = match manifests::remove(store, settings, key, &in_place).await {
            Ok(deleted) => deleted,
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return failed("DELETE the manifest", e),
        };
        let mut doomed: Vec<String> = manifest.map(|m| m.variant_keys_of(key)).unwrap_or_default();
        // With the upload gone for good, whatever still carries its key goes
        // too: uploads processed before manifests existed, and what an
        // interrupted replacement left.
        if current.is_none() {
            let found =
                match manifests::variants_by_metadata(store, &settings.processed_bucket, key).await
                {
                    Ok(found) => found,
                    Err(e) => return failed("LIST the upload's variants", e),
                };
            for variant in found {
                if !doomed.contains(&variant.key) {
                    doomed.push(variant.key);
                }
            }
        }
        let (deleted, failure) =
            manifests::delete_all(store, &settings.processed_bucket, &doomed).await;
        if let Some(e) = failure {
            return failed(
                "DELETE the variants (the manifest is gone; the retry finds the rest by their metadata)",
                e,
            );
        }
        return Outcome::Removed {
            key: key.to_owned(),
            manifest_deleted,
            deleted,
        };
    }
    Outcome::stopped(
        key,
        Reason::StoreFailed,
        format!("the manifest changed under us {MANIFEST_ATTEMPTS} times; Lambda will retry"),
    )
}

/// Why the variants stay although a delete event came: the manifest's
/// upload is the object under the key now, or nothing orders the delete
/// after the manifest.
fn still_current(
    head: &ObjectHead,
    event: &SourceObject,
    manifest: Option<&crate::manifest::Manifest>,
) -> Option<String> {
    let Some(manifest) = manifest else {
        return Some("the upload is there: no manifest, and its variants stay".into());
    };
    if head.version_id.is_some() && head.version_id == manifest.source.version_id {
        return Some(format!(
            "the manifest's version {} is still the current one",
            head.version_id.as_deref().unwrap_or_default()
        ));
    }
    let delete_is_later = match (&manifest.source.sequencer, &event.sequencer) {
        (Some(ours), Some(delete)) => ours < delete,
        _ => false,
    };
    (!delete_is_later)
        .then(|| "the upload is there and nothing orders this delete after its manifest".to_owned())
}
