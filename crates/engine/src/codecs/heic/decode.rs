//! Decoding the primary image with heifer, inside a guard against its
//! panics, to the pixels the header promised.

use super::{decoder, HeicError, HeicHeader};
use image::{DynamicImage, ImageBuffer};

/// Decodes the primary image as the header describes it: 8-bit pictures
/// to RGB8/RGBA8, 10- and 12-bit to RGB16/RGBA16 (scaled to the full 16
/// bits), the alpha channel only when the file has one. `threads` decode
/// a grid's tiles side by side.
pub fn decode(
    bytes: &[u8],
    header: &HeicHeader,
    threads: usize,
) -> Result<DynamicImage, HeicError> {
    let options = heifer::Options {
        max_threads: threads.max(1),
        // The header's pictures, no more: a bitstream whose parameter sets
        // claim a larger picture than its `ispe` is refused before its
        // planes are allocated.
        max_pixels: header
            .decode
            .canvas_pixels
            .max(header.decode.picture_pixels),
    };
    // heifer is young: a panic on a hostile file is that file's fault, not
    // a reason to take the process (and every other record) down.
    let decoded = std::panic::catch_unwind(|| {
        if header.bit_depth <= 8 {
            let image = heifer::decode_rgba8(bytes, &options)?;
            let (w, h, alpha) = (image.width, image.height, image.has_alpha);
            let data = drop_alpha_unless(alpha, image.data);
            Ok(if alpha {
                ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgba8)
            } else {
                ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgb8)
            })
        } else {
            let image = heifer::decode_with_options(bytes, &options)?;
            let (w, h, alpha) = (image.width, image.height, image.has_alpha);
            let max = u32::from(image.max_value()).max(1);
            let mut data = image.data;
            for v in &mut data {
                *v = ((u32::from(*v).min(max) * 65535 + max / 2) / max) as u16;
            }
            let data = drop_alpha_unless(alpha, data);
            Ok(if alpha {
                ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgba16)
            } else {
                ImageBuffer::from_raw(w, h, data).map(DynamicImage::ImageRgb16)
            })
        }
    });
    let pixels = match decoded {
        Ok(Ok(Some(pixels))) => pixels,
        Ok(Ok(None)) => {
            return Err(HeicError::Corrupt(
                "the decoder returned fewer samples than pixels".to_owned(),
            ))
        }
        Ok(Err(e)) => return Err(decoder(e)),
        Err(panic) => {
            return Err(HeicError::Corrupt(format!(
                "the decoder stopped on it ({})",
                crate::codecs::panic_message(panic)
            )))
        }
    };
    if (pixels.width(), pixels.height()) != (header.width, header.height) {
        return Err(HeicError::Corrupt(format!(
            "decoded {}x{}, the header says {}x{}",
            pixels.width(),
            pixels.height(),
            header.width,
            header.height
        )));
    }
    Ok(pixels)
}

/// RGBA samples as RGB, in place, when there is no alpha; the freed tail
/// is given back.
fn drop_alpha_unless<S: Copy>(alpha: bool, mut data: Vec<S>) -> Vec<S> {
    if alpha {
        return data;
    }
    let pixels = data.len() / 4;
    for i in 0..pixels {
        data.copy_within(4 * i..4 * i + 3, 3 * i);
    }
    data.truncate(3 * pixels);
    data.shrink_to_fit();
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::heic::GRID_PANIC;
    use crate::memory::HeicDecode;

    #[test]
    fn a_panic_in_the_decoder_is_a_corrupt_file() {
        // The header check bypassed: heifer itself panics on these bytes.
        let header = HeicHeader {
            width: 300,
            height: 200,
            canvas: (300, 200),
            bit_depth: 8,
            has_alpha: false,
            icc: None,
            decode: HeicDecode {
                canvas_pixels: 60_000,
                picture_pixels: 56 * 64,
                grid: true,
                chroma_format: 1,
                transformed: false,
            },
        };
        match decode(GRID_PANIC, &header, 1) {
            Err(HeicError::Corrupt(detail)) => {
                assert!(detail.contains("out of range"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }
}
