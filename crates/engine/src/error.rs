//! Why the engine refused an input: the [`Reason`] (a stable code) and a
//! sentence that names the input's numbers. Limits are named by what they
//! limit; which variable or flag sets them is the caller's vocabulary.

use crate::reason::Reason;

/// A permanent problem with an input: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("not an image: the bytes do not start with the signature of any image format")]
    NotAnImage,
    #[error(
        "{format} images are not supported (supported: JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC)"
    )]
    UnsupportedFormat { format: String },
    /// A format we read, in a variant of it we do not (its pixel type, a
    /// coding): `feature` says what, as a sentence's end.
    #[error("this {format} is not supported: {feature}")]
    UnsupportedFeature { format: String, feature: String },
    #[error("the {format} data is truncated: it ends before the image is complete")]
    Truncated { format: String },
    #[error("the {format} data is corrupt: {detail}")]
    Corrupt { format: String, detail: String },
    #[error("{width}x{height} is {pixels} pixels, over the limit of {limit} pixels")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("the file is {bytes} bytes, over the limit of {limit} bytes")]
    TooManyBytes { bytes: u64, limit: u64 },
    #[error("{width}x{height} is larger than {codec} allows ({max} px per side) for the {variant} variant")]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        codec: &'static str,
        max: u32,
        variant: &'static str,
    },
    #[error("{width}x{height} needs about {needed_mib} MiB to process, over the memory budget of {budget_mib} MiB: {remedy}")]
    TooLargeForMemory {
        width: u32,
        height: u32,
        needed_mib: u64,
        budget_mib: u64,
        /// What would make it fit, in the caller's terms (a memory size, a flag).
        remedy: String,
    },
}

impl RejectReason {
    pub fn reason(&self) -> Reason {
        match self {
            RejectReason::Empty => Reason::Empty,
            RejectReason::NotAnImage => Reason::NotAnImage,
            RejectReason::UnsupportedFormat { .. } | RejectReason::UnsupportedFeature { .. } => {
                Reason::UnsupportedFormat
            }
            RejectReason::Truncated { .. } => Reason::Truncated,
            RejectReason::Corrupt { .. } => Reason::Corrupt,
            RejectReason::TooManyPixels { .. } => Reason::TooManyPixels,
            RejectReason::TooManyBytes { .. } => Reason::TooManyBytes,
            RejectReason::DimensionsTooLarge { .. } => Reason::DimensionsTooLarge,
            RejectReason::TooLargeForMemory { .. } => Reason::TooLargeForMemory,
        }
    }
}

/// Anything that stops one image from producing its variants.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input is at fault; see [`RejectReason::reason`].
    // Transparent: the reason is the whole message (a chain would repeat it).
    #[error(transparent)]
    Rejected(#[from] RejectReason),
    /// An encoder failed on pixels we produced: our bug, not the input's.
    #[error("{variant} encoder failed: {detail}")]
    Encode {
        variant: &'static str,
        detail: String,
    },
}

impl EngineError {
    pub fn reason(&self) -> Reason {
        match self {
            EngineError::Rejected(rejection) => rejection.reason(),
            EngineError::Encode { .. } => Reason::EncodeFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_says_its_reason_once_in_an_error_chain() {
        let e = EngineError::from(RejectReason::NotAnImage);
        assert_eq!(e.to_string(), RejectReason::NotAnImage.to_string());
        assert!(std::error::Error::source(&e).is_none());
    }

    #[test]
    fn every_rejection_has_a_rejected_reason() {
        let all = [
            RejectReason::Empty,
            RejectReason::NotAnImage,
            RejectReason::UnsupportedFormat {
                format: "AVIF".into(),
            },
            RejectReason::UnsupportedFeature {
                format: "TIFF".into(),
                feature: "its pixels are 8-bit YCbCr".into(),
            },
            RejectReason::Truncated {
                format: "PNG".into(),
            },
            RejectReason::Corrupt {
                format: "PNG".into(),
                detail: "bad CRC".into(),
            },
            RejectReason::TooManyPixels {
                width: 1,
                height: 1,
                pixels: 1,
                limit: 0,
            },
            RejectReason::TooManyBytes { bytes: 2, limit: 1 },
            RejectReason::DimensionsTooLarge {
                width: 20000,
                height: 10,
                codec: "WebP",
                max: 16383,
                variant: "webp",
            },
            RejectReason::TooLargeForMemory {
                width: 10000,
                height: 10000,
                needed_mib: 1700,
                budget_mib: 900,
                remedy: "give it 2048 MB".into(),
            },
        ];
        let reasons: Vec<_> = all.iter().map(RejectReason::reason).collect();
        assert!(
            reasons
                .iter()
                .all(|r| r.verdict() == crate::Verdict::Rejected),
            "{reasons:?}"
        );
        let codes: Vec<_> = reasons.iter().map(|r| r.code()).collect();
        assert_eq!(
            codes,
            [
                "empty",
                "not_an_image",
                "unsupported_format",
                "unsupported_format",
                "truncated",
                "corrupt",
                "too_many_pixels",
                "too_many_bytes",
                "dimensions_too_large",
                "too_large_for_memory"
            ]
        );
    }

    #[test]
    fn messages_name_the_limit() {
        let msg = RejectReason::TooManyPixels {
            width: 60000,
            height: 60000,
            pixels: 3_600_000_000,
            limit: 100_000_000,
        }
        .to_string();
        assert!(
            msg.contains("60000x60000") && msg.contains("limit of 100000000 pixels"),
            "{msg}"
        );
        let unsupported = EngineError::from(RejectReason::UnsupportedFormat {
            format: "AVIF".into(),
        });
        assert_eq!(unsupported.reason(), Reason::UnsupportedFormat);
        assert_eq!(
            unsupported.to_string(),
            "AVIF images are not supported (supported: JPEG, PNG, WebP, GIF, TIFF, BMP, HEIC)"
        );
    }
}
