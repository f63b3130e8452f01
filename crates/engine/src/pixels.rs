//! The pixel views the encoders need, each computed at most once per image.
//!
//! The source keeps its own colour type for the lossless PNG. Lossy codecs
//! take 8-bit data: WebP with alpha, JPEG composited on white (JPEG has no
//! alpha). Views that equal the source share it instead of copying, and the
//! JPEG encoders take theirs a strip at a time ([`crate::rows`]).

use image::{DynamicImage, GrayImage, RgbImage};
use std::sync::Arc;

/// Converts to 8 bits per channel, keeping gray/colour and alpha.
pub fn to_eight_bit(image: &Arc<DynamicImage>) -> Arc<DynamicImage> {
    match image.as_ref() {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => Arc::clone(image),
        DynamicImage::ImageLuma16(_) => Arc::new(DynamicImage::ImageLuma8(image.to_luma8())),
        DynamicImage::ImageLumaA16(_) => {
            Arc::new(DynamicImage::ImageLumaA8(image.to_luma_alpha8()))
        }
        other if other.color().has_alpha() => Arc::new(DynamicImage::ImageRgba8(image.to_rgba8())),
        _ => Arc::new(DynamicImage::ImageRgb8(image.to_rgb8())),
    }
}

/// Drops alpha from an 8-bit image by compositing it on white; gray stays gray.
pub fn on_white(eight_bit: &Arc<DynamicImage>) -> Arc<DynamicImage> {
    match eight_bit.as_ref() {
        DynamicImage::ImageLumaA8(la) => {
            let (w, h) = la.dimensions();
            Arc::new(DynamicImage::ImageLuma8(
                GrayImage::from_raw(w, h, blend_on_white(la.as_raw(), 2))
                    .expect("length matches dimensions"),
            ))
        }
        DynamicImage::ImageRgba8(rgba) => {
            let (w, h) = rgba.dimensions();
            Arc::new(DynamicImage::ImageRgb8(
                RgbImage::from_raw(w, h, blend_on_white(rgba.as_raw(), 4))
                    .expect("length matches dimensions"),
            ))
        }
        _ => Arc::clone(eight_bit),
    }
}

/// 8-bit gray + alpha (`channels` 2) or RGBA (4) pixels composited on
/// white: gray or RGB, one byte a channel.
pub fn blend_on_white(raw: &[u8], channels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / channels * (channels - 1));
    for p in raw.chunks_exact(channels) {
        let (color, alpha) = p.split_at(channels - 1);
        out.extend(color.iter().map(|&c| blend_white(c, alpha[0])));
    }
    out
}

/// 8-bit RGB or RGBA (WebP has no gray mode); alpha dropped when fully opaque.
pub fn rgb_or_rgba(eight_bit: &Arc<DynamicImage>) -> Arc<DynamicImage> {
    match eight_bit.as_ref() {
        DynamicImage::ImageRgb8(_) => Arc::clone(eight_bit),
        DynamicImage::ImageRgba8(rgba) if has_transparency(rgba.as_raw(), 4) => {
            Arc::clone(eight_bit)
        }
        DynamicImage::ImageLumaA8(la) if has_transparency(la.as_raw(), 2) => {
            Arc::new(DynamicImage::ImageRgba8(eight_bit.to_rgba8()))
        }
        _ => Arc::new(DynamicImage::ImageRgb8(eight_bit.to_rgb8())),
    }
}

/// What WebP is encoded from: 8-bit RGB or RGBA sources as they are (libwebp
/// itself leaves out an alpha channel that is fully opaque, exactly as if it
/// had been given RGB), anything else converted by [`rgb_or_rgba`].
pub fn for_webp(source: &Arc<DynamicImage>) -> Arc<DynamicImage> {
    match source.as_ref() {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => Arc::clone(source),
        _ => rgb_or_rgba(&to_eight_bit(source)),
    }
}

/// Whether any pixel is less than fully opaque (alpha is the last channel).
pub fn has_transparency(raw: &[u8], channels: usize) -> bool {
    raw.chunks_exact(channels)
        .any(|p| p[channels - 1] != u8::MAX)
}

/// `c` over white with coverage `a`, rounded.
#[inline]
fn blend_white(c: u8, a: u8) -> u8 {
    let (c, a) = (u32::from(c), u32::from(a));
    ((c * a + 255 * (255 - a) + 127) / 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{GrayAlphaImage, ImageBuffer, Luma, Rgba, RgbaImage};

    fn gray_alpha(w: u32, h: u32, raw: Vec<u8>) -> Option<DynamicImage> {
        GrayAlphaImage::from_raw(w, h, raw).map(DynamicImage::ImageLumaA8)
    }

    fn rgba(w: u32, h: u32, raw: Vec<u8>) -> Option<DynamicImage> {
        RgbaImage::from_raw(w, h, raw).map(DynamicImage::ImageRgba8)
    }

    #[test]
    fn blending_on_white() {
        assert_eq!(blend_white(0, 0), 255);
        assert_eq!(blend_white(0, 255), 0);
        assert_eq!(blend_white(100, 255), 100);
        assert_eq!(blend_white(0, 128), 127);
    }

    #[test]
    fn rgba_becomes_rgb_on_white() {
        let src = Arc::new(rgba(2, 1, vec![255, 0, 0, 255, 0, 0, 255, 0]).unwrap());
        let out = on_white(&src);
        assert_eq!(out.as_rgb8().unwrap().as_raw(), &[255, 0, 0, 255, 255, 255]);
    }

    #[test]
    fn gray_alpha_stays_gray() {
        let src = Arc::new(gray_alpha(1, 1, vec![0, 0]).unwrap());
        assert_eq!(on_white(&src).as_luma8().unwrap().as_raw(), &[255]);
        assert!(
            rgb_or_rgba(&src).as_rgba8().is_some(),
            "transparent gray keeps alpha for WebP"
        );
    }

    #[test]
    fn opaque_alpha_is_dropped_for_webp_and_views_are_shared() {
        let src = Arc::new(rgba(1, 1, vec![1, 2, 3, 255]).unwrap());
        assert_eq!(rgb_or_rgba(&src).as_rgb8().unwrap().as_raw(), &[1, 2, 3]);
        let rgb = Arc::new(DynamicImage::ImageRgb8(RgbImage::new(2, 2)));
        assert!(Arc::ptr_eq(&on_white(&rgb), &rgb));
        assert!(Arc::ptr_eq(&to_eight_bit(&rgb), &rgb));
    }

    #[test]
    fn sixteen_bit_is_reduced_once() {
        let g16: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_raw(1, 1, vec![65535]).unwrap();
        let out = to_eight_bit(&Arc::new(DynamicImage::ImageLuma16(g16)));
        assert_eq!(out.as_luma8().unwrap().as_raw(), &[255]);
        let c16: ImageBuffer<Rgba<u16>, Vec<u16>> =
            ImageBuffer::from_raw(1, 1, vec![0, 32896, 65535, 0]).unwrap();
        let out = to_eight_bit(&Arc::new(DynamicImage::ImageRgba16(c16)));
        assert_eq!(out.as_rgba8().unwrap().as_raw(), &[0, 128, 255, 0]);
    }
}
