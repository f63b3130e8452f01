//! How the variants of one image are encoded from one decode: the
//! [`Schedule`]s, and the order that keeps each one's peak of memory low.

use crate::codecs::webp::Footprint;
use crate::rows::OpaqueRows;
use crate::{
    codecs, decode, ms_since, naming, pixels, resize, sniff, Codec, EngineError, ProcessedImage,
    ProcessedVariant, Settings, SourceInfo, VariantSettings,
};
use image::DynamicImage;
use rayon::prelude::*;
use std::sync::Arc;
use std::time::Instant;
use tracing::field::Empty;

/// The decoded source every variant reads. Each encoder converts what it
/// needs as it goes and frees it when done, so that one variant's
/// intermediates are never alive beside another's unless they run side by
/// side.
struct Decoded {
    format: sniff::Format,
    pixels: Arc<DynamicImage>,
    icc: Option<Vec<u8>>,
}

impl Decoded {
    /// The PNG variant from pixels nobody else will read: filtered where
    /// they lie (see [`codecs::png::encode_in_place`]), then freed.
    fn encode_png_in_place(self, v: &VariantSettings) -> Result<ProcessedVariant, EngineError> {
        let started = Instant::now();
        let (width, height) = (self.pixels.width(), self.pixels.height());
        // Shared only if a caller kept a reference: then filter a copy.
        let bytes = match Arc::try_unwrap(self.pixels) {
            Ok(pixels) => codecs::png::encode_in_place(pixels, self.icc.as_deref()),
            Err(shared) => codecs::png::encode(&shared, self.icc.as_deref()),
        }
        .map_err(encode_failed(v))?;
        Ok(ProcessedVariant::new(v, (width, height), bytes, started))
    }

    fn encode(
        &self,
        v: &VariantSettings,
        footprint: Footprint,
    ) -> Result<ProcessedVariant, EngineError> {
        let started = Instant::now();
        let fail = encode_failed(v);
        let icc = self.icc.as_deref();
        let quality = v.quality.unwrap_or(100);
        let rows = OpaqueRows::new(&self.pixels);
        let (bytes, width, height) = match v.spec.codec {
            Codec::Jpeg => match v.fit {
                Some(bounds) => {
                    let small = resize::thumbnail(&rows, bounds).map_err(fail)?;
                    let bytes = codecs::jpeg::encode(&OpaqueRows::new(&small), quality, icc)
                        .map_err(fail)?;
                    (bytes, small.width(), small.height())
                }
                None => {
                    let bytes = codecs::jpeg::encode(&rows, quality, icc).map_err(fail)?;
                    (bytes, rows.width(), rows.height())
                }
            },
            Codec::WebP => {
                let pixels = match v.fit {
                    // Fitted variants are resized from the opaque rows (the
                    // resizer takes gray or RGB), then made RGB for WebP.
                    Some(bounds) => {
                        pixels::for_webp(&resize::thumbnail(&rows, bounds).map_err(fail)?)
                    }
                    None => pixels::for_webp(&self.pixels),
                };
                // A fitted WebP is small: fast costs little there.
                let footprint = if v.fit.is_some() {
                    Footprint::Fast
                } else {
                    footprint
                };
                let (width, height) = (pixels.width(), pixels.height());
                let bytes = codecs::webp::encode(pixels, quality, icc, footprint).map_err(fail)?;
                (bytes, width, height)
            }
            Codec::Png => {
                let bytes = codecs::png::encode(&self.pixels, icc).map_err(fail)?;
                (bytes, self.pixels.width(), self.pixels.height())
            }
        };
        Ok(ProcessedVariant::new(v, (width, height), bytes, started))
    }
}

/// An encoder's failure on variant `v`.
fn encode_failed(v: &VariantSettings) -> impl Fn(String) -> EngineError + Copy + '_ {
    |detail| EngineError::Encode {
        variant: v.spec.name,
        detail,
    }
}

