//! Lossy WebP with libwebp (the same encoder and defaults as Pillow's), alpha
//! kept, and the ICC profile in an ICCP chunk of an extended (VP8X) container.
//!
//! Two footprints: [`Footprint::Fast`] is libwebp as Pillow runs it;
//! [`Footprint::Lean`] is for when memory is tight (see `memory`).

use image::DynamicImage;
use libwebp_sys as sys;
use std::ffi::c_int;
use std::sync::Arc;

/// Encodes RGB or RGBA 8-bit pixels at `quality` (method 4, single thread:
/// deterministic output; parallelism comes from encoding variants side by side).
/// `image` is dropped once libwebp has its own form of the pixels: when it
/// is the last reference (a converted copy), it is freed before libwebp's
/// coders grow.
pub fn encode(
    image: Arc<DynamicImage>,
    quality: u8,
    icc: Option<&[u8]>,
    footprint: Footprint,
) -> Result<Vec<u8>, String> {
    if footprint == Footprint::Fast {
        let imported = import(&image)?;
        drop(image);
        return encode_imported(imported, quality, icc, footprint);
    }
    // Lean: the alpha plane is coded first, from the source, before
    // libwebp's copy of the pixels exists (the two never sit side by side).
    let alph = match image.as_ref() {
        DynamicImage::ImageRgba8(rgba) if rgba.pixels().any(|p| p.0[3] != u8::MAX) => {
            let plane: Vec<u8> = rgba.pixels().map(|p| p.0[3]).collect();
            Some(alph_payload(&plane, image.width(), image.height())?)
        }
        _ => None,
    };
    let mut imported = import(&image)?;
    drop(image);
    if alph.is_some() {
        detach_alpha(&mut imported);
    }
    encode_with(imported, quality, icc, footprint, alph)
}

/// How much memory the encoder may hold beyond its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Footprint {
    /// libwebp's defaults. It records the whole image's tokens before
    /// writing them, so that coefficient probabilities come from exact
    /// statistics: a buffer that follows the content (1–3 bytes a pixel
    /// for photos, up to 26 for noise at quality 100). Its lossless alpha
    /// coder takes about 13 bytes a pixel.
    Fast,
    /// No token buffer (`low_memory`: probabilities from a first analysis
    /// pass; 50–80% slower, a few tenths of a percent more or fewer
    /// bytes), and the alpha plane coded apart by image-webp's lossless
    /// encoder (about 4 bytes a pixel; a simpler coder, so a larger alpha
    /// chunk).
    Lean,
}

/// Pixels converted to the encoder's own form (YUV 4:2:0, plus alpha when
/// some pixel is not opaque): 1.5–2.5 bytes per pixel, after which the
/// source is no longer needed.
pub struct Imported {
    picture: sys::WebPPicture,
}

impl Drop for Imported {
    fn drop(&mut self) {
        // SAFETY: the picture was initialised by WebPPicture::new and
        // filled by an import; freeing twice is prevented by ownership.
        unsafe { sys::WebPPictureFree(&mut self.picture) }
    }
}

/// Converts RGB or RGBA 8-bit pixels for [`encode_imported`].
pub fn import(image: &DynamicImage) -> Result<Imported, String> {
    let (raw, channels) = match image {
        DynamicImage::ImageRgb8(c) => (c.as_raw(), 3),
        DynamicImage::ImageRgba8(c) => (c.as_raw(), 4),
        other => return Err(format!("WebP needs RGB(A) 8-bit, got {:?}", other.color())),
    };
    let (width, height) = (image.width(), image.height());
    let mut imported = Imported {
        picture: sys::WebPPicture::new().map_err(|_| "libwebp version mismatch".to_owned())?,
    };
    let picture = &mut imported.picture;
    picture.width = width as c_int;
    picture.height = height as c_int;
    picture.use_argb = 0;
    let stride = (width as usize * channels) as c_int;
    // SAFETY: `raw` holds width*height*channels bytes (checked by the image
    // type); the import copies them.
    let ok = unsafe {
        if channels == 4 {
            sys::WebPPictureImportRGBA(picture, raw.as_ptr(), stride)
        } else {
            sys::WebPPictureImportRGB(picture, raw.as_ptr(), stride)
        }
    };
    if ok == 0 {
        return Err("out of memory importing pixels".to_owned());
    }
    Ok(imported)
}

