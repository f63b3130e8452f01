//! JPEG with mozjpeg, set up to give libjpeg-turbo's pixels in fewer bytes.
//!
//! Same quantisation tables, 4:2:0 subsampling and DCT as libjpeg-turbo (what
//! Pillow uses), so the decoded pixels match Pillow's at the same quality;
//! progressive scans with optimised Huffman tables then save bytes without
//! touching a pixel. Trellis quantisation is off: it saves more bytes but
//! lowers fidelity at the same quality number.

use crate::rows::OpaqueRows;
use mozjpeg_sys::J_COLOR_SPACE;

mod compressor;
pub(crate) use compressor::{error_exit, libjpeg_message};

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
    encode_counting(rows, quality, icc).map(|e| e.bytes)
}

fn encode_counting(
    rows: &OpaqueRows,
    quality: u8,
    icc: Option<&[u8]>,
) -> Result<compressor::Encoded, String> {
    let gray = rows.is_gray();
    let (space, components) = if gray {
        (J_COLOR_SPACE::JCS_GRAYSCALE, 1)
    } else {
        (J_COLOR_SPACE::JCS_RGB, 3)
    };
    // APP2 can carry at most 255 chunks of a profile.
    let profile = super::profile_for(icc, gray).filter(|p| p.len() <= MAX_ICC_BYTES);
    let frame = compressor::Frame {
        space,
        components,
        width: rows.width(),
        height: rows.height(),
        quality,
    };
    compressor::compress(&frame, &profile.map(icc_markers).unwrap_or_default(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, GrayImage, Rgb, RgbImage};
    use mozjpeg::{ColorSpace, Compress, Marker};
    use std::sync::Arc;

    #[test]
    fn icc_markers_count_from_one() {
        let profile = vec![7u8; ICC_CHUNK + 10];
        let markers = icc_markers(&profile);
        assert_eq!(markers.len(), 2);
        assert_eq!(&markers[0][..14], b"ICC_PROFILE\0\x01\x02");
        assert_eq!(&markers[1][12..14], &[2, 2]);
        assert_eq!(markers[1].len(), 14 + 10);
    }

    /// What the `mozjpeg` crate writes for the same settings, with both
    /// coefficient sets kept whole.
    fn reference(image: &DynamicImage, quality: u8, icc: Option<&[u8]>) -> Vec<u8> {
        let gray = !image.color().has_color();
        let (space, pixels) = if gray {
            (ColorSpace::JCS_GRAYSCALE, image.to_luma8().into_raw())
        } else {
            (ColorSpace::JCS_RGB, image.to_rgb8().into_raw())
        };
        let mut c = Compress::new(space);
        c.set_fastest_defaults();
        c.set_size(image.width() as usize, image.height() as usize);
        c.set_quality(f32::from(quality));
        c.set_optimize_coding(true);
        c.set_progressive_mode();
        let mut started = c.start_compress(Vec::new()).expect("start");
        for marker in icc.map(icc_markers).unwrap_or_default() {
            started.write_marker(Marker::APP(2), &marker);
        }
        started.write_scanlines(&pixels).expect("rows");
        started.finish().expect("finish")
    }

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb([(x * 7 + y) as u8, (y * 5) as u8, ((x ^ y) * 3) as u8])
        })
    }

    #[test]
    fn the_one_row_copy_gives_the_bytes_of_two_whole_sets() {
        let mut icc = vec![0u8; 132];
        icc[0..4].copy_from_slice(&132u32.to_be_bytes());
        icc[16..20].copy_from_slice(b"RGB ");
        icc[36..40].copy_from_slice(b"acsp");
        let cases: Vec<(DynamicImage, u8, Option<&[u8]>, usize)> = vec![
            (DynamicImage::ImageRgb8(gradient(333, 251)), 85, None, 3),
            (DynamicImage::ImageRgb8(gradient(17, 9)), 60, Some(&icc), 3),
            (
                DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(gradient(64, 48)).to_rgba8()),
                85,
                None,
                3,
            ),
            (
                DynamicImage::ImageLuma8(DynamicImage::ImageRgb8(gradient(301, 77)).to_luma8()),
                60,
                None,
                1,
            ),
            // Noise at q95 outgrows the first output buffer (a quarter byte
            // a pixel): the destination's growth path.
            (
                DynamicImage::ImageRgb8(imgflow_testkit::fixtures::noise(400, 300)),
                95,
                None,
                3,
            ),
        ];
        for (image, quality, icc, components) in cases {
            let source = Arc::new(image);
            let ours = encode_counting(&OpaqueRows::new(&source), quality, icc).expect("encodes");
            assert_eq!(ours.write_only_sets, components, "{:?}", source.color());
            assert!(
                ours.bytes == reference(&source, quality, icc),
                "{:?} q{quality}: bytes differ from mozjpeg's own session",
                source.color()
            );
        }
    }

    #[test]
    fn a_libjpeg_error_comes_back_as_its_message() {
        // Wider than JPEG allows (65500): libjpeg stops in jpeg_start_compress.
        let source = Arc::new(DynamicImage::ImageLuma8(GrayImage::new(65_501, 1)));
        let err = encode(&OpaqueRows::new(&source), 85, None).expect_err("too wide");
        assert!(err.contains("65500"), "{err}");
        // The session was torn down cleanly: the next one works.
        let small = Arc::new(DynamicImage::ImageLuma8(GrayImage::new(8, 8)));
        assert!(encode(&OpaqueRows::new(&small), 85, None).is_ok());
    }
}
