//! Two-sample gray TIFFs (Pillow's "LA" saved as TIFF, and what image
//! editors write for a gray image with transparency), which the tiff crate
//! reads as "multiband" images and the image crate's decoder then refuses.
//! The second sample is alpha when ExtraSamples says so (associated or
//! not); otherwise it is dropped and the image is gray, as Pillow reads it.
//! Planar (one plane per sample) and white-is-zero ones stay refused, as do
//! palette TIFFs: the tiff crate reads none of those.

use image::error::{DecodingError, ImageFormatHint, LimitError, LimitErrorKind};
use image::error::{UnsupportedError, UnsupportedErrorKind};
use image::metadata::Orientation;
use image::{ColorType, ImageDecoder, ImageError, ImageFormat, ImageResult};
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// A two-sample gray TIFF, opened.
pub struct ExtraTiffDecoder<'a> {
    inner: Decoder<Cursor<&'a [u8]>>,
    dimensions: (u32, u32),
    /// Bits per sample: 8 or 16.
    bits: u8,
    /// The second sample is alpha (else it is dropped).
    alpha: bool,
}

impl<'a> ExtraTiffDecoder<'a> {
    /// `Ok(None)` for a TIFF of another kind (the image crate's to
    /// read or refuse). `max_alloc` bounds the tiff crate's buffers.
    pub fn open(bytes: &'a [u8], max_alloc: u64) -> ImageResult<Option<Self>> {
        const BLACK_IS_ZERO: u16 = 1;
        const CHUNKY: u16 = 1;
        let mut limits = Limits::default();
        limits.decoding_buffer_size = usize::try_from(max_alloc).unwrap_or(usize::MAX);
        let mut inner = Decoder::new(Cursor::new(bytes))
            .map_err(error)?
            .with_limits(limits);
        let dimensions = inner.dimensions().map_err(error)?;
        // One value per sample, or one for all: all unsigned integers.
        let unsigned = |inner: &mut Decoder<_>, tag| -> ImageResult<Vec<u16>> {
            Ok(inner
                .find_tag_unsigned_vec::<u16>(tag)
                .map_err(error)?
                .unwrap_or_default())
        };
        if unsigned(&mut inner, Tag::SampleFormat)?
            .iter()
            .any(|&f| f != 1)
            || unsigned(&mut inner, Tag::PlanarConfiguration)?
                .first()
                .is_some_and(|&c| c != CHUNKY)
            || unsigned(&mut inner, Tag::PhotometricInterpretation)?.first() != Some(&BLACK_IS_ZERO)
        {
            return Ok(None);
        }
        let bits = match inner.colortype().map_err(error)? {
            tiff::ColorType::Multiband {
                bit_depth: bits @ (8 | 16),
                num_samples: 2,
            } => bits,
            _ => return Ok(None),
        };
        // ExtraSamples: 1 associated alpha, 2 unassociated, 0 unspecified.
        let alpha = matches!(
            unsigned(&mut inner, Tag::ExtraSamples)?.first(),
            Some(1 | 2)
        );
        Ok(Some(ExtraTiffDecoder {
            inner,
            dimensions,
            bits,
            alpha,
        }))
    }
}

impl ImageDecoder for ExtraTiffDecoder<'_> {
    fn dimensions(&self) -> (u32, u32) {
        self.dimensions
    }

    fn color_type(&self) -> ColorType {
        match (self.bits, self.alpha) {
            (8, true) => ColorType::La8,
            (8, false) => ColorType::L8,
            (_, true) => ColorType::La16,
            (_, false) => ColorType::L16,
        }
    }

    /// The samples as the file stores them: two a pixel.
    fn original_color_type(&self) -> image::ExtendedColorType {
        if self.bits == 8 {
            image::ExtendedColorType::La8
        } else {
            image::ExtendedColorType::La16
        }
    }

    fn orientation(&mut self) -> ImageResult<Orientation> {
        let tag = self
            .inner
            .find_tag_unsigned::<u8>(Tag::Orientation)
            .ok()
            .flatten();
        Ok(tag
            .and_then(Orientation::from_exif)
            .unwrap_or(Orientation::NoTransforms))
    }

    fn read_image(mut self, buf: &mut [u8]) -> ImageResult<()> {
        let decoded = self.inner.read_image().map_err(error)?;
        let samples: &[u8] = match &decoded {
            DecodingResult::U8(samples) => samples,
            DecodingResult::U16(samples) => bytemuck::cast_slice(samples),
            _ => return Err(decoding("its samples are not of the size its tags give")),
        };
        let wanted = if self.alpha { buf.len() } else { 2 * buf.len() };
        if samples.len() != wanted {
            return Err(decoding("its pixel data is not the image's size"));
        }
        if self.alpha {
            buf.copy_from_slice(samples);
        } else {
            // Gray only: the first sample of each pair.
            let sample = usize::from(self.bits / 8);
            for (pixel, out) in samples
                .chunks_exact(2 * sample)
                .zip(buf.chunks_exact_mut(sample))
            {
                out.copy_from_slice(&pixel[..sample]);
            }
        }
        Ok(())
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}

fn decoding(detail: &str) -> ImageError {
    super::decoding_error(ImageFormat::Tiff, detail)
}

/// The tiff crate's errors as the image crate reports them.
fn error(e: tiff::TiffError) -> ImageError {
    match e {
        tiff::TiffError::IoError(io) => ImageError::IoError(io),
        tiff::TiffError::LimitsExceeded => {
            ImageError::Limits(LimitError::from_kind(LimitErrorKind::InsufficientMemory))
        }
        tiff::TiffError::UnsupportedError(what) => {
            ImageError::Unsupported(UnsupportedError::from_format_and_kind(
                ImageFormat::Tiff.into(),
                UnsupportedErrorKind::GenericFeature(what.to_string()),
            ))
        }
        other => ImageError::Decoding(DecodingError::new(
            ImageFormatHint::Exact(ImageFormat::Tiff),
            other,
        )),
    }
}
