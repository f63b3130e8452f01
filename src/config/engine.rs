//! The engine's variables: `VARIANTS`, one per setting of the variant table
//! (`jpeg_quality` is `JPEG_QUALITY`), and the limits. The CLI exposes the
//! same ones as flags.

use super::{
    get, invalid, ConfigError, SetBy, Variable, MAX_INPUT_BYTES, MAX_INPUT_PIXELS, VARIANTS,
};
use imgflow_engine::variant::{self, Size, VARIANT_TABLE};
use imgflow_engine::{Limits, Reason, Settings, VariantSettings, VariantSpec};

/// The variable that sets a setting of the variant table (`jpeg_quality` →
/// `JPEG_QUALITY`).
pub fn variable_of_setting(setting: &str) -> String {
    setting.to_ascii_uppercase()
}

/// The engine's variables: `VARIANTS`, each setting of the variant table,
/// then the limits.
pub fn engine_variables() -> Vec<Variable> {
    let mut out = vec![Variable::new(
        VARIANTS,
        "all",
        &format!(
            "comma-separated variants to make, or \"all\" ({})",
            variant::variant_names().join(", ")
        ),
        SetBy::Stack,
    )];
    for setting in variant::settings() {
        let users: Vec<&VariantSpec> = VARIANT_TABLE
            .iter()
            .filter(|s| {
                s.quality.is_some_and(|q| q.setting == setting)
                    || matches!(s.size, Size::Fit { setting: fit, .. } if fit == setting)
            })
            .collect();
        let names: Vec<&str> = users.iter().map(|s| s.name).collect();
        let (default, help) = match users.first().map(|s| (s.quality, s.size)) {
            Some((Some(q), _)) if q.setting == setting => (
                q.default.to_string(),
                format!("quality 1-100 of {}", names.join(" and ")),
            ),
            Some((
                _,
                Size::Fit {
                    default: (w, h), ..
                },
            )) => (
                format!("{w}x{h}"),
                format!("bounding box WxH (1-16383 each) of {}", names.join(" and ")),
            ),
            _ => continue,
        };
        out.push(Variable::new(
            &variable_of_setting(setting),
            default,
            &help,
            SetBy::Stack,
        ));
    }
    let limits = Limits::default();
    out.push(Variable::new(
        MAX_INPUT_PIXELS,
        limits.max_pixels,
        "width x height limit, checked from the header before decoding",
        SetBy::Stack,
    ));
    out.push(Variable::new(
        MAX_INPUT_BYTES,
        limits.max_bytes,
        "source size limit, checked before reading",
        SetBy::Stack,
    ));
    out
}

/// The engine's settings from its variables.
pub fn engine_settings(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
    let enabled = match get(lookup, VARIANTS) {
        None => VARIANT_TABLE.iter().collect(),
        Some(value) => parse_variant_list(&value)?,
    };
    let mut variants = Vec::with_capacity(enabled.len());
    for spec in enabled {
        let mut v = VariantSettings::default_for(spec);
        if let Some(q) = spec.quality {
            let name = variable_of_setting(q.setting);
            if let Some(value) = get(lookup, &name) {
                v.quality = Some(parse_quality(&name, &value)?);
            }
        }
        if let Size::Fit { setting, .. } = spec.size {
            let name = variable_of_setting(setting);
            if let Some(value) = get(lookup, &name) {
                v.fit = Some(parse_box(&name, &value)?);
            }
        }
        variants.push(v);
    }
    let defaults = Limits::default();
    let limit = |name: &str, default: u64| match get(lookup, name) {
        None => Ok(default),
        Some(value) => parse_positive(name, &value),
    };
    Ok(Settings {
        variants,
        limits: Limits {
            max_pixels: limit(MAX_INPUT_PIXELS, defaults.max_pixels)?,
            max_bytes: limit(MAX_INPUT_BYTES, defaults.max_bytes)?,
        },
    })
}

/// The variable behind a limit an input broke, for messages that say what
/// to change (`… over the limit of 100000000 pixels (MAX_INPUT_PIXELS)`).
pub fn limit_variable(reason: Reason) -> Option<&'static str> {
    match reason {
        Reason::TooManyPixels => Some(MAX_INPUT_PIXELS),
        Reason::TooManyBytes => Some(MAX_INPUT_BYTES),
        _ => None,
    }
}

