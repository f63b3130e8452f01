//! How much memory an image will take, from its header alone, and a budget
//! that admits images against it.
//!
//! The estimate follows the engine's steps (see [`crate::process_with`]) and
//! charges each one what it holds: the decoded source, what the encoder
//! being run needs for itself, and the outputs made so far. The per-pixel
//! costs of the encoders are measured (mozjpeg keeps the quantised
//! coefficients of the whole image, 3 bytes per pixel at 4:2:0;
//! libwebp's lossless alpha coder ~13 and up to 10 MiB of tables, the lean
//! one ~5; the token buffer, side by side only, at its worst), and a test
//! checks the estimate
//! against measured peaks: never below, at most 1.5 times above. The
//! estimates assume the allocator returns what is freed
//! ([`keep_large_blocks_mapped`]).

use crate::settings::VariantSettings;
use crate::sniff::Format;
use crate::structure::WebpCoding;
use crate::variant::Codec;
use image::ColorType;

mod allocator;
mod budget;
pub use allocator::keep_large_blocks_mapped;
pub use budget::{Admission, Budget, NotAdmitted};

/// What the header says, enough to budget the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub format: Format,
    pub width: u32,
    pub height: u32,
    /// The decoded colour type (what the source will hold in memory).
    pub color: ColorType,
    /// A progressive JPEG: the bytes of coefficients its decoder keeps
    /// until the last scan (from the frame header).
    pub progressive: Option<u64>,
    /// EXIF orientation turns the image by 90°: a second buffer while the
    /// pixels are turned.
    pub turned: bool,
    /// A HEIC: what its decoder holds beside the pixels it returns.
    pub heic: Option<HeicDecode>,
    /// Alpha in memory, but none to code: the header says every pixel is
    /// opaque (a GIF without a transparent colour).
    pub opaque: bool,
    /// The decoder reads a copy of the input (a WebP whose hidden alpha
    /// flag is restored; a CMYK or YCCK JPEG, which the image crate
    /// decodes), held beside it while the pixels are decoded.
    pub input_copied: bool,
    /// The ICC profile the decoder extracts.
    pub icc: IccShape,
    /// The EXIF block's bytes (the decoder reads it for the orientation).
    pub exif: u64,
    /// What the decoder holds beside the pixels while it decodes: a WebP's
    /// planes and buffers ([`webp_decoder_held`]), a TIFF's own copy
    /// ([`tiff_decoder_held`]), a JPEG header reader's two copies of the
    /// header ([`crate::structure::jpeg_header_only`]).
    pub held: u64,
}

/// An ICC profile, as the estimate counts it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IccShape {
    /// Its size (0: no profile); for a JPEG, at least its ICC segments'
    /// (the header reader keeps them even when they make no profile).
    pub bytes: u64,
    /// Whether the variants carry a copy each (RGB and gray profiles).
    pub carried: bool,
}

/// What heifer holds while it decodes a HEIC, from the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeicDecode {
    /// Pixels of the image before `clap` and `irot` (`ispe`, or the grid).
    pub canvas_pixels: u64,
    /// Pixels of one HEVC picture at most: the image (with its coding
    /// margin), or one grid tile.
    pub picture_pixels: u64,
    /// A grid: its tiles decode into the canvas, one per thread at a time.
    pub grid: bool,
    /// `hvcC` chroma format: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format: u8,
    /// `clap`, `irot` or `imir`: each makes a new copy of the canvas.
    pub transformed: bool,
}

/// heifer's HEVC planes: u16 samples, whatever the bit depth.
const HEVC_SAMPLE_BYTES: f64 = 2.0;
/// heifer's per-picture bookkeeping beyond its planes (prediction modes,
/// deblocking and SAO state), bytes per pixel of the picture: a 12 MP
/// single-image HEIC peaked at about 7.5 bytes a pixel, 0.5 above its
/// RGBA output and u16 4:2:0 planes; counted twice.
const HEVC_STATE: f64 = 1.0;

