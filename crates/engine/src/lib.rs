//! The image engine: pure and synchronous, no I/O, no environment. Bytes and
//! [`Settings`] in; the enabled variants' bytes and timings out. It knows
//! nothing of S3, files or variables: the function and the CLI decide where
//! bytes and settings come from.
//!
//! The path of one image: [`sniff`] → limits from the header → [`decode`]
//! (orientation, ICC) → one encoder per variant of the [`variant`] table
//! ([`codecs`], [`resize`] for thumbnails), each converting the source's
//! [`rows`] or [`pixels`] as it needs them.

pub mod codecs;
pub mod decode;
pub mod error;
pub mod memory;
pub mod naming;
pub mod pixels;
pub mod reason;
pub mod resize;
pub mod rows;
pub mod settings;
pub mod sniff;
pub mod structure;
pub mod variant;

pub use decode::SourceImage;
pub use error::{EngineError, RejectReason};
use image::DynamicImage;
use rayon::prelude::*;
pub use reason::{Reason, Verdict};
use rows::OpaqueRows;
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
    fn new(
        v: &VariantSettings,
        (width, height): (u32, u32),
        bytes: Vec<u8>,
        started: Instant,
    ) -> Self {
        Self {
            spec: v.spec,
            width,
            height,
            quality: v.quality,
            bytes,
            encode_ms: ms_since(started),
        }
    }

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
    pub variants: Vec<ProcessedVariant>,
}

/// The decoded source every variant reads. Each encoder converts what it
/// needs as it goes and frees it when done, so that one variant's
/// intermediates are never alive beside another's unless they run side by
/// side.
struct Decoded {
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

    fn encode(&self, v: &VariantSettings) -> Result<ProcessedVariant, EngineError> {
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
                let bytes = codecs::webp::encode(&pixels, quality, icc).map_err(fail)?;
                (bytes, pixels.width(), pixels.height())
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

/// An image looked at before it is decoded: what it is, and the memory it
/// will need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspection {
    pub shape: memory::Shape,
    pub memory: memory::Estimate,
}

/// Reads the header of `bytes` and checks it as [`process`] would (size,
/// format, limits, completeness), without allocating a pixel; estimates
/// the memory processing it takes, with up to `threads` variants side by
/// side.
pub fn inspect(
    bytes: &[u8],
    settings: &Settings,
    threads: usize,
) -> Result<Inspection, EngineError> {
    let shape = decode::inspect(bytes, &settings.limits, &settings.variants)?;
    let memory = memory::estimate(&shape, bytes.len() as u64, &settings.variants, threads);
    Ok(Inspection { shape, memory })
}

impl Inspection {
    /// Admits the image against `budget`: side by side when that fits now,
    /// else one variant at a time, waiting for room until `deadline`.
    /// `extra` is what the caller holds beside the engine's estimate (e.g. a
    /// copy of the variants on their way out).
    pub fn admit(
        &self,
        budget: &Arc<memory::Budget>,
        extra: u64,
        deadline: Option<Instant>,
    ) -> Result<(memory::Admission, Schedule), memory::NotAdmitted> {
        if let Some(admission) = budget.try_admit(self.memory.side_by_side + extra) {
            return Ok((admission, Schedule::SideBySide));
        }
        let admission = budget.admit(self.memory.one_at_a_time + extra, deadline)?;
        Ok((admission, Schedule::OneAtATime))
    }

