//! The variant table: the one place that says which outputs exist.
//!
//! Encoders, output naming, the settings the function and the CLI expose,
//! metric dimensions and docs all read this table; adding a variant is one
//! entry here.

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
    /// Fit inside a box (`WxH`), keeping the aspect ratio and never
    /// upscaling. `setting` names the box, as [`Quality::setting`] does.
    Fit {
        setting: &'static str,
        default: (u32, u32),
    },
}

/// A lossy variant's quality (1–100): its default, and the name of the
/// setting that tunes it. Variants that name the same setting share its
/// value (the thumbnail is as good as the full-size JPEG). Callers expose a
/// setting as they see fit: the function as `JPEG_QUALITY`, the CLI as
/// `--jpeg-quality`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quality {
    pub setting: &'static str,
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
    pub quality: Option<Quality>,
    pub size: Size,
}

const JPEG_QUALITY: Quality = Quality {
    setting: "jpeg_quality",
    default: 85,
};

/// The product's contract (docs/design.md, "The variants"), in output order.
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
        quality: Some(Quality {
            setting: "low_quality",
            default: 60,
        }),
        size: Size::Full,
    },
    VariantSpec {
        name: "webp",
        extension: "webp",
        content_type: "image/webp",
        codec: Codec::WebP,
        quality: Some(Quality {
            setting: "webp_quality",
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
            setting: "thumbnail_size",
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

/// Every setting the table names, each once, in table order (qualities of a
/// variant before its size).
pub fn settings() -> Vec<&'static str> {
    let mut names = Vec::new();
    for spec in VARIANT_TABLE {
        let size = match spec.size {
            Size::Fit { setting, .. } => Some(setting),
            Size::Full => None,
        };
        for name in spec.quality.map(|q| q.setting).into_iter().chain(size) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
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
    fn settings_are_listed_once() {
        assert_eq!(
            settings(),
            [
                "jpeg_quality",
                "low_quality",
                "webp_quality",
                "thumbnail_size"
            ]
        );
    }

    #[test]
    fn lookup_by_name() {
        assert_eq!(spec_named("webp").map(|s| s.codec), Some(Codec::WebP));
        assert!(spec_named("avif").is_none());
    }
}
