//! The variant table: the one place that says which outputs exist.
//!
//! Encoders, output naming, configuration (`VARIANTS`, qualities), metric
//! dimensions and docs all read this table; adding a variant is one entry here.

/// How a variant's bytes are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Baseline-compatible progressive JPEG (mozjpeg, libjpeg-turbo tables).
    Jpeg,
    /// Lossy WebP (libwebp), alpha kept.
    WebP,
    /// Lossless PNG, bit depth and alpha kept.
    Png,
}

/// The pixel size of a variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// The oriented source's own dimensions.
    Full,
    /// Fit inside the box named by an environment variable (`WxH`), keeping the
    /// aspect ratio and never upscaling.
    Fit {
        env: &'static str,
        default: (u32, u32),
    },
}

/// Where a variant's quality comes from: an environment variable and its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualityKnob {
    pub env: &'static str,
    pub default: u8,
}

/// One row of the variant table.
#[derive(Debug, PartialEq, Eq)]
pub struct VariantSpec {
    /// Name used in output keys (`<stem>_<name>_<id>.<ext>`), `VARIANTS` and metrics.
    pub name: &'static str,
    pub extension: &'static str,
    pub content_type: &'static str,
    pub codec: Codec,
    /// `None` for lossless codecs.
    pub quality: Option<QualityKnob>,
    pub size: Size,
}

const JPEG_QUALITY: QualityKnob = QualityKnob {
    env: "JPEG_QUALITY",
    default: 85,
};

/// The product's contract (DESIGN.md, "The five variants"), in output order.
pub const VARIANT_TABLE: &[VariantSpec] = &[
    VariantSpec {
        name: "compressed",
        extension: "jpg",
        content_type: "image/jpeg",
        codec: Codec::Jpeg,
        quality: Some(JPEG_QUALITY),
        size: Size::Full,
    },
    VariantSpec {
        name: "low",
        extension: "jpg",
        content_type: "image/jpeg",
        codec: Codec::Jpeg,
        quality: Some(QualityKnob {
            env: "LOW_QUALITY",
            default: 60,
        }),
        size: Size::Full,
    },
    VariantSpec {
        name: "webp",
        extension: "webp",
        content_type: "image/webp",
        codec: Codec::WebP,
        quality: Some(QualityKnob {
            env: "WEBP_QUALITY",
            default: 85,
        }),
        size: Size::Full,
    },
    VariantSpec {
        name: "png",
        extension: "png",
        content_type: "image/png",
        codec: Codec::Png,
        quality: None,
        size: Size::Full,
    },
    VariantSpec {
        name: "thumbnail",
        extension: "jpg",
        content_type: "image/jpeg",
        codec: Codec::Jpeg,
        quality: Some(JPEG_QUALITY),
        size: Size::Fit {
            env: "THUMBNAIL_SIZE",
            default: (200, 200),
        },
    },
];

/// Looks a variant up by its name.
pub fn spec_named(name: &str) -> Option<&'static VariantSpec> {
    VARIANT_TABLE.iter().find(|spec| spec.name == name)
}

/// All variant names, in table order (for messages and docs).
pub fn variant_names() -> Vec<&'static str> {
    VARIANT_TABLE.iter().map(|spec| spec.name).collect()
}

impl Codec {
    /// The largest width or height the format can store.
    pub fn max_side(self) -> u32 {
        match self {
            Codec::Jpeg => 65_535,
            Codec::WebP => 16_383,
            Codec::Png => i32::MAX as u32,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Codec::Jpeg => "JPEG",
            Codec::WebP => "WebP",
            Codec::Png => "PNG",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_and_file_names_are_unique() {
        let names: HashSet<_> = VARIANT_TABLE.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), VARIANT_TABLE.len());
        assert_eq!(
            variant_names(),
            ["compressed", "low", "webp", "png", "thumbnail"]
        );
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(spec_named("webp").map(|s| s.codec), Some(Codec::WebP));
        assert!(spec_named("avif").is_none());
    }
}
