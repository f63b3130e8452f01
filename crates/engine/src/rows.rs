//! The source's rows as the JPEG encoder takes them (8-bit gray or RGB,
//! alpha composited on white), converted a strip at a time on the way: no
//! converted copy of the whole image is ever held. An 8-bit gray or RGB
//! source is passed through as it is.

use crate::pixels;
use image::{ColorType, DynamicImage};
use std::sync::Arc;

/// About this many bytes of converted rows at a time: small next to the
/// image, large enough that the per-strip work is noise.
pub(crate) const STRIP_BYTES: usize = 1 << 20;

/// Sources whose bytes already are opaque 8-bit rows: passed through.
pub(crate) fn passes_through(color: ColorType) -> bool {
    matches!(color, ColorType::L8 | ColorType::Rgb8)
}

/// 8-bit sources with alpha (most PNGs with it): blended on white straight
/// from their rows, without a strip copied out first. Every other source
/// is cropped a strip at a time, then converted. (The memory estimate
/// charges what each way holds.)
pub(crate) fn blends_from_rows(color: ColorType) -> bool {
    matches!(color, ColorType::La8 | ColorType::Rgba8)
}

/// Opaque 8-bit rows of one source.
pub struct OpaqueRows<'a> {
    source: &'a Arc<DynamicImage>,
}

impl<'a> OpaqueRows<'a> {
    pub fn new(source: &'a Arc<DynamicImage>) -> Self {
        Self { source }
    }

    pub fn width(&self) -> u32 {
        self.source.width()
    }

    pub fn height(&self) -> u32 {
        self.source.height()
    }

    /// Gray sources stay gray; everything else becomes RGB.
    pub fn is_gray(&self) -> bool {
        !self.source.color().has_color()
    }

    pub fn channels(&self) -> usize {
        if self.is_gray() {
            1
        } else {
            3
        }
    }

    /// The whole image as opaque 8-bit pixels: the source itself when it
    /// already is that, else a converted copy (for the resizer, which needs
    /// all rows at once); from more than 8 bits, converted a strip at a
    /// time, so that no whole 8-bit copy sits beside it.
    pub fn to_image(&self) -> Arc<DynamicImage> {
        if self.passthrough().is_some() {
            return Arc::clone(self.source);
        }
        let color = self.source.color();
        if color.bytes_per_pixel() == color.channel_count() {
            return pixels::on_white(self.source);
        }
        let (width, height) = (self.width(), self.height());
        let mut raw = Vec::with_capacity(width as usize * height as usize * self.channels());
        let Ok(()) = self.for_each_strip(|strip| {
            raw.extend_from_slice(strip);
            Ok::<_, std::convert::Infallible>(())
        });
        let image = if self.is_gray() {
            image::GrayImage::from_raw(width, height, raw).map(DynamicImage::ImageLuma8)
        } else {
            image::RgbImage::from_raw(width, height, raw).map(DynamicImage::ImageRgb8)
        };
        // Strips cover every row at `channels` bytes a pixel.
        Arc::new(image.expect("strips fill the image"))
    }

    /// Calls `f` with consecutive strips of whole rows, top to bottom, each
    /// `width × rows × channels` bytes, converted exactly as [`Self::to_image`]
    /// would convert them.
    pub fn for_each_strip<E>(&self, mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if let Some(raw) = self.passthrough() {
            return f(raw);
        }
        let (width, height) = (self.width(), self.height());
        let row_bytes = width as usize * self.channels();
        let rows = (STRIP_BYTES / row_bytes.max(1)).clamp(1, height as usize) as u32;
        let color = self.source.color();
        if blends_from_rows(color) {
            let channels = usize::from(color.channel_count());
            let in_row = width as usize * channels;
            for strip in self.source.as_bytes().chunks(in_row * rows as usize) {
                f(&pixels::blend_on_white(strip, channels))?;
            }
            return Ok(());
        }
        let mut y = 0;
        while y < height {
            let n = rows.min(height - y);
            let strip = Arc::new(self.source.crop_imm(0, y, width, n));
            let opaque = pixels::on_white(&pixels::to_eight_bit(&strip));
            match opaque.as_ref() {
                DynamicImage::ImageLuma8(g) => f(g.as_raw())?,
                DynamicImage::ImageRgb8(c) => f(c.as_raw())?,
                // on_white gives gray or RGB 8-bit for every source type.
                other => unreachable!("on_white returned {:?}", other.color()),
            }
            y += n;
        }
        Ok(())
    }