/// How the variants of one image share the machine.
///
/// The lean schedules ([`OneAtATime`](Schedule::OneAtATime),
/// [`TwoPasses`](Schedule::TwoPasses)) also encode the full-size WebP
/// with [`Footprint::Lean`]: without libwebp's token buffer, which grows
/// with what the image holds (up to ~26 bytes a pixel for noise) and
/// cannot be predicted from a header, and with the alpha plane coded apart
/// (about 4 bytes a pixel instead of libwebp's 13). The WebP then takes
/// 50–80% longer, its lossy part moves by a few tenths of a percent and
/// its alpha takes more bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// One variant after another, the PNG last so that it can filter the
    /// decoded pixels where they lie: the smallest peak of memory.
    OneAtATime,
    /// All variants at once on the current rayon pool: the fastest when
    /// there are cores and memory to spare. On a pool of one thread this is
    /// [`Schedule::OneAtATime`]'s order at full speed (with the WebP's
    /// token buffer).
    SideBySide,
    /// The full-size WebP alone first, then the source decoded again for
    /// the rest, one at a time: an extra decode (its time is not in
    /// `decode_ms`, only in its span) for a lower peak, chosen when the
    /// estimate says so: large images with alpha, whose WebP then never
    /// runs beside the decoded source.
    TwoPasses,
}

/// Decodes `bytes` once and encodes every enabled variant, side by side on
/// the current rayon pool.
pub fn process(bytes: &[u8], settings: &Settings) -> Result<ProcessedImage, EngineError> {
    process_with(bytes, settings, Schedule::SideBySide)
}

/// Decodes `bytes` (twice for [`Schedule::TwoPasses`]) and encodes every
/// enabled variant as `schedule` says; the variants come back in table
/// order whatever the schedule, with the same bytes but for the full-size
/// WebP's (see [`Schedule`]).
///
/// Traced as a `decode` span (one per pass) and one `encode` span per
/// variant (annotated with `variant`), children of the caller's current
/// span.
pub fn process_with(
    bytes: &[u8],
    settings: &Settings,
    schedule: Schedule,
) -> Result<ProcessedImage, EngineError> {
    let parent = tracing::Span::current();
    let started = Instant::now();
    let decoded = decode_traced(bytes, settings)?;
    let decode_ms = ms_since(started);
    let info = SourceInfo {
        format: sniff::format_name(decoded.format),
        width: decoded.pixels.width(),
        height: decoded.pixels.height(),
        bytes: bytes.len(),
        id: naming::content_id(bytes),
        has_icc: decoded.icc.is_some(),
    };

    let all: Vec<&VariantSettings> = settings.variants.iter().collect();
    let mut variants = match schedule {
        Schedule::SideBySide if rayon::current_num_threads() > 1 => all
            .par_iter()
            .map(|v| traced(&parent, v, || decoded.encode(v, Footprint::Fast)))
            .collect::<Result<Vec<_>, EngineError>>()?,
        Schedule::TwoPasses => {
            let (first, second): (Vec<_>, Vec<_>) = all
                .into_iter()
                .partition(|v| v.spec.codec == Codec::WebP && v.fit.is_none());
            let imported = import_for_webp(&decoded, &first)?;
            drop(decoded);
            let mut done = encode_imported(&parent, imported, &info, Footprint::Lean)?;
            if !second.is_empty() {
                let decoded = decode_traced(bytes, settings)?;
                done.extend(one_at_a_time(
                    &parent,
                    decoded,
                    second,
                    &info,
                    Footprint::Lean,
                )?);
            }
            done
        }
        Schedule::SideBySide => one_at_a_time(&parent, decoded, all, &info, Footprint::Fast)?,
        Schedule::OneAtATime => one_at_a_time(&parent, decoded, all, &info, Footprint::Lean)?,
    };
    let order = |p: &ProcessedVariant| {
        settings
            .variants
            .iter()
            .position(|v| std::ptr::eq(v.spec, p.spec))
    };
    variants.sort_by_key(order);
    Ok(ProcessedImage {
        source: info,
        decode_ms,
        variants,
    })
}

/// Decodes `bytes` in a `decode` span.
fn decode_traced(bytes: &[u8], settings: &Settings) -> Result<Decoded, EngineError> {
    let span = tracing::info_span!(
        "decode",
        bytes = bytes.len(),
        format = Empty,
        width = Empty,
        height = Empty
    );
    let _decoding = span.enter();
    let source = decode::decode(bytes, &settings.limits, &settings.variants)?;
    span.record("format", sniff::format_name(source.format));
    span.record("width", source.pixels.width());
    span.record("height", source.pixels.height());
    Ok(Decoded {
        format: source.format,
        pixels: Arc::new(source.pixels),
        icc: source.icc,
    })
}

