//! Why an input produced no variants: one vocabulary with stable codes, for
//! logs, metrics, traces, the CLI and its reports. The engine raises the
//! reasons that come from the bytes; the function and the CLI raise the rest
//! (a folder key, an object gone since its event, a store that failed).

use std::fmt;

/// What a reason means for the input: nothing to do, a permanent refusal,
/// or a failure worth a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Nothing to do; not counted as a rejection.
    Skipped,
    /// The input is at fault: retrying cannot help.
    Rejected,
    /// The input may be fine: a retry (or a fix on our side) can succeed.
    Failed,
}

/// Every reason an input can be skipped, rejected or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// An S3 event other than `ObjectCreated:*` and `ObjectRemoved:*`.
    NotObjectCreated,
    /// An event from the processed bucket: processing it would loop.
    ProcessedBucket,
    /// An object the pipeline wrote itself (marked by its metadata).
    OwnOutput,
    /// The object was deleted after its event.
    Gone,
    /// A later event of the key is already in place (its manifest, or its
    /// version): this one changes nothing.
    Superseded,
    /// A delete event, but the upload its manifest names is still the
    /// object under the key: its variants stay.
    StillCurrent,
    /// 0 bytes.
    Empty,
    /// No known image signature.
    NotAnImage,
    /// A known format that is not decoded.
    UnsupportedFormat,
    /// The data ends before the image does.
    Truncated,
    /// The data is damaged.
    Corrupt,
    /// Width × height over the pixel limit.
    TooManyPixels,
    /// More bytes than the byte limit.
    TooManyBytes,
    /// A side longer than an enabled variant's format can store.
    DimensionsTooLarge,
    /// Processing it would need more memory than the whole budget.
    TooLargeForMemory,
    /// An event key that does not decode to UTF-8, or too long for its
    /// outputs' keys or metadata to fit S3's limits.
    BadKey,
    /// An event record without a bucket name or an object key.
    BadEvent,
    /// The upload is in an archive storage class (S3 Glacier Flexible
    /// Retrieval, Deep Archive): unreadable until it is restored.
    Archived,
    /// A key ending in `/`: a folder, not a file.
    FolderKey,
    /// The object store failed (throttling, network, access, 5xx).
    StoreFailed,
    /// The invocation's deadline came before the work was done.
    Deadline,
    /// An encoder failed on pixels we produced: our bug.
    EncodeFailed,
    /// The engine's worker stopped (a panic): our bug.
    EngineCrashed,
    /// A local file could not be read.
    ReadFailed,
    /// The variants could not be written to a local folder.
    WriteFailed,
}

impl Reason {
    /// Every reason, in declaration order (docs and tests).
    pub const ALL: [Reason; 25] = [
        Reason::NotObjectCreated,
        Reason::ProcessedBucket,
        Reason::OwnOutput,
        Reason::Gone,
        Reason::Superseded,
        Reason::StillCurrent,
        Reason::Empty,
        Reason::NotAnImage,
        Reason::UnsupportedFormat,
        Reason::Truncated,
        Reason::Corrupt,
        Reason::TooManyPixels,
        Reason::TooManyBytes,
        Reason::DimensionsTooLarge,
        Reason::TooLargeForMemory,
        Reason::BadKey,
        Reason::BadEvent,
        Reason::Archived,
        Reason::FolderKey,
        Reason::StoreFailed,
        Reason::Deadline,
        Reason::EncodeFailed,
        Reason::EngineCrashed,
        Reason::ReadFailed,
        Reason::WriteFailed,
    ];

    /// The stable code. Scripts, alarms and dashboards match on it: never
    /// change an existing one.
    pub fn code(self) -> &'static str {
        match self {
            Reason::NotObjectCreated => "not_object_created",
            Reason::ProcessedBucket => "processed_bucket",
            Reason::OwnOutput => "own_output",
            Reason::Gone => "gone",
            Reason::Superseded => "superseded",
            Reason::StillCurrent => "still_current",
            Reason::Empty => "empty",
            Reason::NotAnImage => "not_an_image",
            Reason::UnsupportedFormat => "unsupported_format",
            Reason::Truncated => "truncated",
            Reason::Corrupt => "corrupt",
            Reason::TooManyPixels => "too_many_pixels",
            Reason::TooManyBytes => "too_many_bytes",
            Reason::DimensionsTooLarge => "dimensions_too_large",
            Reason::TooLargeForMemory => "too_large_for_memory",
            Reason::BadKey => "bad_key",
            Reason::BadEvent => "bad_event",
            Reason::Archived => "archived",
            Reason::FolderKey => "folder_key",
            Reason::StoreFailed => "store_failed",
            Reason::Deadline => "deadline",
            Reason::EncodeFailed => "encode_failed",
            Reason::EngineCrashed => "engine_crashed",
            Reason::ReadFailed => "read_failed",
            Reason::WriteFailed => "write_failed",
        }
    }

    pub fn verdict(self) -> Verdict {
        match self {
            Reason::NotObjectCreated
            | Reason::ProcessedBucket
            | Reason::OwnOutput
            | Reason::Gone
            | Reason::Superseded
            | Reason::StillCurrent => Verdict::Skipped,
            Reason::Empty
            | Reason::NotAnImage
            | Reason::UnsupportedFormat
            | Reason::Truncated
            | Reason::Corrupt
            | Reason::TooManyPixels
            | Reason::TooManyBytes
            | Reason::DimensionsTooLarge
            | Reason::TooLargeForMemory
            | Reason::BadKey
            | Reason::BadEvent
            | Reason::Archived
            | Reason::FolderKey => Verdict::Rejected,
            Reason::StoreFailed
            | Reason::Deadline
            | Reason::EncodeFailed
            | Reason::EngineCrashed
            | Reason::ReadFailed
            | Reason::WriteFailed => Verdict::Failed,
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case_and_round_trip() {
        let codes: HashSet<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        for r in Reason::ALL {
            let code = r.code();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
            assert_eq!(Reason::from_code(code), Some(r));
        }
        assert_eq!(Reason::from_code("nope"), None);
    }

    #[test]
    fn the_codes_operators_know_are_unchanged() {
        // Published in logs and runbooks before this type existed.
        let known = [
            (Reason::Empty, "empty", Verdict::Rejected),
            (Reason::NotAnImage, "not_an_image", Verdict::Rejected),
            (Reason::TooManyPixels, "too_many_pixels", Verdict::Rejected),
            (Reason::FolderKey, "folder_key", Verdict::Rejected),
            (Reason::OwnOutput, "own_output", Verdict::Skipped),
            (Reason::Gone, "gone", Verdict::Skipped),
            (Reason::EncodeFailed, "encode_failed", Verdict::Failed),
        ];
        for (reason, code, verdict) in known {
            assert_eq!((reason.code(), reason.verdict()), (code, verdict));
        }
    }
}