/// Encodes imported pixels, freeing them as soon as the encoder is done.
pub fn encode_imported(
    mut imported: Imported,
    quality: u8,
    icc: Option<&[u8]>,
    footprint: Footprint,
) -> Result<Vec<u8>, String> {
    let alph = match footprint {
        Footprint::Lean => take_alpha(&mut imported)?,
        Footprint::Fast => None,
    };
    encode_with(imported, quality, icc, footprint, alph)
}

/// Encodes `imported`, with `alph` as its alpha chunk when given (the
/// picture then opaque).
fn encode_with(
    mut imported: Imported,
    quality: u8,
    icc: Option<&[u8]>,
    footprint: Footprint,
    alpha: Option<Vec<u8>>,
) -> Result<Vec<u8>, String> {
    let (width, height) = (imported.picture.width, imported.picture.height);
    let bitstream = fit_control_partition(width, height, |partition_limit| {
        encode_once(&mut imported, quality, footprint, partition_limit)
    })?;
    // Done with the pixels before the container's copies.
    drop(imported);
    let bitstream = match alpha {
        Some(alph) => {
            let wrapped = with_alpha(&bitstream, &alph, width as u32, height as u32)?;
            // Not beside the ICC step's copies.
            drop((bitstream, alph));
            wrapped
        }
        None => bitstream,
    };
    match super::profile_for(icc, false) {
        Some(profile) => with_icc(&bitstream, profile),
        None => Ok(bitstream),
    }
}

/// libwebp's `partition_limit`s, tried in turn. VP8 keeps every
/// macroblock's modes in one control partition of at most 512 KiB: a very
/// large, detailed image overflows it at full quality (seen at 100 MP from
/// a camera photo, without the token buffer). The limit makes libwebp use
/// the costly intra 4×4 modes less, losing a little quality where it
/// matters least; an image that fits keeps the default (0) and its bytes.
const PARTITION_LIMITS: [c_int; 4] = [0, 30, 70, 100];

/// Runs `encode` with each of [`PARTITION_LIMITS`] in turn until the
/// control partition fits (`encode` gives `None` when it overflowed).
fn fit_control_partition(
    width: c_int,
    height: c_int,
    mut encode: impl FnMut(c_int) -> Result<Option<Vec<u8>>, String>,
) -> Result<Vec<u8>, String> {
    for partition_limit in PARTITION_LIMITS {
        if let Some(bitstream) = encode(partition_limit)? {
            return Ok(bitstream);
        }
        tracing::info!(
            width,
            height,
            partition_limit,
            "WebP control partition overflowed; encoding again with a higher partition_limit"
        );
    }
    Err(format!(
        "libwebp cannot fit the modes of {width}x{height} pixels in VP8's 512 KiB control \
         partition, even with partition_limit {}",
        PARTITION_LIMITS.last().unwrap_or(&0)
    ))
}

/// One `WebPEncode` of `imported`: the bitstream, or `None` when the
/// control partition overflowed (try a higher `partition_limit`).
fn encode_once(
    imported: &mut Imported,
    quality: u8,
    footprint: Footprint,
    partition_limit: c_int,
) -> Result<Option<Vec<u8>>, String> {
    let mut config =
        sys::WebPConfig::new_with_preset(sys::WebPPreset::WEBP_PRESET_DEFAULT, f32::from(quality))
            .map_err(|_| "libwebp version mismatch".to_owned())?;
    config.method = 4;
    config.thread_level = 0;
    config.low_memory = c_int::from(footprint == Footprint::Lean);
    config.partition_limit = partition_limit;
    // SAFETY: config is initialised above.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err("invalid WebP configuration".to_owned());
    }
    let mut out: Vec<u8> = Vec::new();
    let picture = &mut imported.picture;
    picture.writer = Some(append_to_vec);
    picture.custom_ptr = (&mut out as *mut Vec<u8>).cast();
    // SAFETY: config and picture are initialised; `custom_ptr` points at
    // `out`, alive for the call and unset after it. WebPEncode leaves the
    // picture's pixels as they were (its transparent-area cleanup gives the
    // same result twice), so a retry encodes the same image.
    let ok = unsafe { sys::WebPEncode(&config, picture) };
    picture.writer = None;
    picture.custom_ptr = std::ptr::null_mut();
    let error = picture.error_code;
    if ok != 0 {
        Ok(Some(out))
    } else if error == sys::WebPEncodingError::VP8_ENC_ERROR_PARTITION0_OVERFLOW {
        Ok(None)
    } else {
        Err(format!("libwebp failed: {error:?}"))
    }
}

