//! What happened to one record: processed, with what was written; unchanged
//! (the same bytes again); removed (the upload was deleted); or skipped,
//! rejected or failed, with the [`Reason`] and a sentence. Logs, metrics,
//! traces, the invocation's result and the CLI's reports all read it.

use imgflow_engine::{Reason, Verdict};
use tracing::Span;

/// One variant written to the processed bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct WrittenVariant {
    pub name: &'static str,
    pub key: String,
    pub content_type: &'static str,
    pub bytes: usize,
    pub bytes_saved: i64,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    pub encode_ms: f64,
}

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
        /// The previous upload's variants, deleted once the new manifest
        /// was in place.
        replaced: Vec<String>,
    },
    /// The same bytes as the manifest's upload: no variant written. The
    /// manifest is rewritten when the event is a newer one (its sequencer
    /// and version), and leftovers of an earlier, interrupted replacement
    /// are deleted on a repeated event.
    Unchanged {
        key: String,
        id: String,
        manifest_written: bool,
        deleted: Vec<String>,
    },
    /// The upload was deleted: its manifest and variants are gone.
    Removed {
        key: String,
        manifest_deleted: bool,
        deleted: Vec<String>,
    },
    /// Nothing to do: logged, not counted as a rejection.
    Skipped { key: String, reason: Reason },
    /// Permanent: logged and counted (`ImagesRejected`); the invocation succeeds.
    Rejected {
        key: String,
        reason: Reason,
        message: String,
    },
    /// Transient (or our bug): the invocation fails so that Lambda retries
    /// and, after the retries, keeps the event in the failed-events queue.
    Failed {
        key: String,
        reason: Reason,
        message: String,
    },
}

impl Outcome {
    /// The outcome a reason calls for: its verdict picks skipped, rejected or failed.
    pub fn stopped(key: impl Into<String>, reason: Reason, message: impl Into<String>) -> Self {
        let key = key.into();
        match reason.verdict() {
            Verdict::Skipped => Outcome::Skipped { key, reason },
            Verdict::Rejected => Outcome::Rejected {
                key,
                reason,
                message: message.into(),
            },
            Verdict::Failed => Outcome::Failed {
                key,
                reason,
                message: message.into(),
            },
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Outcome::Processed { key, .. }
            | Outcome::Unchanged { key, .. }
            | Outcome::Removed { key, .. }
            | Outcome::Skipped { key, .. }
            | Outcome::Rejected { key, .. }
            | Outcome::Failed { key, .. } => key,
        }
    }

    /// Why it was not processed.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Outcome::Processed { .. } | Outcome::Unchanged { .. } | Outcome::Removed { .. } => None,
            Outcome::Skipped { reason, .. }
            | Outcome::Rejected { reason, .. }
            | Outcome::Failed { reason, .. } => Some(*reason),
        }
    }

    /// `processed`, `unchanged`, `removed`, `skipped`, `rejected` or
    /// `failed`: the log field and the X-Ray annotation `outcome`.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Processed { .. } => "processed",
            Outcome::Unchanged { .. } => "unchanged",
            Outcome::Removed { .. } => "removed",
            Outcome::Skipped { .. } => "skipped",
            Outcome::Rejected { .. } => "rejected",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Variant objects this record deleted (replaced or removed).
    pub fn deleted(&self) -> &[String] {
        match self {
            Outcome::Processed { replaced, .. } => replaced,
            Outcome::Unchanged { deleted, .. } | Outcome::Removed { deleted, .. } => deleted,
            _ => &[],
        }
    }

    /// Whether this record wrote a manifest.
    pub fn manifest_written(&self) -> bool {
        match self {
            Outcome::Processed { .. } => true,
            Outcome::Unchanged {
                manifest_written, ..
            } => *manifest_written,
            _ => false,
        }
    }

    /// Annotates a record's trace span (`outcome`, `reason`).
    pub fn record_on(&self, span: &Span) {
        span.record("outcome", self.label());
        if let Some(reason) = self.reason() {
            span.record("reason", reason.code());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_decides_the_kind_of_outcome() {
        let labels: Vec<_> = [Reason::OwnOutput, Reason::Corrupt, Reason::StoreFailed]
            .into_iter()
            .map(|r| Outcome::stopped("k", r, "why").label())
            .collect();
        assert_eq!(labels, ["skipped", "rejected", "failed"]);
        let failed = Outcome::stopped("a/b.jpg", Reason::Deadline, "late");
        assert_eq!(failed.key(), "a/b.jpg");
        assert_eq!(failed.reason(), Some(Reason::Deadline));
    }
}
