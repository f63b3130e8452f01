//! Fit-in-a-box downscaling for thumbnails (Lanczos3, never upscaling).

use crate::rows::OpaqueRows;
use fast_image_resize::images::{TypedImage, TypedImageRef};
use fast_image_resize::pixels::{U8x3, U8};
use fast_image_resize::{FilterType, PixelTrait, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, GrayImage, RgbImage};
use std::sync::Arc;

/// The size that fits `(w, h)` inside `bounds` keeping the aspect ratio,
/// at least 1 px per side, and never larger than the source.
pub fn fit_within((w, h): (u32, u32), (bw, bh): (u32, u32)) -> (u32, u32) {
    if w <= bw && h <= bh {
        return (w, h);
    }
    let (w64, h64, bw64, bh64) = (u64::from(w), u64::from(h), u64::from(bw), u64::from(bh));
    // Compare w/h with bw/bh without floats: the tighter side decides.
    if w64 * bh64 >= h64 * bw64 {
        let th = (h64 * bw64 + w64 / 2) / w64;
        (bw, th.clamp(1, u64::from(bh)) as u32)
    } else {
        let tw = (w64 * bh64 + h64 / 2) / h64;
        (tw.clamp(1, u64::from(bw)) as u32, bh)
    }
}

/// Downscales the opaque rows of a source to fit in `bounds`. The resizer
/// needs all rows at once: when the source is not already opaque 8-bit, the
/// converted copy lives only as long as this call.
pub fn thumbnail(rows: &OpaqueRows, bounds: (u32, u32)) -> Result<Arc<DynamicImage>, String> {
    let opaque = rows.to_image();
    let src_size = (opaque.width(), opaque.height());
    let (tw, th) = fit_within(src_size, bounds);
    if (tw, th) == src_size {
        return Ok(opaque);
    }
    let image = match opaque.as_ref() {
        DynamicImage::ImageLuma8(g) => {
            GrayImage::from_raw(tw, th, lanczos3::<U8>(g.as_raw(), src_size, (tw, th), 1)?)
                .map(DynamicImage::ImageLuma8)
        }
        DynamicImage::ImageRgb8(c) => {
            RgbImage::from_raw(tw, th, lanczos3::<U8x3>(c.as_raw(), src_size, (tw, th), 3)?)
                .map(DynamicImage::ImageRgb8)
        }
        other => {
            return Err(format!(
                "thumbnail needs gray or RGB 8-bit, got {:?}",
                other.color()
            ))
        }
    };
    image
        .map(Arc::new)
        .ok_or_else(|| "resizer returned a buffer of the wrong size".to_owned())
}

/// Lanczos3 from `raw` (`from` pixels of `channels` bytes) to a new buffer
/// of `to` pixels. Typed on purpose: the resizer's untyped entry point
/// compiles its SIMD kernels for all 13 pixel types, which made up three
/// quarters of this crate's code and most of its build time.
fn lanczos3<P: PixelTrait>(
    raw: &[u8],
    from: (u32, u32),
    to: (u32, u32),
    channels: usize,
) -> Result<Vec<u8>, String> {
    let src = TypedImageRef::<P>::from_buffer(from.0, from.1, raw).map_err(|e| e.to_string())?;
    let mut out = vec![0u8; to.0 as usize * to.1 as usize * channels];
    let mut dst = TypedImage::<P>::from_buffer(to.0, to.1, &mut out).map_err(|e| e.to_string())?;
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize_typed(&src, &mut dst, &options)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_keep_aspect_and_never_upscale() {
        let b = (200, 200);
        assert_eq!(fit_within((4000, 3000), b), (200, 150));
        assert_eq!(fit_within((3000, 4000), b), (150, 200));
        assert_eq!(fit_within((1000, 1000), b), (200, 200));
        assert_eq!(fit_within((100, 50), b), (100, 50), "no upscaling");
        assert_eq!(fit_within((200, 200), b), (200, 200));
        assert_eq!(fit_within((10000, 1), b), (200, 1), "at least one pixel");
        assert_eq!(fit_within((1, 10000), b), (1, 200));
        assert_eq!(fit_within((201, 100), b), (200, 100));
        assert_eq!(fit_within((640, 480), (320, 100)), (133, 100));
    }

    #[test]
    fn resizes_rgb_and_gray() {
        let rgb = Arc::new(DynamicImage::ImageRgb8(RgbImage::from_pixel(
            800,
            400,
            image::Rgb([10, 200, 30]),
        )));
        let out = thumbnail(&OpaqueRows::new(&rgb), (200, 200)).unwrap();
        assert_eq!((out.width(), out.height()), (200, 100));
        // A flat colour stays that colour through a Lanczos filter.
        assert!(out
            .as_rgb8()
            .unwrap()
            .pixels()
            .all(|p| p.0 == [10, 200, 30]));

        let gray = Arc::new(DynamicImage::ImageLuma8(GrayImage::from_pixel(
            50,
            500,
            image::Luma([77]),
        )));
        let out = thumbnail(&OpaqueRows::new(&gray), (200, 200)).unwrap();
        assert_eq!((out.width(), out.height()), (20, 200));

        let small = Arc::new(DynamicImage::ImageLuma8(GrayImage::new(5, 5)));
        assert!(Arc::ptr_eq(
            &thumbnail(&OpaqueRows::new(&small), (200, 200)).unwrap(),
            &small
        ));
    }
}
