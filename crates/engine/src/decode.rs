//! Bytes → oriented pixels: sniff, check limits before allocating, decode
//! once, apply EXIF orientation, keep the ICC profile, drop everything else.

use super::codecs::png_source::WithoutText;
use super::codecs::tiff_decode::ExtraTiffDecoder;
use super::codecs::{self, gif_decode, heic, jpeg_decode, panic_message};
use super::error::RejectReason;
use super::sniff::{format_name, sniff, Format, Sniffed};
use super::{alpha, structure};
use crate::memory::{self, IccShape, Shape};
use crate::settings::{Limits, VariantSettings};
use image::codecs::png::PngDecoder;
use image::error::UnsupportedErrorKind;
use image::metadata::Orientation;
use image::{ColorType, DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader};
use std::io::{BufRead, Cursor, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A decoded upload, oriented, with the metadata that survives into variants.
#[derive(Debug)]
pub struct SourceImage {
    pub format: Format,
    /// Oriented pixels in the decoder's own colour type (bit depth, alpha kept).
    pub pixels: DynamicImage,
    /// The embedded ICC profile, if any. EXIF, XMP and IPTC are not kept.
    pub icc: Option<Vec<u8>>,
}

/// What the header says, before any pixel is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    pub width: u32,
    pub height: u32,
}

