//! Settings from the environment (the same variables the Lambda reads) or CLI
//! flags, validated once at start with a message that names the variable.

use crate::engine::variant::{spec_named, variant_names, Size, VariantSpec, VARIANT_TABLE};
use std::fmt;

pub const VARIANTS_ENV: &str = "VARIANTS";
pub const MAX_INPUT_PIXELS_ENV: &str = "MAX_INPUT_PIXELS";
pub const MAX_INPUT_BYTES_ENV: &str = "MAX_INPUT_BYTES";

/// 100 megapixels: a 17.9 MP photo decodes in ~54 MB; 100 MP RGBA is 400 MB.
pub const DEFAULT_MAX_INPUT_PIXELS: u64 = 100_000_000;
/// 100 MiB of source bytes.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 100 * 1024 * 1024;

/// A setting that could not be accepted; names the variable, the value and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub reason: String,
}

/// Limits checked before any pixel is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_pixels: DEFAULT_MAX_INPUT_PIXELS,
            max_bytes: DEFAULT_MAX_INPUT_BYTES,
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

/// Everything the engine needs, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Enabled variants, in table order.
    pub variants: Vec<VariantSettings>,
    pub limits: Limits,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_lookup(|_| None).expect("defaults are valid")
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

impl Settings {
    /// Reads settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (environment, CLI overrides, tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let enabled = match get(VARIANTS_ENV) {
            None => VARIANT_TABLE.iter().collect(),
            Some(value) => parse_variant_list(&value)?,
        };
        let mut variants = Vec::with_capacity(enabled.len());
        for spec in enabled {
            let quality = match spec.quality {
                None => None,
                Some(knob) => Some(match get(knob.env) {
                    None => knob.default,
                    Some(value) => parse_quality(knob.env, &value)?,
                }),
            };
            let fit = match spec.size {
                Size::Full => None,
                Size::Fit { env, default } => Some(match get(env) {
                    None => default,
                    Some(value) => parse_box(env, &value)?,
                }),
            };
            variants.push(VariantSettings { spec, quality, fit });
        }

        let limits = Limits {
            max_pixels: match get(MAX_INPUT_PIXELS_ENV) {
                None => DEFAULT_MAX_INPUT_PIXELS,
                Some(value) => parse_positive(MAX_INPUT_PIXELS_ENV, &value)?,
            },
            max_bytes: match get(MAX_INPUT_BYTES_ENV) {
                None => DEFAULT_MAX_INPUT_BYTES,
                Some(value) => parse_positive(MAX_INPUT_BYTES_ENV, &value)?,
            },
        };
        Ok(Self { variants, limits })
    }

    /// Every environment variable the settings read (for `--help` and docs).
    pub fn variables() -> Vec<&'static str> {
        let mut names = vec![VARIANTS_ENV];
        for spec in VARIANT_TABLE {
            if let Some(knob) = spec.quality {
                names.push(knob.env);
            }
            if let Size::Fit { env, .. } = spec.size {
                names.push(env);
            }
        }
        names.extend([MAX_INPUT_PIXELS_ENV, MAX_INPUT_BYTES_ENV]);
        names.dedup();
        let mut seen = std::collections::HashSet::new();
        names.retain(|n| seen.insert(*n));
        names
    }
}

fn invalid(variable: &str, value: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_variant_list(value: &str) -> Result<Vec<&'static VariantSpec>, ConfigError> {
    let names = variant_names().join(", ");
    if value.trim().eq_ignore_ascii_case("all") {
        return Ok(VARIANT_TABLE.iter().collect());
    }
    let mut wanted = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(invalid(VARIANTS_ENV, value, "empty name in the list"));
        }
        let spec = spec_named(&part.to_ascii_lowercase()).ok_or_else(|| {
            invalid(
                VARIANTS_ENV,
                value,
                format!("unknown variant {part:?}; known: {names} (or \"all\")"),
            )
        })?;
        if wanted.contains(&spec) {
            return Err(invalid(
                VARIANTS_ENV,
                value,
                format!("{part:?} is listed twice"),
            ));
        }
        wanted.push(spec);
    }
    // Table order, whatever order the list used: outputs are stable.
    Ok(VARIANT_TABLE
        .iter()
        .filter(|spec| wanted.contains(spec))
        .collect())
}

fn parse_quality(variable: &str, value: &str) -> Result<u8, ConfigError> {
    match value.trim().parse::<u8>() {
        Ok(q) if (1..=100).contains(&q) => Ok(q),
        _ => Err(invalid(
            variable,
            value,
            "expected an integer from 1 to 100",
        )),
    }
}