    /// The source's own bytes, when they need no conversion.
    fn passthrough(&self) -> Option<&[u8]> {
        passes_through(self.source.color()).then(|| self.source.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgba, RgbaImage};

    fn strips_of(source: DynamicImage) -> (Vec<u8>, usize) {
        let source = Arc::new(source);
        let rows = OpaqueRows::new(&source);
        let mut out = Vec::new();
        let mut calls = 0;
        rows.for_each_strip(|s| {
            calls += 1;
            out.extend_from_slice(s);
            Ok::<_, ()>(())
        })
        .unwrap();
        (out, calls)
    }

    #[test]
    fn strips_equal_the_whole_conversion() {
        // Tall enough for several strips: 700 px wide RGBA → 2100-byte rows.
        let (w, h) = (700, 1200);
        let rgba = RgbaImage::from_fn(w, h, |x, y| {
            Rgba([
                (x % 256) as u8,
                (y % 256) as u8,
                ((x + y) % 256) as u8,
                (x * 7 % 256) as u8,
            ])
        });
        // 8 bits (converted whole) and 16 (a strip at a time), the same
        // pixels.
        let rgba = DynamicImage::ImageRgba8(rgba);
        let rgba16 = DynamicImage::ImageRgba16(rgba.to_rgba16());
        for source in [rgba, rgba16] {
            let whole = pixels::on_white(&pixels::to_eight_bit(&Arc::new(source.clone())));
            let image = OpaqueRows::new(&Arc::new(source.clone())).to_image();
            assert_eq!(image.as_rgb8(), whole.as_rgb8(), "{:?}", source.color());
            let (strips, calls) = strips_of(source);
            assert!(calls > 1, "several strips");
            assert_eq!(strips, whole.as_rgb8().unwrap().as_raw().as_slice());
        }
        // Gray with alpha, 8 bits (blended from the source's rows).
        // (2000 px: 2000-byte gray rows, several strips.)
        let la = DynamicImage::ImageLumaA8(gray_alpha(2000, h));
        let whole = pixels::on_white(&Arc::new(la.clone()));
        let (strips, calls) = strips_of(la);
        assert!(calls > 1, "several strips");
        assert_eq!(strips, whole.as_luma8().unwrap().as_raw().as_slice());
    }

    fn gray_alpha(w: u32, h: u32) -> image::GrayAlphaImage {
        ImageBuffer::from_fn(w, h, |x, y| {
            image::LumaA([((x + y) % 256) as u8, (x * 7 % 256) as u8])
        })
    }

    #[test]
    fn sixteen_bit_gray_alpha_becomes_gray_rows() {
        let la16: ImageBuffer<image::LumaA<u16>, Vec<u16>> =
            ImageBuffer::from_fn(3, 2, |x, _| image::LumaA([x as u16 * 30000, 65535]));
        let source = DynamicImage::ImageLumaA16(la16);
        let image = OpaqueRows::new(&Arc::new(source.clone())).to_image();
        let (strips, _) = strips_of(source);
        assert_eq!(strips, vec![0, 117, 233, 0, 117, 233]);
        assert_eq!(image.as_luma8().unwrap().as_raw(), &strips);
    }

    #[test]
    fn rgb_sources_pass_through_in_one_call() {
        let rgb = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
        let (strips, calls) = strips_of(DynamicImage::ImageRgb8(rgb.clone()));
        assert_eq!(calls, 1);
        assert_eq!(strips, rgb.into_raw());
    }
}
