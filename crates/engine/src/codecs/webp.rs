//! Lossy WebP with libwebp (the same encoder and defaults as Pillow's), alpha
//! kept, and the ICC profile in an ICCP chunk of an extended (VP8X) container.

use image::DynamicImage;
use libwebp_sys as sys;
use std::ffi::c_int;

/// Encodes RGB or RGBA 8-bit pixels at `quality` (method 4, single thread:
/// deterministic output; parallelism comes from encoding variants side by side).
pub fn encode(image: &DynamicImage, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (raw, channels) = match image {
        DynamicImage::ImageRgb8(c) => (c.as_raw(), 3),
        DynamicImage::ImageRgba8(c) => (c.as_raw(), 4),
        other => return Err(format!("WebP needs RGB(A) 8-bit, got {:?}", other.color())),
    };
    let (width, height) = (image.width(), image.height());
    let bitstream = encode_bitstream(raw, channels, width, height, quality)?;
    match super::profile_for(icc, false) {
        Some(profile) => with_icc(&bitstream, profile),
        None => Ok(bitstream),
    }
}

fn encode_bitstream(
    raw: &[u8],
    channels: usize,
    width: u32,
    height: u32,
    quality: u8,
) -> Result<Vec<u8>, String> {
    let mut config =
        sys::WebPConfig::new_with_preset(sys::WebPPreset::WEBP_PRESET_DEFAULT, f32::from(quality))
            .map_err(|_| "libwebp version mismatch".to_owned())?;
    config.method = 4;
    config.thread_level = 0;
    // SAFETY: config is initialised above.
    if unsafe { sys::WebPValidateConfig(&config) } == 0 {
        return Err("invalid WebP configuration".to_owned());
    }
    let mut picture = sys::WebPPicture::new().map_err(|_| "libwebp version mismatch".to_owned())?;
    picture.width = width as c_int;
    picture.height = height as c_int;
    picture.use_argb = 0;
    let stride = (width as usize * channels) as c_int;
    let mut writer = std::mem::MaybeUninit::<sys::WebPMemoryWriter>::uninit();
    // SAFETY: `raw` holds width*height*channels bytes (checked by the image
    // type); the picture and writer are freed on every path below.
    unsafe {
        sys::WebPMemoryWriterInit(writer.as_mut_ptr());
        let mut writer = writer.assume_init();
        let imported = if channels == 4 {
            sys::WebPPictureImportRGBA(&mut picture, raw.as_ptr(), stride)
        } else {
            sys::WebPPictureImportRGB(&mut picture, raw.as_ptr(), stride)
        };
        if imported == 0 {
            sys::WebPPictureFree(&mut picture);
            return Err("out of memory importing pixels".to_owned());
        }
        picture.writer = Some(sys::WebPMemoryWrite);
        picture.custom_ptr = (&mut writer as *mut sys::WebPMemoryWriter).cast();
        let ok = sys::WebPEncode(&config, &mut picture);
        let error = picture.error_code;
        sys::WebPPictureFree(&mut picture);
        let result = if ok == 0 || writer.mem.is_null() {
            Err(format!("libwebp failed: {error:?}"))
        } else {
            Ok(std::slice::from_raw_parts(writer.mem, writer.size).to_vec())
        };
        sys::WebPMemoryWriterClear(&mut writer);
        result
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