fn parse_box(variable: &str, value: &str) -> Result<(u32, u32), ConfigError> {
    let reason = "expected WIDTHxHEIGHT with both from 1 to 16383, e.g. 200x200";
    let (w, h) = value
        .trim()
        .split_once(['x', 'X'])
        .ok_or_else(|| invalid(variable, value, reason))?;
    let side = |s: &str| match s.trim().parse::<u32>() {
        Ok(n) if (1..=16_383).contains(&n) => Ok(n),
        _ => Err(invalid(variable, value, reason)),
    };
    Ok((side(w)?, side(h)?))
}

fn parse_positive(variable: &str, value: &str) -> Result<u64, ConfigError> {
    match value.trim().replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(variable, value, "expected a positive integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    fn quality_of(settings: &Settings, name: &str) -> Option<u8> {
        settings
            .variants
            .iter()
            .find(|v| v.spec.name == name)
            .and_then(|v| v.quality)
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = with(&[]).unwrap();
        let names: Vec<_> = s.variants.iter().map(|v| v.spec.name).collect();
        assert_eq!(names, ["compressed", "low", "webp", "png", "thumbnail"]);
        assert_eq!(quality_of(&s, "compressed"), Some(85));
        assert_eq!(quality_of(&s, "low"), Some(60));
        assert_eq!(quality_of(&s, "webp"), Some(85));
        assert_eq!(quality_of(&s, "png"), None);
        assert_eq!(quality_of(&s, "thumbnail"), Some(85));
        assert_eq!(s.variants[4].fit, Some((200, 200)));
        assert_eq!(s.limits, Limits::default());
    }

    #[test]
    fn values_are_read_and_trimmed() {
        let s = with(&[
            ("JPEG_QUALITY", " 90 "),
            ("LOW_QUALITY", "40"),
            ("WEBP_QUALITY", "70"),
            ("THUMBNAIL_SIZE", "320X240"),
            ("MAX_INPUT_PIXELS", "50_000_000"),
            ("MAX_INPUT_BYTES", "1000"),
            ("VARIANTS", "thumbnail, WEBP"),
        ])
        .unwrap();
        let names: Vec<_> = s.variants.iter().map(|v| v.spec.name).collect();
        assert_eq!(names, ["webp", "thumbnail"], "table order kept");
        assert_eq!(quality_of(&s, "webp"), Some(70));
        assert_eq!(quality_of(&s, "thumbnail"), Some(90));
        assert_eq!(s.variants[1].fit, Some((320, 240)));
        assert_eq!(s.limits.max_pixels, 50_000_000);
        assert_eq!(s.limits.max_bytes, 1000);
    }

    #[test]
    fn empty_values_mean_default_and_all_means_all() {
        let s = with(&[("JPEG_QUALITY", ""), ("VARIANTS", "all")]).unwrap();
        assert_eq!(s, Settings::default());
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases = [
            ("JPEG_QUALITY", "0"),
            ("JPEG_QUALITY", "101"),
            ("LOW_QUALITY", "high"),
            ("WEBP_QUALITY", "-5"),
            ("THUMBNAIL_SIZE", "200"),
            ("THUMBNAIL_SIZE", "0x200"),
            ("THUMBNAIL_SIZE", "200x99999"),
            ("VARIANTS", "jpeg,avif"),
            ("VARIANTS", "png,,webp"),
            ("VARIANTS", "png,png"),
            ("MAX_INPUT_PIXELS", "0"),
            ("MAX_INPUT_BYTES", "1e6"),
        ];
        for (var, value) in cases {
            let err = with(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}");
            let msg = err.to_string();
            assert!(msg.starts_with(var), "{msg}");
            assert!(msg.contains(value), "{msg}");
        }
    }

    #[test]
    fn unknown_variant_lists_the_known_ones() {
        let msg = with(&[("VARIANTS", "avif")]).unwrap_err().to_string();
        assert!(
            msg.contains("compressed, low, webp, png, thumbnail"),
            "{msg}"
        );
    }

    #[test]
    fn variables_are_listed_once() {
        assert_eq!(
            Settings::variables(),
            [
                "VARIANTS",
                "JPEG_QUALITY",
                "LOW_QUALITY",
                "WEBP_QUALITY",
                "THUMBNAIL_SIZE",
                "MAX_INPUT_PIXELS",
                "MAX_INPUT_BYTES"
            ]
        );
    }
}
