//! The lean WebP (no token buffer, the alpha plane coded apart) against
//! libwebp's own: the same alpha, exactly, and as faithful colour, read
//! back by libwebp (what browsers run) and by image-webp.

use image::{DynamicImage, RgbaImage};
use imgflow_engine::codecs::webp::{encode, encode_imported, import, Footprint};
use imgflow_testkit::fixtures::*;
use libwebp_sys as sys;

/// RGBA read back by libwebp.
fn libwebp_decode(bytes: &[u8]) -> RgbaImage {
    let (mut w, mut h) = (0, 0);
    // SAFETY: libwebp reads `bytes` and returns a buffer of w*h*4 bytes
    // (or null), freed here.
    unsafe {
        let p = sys::WebPDecodeRGBA(bytes.as_ptr(), bytes.len(), &mut w, &mut h);
        assert!(!p.is_null(), "libwebp cannot read it");
        let pixels = std::slice::from_raw_parts(p, (w * h * 4) as usize).to_vec();
        sys::WebPFree(p.cast());
        RgbaImage::from_raw(w as u32, h as u32, pixels).unwrap()
    }
}

/// Photo-like colour; alpha: a ramp, a fully transparent block, noise.
fn source() -> RgbaImage {
    let mut img = photo_like(320, 240);
    let mut seed = 7u32;
    for (x, y, p) in img.enumerate_pixels_mut() {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        p.0[3] = match (x, y) {
            (0..=99, 0..=79) => 0,
            (200.., 160..) => (seed >> 24) as u8,
            _ => p.0[3],
        };
    }
    img
}

fn mean_error(a: &RgbaImage, b: &RgbaImage) -> f64 {
    // Colour where it shows (alpha above 0).
    let (mut sum, mut n) = (0u64, 0u64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        if p.0[3] > 0 {
            sum += (0..3)
                .map(|c| u64::from(p.0[c].abs_diff(q.0[c])))
                .sum::<u64>();
            n += 3;
        }
    }
    sum as f64 / n as f64
}

#[test]
fn lean_alpha_is_exact_and_colour_as_faithful() {
    let src = source();
    let image = std::sync::Arc::new(DynamicImage::ImageRgba8(src.clone()));
    let profile = icc_profile(b"RGB ");
    let fast = encode(image.clone(), 85, Some(&profile), Footprint::Fast).unwrap();
    let lean = encode(image.clone(), 85, Some(&profile), Footprint::Lean).unwrap();
    assert_eq!(&lean[12..16], b"VP8X");
    assert!(contains(&lean, b"ALPH") && contains(&lean, b"ICCP"));
    for (name, bytes) in [("fast", &fast), ("lean", &lean)] {
        let by_libwebp = libwebp_decode(bytes);
        let by_image = image::load_from_memory(bytes).unwrap().to_rgba8();
        for decoded in [&by_libwebp, &by_image] {
            assert_eq!(decoded.dimensions(), src.dimensions());
            let alpha = |i: &RgbaImage| i.pixels().map(|p| p.0[3]).collect::<Vec<_>>();
            assert!(alpha(decoded) == alpha(&src), "{name}: alpha differs");
        }
    }
    let (fast_error, lean_error) = (
        mean_error(&libwebp_decode(&fast), &src),
        mean_error(&libwebp_decode(&lean), &src),
    );
    assert!(
        lean_error <= fast_error * 1.1 + 0.2,
        "colour off by {lean_error} (fast: {fast_error})"
    );
}

#[test]
fn lean_leaves_out_an_opaque_alpha() {
    let mut src = photo_like(64, 48);
    src.pixels_mut().for_each(|p| p.0[3] = 255);
    let lean = encode(
        DynamicImage::ImageRgba8(src).into(),
        85,
        None,
        Footprint::Lean,
    )
    .unwrap();
    assert!(!contains(&lean, b"ALPH"));
    assert_eq!(&lean[12..16], b"VP8 ");
}

#[test]
fn lean_codes_the_same_alpha_from_the_source_as_from_imported_pixels() {
    // `encode` codes the alpha plane before importing (the lean peak);
    // `encode_imported` (two passes) takes it from libwebp's picture.
    let image = std::sync::Arc::new(DynamicImage::ImageRgba8(source()));
    let from_source = encode(image.clone(), 85, None, Footprint::Lean).expect("encodes");
    let imported = import(&image).expect("imports");
    let from_picture = encode_imported(imported, 85, None, Footprint::Lean).expect("encodes");
    assert!(from_source == from_picture, "the two lean paths differ");
}
