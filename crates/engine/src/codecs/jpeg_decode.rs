//! JPEG decoding with libjpeg-turbo (the decoder inside mozjpeg): SIMD, and
//! the same fancy upsampling as Pillow, browsers and most of the web, so the
//! lossy variants start from the pixels everyone else sees.

use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{ColorSpace, Decompress};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Decodes gray, YCbCr and RGB JPEGs; `Ok(None)` for CMYK/YCCK, which the
/// caller leaves to the image crate (it converts them to RGB).
pub fn decode(bytes: &[u8]) -> Result<Option<DynamicImage>, String> {
    // libjpeg reports fatal errors by unwinding; keep them inside this function.
    catch_unwind(AssertUnwindSafe(
        || -> std::io::Result<Option<DynamicImage>> {
            let d = Decompress::new_mem(bytes)?;
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
