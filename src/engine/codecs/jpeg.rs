//! JPEG with mozjpeg, set up to give libjpeg-turbo's pixels in fewer bytes.
//!
//! Same quantisation tables, 4:2:0 subsampling and DCT as libjpeg-turbo (what
//! Pillow uses), so the decoded pixels match Pillow's at the same quality;
//! progressive scans with optimised Huffman tables then save bytes without
//! touching a pixel. Trellis quantisation is off: it saves more bytes but
//! lowers fidelity at the same quality number.

use image::DynamicImage;
use mozjpeg::{ColorSpace, Compress};
use std::panic::{catch_unwind, AssertUnwindSafe};

const MAX_ICC_BYTES: usize = 255 * (65_533 - 14);

/// Encodes gray or RGB 8-bit pixels.
pub fn encode(image: &DynamicImage, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let (space, raw) = match image {
        DynamicImage::ImageLuma8(g) => (ColorSpace::JCS_GRAYSCALE, g.as_raw()),
        DynamicImage::ImageRgb8(c) => (ColorSpace::JCS_RGB, c.as_raw()),
        other => {
            return Err(format!(
                "JPEG needs gray or RGB 8-bit, got {:?}",
                other.color()
            ))
        }
    };
    let (width, height) = (image.width() as usize, image.height() as usize);
    // APP2 can carry at most 255 chunks of a profile.
    let profile = super::profile_for(icc, space == ColorSpace::JCS_GRAYSCALE)
        .filter(|p| p.len() <= MAX_ICC_BYTES);

    // libjpeg reports errors by unwinding; keep them inside this function.
    catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut c = Compress::new(space);
        c.set_fastest_defaults();
        c.set_size(width, height);
        c.set_quality(f32::from(quality));
        c.set_optimize_coding(true);
        c.set_progressive_mode();
        let mut started = c.start_compress(Vec::with_capacity(width * height / 4))?;
        if let Some(profile) = profile {
            started.write_icc_profile(profile);
        }
        started.write_scanlines(raw)?;
        started.finish()
    }))
    .map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "libjpeg error".to_owned())
    })?
    .map_err(|e| e.to_string())
}