/// What the header says, before any pixel is allocated: the checks of
/// [`decode`] up to the pixels, and what the memory estimate needs.
pub fn inspect(
    bytes: &[u8],
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<Shape, RejectReason> {
    let format = check_bytes(bytes, limits)?;
    // The headers are read by other crates' parsers (imagesize, the image
    // crate's decoders, heifer's ISOBMFF reader) beside our own structure
    // checks: all of it only reads the upload, guarded like the decoders
    // (a panic's message names where it happened).
    unless_it_panics(format_name(format), "the header reader", || {
        read_header(format, bytes, limits, variants)
    })
}

fn read_header(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<Shape, RejectReason> {
    let Some(image_format) = format.image_format() else {
        return heic_header(bytes, limits, variants).map(|h| heic_shape(&h));
    };
    let restored = webp_alpha_restored(format, bytes);
    let bytes = restored.as_deref().unwrap_or(bytes);
    let mut decoder = open(bytes, (format, image_format), limits, variants)?;
    let (width, height) = dimensions(format, bytes, &decoder);
    let color = if format == Format::Jpeg && decoder.color_type().has_color() {
        // CMYK comes out as RGB too.
        image::ColorType::Rgb8
    } else {
        decoder.color_type()
    };
    let orientation = orientation(format, bytes, &mut decoder);
    let icc = checked_icc(format, icc_profile(format, bytes, &mut decoder))?;
    let mut icc_shape = icc_shape(icc.as_deref());
    if format == Format::Jpeg {
        // Segments that make no profile are kept by the header reader too.
        icc_shape.bytes = icc_shape
            .bytes
            .max(structure::jpeg_icc_segment_bytes(bytes));
    }
    let exif = decoder
        .exif_metadata()
        .ok()
        .flatten()
        .map_or(0, |e| e.len());
    Ok(Shape {
        format,
        width,
        height,
        color,
        progressive: (format == Format::Jpeg)
            .then(|| structure::jpeg_progressive_coefficients(bytes))
            .flatten(),
        turned: turns(orientation),
        heic: None,
        opaque: format == Format::Gif && structure::gif_first_frame_is_opaque(bytes),
        // The image crate decodes what mozjpeg does not (CMYK, YCCK), from
        // a copy of the input.
        input_copied: restored.is_some()
            || (format == Format::Jpeg
                && !matches!(structure::jpeg_components(bytes), Some(1 | 3))),
        icc: icc_shape,
        exif: exif as u64,
        held: match format {
            Format::Tiff => memory::tiff_decoder_held(
                decoder.original_color_type().bits_per_pixel(),
                u64::from(width) * u64::from(height),
            ),
            // The header reader's input and its copy of it, while it opens.
            Format::Jpeg => {
                structure::jpeg_header_only_len(bytes).unwrap_or(bytes.len()) as u64 * 2
            }
            Format::WebP => memory::webp_decoder_held(
                structure::webp_coding(bytes).unwrap_or_default(),
                color.has_alpha(),
                u64::from(width) * u64::from(height),
            ),
            _ => 0,
        },
    })
}

/// The EXIF orientation, from the decoder; a JPEG's from its first EXIF
/// block, which Pillow and browsers follow (the decoder keeps the last of
/// several, which may turn the image another way).
fn orientation(format: Format, bytes: &[u8], decoder: &mut impl ImageDecoder) -> Orientation {
    let found = if format == Format::Jpeg {
        structure::jpeg_first_exif(bytes).and_then(Orientation::from_exif_chunk)
    } else {
        decoder.orientation().ok()
    };
    found.unwrap_or(Orientation::NoTransforms)
}

/// The upload's ICC profile, from the decoder (a TIFF's from its tag, see
/// [`structure::tiff_icc_profile`]). Broken metadata does not make the
/// pixels unusable: without a readable profile the image goes on without one.
fn icc_profile(format: Format, bytes: &[u8], decoder: &mut impl ImageDecoder) -> Option<Vec<u8>> {
    let profile = if format == Format::Tiff {
        structure::tiff_icc_profile(bytes).map(<[u8]>::to_vec)
    } else {
        decoder.icc_profile().ok().flatten()
    };
    profile.filter(|p| !p.is_empty())
}

/// `icc`, refused when the variants would carry a profile larger than
/// [`codecs::MAX_ICC_BYTES`] (one they leave out, e.g. CMYK, may be any size:
/// it is part of the upload's bytes and never copied further).
fn checked_icc(format: Format, icc: Option<Vec<u8>>) -> Result<Option<Vec<u8>>, RejectReason> {
    match &icc {
        Some(profile) if profile.len() > codecs::MAX_ICC_BYTES && codecs::carried(profile) => {
            Err(RejectReason::Corrupt {
                format: format_name(format).to_owned(),
                detail: format!(
                    "its ICC profile takes {} bytes, more than the {} MiB a profile may take \
                     (real ones take kilobytes, and every variant carries a copy)",
                    profile.len(),
                    codecs::MAX_ICC_BYTES >> 20
                ),
            })
        }
        _ => Ok(icc),
    }
}

/// What the memory estimate needs of the profile.
fn icc_shape(icc: Option<&[u8]>) -> IccShape {
    icc.map_or(IccShape::default(), |profile| IccShape {
        bytes: profile.len() as u64,
        carried: codecs::carried(profile),
    })
}

/// A HEIC's header, checked against the limits as every format's is.
fn heic_header(
    bytes: &[u8],
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<heic::HeicHeader, RejectReason> {
    let mut header = heic::header(bytes).map_err(heic_rejection)?;
    header.icc = checked_icc(Format::Heic, header.icc.take())?;
    // The canvas is decoded before clap crops it: it counts too.
    let (cw, ch) = header.canvas;
    let canvas_pixels = u64::from(cw) * u64::from(ch);
    if canvas_pixels > limits.max_pixels {
        return Err(RejectReason::TooManyPixels {
            width: cw,
            height: ch,
            pixels: canvas_pixels,
            limit: limits.max_pixels,
        });
    }
    let shown = Header {
        format: Format::Heic,
        width: header.width,
        height: header.height,
    };
    check_dimensions(shown, limits, variants)?;
    Ok(header)
}

fn heic_shape(header: &heic::HeicHeader) -> Shape {
    Shape {
        format: Format::Heic,
        width: header.width,
        height: header.height,
        color: heic_color(header),
        progressive: None,
        // heifer turns the pixels itself (counted in `heic`).
        turned: false,
        heic: Some(header.decode),
        opaque: false,
        input_copied: false,
        icc: icc_shape(header.icc.as_deref()),
        // heifer reads the orientation from the boxes, not the EXIF.
        exif: 0,
        held: 0,
    }
}

/// What [`heic::decode`] returns for this header.
fn heic_color(header: &heic::HeicHeader) -> ColorType {
    match (header.bit_depth > 8, header.has_alpha) {
        (false, false) => ColorType::Rgb8,
        (false, true) => ColorType::Rgba8,
        (true, false) => ColorType::Rgb16,
        (true, true) => ColorType::Rgba16,
    }
}

fn heic_rejection(e: heic::HeicError) -> RejectReason {
    let format = Format::Heic.name().to_owned();
    match e {
        heic::HeicError::Truncated => RejectReason::Truncated { format },
        heic::HeicError::Corrupt(detail) => RejectReason::Corrupt { format, detail },
        heic::HeicError::Unsupported(what) => RejectReason::UnsupportedFormat { format: what },
        heic::HeicError::UnsupportedFeature(feature) => {
            RejectReason::UnsupportedFeature { format, feature }
        }
    }
}

/// Orientations that swap width and height (a second buffer to turn into).
fn turns(orientation: Orientation) -> bool {
    use Orientation::*;
    matches!(
        orientation,
        Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH
    )
}

/// Decodes `bytes`, refusing anything over `limits` or that an enabled
/// variant's format cannot hold, before the pixel buffer is allocated.
pub fn decode(
    bytes: &[u8],
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<SourceImage, RejectReason> {
    let format = check_bytes(bytes, limits)?;
    // From the header to the pixels, the upload is parsed by other crates'
    // decoders: guarded. What is done to the pixels after is ours: a panic
    // there is our bug (the engine crashed), not a corrupt upload.
    let (mut image, orientation) = unless_it_panics(format_name(format), "the decoder", || {
        decode_pixels(format, bytes, limits, variants)
    })?;
    let pixels = &mut image.pixels;
    if format == Format::Gif && structure::gif_first_frame_is_opaque(bytes) {
        // The memory estimate trusted the header (no alpha to code); palette
        // indices past the palette, which the decoder leaves transparent,
        // must not make it wrong. They come out black.
        if let DynamicImage::ImageRgba8(rgba) = pixels {
            rgba.pixels_mut().for_each(|p| p.0[3] = u8::MAX);
        }
    }
    match format {
        Format::Bmp => alpha::opaque_if_all_transparent(pixels),
        Format::Tiff if structure::tiff_alpha_is_associated(bytes) => alpha::unpremultiply(pixels),
        _ => {}
    }
    pixels.apply_orientation(orientation);
    Ok(image)
}

/// The decoders' pixels, as they come, and the EXIF orientation to apply.
fn decode_pixels(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<(SourceImage, Orientation), RejectReason> {
    let Some(image_format) = format.image_format() else {
        let header = heic_header(bytes, limits, variants)?;
        // Grid tiles decode side by side on the engine's threads; heifer
        // turns the pixels itself.
        let pixels =
            heic::decode(bytes, &header, rayon::current_num_threads()).map_err(heic_rejection)?;
        let image = SourceImage {
            format,
            pixels,
            icc: header.icc,
        };
        return Ok((image, Orientation::NoTransforms));
    };
    let restored = webp_alpha_restored(format, bytes);
    let bytes = restored.as_deref().unwrap_or(bytes);
    let mut decoder = open(bytes, (format, image_format), limits, variants)?;
    let name = format_name(format);
    let (width, height) = dimensions(format, bytes, &decoder);

    let icc = checked_icc(format, icc_profile(format, bytes, &mut decoder))?;
    let orientation = orientation(format, bytes, &mut decoder);

    let pixels = if format == Format::Jpeg {
        // The image crate's decoder holds a copy of the input: free it first.
        drop(decoder);
        let decoded = jpeg_decode::decode(bytes).map_err(|detail| {
            let format = name.to_owned();
            if mentions_truncation(&detail) {
                RejectReason::Truncated { format }
            } else {
                RejectReason::Corrupt { format, detail }
            }
        })?;
        match decoded {
            Some(pixels) => pixels,
            // CMYK/YCCK: the image crate converts those to RGB.
            None => unless_it_panics(name, "the CMYK decoder", || {
                image_crate_decode(bytes, (format, image_format), limits)
            })?,
        }
    } else if format == Format::Gif {
        drop(decoder);
        gif_decode::decode(bytes, (width, height))
            .map(DynamicImage::ImageRgba8)
            .map_err(|e| classify(e, name, limits))?
    } else {
        DynamicImage::from_decoder(decoder).map_err(|e| classify(e, name, limits))?
    };
    let image = SourceImage {
        format,
        pixels,
        icc,
    };
    Ok((image, orientation))
}

/// A copy of a WebP whose extended header is wrong about its alpha, with
/// the flag made right (`structure::webp_with_alpha_flag_restored`); `None`
/// for every other file, read as it is.
fn webp_alpha_restored(format: Format, bytes: &[u8]) -> Option<Vec<u8>> {
    (format == Format::WebP)
        .then(|| structure::webp_with_alpha_flag_restored(bytes))
        .flatten()
}

/// Runs a parser of the upload from another crate, which can panic on
/// damaged files rather than fail (found by fuzzing: zune-jpeg 0.5
/// asserting in its CMYK upsampler; png 0.18 slicing past a palette that is
/// not whole entries). A panic there is a corrupt upload, not a dead
/// process (nor a failed Lambda event or CLI batch).
fn unless_it_panics<T>(
    name: &str,
    decoder: &str,
    decode: impl FnOnce() -> Result<T, RejectReason>,
) -> Result<T, RejectReason> {
    catch_unwind(AssertUnwindSafe(decode)).unwrap_or_else(|panic| {
        Err(RejectReason::Corrupt {
            format: name.to_owned(),
            detail: format!("{decoder} failed: {}", panic_message(panic)),
        })
    })
}

/// The checks that need no pixels, after [`check_bytes`]: the header's
/// dimensions against the limits (before the decoder, which could first
/// call a bomb "truncated"), completeness, consistency; then the decoder, with its
/// header read.
fn open<'a>(
    bytes: &'a [u8],
    (format, image_format): (Format, ImageFormat),
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<Box<dyn ImageDecoder + 'a>, RejectReason> {
    let name = format_name(format);
    let check = |width, height| {
        let header = Header {
            format,
            width,
            height,
        };
        check_dimensions(header, limits, variants)
    };
    if let Some((width, height)) = header_dimensions(format, bytes) {
        check(width, height)?;
    }
    match structure::flaw(format, bytes) {
        Some(structure::Flaw::Truncated) => {
            return Err(RejectReason::Truncated {
                format: name.to_owned(),
            })
        }
        Some(structure::Flaw::Contradiction(detail)) => {
            return Err(RejectReason::Corrupt {
                format: name.to_owned(),
                detail,
            })
        }
        Some(structure::Flaw::Unsupported(coding)) => {
            return Err(RejectReason::UnsupportedFormat {
                format: coding.to_owned(),
            })
        }
        None => {}
    }
    // JPEG pixels come from mozjpeg: this decoder reads the header alone.
    let header_only = match format {
        Format::Jpeg => structure::jpeg_header_only(bytes),
        _ => None,
    };
    let read = match header_only {
        Some(header) => reader_decoder(Cursor::new(header), image_format, limits),
        None => image_crate_decoder(bytes, image_format, limits),
    };
    let opened = match read {
        Ok(decoder) => Ok(decoder),
        // Two-sample gray TIFFs, which the image crate refuses.
        Err(ImageError::Unsupported(e)) if format == Format::Tiff => {
            match ExtraTiffDecoder::open(bytes, max_alloc(limits)) {
                Ok(Some(decoder)) => Ok(Box::new(decoder) as Box<dyn ImageDecoder + 'a>),
                Ok(None) => Err(ImageError::Unsupported(e)),
                Err(other) => Err(other),
            }
        }
        Err(e) => Err(e),
    };
    let decoder = opened.map_err(|e| match &e {
        ImageError::Unsupported(unsupported) if format == Format::Tiff => {
            tiff_unsupported(unsupported, bytes).unwrap_or_else(|| classify(e, name, limits))
        }
        _ => classify(e, name, limits),
    })?;
    let (width, height) = dimensions(format, bytes, &decoder);
    check(width, height)?;
    Ok(decoder)
}

/// A TIFF the decoder refuses, with its pixel type in words
/// (`structure::tiff_pixel_kind`), which the decoder names by its bit count
/// alone (a colour type), or not at all; `None` when the tags cannot say.
fn tiff_unsupported(e: &image::error::UnsupportedError, bytes: &[u8]) -> Option<RejectReason> {
    const READ: &str = "the decoder reads 1, 8 and 16-bit gray, with or without alpha; \
         8 and 16-bit RGB, RGBA and CMYK; floating-point RGB and RGBA";
    let kind = structure::tiff_pixel_kind(bytes)?;
    let feature = match e.kind() {
        UnsupportedErrorKind::Color(_) => format!("its pixels are {kind} ({READ})"),
        UnsupportedErrorKind::GenericFeature(what) => {
            format!("{what} (its pixels are {kind}; {READ})")
        }
        _ => format!("{e} (its pixels are {kind}; {READ})"),
    };
    Some(RejectReason::UnsupportedFeature {
        format: format_name(Format::Tiff).to_owned(),
        feature,
    })
}

/// The image's dimensions: the decoder's, except a GIF's, whose canvas may
/// be larger than the screen the decoder reports (`structure::gif_canvas`).
fn dimensions(format: Format, bytes: &[u8], decoder: &impl ImageDecoder) -> (u32, u32) {
    match format {
        Format::Gif => structure::gif_canvas(bytes).unwrap_or_else(|| decoder.dimensions()),
        _ => decoder.dimensions(),
    }
}

/// The dimensions the header declares, where they can be read. imagesize
/// reads a BMP's as unsigned 32-bit values, which holds only for the
/// common bottom-up BITMAPINFOHEADER: a top-down one (negative height)
/// came out 4294967236 rows high, and an OS/2 core header (16-bit sizes)
/// as 262148 by 1572865; those are read here.
fn header_dimensions(format: Format, bytes: &[u8]) -> Option<(u32, u32)> {
    if format == Format::Bmp {
        let u16_at = |i: usize| Some(u16::from_le_bytes(bytes.get(i..i + 2)?.try_into().ok()?));
        let i32_at = |i: usize| Some(i32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?));
        return match i32_at(14)? {
            12 => Some((u32::from(u16_at(18)?), u32::from(u16_at(20)?))),
            // A negative width is the decoder's to refuse.
            _ => Some((u32::try_from(i32_at(18)?).ok()?, i32_at(22)?.unsigned_abs())),
        };
    }
    if format == Format::Gif {
        return structure::gif_canvas(bytes);
    }
    let size = imagesize::blob_size(bytes).ok()?;
    Some((
        u32::try_from(size.width).ok()?,
        u32::try_from(size.height).ok()?,
    ))
}

fn image_crate_decoder<'a>(
    bytes: &'a [u8],
    format: ImageFormat,
    limits: &Limits,
) -> image::ImageResult<Box<dyn ImageDecoder + 'a>> {
    if format == ImageFormat::Png {
        // Without its text chunks, which that decoder would keep.
        let decoder = PngDecoder::with_limits(WithoutText::new(bytes), decoder_limits(limits))?;
        return Ok(Box::new(decoder));
    }
    reader_decoder(Cursor::new(bytes), format, limits)
}

/// The image crate's decoder for `format` on `input` (borrowed, or bytes
/// of its own, freed once it has read them).
fn reader_decoder<'a>(
    input: impl BufRead + Seek + 'a,
    format: ImageFormat,
    limits: &Limits,
) -> image::ImageResult<Box<dyn ImageDecoder + 'a>> {
    let mut reader = ImageReader::with_format(input, format);
    reader.limits(decoder_limits(limits));
    Ok(Box::new(reader.into_decoder()?))
}

