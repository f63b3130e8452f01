//! A GIF's first frame on its canvas: the logical screen, grown to hold the
//! frame where it reaches past it ([`crate::structure::gif_canvas`]): the
//! size browsers and Pillow give it. The image crate crops the frame to
//! the screen instead. Around the frame, the canvas is transparent, as the
//! image crate leaves it (Pillow fills it with the background colour).

use image::error::{DecodingError, ImageFormatHint, LimitError, LimitErrorKind};
use image::{ImageError, ImageFormat, RgbaImage};

/// Decodes the first frame of `bytes` onto a `canvas` the header reader
/// computed and the pixel limit admitted; a frame that does not fit it
/// (the two parsers disagree) is refused, so no buffer outgrows the canvas.
pub fn decode(bytes: &[u8], canvas: (u32, u32)) -> Result<RgbaImage, ImageError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    let mut decoder = options.read_info(bytes).map_err(error)?;
    let Some(frame) = decoder.next_frame_info().map_err(error)? else {
        return Err(decoding("the file holds no frame"));
    };
    let (left, top) = (u32::from(frame.left), u32::from(frame.top));
    let (width, height) = (u32::from(frame.width), u32::from(frame.height));
    if left + width > canvas.0 || top + height > canvas.1 {
        return Err(decoding(&format!(
            "its first frame ({width}x{height} at {left},{top}) reaches past the {}x{} canvas its header gives",
            canvas.0, canvas.1
        )));
    }
    let mut pixels = vec![0; width as usize * height as usize * 4];
    decoder.read_into_buffer(&mut pixels).map_err(error)?;
    if (left, top, width, height) == (0, 0, canvas.0, canvas.1) {
        // The common case: the frame is the canvas, one buffer.
        return RgbaImage::from_raw(width, height, pixels)
            .ok_or_else(|| decoding("the frame's buffer does not match its size"));
    }
    let mut image = RgbaImage::new(canvas.0, canvas.1);
    let row = width as usize * 4;
    if row > 0 {
        let stride = canvas.0 as usize * 4;
        for (y, line) in pixels.chunks_exact(row).enumerate() {
            let at = (top as usize + y) * stride + left as usize * 4;
            image.as_mut()[at..at + row].copy_from_slice(line);
        }
    }
    Ok(image)
}

fn decoding(detail: &str) -> ImageError {
    super::decoding_error(ImageFormat::Gif, detail)
}

/// The gif crate's errors as the image crate reports them.
fn error(e: gif::DecodingError) -> ImageError {
    match e {
        gif::DecodingError::Io(io) => ImageError::IoError(io),
        gif::DecodingError::MemoryLimit | gif::DecodingError::OutOfMemory => {
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory))
        }
        other => ImageError::Decoding(DecodingError::new(
            ImageFormatHint::Exact(ImageFormat::Gif),
            other,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GIF of a `screen`, with one frame at (x, y) of `w`x`h` whose
    /// pixels are all colour 1 (white) of a black-and-white table.
    fn gif(screen: (u16, u16), (x, y, w, h): (u16, u16, u16, u16)) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder =
                gif::Encoder::new(&mut out, screen.0, screen.1, &[0, 0, 0, 255, 255, 255]).unwrap();
            let mut frame = gif::Frame::from_indexed_pixels(
                w,
                h,
                vec![1; usize::from(w) * usize::from(h)],
                None,
            );
            frame.left = x;
            frame.top = y;
            encoder.write_frame(&frame).unwrap();
        }
        out
    }

    #[test]
    fn a_frame_past_its_screen_is_drawn_whole_on_a_grown_canvas() {
        let bytes = gif((1, 1), (2, 1, 3, 2));
        let image = decode(&bytes, (5, 3)).unwrap();
        assert_eq!(image.dimensions(), (5, 3));
        for (x, y, p) in image.enumerate_pixels() {
            let inside = (2..5).contains(&x) && (1..3).contains(&y);
            let expected = if inside { [255; 4] } else { [0; 4] };
            assert_eq!(p.0, expected, "({x}, {y})");
        }
    }

    #[test]
    fn a_frame_that_is_its_canvas_is_decoded_as_it_comes() {
        let image = decode(&gif((4, 3), (0, 0, 4, 3)), (4, 3)).unwrap();
        assert!(image.pixels().all(|p| p.0 == [255; 4]));
    }

    #[test]
    fn a_frame_past_the_canvas_it_was_admitted_with_is_refused() {
        let e = decode(&gif((1, 1), (0, 0, 4, 3)), (4, 2)).unwrap_err();
        assert!(e.to_string().contains("reaches past the 4x2 canvas"), "{e}");
    }
}
