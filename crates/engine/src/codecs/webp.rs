//! Lossy WebP with libwebp (the same encoder and defaults as Pillow's), alpha
//! kept, and the ICC profile in an ICCP chunk of an extended (VP8X) container.

use image::DynamicImage;
use libwebp_sys as sys;
use std::ffi::c_int;

/// Encodes RGB or RGBA 8-bit pixels at `quality` (method 4, single thread:
/// deterministic output; parallelism comes from encoding variants side by side).
pub fn encode(
    image: &DynamicImage,
    quality: u8,
    icc: Option<&[u8]>,
    tokens: Tokens,
) -> Result<Vec<u8>, String> {
    encode_imported(import(image)?, quality, icc, tokens)
}

/// Whether libwebp records the whole image's tokens before it writes them.
///
/// With a token buffer (libwebp's default at method 4) the coefficient
/// probabilities come from the image's exact statistics: a few tenths of a
/// percent fewer bytes, but the buffer grows with what the image holds,
/// from about 4 bytes a pixel for photos to about 18 for noise. Without
/// (`low_memory`), probabilities come from a first analysis pass and the
/// encoder holds a macroblock row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    Buffered,
    Streamed,
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
    tokens: Tokens,
) -> Result<Vec<u8>, String> {
    let mut config =
        sys::WebPConfig::new_with_preset(sys::WebPPreset::WEBP_PRESET_DEFAULT, f32::from(quality))
            .map_err(|_| "libwebp version mismatch".to_owned())?;
    config.method = 4;
    config.thread_level = 0;
    config.low_memory = c_int::from(tokens == Tokens::Streamed);
    // SAFETY: config is initialised above.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err("invalid WebP configuration".to_owned());
    }
    let mut writer = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
    // SAFETY: the writer is initialised before use and cleared on every
    // path; the picture is freed when `imported` drops.
    let bitstream = unsafe {
        sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        let picture = &mut imported.picture;
        picture.writer = Some(sys::WebPMemoryWrite);
        picture.custom_ptr = (&mut writer as *mut sys::WebPMemoryWriter).cast();
        let ok = sys::WebPEncode(&config, picture);
        let error = picture.error_code;
        picture.custom_ptr = std::ptr::null_mut();
        drop(imported);
        let result = if ok == 0 || writer.mem.is_null() {
            Err(format!("libwebp failed: {error:?}"))
        } else {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        };
        sys::WebPMemoryWriterClear(&mut writer);
        result
    }?;
    match super::profile_for(icc, false) {
        Some(profile) => with_icc(&bitstream, profile),
        None => Ok(bitstream),
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
