//! Gray-and-alpha TIFFs (Pillow's "LA" saved as TIFF, and what image
//! editors write for a gray image with transparency), which the tiff crate
//! reads as two-sample "multiband" images and the image crate's decoder
//! then refuses. (Palette TIFFs stay refused: the tiff crate does not read
//! them.)

use image::error::{DecodingError, ImageFormatHint, LimitError, LimitErrorKind};
use image::error::{UnsupportedError, UnsupportedErrorKind};
use image::metadata::Orientation;
use image::{ColorType, ImageDecoder, ImageError, ImageFormat, ImageResult};
use std::io::Cursor;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

/// A gray-and-alpha TIFF, opened.
pub struct ExtraTiffDecoder<'a> {
    inner: Decoder<Cursor<&'a [u8]>>,
    dimensions: (u32, u32),
    /// Bits per sample: 8 or 16.
    bits: u8,
}

impl<'a> ExtraTiffDecoder<'a> {
    /// `Ok(None)` for a TIFF of another kind (the image crate's to
    /// read or refuse). `max_alloc` bounds the tiff crate's buffers.
    pub fn open(bytes: &'a [u8], max_alloc: u64) -> ImageResult<Option<Self>> {
        let mut limits = Limits::default();
        limits.decoding_buffer_size = usize::try_from(max_alloc).unwrap_or(usize::MAX);
        let mut inner = Decoder::new(Cursor::new(bytes))
            .map_err(error)?
            .with_limits(limits);
        let dimensions = inner.dimensions().map_err(error)?;
        let sample_format = inner
            .find_tag_unsigned::<u16>(Tag::SampleFormat)
            .map_err(error)?;
        if sample_format.is_some_and(|f| f != 1) {
            // Signed or floating-point samples: not these kinds.
            return Ok(None);
        }
        let bits = match inner.colortype().map_err(error)? {
            tiff::ColorType::Multiband {
                bit_depth: bits @ (8 | 16),
                num_samples: 2,
            } if inner
                .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
                .map_err(error)?
                == Some(1) =>
            {
                bits
            }
            _ => return Ok(None),
        };
        Ok(Some(ExtraTiffDecoder {
            inner,
            dimensions,
            bits,
        }))
    }
}

impl ImageDecoder for ExtraTiffDecoder<'_> {
    fn dimensions(&self) -> (u32, u32) {
        self.dimensions
    }

    fn color_type(&self) -> ColorType {
        if self.bits == 8 {
            ColorType::La8
        } else {
            ColorType::La16
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
        match decoded {
            DecodingResult::U8(samples) => copy_exactly(buf, &samples),
            DecodingResult::U16(samples) => copy_exactly(buf, bytemuck::cast_slice(&samples)),
            _ => Err(decoding("its samples are not of the size its tags give")),
        }
    }

    fn read_image_boxed(self: Box<Self>, buf: &mut [u8]) -> ImageResult<()> {
        (*self).read_image(buf)
    }
}

fn copy_exactly(buf: &mut [u8], samples: &[u8]) -> ImageResult<()> {
    if samples.len() != buf.len() {
        return Err(decoding("its pixel data is not the image's size"));
    }
    buf.copy_from_slice(samples);
    Ok(())
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