/// libwebp's writer: appends to the `Vec<u8>` behind the picture's
/// `custom_ptr`. Unlike `WebPMemoryWrite` (a new block, the old one copied
/// in, then freed) a Vec grows in place, and it is the output as it
/// stands: no copy of the bitstream is made beside it.
unsafe extern "C" fn append_to_vec(
    data: *const u8,
    size: usize,
    picture: *const sys::WebPPicture,
) -> c_int {
    // SAFETY: libwebp passes the picture given to WebPEncode, whose
    // `custom_ptr` is `encode_once`'s Vec, and `size` readable bytes at
    // `data`.
    unsafe {
        let out = &mut *(*picture).custom_ptr.cast::<Vec<u8>>();
        if size > 0 {
            out.extend_from_slice(std::slice::from_raw_parts(data, size));
        }
    }
    1
}

/// Codes the alpha plane of `imported` as an ALPH chunk's payload (VP8L,
/// lossless) and detaches it, so that libwebp codes the picture as opaque;
/// `None` when every pixel is opaque (libwebp leaves alpha out then too).
fn take_alpha(imported: &mut Imported) -> Result<Option<Vec<u8>>, String> {
    let picture = &mut imported.picture;
    // SAFETY: the picture was filled by an import: `a` is null or holds
    // `height` rows of `a_stride` bytes, `width` of them used, inside the
    // picture's own allocation.
    let alph = unsafe {
        if picture.a.is_null() || sys::WebPPictureHasTransparency(picture) == 0 {
            return Ok(None);
        }
        let (width, height) = (picture.width as usize, picture.height as usize);
        let stride = picture.a_stride as usize;
        let rows = std::slice::from_raw_parts(picture.a, stride * (height - 1) + width);
        let plane: std::borrow::Cow<[u8]> = if stride == width {
            rows.into()
        } else {
            rows.chunks(stride)
                .flat_map(|row| &row[..width])
                .copied()
                .collect::<Vec<u8>>()
                .into()
        };
        alph_payload(&plane, width as u32, height as u32)?
    };
    detach_alpha(imported);
    Ok(Some(alph))
}

/// What WebPEncode does with alpha before coding it (flatten the colour
/// of fully transparent blocks, which then cost next to nothing), then
/// the alpha plane detached: libwebp codes the picture as opaque.
fn detach_alpha(imported: &mut Imported) {
    let picture = &mut imported.picture;
    // SAFETY: an imported picture; the cleanup reads `a` and changes only
    // Y, U and V. Nulling `a` leaks nothing: WebPPictureFree frees the
    // picture's one allocation whole.
    unsafe {
        sys::WebPCleanupTransparentArea(picture);
    }
    picture.a = std::ptr::null_mut();
    picture.a_stride = 0;
    picture.colorspace = sys::WebPEncCSP::WEBP_YUV420;
}

/// An alpha plane (`width` × `height` bytes) as an ALPH chunk's payload: a
/// header byte (no preprocessing, no filter, lossless), then image-webp's
/// VP8L image stream without its 5-byte header (signature, dimensions,
/// version: the canvas gives them).
fn alph_payload(plane: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let mut file = Vec::new();
    image_webp::WebPEncoder::new(&mut file)
        .encode(plane, width, height, image_webp::ColorType::L8)
        .map_err(|e| format!("coding the alpha plane: {e}"))?;
    let frame = chunk(&file, b"VP8L").ok_or("image-webp wrote no VP8L chunk")?;
    let stream = frame
        .get(5..)
        .ok_or("image-webp wrote a truncated VP8L chunk")?;
    let mut alph = Vec::with_capacity(1 + stream.len());
    alph.push(1);
    alph.extend_from_slice(stream);
    Ok(alph)
}

