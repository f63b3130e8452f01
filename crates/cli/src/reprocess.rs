//! `imgflow reprocess`: the Lambda's code path, run from a laptop or a
//! runbook to redrive objects after an incident or to backfill a bucket
//! (uploads processed before manifests existed get theirs).

use futures_util::stream::{self, StreamExt};
use imgflow_lambda::event::SourceObject;
use imgflow_lambda::handler::{handle_object, HandlerSettings};
use imgflow_lambda::outcome::Outcome;
use imgflow_lambda::store::s3::S3Store;
use imgflow_lambda::store::ObjectStore;
use std::time::{Duration, Instant};

/// `s3://bucket/key` → (bucket, key). The key may be empty (`s3://bucket/`).
pub fn parse_s3_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("{url:?} is not an s3:// URL"))?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!("{url:?} has no bucket"));
    }
    Ok((bucket.to_owned(), key.to_owned()))
}

/// Counts for the final summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub processed: usize,
    /// The same bytes as the manifest's upload: nothing written (or only
    /// the manifest).
    pub unchanged: usize,
    pub skipped: usize,
    pub rejected: usize,
    pub failed: usize,
}

impl Summary {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Processed { .. } => self.processed += 1,
            // (reprocess never removes; counted with the unchanged)
            Outcome::Unchanged { .. } | Outcome::Removed { .. } => self.unchanged += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Rejected { .. } => self.rejected += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Expands URLs and prefixes into objects (folder keys left out).
pub async fn targets(
    store: &S3Store,
    urls: &[String],
    prefixes: &[String],
) -> Result<Vec<SourceObject>, String> {
    let mut out = Vec::new();
    for url in urls {
        let (bucket, key) = parse_s3_url(url)?;
        if key.is_empty() {
            return Err(format!(
                "{url:?} names no object: use --prefix for a whole bucket or folder"
            ));
        }
        out.push(SourceObject {
            bucket,
            key,
            size: None,
            version_id: None,
            sequencer: None,
        });
    }
    for prefix in prefixes {
        let (bucket, key_prefix) = parse_s3_url(prefix)?;
        for object in store
            .list(&bucket, &key_prefix)
            .await
            .map_err(|e| format!("cannot list {prefix}: {e}"))?
        {
            if !object.key.ends_with('/') {
                out.push(SourceObject {
                    bucket: bucket.clone(),
                    key: object.key,
                    size: Some(object.size),
                    version_id: None,
                    sequencer: None,
                });
            }
        }
    }
    Ok(out)
}

/// Processes `objects`, `concurrency` at a time, calling `progress` after each.
pub async fn run(
    store: &S3Store,
    settings: &HandlerSettings,
    objects: Vec<SourceObject>,
    concurrency: usize,
    per_object_timeout: Duration,
    progress: impl Fn(&Outcome),
) -> Summary {
    let mut summary = Summary::default();
    let mut results = stream::iter(objects)
        .map(|object| handle_object(store, settings, object, Instant::now() + per_object_timeout))
        .buffer_unordered(concurrency.max(1));
    while let Some(outcome) = results.next().await {
        summary.add(&outcome);
        progress(&outcome);
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls() {
        assert_eq!(
            parse_s3_url("s3://b/a/b c.jpg"),
            Ok(("b".into(), "a/b c.jpg".into()))
        );
        assert_eq!(parse_s3_url("s3://b"), Ok(("b".into(), String::new())));
        assert_eq!(parse_s3_url("s3://b/"), Ok(("b".into(), String::new())));
        assert!(parse_s3_url("https://b/k").is_err());
        assert!(parse_s3_url("s3:///k").is_err());
    }
}