/// Peak memory of one image, bytes, beyond the process's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// Variants one after another ([`crate::Schedule::OneAtATime`]).
    pub one_at_a_time: u64,
    /// The full-size WebP first, the rest from a second decode
    /// ([`crate::Schedule::TwoPasses`]).
    pub two_passes: u64,
    /// Variants side by side on `threads` threads.
    pub side_by_side: u64,
}

/// What two passes must save to be chosen over one at a time: below it,
/// an extra decode buys too little, and glibc serves the allocations from
/// its heap (up to 32 MiB each), where what one pass freed stays resident
/// for the next and the saving may not happen.
pub const TWO_PASSES_MIN_SAVING: u64 = 32 << 20;

/// What the WebP decoder (image-webp) holds beside the pixels it hands
/// over, per pixel, by how the first image is coded (measured at 8.3 MP
/// beyond the input and the pixels, rounded up: 1.5, 6.5, 3.2 with alpha
/// and 5.6 without, 7–8 for animations): a lossy frame's YUV planes; the
/// lossless coder's ARGB words and its RGBA output; an ALPH chunk's plane,
/// decoded by the lossless coder; an animation's canvas and frame beside
/// those.
pub fn webp_decoder_held(coding: WebpCoding, alpha: bool, pixels: u64) -> u64 {
    let per_pixel: f64 = match (coding.animated, coding.lossless, coding.alpha_chunk) {
        (false, false, false) => 2.0,
        (false, false, true) => 7.0,
        (false, true, _) if alpha => 4.0,
        // Without alpha, the RGBA output is converted to RGB after.
        (false, true, _) => 6.0,
        (true, _, _) => 8.5,
    };
    (pixels as f64 * per_pixel) as u64
}

/// What the TIFF decoder holds beside the pixels it hands over: the image
/// read into a buffer of its own, in the file's samples (CMYK, or gray with
/// its extra sample; `file_bits` a pixel), then converted; a strip's
/// decoder (JPEG, LZW) adds a little.
pub fn tiff_decoder_held(file_bits: u16, pixels: u64) -> u64 {
    pixels * u64::from(file_bits) / 8 * 11 / 10
}

/// The allocator's slack, on top of the model.
const SLACK_FRACTION: f64 = 0.05;
const SLACK_BYTES: f64 = 1.5 * 1024.0 * 1024.0;
/// Threads that allocate at the same time get malloc arenas of their own:
/// side by side, a tiny image's peak now and then measured 128 KiB above
/// its usual range, about one arena's first pages. Counted per thread.
const ARENA_PER_THREAD: f64 = 128.0 * 1024.0;

/// Measured per-pixel costs of the encoders, beyond their input.
const MOZJPEG_PER_COMPONENT: f64 = 2.0; // × (1 + 2 × 1/4) for 4:2:0 colour; one set (see codecs::jpeg)
/// mozjpeg's buffers of a few rows (colour conversion, downsampling, the
/// one-row coefficient set), bytes per column of the image: measured
/// 106–128 on 3 MP images 3000 to 60000 pixels wide, gray and colour.
const MOZJPEG_PER_COLUMN: f64 = 140.0;
/// The resizer's filter coefficients, bytes per pixel of the source's
/// width plus height: measured 39–61 on 3 MP images 3000 to 60000 pixels
/// wide, made 200 pixels wide (they matter only for very long sides).
const RESIZE_COEFFICIENTS_PER_SIDE_PIXEL: f64 = 64.0;
const WEBP_YUV: f64 = 1.5;
const WEBP_ALPHA_PLANE: f64 = 1.0;
const WEBP_ALPHA_CODER: f64 = 13.2;
/// The alpha coder's tables (histograms, hashes): they grow with the image
/// up to about 10 MiB from 1 MP on (measured: 22, 58 and 335 MiB for the
/// whole coder at 1, 3.8 and 25 MP), from about 1 MiB whatever the size
/// (measured 1.0 MiB at 32×32, 1.3 at 100×100).
const WEBP_ALPHA_TABLES_PER_PIXEL: f64 = 10.0;
const WEBP_ALPHA_TABLES_MIN: f64 = 1.25 * 1024.0 * 1024.0;
const WEBP_ALPHA_TABLES_MAX: f64 = 10.0 * 1024.0 * 1024.0;
/// The lean alpha coder (image-webp's lossless encoder): the plane
/// widened to 4 bytes a pixel, plus its output, at most about a byte a
/// pixel (noise), held twice while it is copied out.
const WEBP_LEAN_ALPHA_CODER: f64 = 5.2;
/// Output size per pixel, upper bounds by codec and quality, gray or
/// colour alike: the least compressible input found, noise of black and
/// white pixels, measured (JPEG, WebP) 0.57 and 0.71 at quality 60, 0.86
/// and 0.90 at 85, 0.98 and 0.99 at 90, 1.57 and 1.26 at 100 bytes per
/// pixel in colour, less in gray (uniform noise: 0.70 and 0.75 at 85).
/// Tight on purpose: a photo's outputs take a tenth of this, and every
/// output made so far is held to the end. PNG's is its input plus
/// deflate's worst case.
fn lossy_out(codec: Codec, quality: Option<u8>) -> f64 {
    let webp = codec == Codec::WebP;
    match (quality.unwrap_or(100), webp) {
        (0..=60, false) => 0.6,
        (0..=60, true) => 0.75,
        (61..=85, false) => 0.9,
        (61..=85, true) => 0.95,
        (86..=90, _) => 1.05,
        (_, false) => 1.6,
        (_, true) => 1.3,
    }
}

