//! `imgflow prune`: finds the variants (and manifests) whose upload is gone
//! or no longer current, and deletes them unless `--dry-run` says only to
//! list them. For what events could not clean up: uploads deleted before
//! the function handled deletes, a failed event left in the queue, a bucket
//! copied from elsewhere.

use imgflow_lambda::manifest::{self, Manifest};
use imgflow_lambda::store::{
    metadata_text, Listed, ObjectStore, StoreError, META_SOURCE_KEY, META_VARIANT,
};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::{Duration, SystemTime};

/// What to look at.
#[derive(Debug, Clone)]
pub struct Scope {
    pub upload_bucket: String,
    pub processed_bucket: String,
    /// Only keys under this prefix (the processed bucket mirrors the
    /// upload bucket's folders).
    pub prefix: String,
    /// Objects written more recently are left alone: a record may be
    /// writing a new upload's variants before its manifest right now.
    pub min_age: Duration,
}

/// Why an object goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// Its upload is not in the upload bucket any more.
    SourceGone,
    /// Its upload's manifest names other variants: an overwrite left it.
    Replaced,
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Why::SourceGone => "its upload is gone",
            Why::Replaced => "replaced: its upload's manifest names other variants",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doomed {
    pub key: String,
    pub bytes: u64,
    pub why: Why,
}

/// What prune found.
#[derive(Debug, Default)]
pub struct Plan {
    /// Manifests of gone uploads: deleted first.
    pub manifests: Vec<Doomed>,
    pub variants: Vec<Doomed>,
    /// Variants of uploads that are there but have no manifest yet
    /// (processed before manifests existed): `imgflow reprocess` writes it.
    pub without_manifest: Vec<String>,
    /// Left alone: written less than `min_age` ago.
    pub too_recent: usize,
    /// Manifests that do not parse (left alone, named).
    pub unreadable: Vec<String>,
    pub examined: usize,
}

impl Plan {
    pub fn bytes(&self) -> u64 {
        self.manifests
            .iter()
            .chain(&self.variants)
            .map(|d| d.bytes)
            // Sizes come from manifests in the bucket: never trust them to add up.
            .fold(0u64, u64::saturating_add)
    }
}

/// Lists the processed bucket under the prefix and decides, object by
/// object, reading only headers (and the manifests).
pub async fn plan<S: ObjectStore>(
    store: &S,
    scope: &Scope,
    now: SystemTime,
) -> Result<Plan, StoreError> {
    let listed = store.list(&scope.processed_bucket, &scope.prefix).await?;
    let recent = |o: &Listed| {
        o.last_modified
            .is_some_and(|t| now.duration_since(t).unwrap_or_default() < scope.min_age)
    };
    let mut plan = Plan {
        examined: listed.len(),
        ..Plan::default()
    };
    let (manifest_objects, variant_objects): (Vec<&Listed>, Vec<&Listed>) =
        listed.iter().partition(|o| o.key.ends_with(".json"));

    // Manifests first: each says which variants are current.
    let mut current: HashMap<String, Manifest> = HashMap::new();
    let mut gone_sources: HashSet<String> = HashSet::new();
    let mut named: HashSet<String> = HashSet::new();
    for object in manifest_objects {
        let fetched = match store
            .get(&scope.processed_bucket, &object.key, None, &|_| true)
            .await
        {
            Ok(fetched) => fetched,
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let m = match Manifest::parse(&object.key, &fetched.body.unwrap_or_default()) {
            Ok(m) if manifest::key_of(&m.source.key) == object.key => m,
            // Not one of ours (or damaged): never deleted by a guess.
            _ => {
                plan.unreadable.push(object.key.clone());
                continue;
            }
        };
        // Only keys named as its upload's variants (a damaged manifest
        // could name anything): the rest are judged by their metadata.
        let keys = m.variant_keys_of(&m.source.key);
        named.extend(keys.iter().cloned());
        if recent(object) {
            plan.too_recent += 1;
            current.insert(m.source.key.clone(), m);
            continue;
        }
        match store.head(&m.source.bucket, &m.source.key).await {
            Ok(_) => {
                current.insert(m.source.key.clone(), m);
            }
            Err(StoreError::NotFound(_)) => {
                plan.manifests.push(Doomed {
                    key: object.key.clone(),
                    bytes: object.size,
                    why: Why::SourceGone,
                });
                for v in m.variants.iter().filter(|v| keys.contains(&v.key)) {
                    plan.variants.push(Doomed {
                        key: v.key.clone(),
                        bytes: v.bytes,
                        why: Why::SourceGone,
                    });
                }
                gone_sources.insert(m.source.key.clone());
            }
            Err(e) => return Err(e),
        }
    }

    // Then every variant no manifest names, by its metadata.
    let mut upload_there: HashMap<String, bool> = HashMap::new();
    for object in variant_objects {
        if named.contains(&object.key) {
            continue;
        }
        if recent(object) {
            plan.too_recent += 1;
            continue;
        }
        let head = match store.head(&scope.processed_bucket, &object.key).await {
            Ok(head) => head,
            Err(StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        };
        let Some(source) = head
            .metadata
            .get(META_SOURCE_KEY)
            .filter(|_| head.metadata.contains_key(META_VARIANT))
            .map(|v| metadata_text(v))
        else {
            continue; // not ours
        };
        let why = if current.contains_key(&source) {
            Some(Why::Replaced)
        } else if gone_sources.contains(&source) {
            Some(Why::SourceGone)
        } else {
            let there = match upload_there.get(&source) {
                Some(&there) => there,
                None => {
                    let there = match store.head(&scope.upload_bucket, &source).await {
                        Ok(_) => true,
                        Err(StoreError::NotFound(_)) => false,
                        Err(e) => return Err(e),
                    };
                    upload_there.insert(source.clone(), there);
                    there
                }
            };
            (!there).then_some(Why::SourceGone)
        };
        match why {
            Some(why) => plan.variants.push(Doomed {
                key: object.key.clone(),
                bytes: object.size,
                why,
            }),
            None => plan.without_manifest.push(object.key.clone()),
        }
    }
    Ok(plan)
}

/// Deletes what `plan` found: the manifests first, so that none ever names
/// a deleted variant. The count deleted, and the first failure.
pub async fn apply<S: ObjectStore>(
    store: &S,
    processed_bucket: &str,
    plan: &Plan,
) -> (usize, Option<StoreError>) {
    let mut deleted = 0;
    for doomed in plan.manifests.iter().chain(&plan.variants) {
        match store.delete(processed_bucket, &doomed.key, None).await {
            Ok(()) => deleted += 1,
            Err(e) => return (deleted, Some(e)),
        }
    }
    (deleted, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doomed(bytes: u64) -> Doomed {
        Doomed {
            key: format!("k{bytes}"),
            bytes,
            why: Why::SourceGone,
        }
    }

    #[test]
    fn the_bytes_to_free_add_up_and_saturate() {
        let plan = Plan {
            manifests: vec![doomed(300)],
            variants: vec![doomed(1000), doomed(24)],
            ..Plan::default()
        };
        assert_eq!(plan.bytes(), 1324);
        // A manifest in the bucket may claim any size.
        let crafted = Plan {
            manifests: vec![doomed(u64::MAX - 5)],
            variants: vec![doomed(10)],
            ..Plan::default()
        };
        assert_eq!(crafted.bytes(), u64::MAX);
    }
}