fn decoder_limits(limits: &Limits) -> image::Limits {
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(max_alloc(limits));
    decoder_limits
}

/// The most one allocation of a decoder may take. Our pixel limit is the
/// real guard; this only keeps decoders' own allocations in proportion to
/// it (16 bytes/pixel = RGBA f32).
fn max_alloc(limits: &Limits) -> u64 {
    limits.max_pixels.saturating_mul(16).max(64 << 20)
}

fn image_crate_decode(
    bytes: &[u8],
    (format, image_format): (Format, ImageFormat),
    limits: &Limits,
) -> Result<DynamicImage, RejectReason> {
    image_crate_decoder(bytes, image_format, limits)
        .and_then(DynamicImage::from_decoder)
        .map_err(|e| classify(e, format_name(format), limits))
}

/// Size and signature checks that need no decoder.
pub fn check_bytes(bytes: &[u8], limits: &Limits) -> Result<Format, RejectReason> {
    if bytes.is_empty() {
        return Err(RejectReason::Empty);
    }
    let len = bytes.len() as u64;
    if len > limits.max_bytes {
        return Err(RejectReason::TooManyBytes {
            bytes: len,
            limit: limits.max_bytes,
        });
    }
    match sniff(bytes) {
        Sniffed::Supported(format) => Ok(format),
        Sniffed::Unsupported(name) => Err(RejectReason::UnsupportedFormat {
            format: name.to_owned(),
        }),
        Sniffed::Unknown => Err(RejectReason::NotAnImage),
    }
}

