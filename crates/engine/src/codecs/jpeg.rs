//! JPEG with mozjpeg, set up to give libjpeg-turbo's pixels in fewer bytes.
//!
//! Same quantisation tables, 4:2:0 subsampling and DCT as libjpeg-turbo (what
//! Pillow uses), so the decoded pixels match Pillow's at the same quality;
//! progressive scans with optimised Huffman tables then save bytes without
//! touching a pixel. Trellis quantisation is off: it saves more bytes but
//! lowers fidelity at the same quality number.

use crate::rows::OpaqueRows;
use mozjpeg::{ColorSpace, Compress, Marker};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Profile bytes per APP2 marker: 65533 minus the 14-byte ICC header.
const ICC_CHUNK: usize = 65_519;
const MAX_ICC_BYTES: usize = 255 * ICC_CHUNK;

/// The APP2 payloads that carry `profile` (ICC.1 Annex B.4). Sequence numbers
/// start at 1: mozjpeg's own `write_icc_profile` starts them at 0, which
/// libjpeg-turbo and zune-jpeg reject, so the profile would be lost.
pub fn icc_markers(profile: &[u8]) -> Vec<Vec<u8>> {
    let count = profile.len().div_ceil(ICC_CHUNK);
    profile
        .chunks(ICC_CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut m = Vec::with_capacity(chunk.len() + 14);
            m.extend_from_slice(b"ICC_PROFILE\0");
            m.extend([(i + 1) as u8, count as u8]);
            m.extend_from_slice(chunk);
            m
        })
        .collect()
}

/// Encodes opaque 8-bit rows (gray or RGB), fed to the encoder a strip at a
/// time as they are converted.
pub fn encode(rows: &OpaqueRows, quality: u8, icc: Option<&[u8]>) -> Result<Vec<u8>, String> {
    let gray = rows.is_gray();
    let space = if gray {
        ColorSpace::JCS_GRAYSCALE
    } else {
        ColorSpace::JCS_RGB
    };
    let (width, height) = (rows.width() as usize, rows.height() as usize);
    // APP2 can carry at most 255 chunks of a profile.
    let profile = super::profile_for(icc, gray).filter(|p| p.len() <= MAX_ICC_BYTES);

    // libjpeg reports errors by unwinding; keep them inside this function.
    catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut c = Compress::new(space);
        c.set_fastest_defaults();
        c.set_size(width, height);
        c.set_quality(f32::from(quality));
        c.set_optimize_coding(true);
        c.set_progressive_mode();
        // Capacity that is never written costs address space, not memory.
        let mut started = c.start_compress(Vec::with_capacity(width * height / 4))?;
        if let Some(profile) = profile {
            for marker in icc_markers(profile) {
                started.write_marker(Marker::APP(2), &marker);
            }
        }
        rows.for_each_strip(|strip| started.write_scanlines(strip))?;
        started.finish()
    }))
    .map_err(super::panic_message)?
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icc_markers_count_from_one() {
        let profile = vec![7u8; ICC_CHUNK + 10];
        let markers = icc_markers(&profile);
        assert_eq!(markers.len(), 2);
        assert_eq!(&markers[0][..14], b"ICC_PROFILE\0\x01\x02");
        assert_eq!(&markers[1][12..14], &[2, 2]);
        assert_eq!(markers[1].len(), 14 + 10);
    }
}