/// libwebp's token buffer (side by side only: the lean schedules encode
/// without it), bytes per pixel, upper bounds by quality: it records every
/// coefficient decision of the image before writing any, so it follows
/// content, not size. The most it was seen to take, of nine kinds of noise
/// and patterns, is for noise of black and white samples (each channel 0
/// or 255), measured on 1.9 MP at each bucket's top quality: 13.6 (q60),
/// 14.5 (q75), 17.7 (q85), 19.6 (q90), 22.2 (q95), 26.1 (q100); the
/// bounds are 7% above. Uniform noise takes 5–10% less, text-like edges
/// 14.7 (q85), photos 1.1–2.8 (q85) and 5.4–8.4 (q95–100).
fn webp_tokens(quality: Option<u8>) -> f64 {
    match quality.unwrap_or(100) {
        0..=60 => 14.5,
        61..=75 => 15.5,
        76..=85 => 19.0,
        86..=90 => 21.0,
        91..=95 => 24.0,
        _ => 28.0,
    }
}

/// heifer's peak while it decodes: its RGBA canvas (8 or 16 bits a
/// sample whatever the output keeps), the HEVC pictures being decoded
/// (the image and its alpha plane, or grid tiles on `threads`) and the
/// bitstream it copies out of the input; then a copy of the canvas per
/// transform, one at a time.
fn heic_decode(heic: &HeicDecode, color: ColorType, input_bytes: u64, threads: usize) -> f64 {
    let sample = if color.bytes_per_pixel() / color.channel_count() > 1 {
        2.0
    } else {
        1.0
    };
    let canvas = heic.canvas_pixels as f64 * 4.0 * sample;
    let chroma = match heic.chroma_format {
        0 => 0.0,
        1 => 0.5,
        2 => 1.0,
        _ => 2.0,
    };
    let per_picture_pixel = HEVC_SAMPLE_BYTES * (1.0 + chroma) + HEVC_STATE;
    let pictures = if heic.grid {
        threads.max(1) as f64
    } else {
        1.0
    };
    // An alpha plane is a second picture of the same size.
    let alpha = if color.has_alpha() { 2.0 } else { 1.0 };
    let hevc = heic.picture_pixels as f64 * per_picture_pixel * pictures * alpha;
    // A grid's alpha plane is a grid too, assembled into a canvas of its own.
    let canvases = if heic.grid && color.has_alpha() {
        2.0
    } else {
        1.0
    };
    let decoding = canvas * canvases + hevc + input_bytes as f64;
    let transform = if heic.transformed { 2.0 * canvas } else { 0.0 };
    decoding.max(transform)
}