/// The payload of the first `fourcc` chunk of a RIFF WebP file.
fn chunk<'a>(file: &'a [u8], fourcc: &[u8; 4]) -> Option<&'a [u8]> {
    let mut at = 12;
    while at + 8 <= file.len() {
        let size = u32::from_le_bytes(file[at + 4..at + 8].try_into().ok()?) as usize;
        let payload = file.get(at + 8..at + 8 + size)?;
        if &file[at..at + 4] == fourcc {
            return Some(payload);
        }
        at += 8 + size + size % 2;
    }
    None
}

/// An extended-format (VP8X) file: the opaque simple-format `bitstream`'s
/// VP8 chunk behind an ALPH chunk carrying `alph`.
fn with_alpha(bitstream: &[u8], alph: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let vp8 = chunk(bitstream, b"VP8 ").ok_or("libwebp wrote no VP8 chunk")?;
    riff(&[
        (b"VP8X", &vp8x(0x10, width, height)),
        (b"ALPH", alph),
        (b"VP8 ", vp8),
    ])
}

/// A VP8X chunk's payload: `flags` (0x10 alpha, 0x20 ICC, …) and the
/// canvas size.
pub(crate) fn vp8x(flags: u8, width: u32, height: u32) -> [u8; 10] {
    let mut d = [0u8; 10];
    d[0] = flags;
    d[4..7].copy_from_slice(&width.saturating_sub(1).to_le_bytes()[..3]);
    d[7..10].copy_from_slice(&height.saturating_sub(1).to_le_bytes()[..3]);
    d
}

/// A RIFF WebP file of `chunks`, each padded to an even size.
pub(crate) fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Result<Vec<u8>, String> {
    let body: usize = chunks.iter().map(|(_, d)| 8 + d.len() + d.len() % 2).sum();
    let riff_size = u32::try_from(4 + body).map_err(|_| "WebP over 4 GiB")?;
    let mut out = Vec::with_capacity(8 + 4 + body);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&riff_size.to_le_bytes());
    out.extend_from_slice(b"WEBP");
    for (fourcc, data) in chunks {
        push_chunk(&mut out, fourcc, data);
    }
    Ok(out)
}

/// Appends one chunk (FourCC, size, data, padding to an even size): the
/// caller keeps each under 4 GiB.
pub(crate) fn push_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
}