    /// The refusal when the image can never fit `budget`; `remedy` says, in
    /// the caller's terms, what would make `needed_mib` available.
    pub fn too_large(
        &self,
        budget: &memory::Budget,
        extra: u64,
        remedy: impl FnOnce(u64) -> String,
    ) -> RejectReason {
        const MIB: u64 = 1024 * 1024;
        let needed_mib = (self.memory.one_at_a_time + extra).div_ceil(MIB);
        RejectReason::TooLargeForMemory {
            width: self.shape.width,
            height: self.shape.height,
            needed_mib,
            budget_mib: budget.total() / MIB,
            remedy: remedy(needed_mib),
        }
    }
}

/// How the variants of one image share the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// One variant after another, the PNG last so that it can filter the
    /// decoded pixels where they lie: the smallest peak of memory.
    OneAtATime,
    /// All variants at once on the current rayon pool: the fastest when
    /// there are cores and memory to spare. On a pool of one thread this is
    /// [`Schedule::OneAtATime`].
    SideBySide,
}

/// Decodes `bytes` once and encodes every enabled variant, side by side on
/// the current rayon pool.
pub fn process(bytes: &[u8], settings: &Settings) -> Result<ProcessedImage, EngineError> {
    process_with(bytes, settings, Schedule::SideBySide)
}

/// Decodes `bytes` once and encodes every enabled variant as `schedule`
/// says; the variants come back in table order either way, with the same
/// bytes.
///
/// Traced as a `decode` span and one `encode` span per variant (annotated
/// with `variant`), children of the caller's current span.
pub fn process_with(
    bytes: &[u8],
    settings: &Settings,
    schedule: Schedule,
) -> Result<ProcessedImage, EngineError> {
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

    let decoded = Decoded {
        pixels: Arc::new(source.pixels),
        icc: source.icc,
    };
    drop(_decoding);

    let variants = if schedule == Schedule::SideBySide && rayon::current_num_threads() > 1 {
        settings
            .variants
            .par_iter()
            .map(|v| traced(&parent, v, || decoded.encode(v)))
            .collect::<Result<Vec<_>, EngineError>>()?
    } else {
        let (png, others): (Vec<_>, Vec<_>) = settings
            .variants
            .iter()
            .partition(|v| v.spec.codec == Codec::Png);
        // A full-size WebP converts its pixels before the PNG takes them
        // over and encodes after the decoded image is gone: libwebp's
        // encoder needs far more memory than its input, so it should not
        // run beside the source.
        let (late_webp, others): (Vec<_>, Vec<_>) =
            others.into_iter().partition(|v: &&VariantSettings| {
                v.spec.codec == Codec::WebP && v.fit.is_none() && !png.is_empty()
            });
        let mut done = Vec::with_capacity(settings.variants.len());
        for v in others {
            done.push(traced(&parent, v, || decoded.encode(v))?);
        }
        let mut imported = Vec::with_capacity(late_webp.len());
        for v in late_webp {
            let started = Instant::now();
            let pixels = codecs::webp::import(&pixels::for_webp(&decoded.pixels))
                .map_err(encode_failed(v))?;
            imported.push((v, pixels, started.elapsed()));
        }
        // The last PNG (the table has one) takes the pixels over.
        let icc = decoded.icc.clone();
        if let Some((last, rest)) = png.split_last() {
            for v in rest {
                done.push(traced(&parent, v, || decoded.encode(v))?);
            }
            done.push(traced(&parent, last, || decoded.encode_png_in_place(last))?);
        }
        for (v, pixels, import_time) in imported {
            let mut variant = traced(&parent, v, || {
                let started = Instant::now();
                let bytes =
                    codecs::webp::encode_imported(pixels, v.quality.unwrap_or(100), icc.as_deref())
                        .map_err(encode_failed(v))?;
                Ok(ProcessedVariant::new(
                    v,
                    (info.width, info.height),
                    bytes,
                    started,
                ))
            })?;
            variant.encode_ms += import_time.as_secs_f64() * 1000.0;
            done.push(variant);
        }
        let order = |p: &ProcessedVariant| {
            settings
                .variants
                .iter()
                .position(|v| std::ptr::eq(v.spec, p.spec))
        };
        done.sort_by_key(order);
        done
    };
    Ok(ProcessedImage {
        source: info,
        decode_ms,
        variants,
    })
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

fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