fn parse_variant_list(value: &str) -> Result<Vec<&'static VariantSpec>, ConfigError> {
    if value.eq_ignore_ascii_case("all") {
        return Ok(VARIANT_TABLE.iter().collect());
    }
    let mut wanted = Vec::new();
    for part in value.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(invalid(VARIANTS, value, "empty name in the list"));
        }
        let spec = variant::spec_named(&part.to_ascii_lowercase()).ok_or_else(|| {
            invalid(
                VARIANTS,
                value,
                format!(
                    "unknown variant {part:?}; known: {} (or \"all\")",
                    variant::variant_names().join(", ")
                ),
            )
        })?;
        if wanted.contains(&spec) {
            return Err(invalid(
                VARIANTS,
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
    match value.parse::<u8>() {
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
        .split_once(['x', 'X'])
        .ok_or_else(|| invalid(variable, value, reason))?;
    let side = |s: &str| match s.trim().parse::<u32>() {
        Ok(n) if (1..=16_383).contains(&n) => Ok(n),
        _ => Err(invalid(variable, value, reason)),
    };
    Ok((side(w)?, side(h)?))
}

fn parse_positive(variable: &str, value: &str) -> Result<u64, ConfigError> {
    match value.replace('_', "").parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(invalid(variable, value, "expected a positive integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn engine(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        engine_settings(&|name| map.get(name).cloned())
    }

    fn quality_of(settings: &Settings, name: &str) -> Option<u8> {
        settings
            .variants
            .iter()
            .find(|v| v.spec.name == name)
            .and_then(|v| v.quality)
    }

    #[test]
    fn nothing_set_gives_the_engine_defaults() {
        assert_eq!(engine(&[]).unwrap(), Settings::default());
        assert_eq!(
            engine(&[("JPEG_QUALITY", " "), ("VARIANTS", "all")]).unwrap(),
            Settings::default(),
            "blank means unset"
        );
    }

    #[test]
    fn engine_values_are_read_and_trimmed() {
        let s = engine(&[
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
        assert_eq!(quality_of(&s, "thumbnail"), Some(90), "shares JPEG_QUALITY");
        assert_eq!(s.variants[1].fit, Some((320, 240)));
        assert_eq!(s.limits.max_pixels, 50_000_000);
        assert_eq!(s.limits.max_bytes, 1000);
    }

    #[test]
    fn unknown_variant_lists_the_known_ones() {
        let msg = engine(&[("VARIANTS", "avif")]).unwrap_err().to_string();
        assert!(
            msg.contains("compressed, low, webp, png, thumbnail"),
            "{msg}"
        );
    }

    #[test]
    fn variables_are_listed_once_with_their_flags() {
        let all = crate::config::variables();
        let mut names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a variable is listed twice");
        let engine: Vec<(String, String, String)> = engine_variables()
            .into_iter()
            .map(|v| (v.flag(), v.name, v.default))
            .collect();
        let expected = [
            ("variants", "VARIANTS", "all"),
            ("jpeg-quality", "JPEG_QUALITY", "85"),
            ("low-quality", "LOW_QUALITY", "60"),
            ("webp-quality", "WEBP_QUALITY", "85"),
            ("thumbnail-size", "THUMBNAIL_SIZE", "200x200"),
            ("max-input-pixels", "MAX_INPUT_PIXELS", "100000000"),
            ("max-input-bytes", "MAX_INPUT_BYTES", "104857600"),
        ];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(f, n, d)| (f.to_string(), n.to_string(), d.to_string()))
            .collect();
        assert_eq!(engine, expected);
    }

    #[test]
    fn limits_name_their_variable() {
        assert_eq!(
            limit_variable(Reason::TooManyPixels),
            Some(MAX_INPUT_PIXELS)
        );
        assert_eq!(limit_variable(Reason::TooManyBytes), Some(MAX_INPUT_BYTES));
        assert_eq!(limit_variable(Reason::Corrupt), None);
    }
}