/// Re-wraps a simple-format WebP as extended format with an ICCP chunk.
fn with_icc(bitstream: &[u8], profile: &[u8]) -> Result<Vec<u8>, String> {
    // SAFETY: the mux copies what it needs (copy_data = 1) and is deleted on
    // every path; the assembled buffer is copied out and freed.
    unsafe {
        let input = sys::WebPData {
            bytes: bitstream.as_ptr(),
            size: bitstream.len(),
        };
        let mux = sys::WebPMuxCreateInternal(&input, 1, sys::WEBP_MUX_ABI_VERSION as c_int);
        if mux.is_null() {
            return Err("libwebp mux could not parse its own output".to_owned());
        }
        let chunk = sys::WebPData {
            bytes: profile.as_ptr(),
            size: profile.len(),
        };
        let set = sys::WebPMuxSetChunk(mux, c"ICCP".as_ptr(), &chunk, 1);
        let mut out = sys::WebPData {
            bytes: std::ptr::null(),
            size: 0,
        };
        let assembled = if set == sys::WebPMuxError::WEBP_MUX_OK {
            sys::WebPMuxAssemble(mux, &mut out)
        } else {
            set
        };
        sys::WebPMuxDelete(mux);
        if assembled != sys::WebPMuxError::WEBP_MUX_OK || out.bytes.is_null() {
            return Err(format!("adding the ICC profile failed: {assembled:?}"));
        }
        let bytes = std::slice::from_raw_parts(out.bytes, out.size).to_vec();
        sys::WebPDataClear(&mut out);
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        super::riff(chunks).unwrap()
    }

    #[test]
    fn the_bitstream_is_libwebps_own_byte_for_byte() {
        // Large enough that the output is written in many pieces.
        let (w, h) = (640u32, 480u32);
        let image =
            DynamicImage::ImageRgba8(imgflow_testkit::fixtures::photo_like(w, h)).into_rgb8();
        let raw = image.as_raw().clone();
        let ours = encode(
            Arc::new(DynamicImage::ImageRgb8(image)),
            85,
            None,
            Footprint::Fast,
        )
        .unwrap();
        // SAFETY: `raw` holds h rows of w*3 bytes; the output is freed
        // with WebPFree after it is copied.
        let reference = unsafe {
            let mut out = std::ptr::null_mut();
            let size = sys::WebPEncodeRGB(
                raw.as_ptr(),
                w as c_int,
                h as c_int,
                (w * 3) as c_int,
                85.0,
                &mut out,
            );
            assert!(size > 0 && !out.is_null());
            let bytes = std::slice::from_raw_parts(out, size).to_vec();
            sys::WebPFree(out.cast());
            bytes
        };
        assert!(ours.len() > 10_000);
        assert_eq!(ours, reference);
    }

    #[test]
    fn chunks_are_found_past_padding_and_never_read_past_the_end() {
        let file = riff(&[(b"ICCP", b"odd"), (b"VP8 ", b"frame")]);
        assert_eq!(chunk(&file, b"VP8 "), Some(&b"frame"[..]));
        assert_eq!(chunk(&file, b"ALPH"), None);
        // A size beyond the file: not found, not a panic.
        let mut truncated = file.clone();
        truncated.truncate(file.len() - 3);
        assert_eq!(chunk(&truncated, b"VP8 "), None);
        assert_eq!(chunk(b"RIFF", b"VP8 "), None);
    }

    #[test]
    fn alpha_needs_a_lossy_frame_and_lands_before_it() {
        let lossless = riff(&[(b"VP8L", b"stream")]);
        let err = with_alpha(&lossless, b"\x01a", 4, 3).unwrap_err();
        assert!(err.contains("no VP8 chunk"), "{err}");
        let wrapped = with_alpha(&riff(&[(b"VP8 ", b"frame")]), b"\x01a", 4, 3).unwrap();
        assert_eq!(
            chunk(&wrapped, b"VP8X"),
            Some(&[0x10, 0, 0, 0, 3, 0, 0, 2, 0, 0][..])
        );
        assert_eq!(chunk(&wrapped, b"ALPH"), Some(&b"\x01a"[..]));
        assert_eq!(chunk(&wrapped, b"VP8 "), Some(&b"frame"[..]));
        let riff_size = u32::from_le_bytes(wrapped[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_size + 8, wrapped.len());
    }

    #[test]
    fn an_overflowing_control_partition_is_encoded_again_with_higher_limits() {
        // What libwebp does with a very large, detailed image (for real,
        // at 95 MP, through the bootstrap in tests/lambda.rs): overflow at
        // the default, fit once the intra 4x4 modes are limited.
        let mut tried = Vec::new();
        let bitstream = fit_control_partition(10_000, 9_999, |limit| {
            tried.push(limit);
            Ok((limit >= 70).then(|| b"fits".to_vec()))
        })
        .unwrap();
        assert_eq!(bitstream, b"fits");
        assert_eq!(tried, [0, 30, 70]);

        // An image that fits keeps the default (and its bytes).
        let mut tried = Vec::new();
        fit_control_partition(64, 64, |limit| {
            tried.push(limit);
            Ok(Some(Vec::new()))
        })
        .unwrap();
        assert_eq!(tried, [0]);

        // Never fitting: the error names the size and the last limit;
        // other failures stop at once.
        let err = fit_control_partition(10_000, 9_999, |_| Ok(None)).unwrap_err();
        assert!(
            err.contains("10000x9999") && err.contains("partition_limit 100"),
            "{err}"
        );
        let mut calls = 0;
        let err = fit_control_partition(10_000, 9_999, |_| {
            calls += 1;
            Err("libwebp failed: VP8_ENC_ERROR_OUT_OF_MEMORY".to_owned())
        })
        .unwrap_err();
        assert!(err.contains("OUT_OF_MEMORY"), "{err}");
        assert_eq!(calls, 1);
    }
}
