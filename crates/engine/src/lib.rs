//! The image engine: pure and synchronous, no I/O, no environment. Bytes and
//! [`Settings`] in; the enabled variants' bytes and timings out. It knows
//! nothing of S3, files or variables: the function and the CLI decide where
//! bytes and settings come from.
//!
//! The path of one image: [`sniff`] → limits from the header → [`decode`]
//! (orientation, ICC) → shared [`pixels`] views → one encoder per variant of
//! the [`variant`] table ([`codecs`], [`resize`] for thumbnails).

pub mod codecs;
pub mod decode;
pub mod error;
pub mod naming;
pub mod pixels;
pub mod reason;
pub mod resize;
pub mod settings;
pub mod sniff;
pub mod structure;
pub mod variant;

pub use decode::SourceImage;
pub use error::{EngineError, RejectReason};
use image::DynamicImage;
use rayon::prelude::*;
pub use reason::{Reason, Verdict};
pub use settings::{Limits, Settings, VariantSettings};
use std::sync::Arc;
use std::time::Instant;
use tracing::field::Empty;
pub use variant::{Codec, VariantSpec, VARIANT_TABLE};

/// What was read, for reports and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `JPEG`, `PNG`, …
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    /// First 8 hex characters of the SHA-256 of the source bytes.
    pub id: String,
    pub has_icc: bool,
}

/// One encoded variant.
#[derive(Debug, Clone)]
pub struct ProcessedVariant {
    pub spec: &'static VariantSpec,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    pub bytes: Vec<u8>,
    /// Encode time, including the thumbnail's resize.
    pub encode_ms: f64,
}

impl ProcessedVariant {
    /// Source bytes minus variant bytes: negative when the variant is larger.
    pub fn bytes_saved(&self, source_bytes: usize) -> i64 {
        source_bytes as i64 - self.bytes.len() as i64
    }
}

/// Every enabled variant of one source, in table order.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    pub source: SourceInfo,
    /// Sniff, header checks, decode and orientation.
    pub decode_ms: f64,
    /// Conversions shared by several variants (8-bit, on white).
    pub prepare_ms: f64,
    pub variants: Vec<ProcessedVariant>,
}

/// The pixel views of one source, each made once and shared by the variants.
struct Views {
    source: Arc<DynamicImage>,
    icc: Option<Vec<u8>>,
    /// 8-bit, alpha composited on white: JPEG variants and thumbnails.
    opaque: Option<Arc<DynamicImage>>,
    /// 8-bit RGB or RGBA: WebP.
    rgb_or_rgba: Option<Arc<DynamicImage>>,
}

impl Views {
    fn prepare(source: SourceImage, variants: &[VariantSettings]) -> Self {
        let needs = |codec| variants.iter().any(|v| v.spec.codec == codec);
        let needs_full = |codec| {
            variants
                .iter()
                .any(|v| v.spec.codec == codec && v.fit.is_none())
        };
        let needs_opaque = needs(Codec::Jpeg) || variants.iter().any(|v| v.fit.is_some());
        let pixels = Arc::new(source.pixels);
        let eight_bit = (needs_opaque || needs(Codec::WebP)).then(|| pixels::to_eight_bit(&pixels));
        let opaque = eight_bit
            .as_ref()
            .filter(|_| needs_opaque)
            .map(pixels::on_white);
        let rgb_or_rgba = eight_bit
            .as_ref()
            .filter(|_| needs_full(Codec::WebP))
            .map(pixels::rgb_or_rgba);
        Self {
            source: pixels,
            icc: source.icc,
            opaque,
            rgb_or_rgba,
        }
    }

    fn encode(&self, v: &VariantSettings) -> Result<ProcessedVariant, EngineError> {
        let started = Instant::now();
        let fail = |detail: String| EngineError::Encode {
            variant: v.spec.name,
            detail,
        };
        let icc = self.icc.as_deref();
        let quality = v.quality.unwrap_or(100);
        let missing = || fail("pixel view was not prepared".to_owned());
        let (bytes, width, height) = match v.spec.codec {
            Codec::Jpeg => {
                let opaque = self.opaque.as_ref().ok_or_else(missing)?;
                let pixels = match v.fit {
                    Some(bounds) => resize::thumbnail(opaque, bounds).map_err(fail)?,
                    None => Arc::clone(opaque),
                };
                let bytes = codecs::jpeg::encode(&pixels, quality, icc).map_err(fail)?;
                (bytes, pixels.width(), pixels.height())
            }
            Codec::WebP => {
                let pixels = match v.fit {
                    // Fitted variants are resized from the opaque view (the
                    // resizer takes gray or RGB), then made RGB for WebP.
                    Some(bounds) => {
                        let opaque = self.opaque.as_ref().ok_or_else(missing)?;
                        pixels::rgb_or_rgba(&resize::thumbnail(opaque, bounds).map_err(fail)?)
                    }
                    None => Arc::clone(self.rgb_or_rgba.as_ref().ok_or_else(missing)?),
                };
                let bytes = codecs::webp::encode(&pixels, quality, icc).map_err(fail)?;
                (bytes, pixels.width(), pixels.height())
            }
            Codec::Png => {
                let bytes = codecs::png::encode(&self.source, icc).map_err(fail)?;
                (bytes, self.source.width(), self.source.height())
            }
        };
        Ok(ProcessedVariant {
            spec: v.spec,
            width,
            height,
            quality: v.quality,
            bytes,
            encode_ms: ms_since(started),
        })
    }
}

/// Decodes `bytes` once and encodes every enabled variant, in parallel on the
/// current rayon pool (one thread: one after another).
///
/// Traced as a `decode` span and one `encode` span per variant (annotated
/// with `variant`), children of the caller's current span.
pub fn process(bytes: &[u8], settings: &Settings) -> Result<ProcessedImage, EngineError> {
    let parent = tracing::Span::current();
    let decode_span = tracing::info_span!(
        "decode",
        bytes = bytes.len(),
        format = Empty,
        width = Empty,
        height = Empty
    );
    let _decoding = decode_span.enter();
    let started = Instant::now();
    let source = decode::decode(bytes, &settings.limits, &settings.variants)?;
    let info = SourceInfo {
        format: sniff::format_name(source.format),
        width: source.pixels.width(),
        height: source.pixels.height(),
        bytes: bytes.len(),
        id: naming::content_id(bytes),
        has_icc: source.icc.is_some(),
    };
    let decode_ms = ms_since(started);
    decode_span.record("format", info.format);
    decode_span.record("width", info.width);
    decode_span.record("height", info.height);

    let started = Instant::now();
    let views = Views::prepare(source, &settings.variants);
    let prepare_ms = ms_since(started);
    drop(_decoding);

    let variants = settings
        .variants
        .par_iter()
        .map(|v| {
            let span = tracing::info_span!(
                parent: &parent,
                "encode",
                otel.name = format!("encode {}", v.spec.name),
                variant = v.spec.name,
                bytes = Empty,
                width = Empty,
                height = Empty
            );
            let _encoding = span.enter();
            let variant = views.encode(v)?;
            span.record("bytes", variant.bytes.len());
            span.record("width", variant.width);
            span.record("height", variant.height);
            Ok(variant)
        })
        .collect::<Result<Vec<_>, EngineError>>()?;
    Ok(ProcessedImage {
        source: info,
        decode_ms,
        prepare_ms,
        variants,
    })
}

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