/// The estimate for `shape` with these variants, holding `input_bytes` of
/// source data, with up to `threads` variants at a time side by side.
pub fn estimate(
    shape: &Shape,
    input_bytes: u64,
    variants: &[VariantSettings],
    threads: usize,
) -> Estimate {
    let pixels = f64::from(shape.width) * f64::from(shape.height);
    let source = pixels * shape.color.bytes_per_pixel() as f64;
    let gray = !shape.color.has_color();
    let alpha = shape.color.has_alpha();
    // Whether the encoders code alpha (they skip an opaque plane).
    let coded_alpha = alpha && !shape.opaque;
    let eight_bit_rgb_or_rgba = matches!(shape.color, ColorType::Rgb8 | ColorType::Rgba8);
    let opaque_passthrough = crate::rows::passes_through(shape.color);
    let opaque_channels = if gray { 1.0 } else { 3.0 };

    // Decoding: the source, plus the progressive decoder's coefficients
    // (freed when it finishes) or the turned copy (made after).
    let progressive = shape.progressive.unwrap_or(0) as f64;
    let turned = if shape.turned { source } else { 0.0 };
    let mut decode = source + progressive.max(turned);
    if let Some(heic) = shape.heic {
        decode = decode.max(heic_decode(&heic, shape.color, input_bytes, threads));
    }
    if shape.format == Format::Gif {
        // The GIF decoder draws frames on a canvas of its own.
        decode += source;
    }
    // The decoder copies the EXIF block (the PNG decoder keeps its chunk,
    // its parsed copy and the one it hands over; the others read one copy
    // at a time: a 3 MB block in a WebP measured one): real ones take a few
    // kilobytes, but a PNG or WebP may hold one as large as the file.
    let exif_copies = if shape.format == Format::Png {
        3.0
    } else {
        1.0
    };
    decode += exif_copies * shape.exif as f64;
    decode += shape.held as f64;
    if shape.input_copied {
        // The decoder reads a copy (see `Shape::input_copied`).
        decode += input_bytes as f64;
    }

    let rows = f64::from(shape.height);
    let mozjpeg = pixels * MOZJPEG_PER_COMPONENT * if gray { 1.0 } else { 1.5 };
    // Full-size JPEGs and the resizer take the source's rows a strip at a
    // time (`rows.rs`): the strip's crop of the source, its 8-bit form (from
    // 16 bits) and its opaque form (from alpha), for up to about 1 MiB of
    // output rows. 8-bit gray and RGB are passed through as they are; 8-bit
    // with alpha is blended from the source's rows, without a crop.
    let deeper_than_eight_bits = shape.color.bytes_per_pixel() > shape.color.channel_count();
    let strip = if opaque_passthrough {
        0.0
    } else {
        let width = f64::from(shape.width);
        let strip_rows = (crate::rows::STRIP_BYTES as f64 / (width * opaque_channels))
            .floor()
            .clamp(1.0, rows);
        let channels = f64::from(shape.color.channel_count());
        let bytes_per_pixel = shape.color.bytes_per_pixel() as f64;
        let eight_bit = if deeper_than_eight_bits {
            channels
        } else {
            0.0
        };
        let crop = if crate::rows::blends_from_rows(shape.color) {
            0.0
        } else {
            bytes_per_pixel
        };
        let opaque = if alpha { opaque_channels } else { 0.0 };
        strip_rows * width * (crop + eight_bit + opaque)
    };
    let yuv = pixels * (WEBP_YUV + if alpha { WEBP_ALPHA_PLANE } else { 0.0 });
    let webp_copy = if eight_bit_rgb_or_rgba {
        0.0
    } else {
        pixels * if alpha { 4.0 } else { 3.0 }
    };
    let (alpha_coder, lean_alpha_coder) = if coded_alpha {
        (
            pixels * WEBP_ALPHA_CODER
                + (pixels * WEBP_ALPHA_TABLES_PER_PIXEL)
                    .clamp(WEBP_ALPHA_TABLES_MIN, WEBP_ALPHA_TABLES_MAX),
            pixels * WEBP_LEAN_ALPHA_CODER,
        )
    } else {
        (0.0, 0.0)
    };

    // One entry per variant: what it holds while it runs (beyond the
    // source), and its output.
    struct Cost {
        codec: Codec,
        full: bool,
        /// What it holds beside its output as that grows; for a full-size
        /// WebP, before its output exists (see [`Cost::encoding`]).
        work: f64,
        /// A full-size WebP's pixels in libwebp's form (part of `work`,
        /// with the converted copy it is made from).
        imported: f64,
        /// A full-size WebP's coders, fast (libwebp's alpha coder and its
        /// token buffer, after the converted copy is freed; the alpha
        /// coder runs first, but measured, what it held is not given back
        /// before the token buffer grows) and lean (the lean alpha coder).
        fast: f64,
        lean: f64,
        /// Lean, from the source: the alpha plane and its coder, before
        /// libwebp's import exists.
        alpha_first: f64,
        /// A full-size WebP's coded partitions (part of
        /// [`Cost::encoding`]): libwebp writes them in bit writers of its
        /// own, then copies them out.
        bits: f64,
        out: f64,
    }
    impl Cost {
        /// What it holds while it runs with libwebp's defaults: a
        /// full-size WebP's converted copy beside its import, then its
        /// import beside its coders and bit writers.
        fn fast_work(&self) -> f64 {
            self.work.max(self.imported + self.fast + self.bits)
        }

        /// What it holds while its output grows: a full-size WebP's
        /// import and bit writers (the converted copy is freed once
        /// libwebp has its own form of the pixels), else `work`.
        fn encoding(&self) -> f64 {
            if self.imported > 0.0 {
                self.imported + self.bits
            } else {
                self.work
            }
        }

        /// Its peak beyond the source and earlier outputs, lean: the alpha
        /// plane coded from the source, the import beside the converted
        /// copy (and the alpha chunk), the bitstream beside the import.
        fn lean_peak(&self) -> f64 {
            self.alpha_first
                .max(self.work)
                .max(self.encoding() + self.out)
        }
    }
    let costs: Vec<Cost> = variants
        .iter()
        .map(|v| {
            // The resizer's vertical pass comes first: an intermediate as
            // wide as the source and as tall as the result; beside it, its
            // filter coefficients, which grow with the source's sides.
            let (fit_pixels, resize_tmp, full) = match v.fit {
                Some((bw, bh)) => {
                    let (w, h) = crate::resize::fit_within((shape.width, shape.height), (bw, bh));
                    let tmp = f64::from(shape.width) * f64::from(h) * opaque_channels
                        + RESIZE_COEFFICIENTS_PER_SIDE_PIXEL
                            * (f64::from(shape.width) + f64::from(shape.height));
                    (f64::from(w) * f64::from(h), tmp, false)
                }
                None => (pixels, 0.0, true),
            };
            // The resizer's opaque 8-bit copy of the source, made a strip
            // at a time from more than 8 bits (`OpaqueRows::to_image`).
            let resize_input = match (opaque_passthrough, deeper_than_eight_bits) {
                (true, _) => 0.0,
                (false, false) => pixels * opaque_channels,
                (false, true) => pixels * opaque_channels + strip,
            };
            let (work, out) = match (v.spec.codec, full) {
                (Codec::Jpeg, true) => (
                    mozjpeg + strip + f64::from(shape.width) * MOZJPEG_PER_COLUMN,
                    pixels * lossy_out(v.spec.codec, v.quality),
                ),
                (Codec::Jpeg, false) => (
                    resize_input + resize_tmp + fit_pixels * (opaque_channels + 6.0),
                    fit_pixels * lossy_out(v.spec.codec, v.quality),
                ),
                // Importing: the converted copy, libwebp's form of it, and
                // the lean alpha chunk coded before.
                (Codec::WebP, true) => (
                    webp_copy + yuv + if coded_alpha { pixels } else { 0.0 },
                    pixels
                        * (lossy_out(v.spec.codec, v.quality)
                            + if coded_alpha { 1.0 } else { 0.0 }),
                ),
                (Codec::WebP, false) => (
                    resize_input + resize_tmp + fit_pixels * (opaque_channels + 24.0),
                    fit_pixels
                        * (lossy_out(v.spec.codec, v.quality) + if alpha { 1.0 } else { 0.0 }),
                ),
                // Side by side the PNG filters a copy; one at a time it
                // needs a byte per row (counted in the schedule below).
                (Codec::Png, _) => (source + rows, source * 1.001 + 1024.0),
            };
            // The lossy bitstream sits in libwebp's bit writers before
            // the output.
            let (imported, fast, lean, bits) = if v.spec.codec == Codec::WebP && full {
                (
                    yuv,
                    alpha_coder + pixels * webp_tokens(v.quality),
                    lean_alpha_coder,
                    pixels * lossy_out(Codec::WebP, v.quality),
                )
            } else {
                (0.0, 0.0, 0.0, 0.0)
            };
            let alpha_first = if lean > 0.0 {
                webp_copy + pixels * WEBP_ALPHA_PLANE + lean
            } else {
                0.0
            };
            Cost {
                codec: v.spec.codec,
                full,
                work,
                imported,
                fast,
                lean,
                alpha_first,
                bits,
                out,
            }
        })
        .collect();

    let input = input_bytes as f64;
    let all_outputs: f64 = costs.iter().map(|c| c.out).sum();

    // One at a time, in the engine's order: the full-size WebP, then JPEGs
    // and fitted variants, the PNG over the source last; but fast and
    // without alpha, the full-size WebP's import before the PNG and its
    // encode after;
    // `outputs` are what earlier passes made; `fast`: the full-size WebP
    // with libwebp's defaults (else lean). Returns the peak and the outputs
    // made by the end.
    let in_order = |costs: &[&Cost], mut outputs: f64, fast: bool| -> (f64, f64) {
        let coder = |c: &Cost| if fast { c.fast } else { c.lean };
        let has_png = costs.iter().any(|c| c.codec == Codec::Png);
        let full_webp = |c: &Cost| c.codec == Codec::WebP && c.full;
        let late_webp = |c: &Cost| full_webp(c) && has_png && !alpha && fast;
        let mut peak = decode + outputs;
        // The full-size WebPs first (before other outputs), unless late.
        let mut early: Vec<&&Cost> = costs
            .iter()
            .filter(|c| c.codec != Codec::Png && !late_webp(c))
            .collect();
        early.sort_by_key(|c| !full_webp(c));
        for c in early {
            // Its output grows while its working set is alive.
            peak = peak.max(
                source
                    + outputs
                    + if fast {
                        c.fast_work() + c.out
                    } else {
                        c.lean_peak()
                    },
            );
            outputs += c.out;
        }
        // Converting makes a copy for sources that are not 8-bit RGB(A),
        // freed once libwebp has its own form of the pixels, which stays
        // until the end.
        let late: Vec<&&Cost> = costs.iter().filter(|c| late_webp(c)).collect();
        let imported = yuv * late.len() as f64;
        if !late.is_empty() {
            peak = peak.max(source + webp_copy + imported + outputs);
        }
        for c in costs.iter().filter(|c| c.codec == Codec::Png) {
            peak = peak.max(source + rows + imported + outputs + c.out);
            outputs += c.out;
        }
        for c in late {
            peak = peak.max(imported + coder(c) + c.bits + outputs + c.out);
            outputs += c.out;
        }
        (peak, outputs)
    };
    let all: Vec<&Cost> = costs.iter().collect();
    let one_at_a_time = in_order(&all, 0.0, false).0;

    // Two passes: the full-size WebPs from their imported pixels with
    // nothing else alive, then the rest from a second decode.
    let (first, second): (Vec<&Cost>, Vec<&Cost>) =
        costs.iter().partition(|c| c.codec == Codec::WebP && c.full);
    let two_passes = if first.is_empty() {
        one_at_a_time
    } else {
        let imported = yuv * first.len() as f64;
        let mut peak = decode.max(source + webp_copy + imported);
        // Once the source is freed, glibc serves allocations up to its size
        // (at most 32 MiB, its highest mmap threshold) from the heap, where
        // freed memory stays resident: count it again, that far.
        let heap = source.min(32.0 * 1024.0 * 1024.0);
        let mut outputs = 0.0;
        for c in &first {
            // The alpha plane is coded first, its coder freed before the
            // bitstream grows: the output comes after the coder.
            peak = peak.max(imported + heap + outputs + c.lean.max(c.bits + c.out));
            outputs += c.out;
        }
        if second.is_empty() {
            peak
        } else {
            peak.max(in_order(&second, outputs, false).0)
        }
    };

    // Side by side: the source, the `threads` largest working sets at
    // once, and every output; on one thread, one at a time with the token
    // buffer.
    let mut works: Vec<f64> = costs.iter().map(Cost::fast_work).collect();
    works.sort_by(|a, b| b.total_cmp(a));
    let busy: f64 = works.iter().take(threads.max(1)).sum();
    let side_by_side = decode
        .max(source + busy + all_outputs)
        .max(in_order(&all, 0.0, true).0)
        + ARENA_PER_THREAD * threads.max(1) as f64;

    // The ICC profile: the copy taken from the header, kept to the end, and
    // the decoder's own while it decodes (the image crate's CMYK JPEG
    // decoder keeps the segments); when carried, one in every output and
    // one more while an encoder writes it (the PNG compresses it apart; the
    // WebP copies its bitstream around it), where the decoder's was; side
    // by side, one more for each other thread writing at the same time.
    let carriers = if shape.icc.carried { variants.len() } else { 0 };
    let icc = shape.icc.bytes as f64 * (2 + carriers) as f64;
    let writers = carriers.min(threads.max(1)).saturating_sub(1);
    let icc_side_by_side = icc + shape.icc.bytes as f64 * writers as f64;
    let total = |model: f64, icc: f64| {
        ((input + icc + model) * (1.0 + SLACK_FRACTION) + SLACK_BYTES) as u64
    };
    Estimate {
        one_at_a_time: total(one_at_a_time, icc),
        two_passes: total(two_passes, icc),
        side_by_side: total(side_by_side, icc_side_by_side),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Settings;

    fn shape(width: u32, height: u32, color: ColorType) -> Shape {
        Shape {
            format: Format::Png,
            width,
            height,
            color,
            progressive: None,
            turned: false,
            heic: None,
            opaque: false,
            input_copied: false,
            icc: IccShape::default(),
            exif: 0,
            held: 0,
        }
    }

    #[test]
    fn more_pixels_more_memory_and_side_by_side_costs_more() {
        let v = Settings::default().variants;
        let small = estimate(&shape(1000, 1000, ColorType::Rgb8), 0, &v, 2);
        let large = estimate(&shape(4000, 4000, ColorType::Rgb8), 0, &v, 2);
        assert!(large.one_at_a_time > 10 * small.one_at_a_time / 2);
        assert!(large.side_by_side >= large.one_at_a_time);
        let one_thread = estimate(&shape(4000, 4000, ColorType::Rgb8), 0, &v, 1);
        assert!(one_thread.side_by_side <= large.side_by_side);
    }

    #[test]
    fn alpha_and_depth_cost_more() {
        let v = Settings::default().variants;
        let rgb = estimate(&shape(3000, 3000, ColorType::Rgb8), 0, &v, 1);
        let rgba = estimate(&shape(3000, 3000, ColorType::Rgba8), 0, &v, 1);
        let rgba16 = estimate(&shape(3000, 3000, ColorType::Rgba16), 0, &v, 1);
        assert!(rgb.one_at_a_time < rgba.one_at_a_time);
        assert!(rgba.one_at_a_time < rgba16.one_at_a_time);
    }

    #[test]
    fn lean_webp_takes_less_than_half_of_the_fast_path() {
        let v = Settings::default().variants;
        let rgba = estimate(&shape(10_000, 9_999, ColorType::Rgba8), 0, &v, 1);
        // On one thread, side by side is one at a time with libwebp's
        // token buffer and alpha coder.
        assert!(2 * rgba.one_at_a_time < rgba.side_by_side);
    }

    #[test]
    fn two_passes_pay_off_for_large_images_with_alpha_only() {
        // Without a full-size JPEG (mozjpeg's coefficients beside the
        // source) or the PNG (its output, noise's at worst, beside the
        // source and the WebP's), the WebP beside the source is the peak
        // of one at a time.
        let v = Settings::default().only(&["webp", "thumbnail"]).variants;
        let rgba = estimate(&shape(10_000, 9_999, ColorType::Rgba8), 0, &v, 1);
        assert!(
            rgba.two_passes + TWO_PASSES_MIN_SAVING < rgba.one_at_a_time,
            "{rgba:?}"
        );
        let all = Settings::default().variants;
        let rgb = estimate(&shape(10_000, 9_999, ColorType::Rgb8), 0, &all, 1);
        assert!(rgb.two_passes >= rgb.one_at_a_time);
        let small = estimate(&shape(1000, 800, ColorType::Rgba8), 0, &v, 1);
        assert!(small.two_passes >= small.one_at_a_time);
    }

    #[test]
    fn fewer_variants_less_memory() {
        let all = Settings::default();
        let thumbs = Settings::default().only(&["thumbnail"]);
        let s = shape(4000, 3000, ColorType::Rgb8);
        assert!(
            estimate(&s, 0, &thumbs.variants, 1).one_at_a_time
                < estimate(&s, 0, &all.variants, 1).one_at_a_time / 2
        );
    }

    #[test]
    fn an_opaque_gif_codes_no_alpha() {
        let v = Settings::default().variants;
        let gif = |opaque| Shape {
            format: Format::Gif,
            opaque,
            ..shape(4000, 3000, ColorType::Rgba8)
        };
        let transparent = estimate(&gif(false), 0, &v, 1);
        let opaque = estimate(&gif(true), 0, &v, 1);
        // Neither the lean alpha coder (about 5 bytes a pixel) nor its
        // output: the peak moves to the next step, a byte a pixel lower.
        assert!(opaque.one_at_a_time + 12_000_000 < transparent.one_at_a_time);
        // The pixels still take 4 bytes each.
        let rgb = estimate(
            &Shape {
                format: Format::Gif,
                ..shape(4000, 3000, ColorType::Rgb8)
            },
            0,
            &v,
            1,
        );
        assert!(opaque.one_at_a_time > rgb.one_at_a_time);
    }

    #[test]
    fn a_copied_input_is_counted_while_the_pixels_are_decoded() {
        let v = Settings::default().variants;
        let webp = |input_copied| Shape {
            format: Format::WebP,
            input_copied,
            ..shape(4000, 3000, ColorType::Rgba8)
        };
        let input = 30_000_000;
        let read = estimate(&webp(false), input, &v, 1);
        let copied = estimate(&webp(true), input, &v, 1);
        // The decode is not the peak of a photo this size: a copy of a
        // large input (a lossless WebP of noise) can make it so.
        assert!(copied.one_at_a_time >= read.one_at_a_time);
        let huge = estimate(&webp(true), 200_000_000, &v, 1);
        let huge_read = estimate(&webp(false), 200_000_000, &v, 1);
        assert!(
            huge.one_at_a_time > huge_read.one_at_a_time + 100_000_000,
            "{huge:?} {huge_read:?}"
        );
    }

    #[test]
    fn an_icc_profile_is_counted_once_per_copy() {
        let v = Settings::default().variants;
        let with = |bytes, carried| Shape {
            icc: IccShape { bytes, carried },
            ..shape(100, 100, ColorType::Rgb8)
        };
        let none = estimate(&with(0, false), 0, &v, 1).one_at_a_time;
        let profile = 1 << 20;
        // Carried: the decoder's copy, one per variant, one being written.
        let carried = estimate(&with(profile, true), 0, &v, 1).one_at_a_time;
        assert!(
            carried >= none + (2 + v.len() as u64) * profile,
            "{carried} {none}"
        );
        // Left out (CMYK): the header's copy and the decoder's.
        let left_out = estimate(&with(profile, false), 0, &v, 1).one_at_a_time;
        assert!(left_out >= none + 2 * profile && left_out < carried);
    }
}