/// One variant after another, the PNG last over the decoded pixels. A
/// full-size WebP runs where it costs least: first, before any other
/// output exists; but with libwebp's token buffer (fast) and no alpha, it
/// converts its pixels before the PNG takes them over and encodes after
/// the decoded image is gone.
fn one_at_a_time(
    parent: &tracing::Span,
    decoded: Decoded,
    variants: Vec<&VariantSettings>,
    info: &SourceInfo,
    footprint: Footprint,
) -> Result<Vec<ProcessedVariant>, EngineError> {
    let alpha = decoded.pixels.color().has_alpha();
    fn full_webp(v: &VariantSettings) -> bool {
        v.spec.codec == Codec::WebP && v.fit.is_none()
    }
    let (png, mut others): (Vec<&VariantSettings>, Vec<&VariantSettings>) = variants
        .into_iter()
        .partition(|v| v.spec.codec == Codec::Png);
    // libwebp's token buffer (fast) is worth moving past the decoded
    // image; lean, the WebP's import is, and it would sit beside the PNG.
    let (late_webp, others): (Vec<_>, Vec<_>) =
        if alpha || png.is_empty() || footprint == Footprint::Lean {
            // Stable: the full-size WebPs first, the rest in table order.
            others.sort_by_key(|v| !full_webp(v));
            (Vec::new(), others)
        } else {
            others.into_iter().partition(|v| full_webp(v))
        };
    let mut done = Vec::new();
    for v in others {
        done.push(traced(parent, v, || decoded.encode(v, footprint))?);
    }
    let imported = import_for_webp(&decoded, &late_webp)?;
    // The last PNG (the table has one) takes the pixels over.
    if let Some((last, rest)) = png.split_last() {
        for v in rest {
            done.push(traced(parent, v, || decoded.encode(v, footprint))?);
        }
        done.push(traced(parent, last, || decoded.encode_png_in_place(last))?);
    } else {
        drop(decoded);
    }
    done.extend(encode_imported(parent, imported, info, footprint)?);
    Ok(done)
}

/// Full-size WebP variants with their pixels in libwebp's form, so that the
/// decoded image can go before they encode.
struct ImportedWebp<'a> {
    v: &'a VariantSettings,
    pixels: codecs::webp::Imported,
    icc: Option<Vec<u8>>,
    import_time: std::time::Duration,
}

fn import_for_webp<'a>(
    decoded: &Decoded,
    variants: &[&'a VariantSettings],
) -> Result<Vec<ImportedWebp<'a>>, EngineError> {
    variants
        .iter()
        .map(|v| {
            let started = Instant::now();
            let pixels = codecs::webp::import(&pixels::for_webp(&decoded.pixels))
                .map_err(encode_failed(v))?;
            Ok(ImportedWebp {
                v,
                pixels,
                icc: decoded.icc.clone(),
                import_time: started.elapsed(),
            })
        })
        .collect()
}

fn encode_imported(
    parent: &tracing::Span,
    imported: Vec<ImportedWebp<'_>>,
    info: &SourceInfo,
    footprint: Footprint,
) -> Result<Vec<ProcessedVariant>, EngineError> {
    imported
        .into_iter()
        .map(|i| {
            let v = i.v;
            let mut variant = traced(parent, v, || {
                let started = Instant::now();
                let bytes = codecs::webp::encode_imported(
                    i.pixels,
                    v.quality.unwrap_or(100),
                    i.icc.as_deref(),
                    footprint,
                )
                .map_err(encode_failed(v))?;
                Ok(ProcessedVariant::new(
                    v,
                    (info.width, info.height),
                    bytes,
                    started,
                ))
            })?;
            variant.encode_ms += i.import_time.as_secs_f64() * 1000.0;
            Ok(variant)
        })
        .collect()
}

/// Runs one variant's encode in an `encode` span under `parent`.
fn traced(
    parent: &tracing::Span,
    v: &VariantSettings,
    encode: impl FnOnce() -> Result<ProcessedVariant, EngineError>,
) -> Result<ProcessedVariant, EngineError> {
    let span = tracing::info_span!(
        parent: parent,
        "encode",
        otel.name = format!("encode {}", v.spec.name),
        variant = v.spec.name,
        bytes = Empty,
        width = Empty,
        height = Empty
    );
    let _encoding = span.enter();
    let variant = encode()?;
    span.record("bytes", variant.bytes.len());
    span.record("width", variant.width);
    span.record("height", variant.height);
    Ok(variant)
}