/// The pixel limit, and each enabled variant's format limit on side length.
pub fn check_dimensions(
    header: Header,
    limits: &Limits,
    variants: &[VariantSettings],
) -> Result<(), RejectReason> {
    let Header { width, height, .. } = header;
    if width == 0 || height == 0 {
        return Err(RejectReason::Corrupt {
            format: format_name(header.format).to_owned(),
            detail: format!("the header says {width}x{height}"),
        });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(RejectReason::TooManyPixels {
            width,
            height,
            pixels,
            limit: limits.max_pixels,
        });
    }
    for v in variants {
        let max = v.spec.codec.max_side();
        // A variant that fits in a box is smaller than its format's limit.
        if v.fit.is_none() && (width > max || height > max) {
            return Err(RejectReason::DimensionsTooLarge {
                width,
                height,
                codec: v.spec.codec.label(),
                max,
                variant: v.spec.name,
            });
        }
    }
    Ok(())
}

/// Maps a decoder error to a stable reason.
fn classify(error: ImageError, format: &str, limits: &Limits) -> RejectReason {
    let format = format.to_owned();
    match error {
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            RejectReason::Truncated { format }
        }
        // Our pixel limit is checked (`open`) before a decoder allocates
        // pixels, so this is the decoder's allocation limit: a size in the
        // header that the pixels do not need (a TIFF strip of 2 GB, a
        // 60 MB EXIF chunk), never a reason to raise the pixel limit.
        ImageError::Limits(e) => RejectReason::Corrupt {
            format,
            detail: format!(
                "it asks the decoder for more than the {} MiB it may take at once, \
                 which its pixels do not need ({e})",
                max_alloc(limits) >> 20
            ),
        },
        ImageError::Unsupported(e) => RejectReason::UnsupportedFeature {
            format,
            feature: match e.kind() {
                UnsupportedErrorKind::Color(colour) => {
                    format!("its pixels are of a type the decoder does not read ({colour:?})")
                }
                UnsupportedErrorKind::GenericFeature(what) => what,
                _ => e.to_string(),
            },
        },
        other => {
            let detail = other.to_string();
            if mentions_truncation(&detail) {
                RejectReason::Truncated { format }
            } else {
                RejectReason::Corrupt { format, detail }
            }
        }
    }
}

fn mentions_truncation(detail: &str) -> bool {
    let d = detail.to_ascii_lowercase();
    [
        "eof",
        "end of file",
        "unexpected end",
        "truncated",
        "not enough data",
        "no more bytes",
        "exhausted",
        "premature end",
    ]
    .iter()
    .any(|needle| d.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_the_upload_is_parsed_is_a_corrupt_upload() {
        let result: Result<(), _> = unless_it_panics("PNG", "the header reader", || {
            panic!("index 9 out of range")
        });
        match result {
            Err(RejectReason::Corrupt { format, detail }) => {
                assert_eq!(format, "PNG");
                assert_eq!(detail, "the header reader failed: index 9 out of range");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_parser_error_passes_through_the_guard_unchanged() {
        let result: Result<(), _> =
            unless_it_panics("GIF", "the decoder", || Err(RejectReason::NotAnImage));
        assert!(
            matches!(result, Err(RejectReason::NotAnImage)),
            "{result:?}"
        );
    }
}
