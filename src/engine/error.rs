//! Why an input was refused: a stable, machine-readable code plus a sentence.

/// A permanent problem with an input: retrying cannot help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RejectReason {
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error("not an image: the bytes do not start with the signature of any image format")]
    NotAnImage,
    #[error("{format} images are not supported (supported: JPEG, PNG, WebP, GIF, TIFF, BMP)")]
    UnsupportedFormat { format: String },
    #[error("the {format} data is truncated: it ends before the image is complete")]
    Truncated { format: String },
    #[error("the {format} data is corrupt: {detail}")]
    Corrupt { format: String, detail: String },
    #[error("{width}x{height} is {pixels} pixels, over the limit of {limit} (MAX_INPUT_PIXELS)")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        limit: u64,
    },
    #[error("the file is {bytes} bytes, over the limit of {limit} (MAX_INPUT_BYTES)")]
    TooManyBytes { bytes: u64, limit: u64 },
    #[error("{width}x{height} is larger than {codec} allows ({max} px per side) for the {variant} variant")]
    DimensionsTooLarge {
        width: u32,
        height: u32,
        codec: &'static str,
        max: u32,
        variant: &'static str,
    },
}

impl RejectReason {
    /// Stable code for logs, metrics and scripts. Never change an existing one.
    pub fn code(&self) -> &'static str {
        match self {
            RejectReason::Empty => "empty",
            RejectReason::NotAnImage => "not_an_image",
            RejectReason::UnsupportedFormat { .. } => "unsupported_format",
            RejectReason::Truncated { .. } => "truncated",
            RejectReason::Corrupt { .. } => "corrupt",
            RejectReason::TooManyPixels { .. } => "too_many_pixels",
            RejectReason::TooManyBytes { .. } => "too_many_bytes",
            RejectReason::DimensionsTooLarge { .. } => "dimensions_too_large",
        }
    }

    /// Every code, for docs and tests.
    pub const CODES: &'static [&'static str] = &[
        "empty",
        "not_an_image",
        "unsupported_format",
        "truncated",
        "corrupt",
        "too_many_pixels",
        "too_many_bytes",
        "dimensions_too_large",
    ];
}

/// Anything that stops one image from producing its variants.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The input is at fault; see [`RejectReason::code`].
    #[error("{0}")]
    Rejected(#[from] RejectReason),
    /// An encoder failed on pixels we produced: our bug, not the input's.
    #[error("{variant} encoder failed: {detail}")]
    Encode {
        variant: &'static str,
        detail: String,
    },
}

impl EngineError {
    /// The stable code: the reject reason's, or `encode_failed`.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Rejected(reason) => reason.code(),
            EngineError::Encode { .. } => "encode_failed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_listed_and_stable() {
        let all = [
            RejectReason::Empty,
            RejectReason::NotAnImage,
            RejectReason::UnsupportedFormat {
                format: "HEIC".into(),
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
        ];
        let codes: Vec<_> = all.iter().map(RejectReason::code).collect();
        assert_eq!(codes, RejectReason::CODES);
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
            msg.contains("60000x60000") && msg.contains("MAX_INPUT_PIXELS"),
            "{msg}"
        );
        let unsupported = EngineError::from(RejectReason::UnsupportedFormat {
            format: "HEIC".into(),
        });
        assert_eq!(unsupported.code(), "unsupported_format");
        assert_eq!(
            unsupported.to_string(),
            "HEIC images are not supported (supported: JPEG, PNG, WebP, GIF, TIFF, BMP)"
        );
    }
}
