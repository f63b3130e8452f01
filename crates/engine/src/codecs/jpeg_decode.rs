//! JPEG decoding with libjpeg-turbo (the decoder inside mozjpeg): SIMD, and
//! the same fancy upsampling as Pillow, browsers and most of the web, so the
//! lossy variants start from the pixels everyone else sees.

use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{ColorSpace, Decompress};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr};
use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// libjpeg's warnings that mean the entropy-coded data ran out before the
/// image did: libjpeg fills the rest with gray and carries on, which would
/// make gray variants of a damaged upload. (Others, such as extraneous
/// bytes before a marker, leave the pixels whole and stay warnings.)
const DATA_RAN_OUT: [&str; 2] = [
    "premature end of data segment",
    "premature end of jpeg file",
];

/// An error manager that unwinds on fatal errors, as mozjpeg's own does,
/// and on the warnings of [`DATA_RAN_OUT`].
fn strict_errors() -> jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills in every field of a zeroed manager.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(super::jpeg::error_exit);
    err.emit_message = Some(warn);
    err
}

unsafe extern "C-unwind" fn warn(cinfo: &mut jpeg_common_struct, level: c_int) {
    if level < 0 {
        let message = super::jpeg::libjpeg_message(cinfo);
        let lower = message.to_ascii_lowercase();
        if DATA_RAN_OUT.iter().any(|m| lower.contains(m)) {
            std::panic::resume_unwind(Box::new(format!("libjpeg: {message}")));
        }
    }
}

/// Decodes gray, YCbCr and RGB JPEGs; `Ok(None)` for CMYK/YCCK, which the
/// caller leaves to the image crate (it converts them to RGB).
pub fn decode(bytes: &[u8]) -> Result<Option<DynamicImage>, String> {
    // libjpeg reports fatal errors by unwinding; keep them inside this function.
    catch_unwind(AssertUnwindSafe(
        || -> std::io::Result<Option<DynamicImage>> {
            let d = Decompress::with_err(strict_errors()).from_mem(bytes)?;
            let gray = match d.color_space() {
                ColorSpace::JCS_GRAYSCALE => true,
                ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => false,
                _ => return Ok(None),
            };
            let (w, h) = (d.width() as u32, d.height() as u32);
            let image = if gray {
                let mut started = d.grayscale()?;
                let pixels = started.read_scanlines::<u8>()?;
                started.finish()?;
                GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
            } else {
                let mut started = d.rgb()?;
                let pixels = started.read_scanlines::<u8>()?;
                started.finish()?;
                RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
            };
            image.map(Some).ok_or_else(|| {
                std::io::Error::other("libjpeg returned fewer rows than the header declares")
            })
        },
    ))
    .map_err(super::panic_message)?
    .map_err(|e| e.to_string())
}
