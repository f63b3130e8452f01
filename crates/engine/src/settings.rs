//! What the engine is asked to do, as plain values: which variants, at what
//! quality and size, and the limits an input must stay within. Where the
//! values come from (environment, flags, a test) is the caller's business.

use crate::variant::{Size, VariantSpec, VARIANT_TABLE};
use std::fmt;

/// 100 megapixels: a 17.9 MP photo decodes in ~54 MB; 100 MP RGBA is 400 MB.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;
/// 100 MiB of source bytes.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// Limits checked before any pixel is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_PIXELS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// One enabled variant with its resolved settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VariantSettings {
    pub spec: &'static VariantSpec,
    /// `Some` for lossy codecs: 1..=100.
    pub quality: Option<u8>,
    /// `Some((w, h))` for variants that fit in a box.
    pub fit: Option<(u32, u32)>,
}

impl VariantSettings {
    /// The variant at its table defaults.
    pub fn default_for(spec: &'static VariantSpec) -> Self {
        Self {
            spec,
            quality: spec.quality.map(|q| q.default),
            fit: match spec.size {
                Size::Full => None,
                Size::Fit { default, .. } => Some(default),
            },
        }
    }
}

/// Everything the engine needs, validated by whoever built it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Enabled variants, in table order.
    pub variants: Vec<VariantSettings>,
    pub limits: Limits,
}

impl Default for Settings {
    /// Every variant of the table at its defaults, default limits.
    fn default() -> Self {
        Self {
            variants: VARIANT_TABLE
                .iter()
                .map(VariantSettings::default_for)
                .collect(),
            limits: Limits::default(),
        }
    }
}

impl Settings {
    /// Keeps only the variants named (in table order); unknown names are ignored.
    pub fn only(mut self, names: &[&str]) -> Self {
        self.variants.retain(|v| names.contains(&v.spec.name));
        self
    }
}

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for v in &self.variants {
            write!(f, "{}", v.spec.name)?;
            if let Some(q) = v.quality {
                write!(f, " q{q}")?;
            }
            if let Some((w, h)) = v.fit {
                write!(f, " {w}x{h}")?;
            }
            write!(f, "; ")?;
        }
        write!(
            f,
            "max {} px, max {} bytes",
            self.limits.max_pixels, self.limits.max_bytes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let s = Settings::default();
        let got: Vec<_> = s
            .variants
            .iter()
            .map(|v| (v.spec.name, v.quality, v.fit))
            .collect();
        assert_eq!(
            got,
            [
                ("compressed", Some(85), None),
                ("low", Some(60), None),
                ("webp", Some(85), None),
                ("png", None, None),
                ("thumbnail", Some(85), Some((200, 200))),
            ]
        );
        assert_eq!(s.limits.max_pixels, 100_000_000);
        assert_eq!(s.limits.max_bytes, 104_857_600);
        assert_eq!(
            s.to_string(),
            "compressed q85; low q60; webp q85; png; thumbnail q85 200x200; max 100000000 px, max 104857600 bytes"
        );
    }

    #[test]
    fn only_keeps_table_order() {
        let s = Settings::default().only(&["thumbnail", "webp", "avif"]);
        let names: Vec<_> = s.variants.iter().map(|v| v.spec.name).collect();
        assert_eq!(names, ["webp", "thumbnail"]);
    }
}
