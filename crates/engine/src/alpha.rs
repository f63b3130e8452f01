//! Alpha as a file means it, where decoders hand it over as stored: made
//! straight (not premultiplied) and ignored where it carries nothing. In
//! place: no copy of the image.

use image::DynamicImage;

/// Alpha that is zero everywhere made opaque. Some writers fill a BMP's
/// alpha with zeros when they mean none (Photoshop's 32-bit files, the
/// Windows clipboard); browsers then show the image opaque, and so do the
/// variants, instead of a blank (white) JPEG.
pub fn opaque_if_all_transparent(image: &mut DynamicImage) {
    if let DynamicImage::ImageRgba8(rgba) = image {
        if rgba.pixels().all(|p| p.0[3] == 0) {
            rgba.pixels_mut().for_each(|p| p.0[3] = u8::MAX);
        }
    }
}

/// Straight alpha from premultiplied ("associated", as a TIFF may say):
/// each colour divided by its alpha, rounded. Fully transparent pixels
/// keep their colour (zero, premultiplied).
pub fn unpremultiply(image: &mut DynamicImage) {
    match image {
        DynamicImage::ImageRgba8(buf) => unpremultiply_samples(buf.as_mut(), 4),
        DynamicImage::ImageLumaA8(buf) => unpremultiply_samples(buf.as_mut(), 2),
        DynamicImage::ImageRgba16(buf) => unpremultiply_samples(buf.as_mut(), 4),
        DynamicImage::ImageLumaA16(buf) => unpremultiply_samples(buf.as_mut(), 2),
        _ => {}
    }
}

/// Pixels of `channels` samples, alpha last, 8 or 16 bits.
fn unpremultiply_samples<T>(samples: &mut [T], channels: usize)
where
    T: Copy + Into<u32> + TryFrom<u32> + Bounded,
{
    let max = T::MAX.into();
    for pixel in samples.chunks_exact_mut(channels) {
        let alpha: u32 = pixel[channels - 1].into();
        if alpha == 0 || alpha == max {
            continue;
        }
        for sample in &mut pixel[..channels - 1] {
            let straight = ((*sample).into() * max + alpha / 2) / alpha;
            *sample = T::try_from(straight.min(max)).unwrap_or(T::MAX);
        }
    }
}

/// The largest sample of a type.
trait Bounded {
    const MAX: Self;
}

impl Bounded for u8 {
    const MAX: Self = u8::MAX;
}

impl Bounded for u16 {
    const MAX: Self = u16::MAX;
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgba, RgbaImage};

    #[test]
    fn premultiplied_colour_is_made_straight() {
        let pixels = vec![82, 82, 0, 82, 0, 0, 0, 0, 10, 20, 30, 255, 200, 100, 0, 200];
        let mut image = DynamicImage::ImageRgba8(RgbaImage::from_raw(4, 1, pixels).unwrap());
        unpremultiply(&mut image);
        assert_eq!(
            image.as_bytes(),
            [255, 255, 0, 82, 0, 0, 0, 0, 10, 20, 30, 255, 255, 128, 0, 200]
        );
        let mut deep = DynamicImage::ImageRgba16(
            ImageBuffer::<Rgba<u16>, _>::from_raw(1, 1, vec![16384, 0, 32768, 32768]).unwrap(),
        );
        unpremultiply(&mut deep);
        assert_eq!(deep.to_rgba16().get_pixel(0, 0).0, [32768, 0, 65535, 32768]);
    }

    #[test]
    fn alpha_that_is_zero_everywhere_is_opaque_and_other_alpha_stays() {
        let mut blank = DynamicImage::ImageRgba8(RgbaImage::from_pixel(2, 2, Rgba([255, 0, 0, 0])));
        opaque_if_all_transparent(&mut blank);
        assert!(blank.to_rgba8().pixels().all(|p| p.0 == [255, 0, 0, 255]));
        let mut cut_out = RgbaImage::from_pixel(2, 2, Rgba([255, 0, 0, 0]));
        cut_out.put_pixel(1, 1, Rgba([0, 0, 255, 1]));
        let mut cut_out = DynamicImage::ImageRgba8(cut_out);
        let before = cut_out.clone();
        opaque_if_all_transparent(&mut cut_out);
        assert_eq!(cut_out, before);
    }
}
