//! HEIC (HEVC-coded HEIF) decoding with heifer: the header read without
//! decoding a picture, the checks heifer does not make, and the primary
//! image decoded with its `clap`/`irot`/`imir` applied.
//!
//! heifer applies the HEIF transforms itself; the EXIF orientation a phone
//! also writes describes the same turn and is never applied on top. It
//! returns the coded RGB (YCbCr → RGB with the `nclx` or HEVC VUI matrix,
//! no colour management): the ICC profile travels with the pixels as for
//! every other format.

use crate::memory::HeicDecode;
use heifer::heifer_isobmff::boxes::{ColorInfo, Property};
use heifer::heifer_isobmff::{self as isobmff, HeifFile, ItemId};
use image::{DynamicImage, ImageBuffer};

/// Why a HEIC cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeicError {
    /// The data ends before the file does.
    #[error("the data ends before the file does")]
    Truncated,
    /// The file is damaged or inconsistent.
    #[error("{0}")]
    Corrupt(String),
    /// A HEIF whose primary image is not HEVC (AVIF, JPEG in HEIF), or
    /// uses a feature heifer does not decode; the text names it, to go
    /// before "images are not supported".
    #[error("{0}")]
    Unsupported(String),
}

/// What the header says about the primary image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeicHeader {
    /// The size shown: `clap` applied, turned by `irot` (what the decoder
    /// returns).
    pub width: u32,
    pub height: u32,
    /// The size decoded before `clap` and `irot`: `ispe`, or a grid's
    /// output size.
    pub canvas: (u32, u32),
    /// Bits per sample of the coded pictures (8, 10, 12).
    pub bit_depth: u8,
    pub has_alpha: bool,
    /// The `colr` ICC profile (`prof`/`rICC`) of the image, or of its
    /// first tile.
    pub icc: Option<Vec<u8>>,
    /// What heifer holds while it decodes (for the memory estimate).
    pub decode: HeicDecode,
}

/// Side of a grid tile on which [`HeicHeader::decode`] counts for a coded
/// image: HEVC codes whole coding blocks (up to 64), `ispe` crops them.
const CODED_MARGIN: u32 = 64;

/// Reads the boxes (no HEVC decoding, no pixel allocated) and checks what
/// heifer 0.3.22 would trust: the grid's geometry (it panics on tiles that
/// do not cover the canvas), a zero or missing `ispe` (it would return an
/// empty image).
pub fn header(bytes: &[u8]) -> Result<HeicHeader, HeicError> {
    let file = HeifFile::parse(bytes).map_err(container)?;
    let id = file.primary_id;
    let item = file.item(id).map_err(container)?;
    let item_type = item.item_type.0;
    let (canvas, first, picture) = match &item_type {
        b"hvc1" => {
            let (w, h) = ispe(&file, id)?;
            (
                (w, h),
                id,
                (
                    w.saturating_add(CODED_MARGIN),
                    h.saturating_add(CODED_MARGIN),
                ),
            )
        }
        b"grid" => {
            let (canvas, tile) = grid_geometry(&file, id)?;
            (canvas, file.referenced_items(id, b"dimg")[0], tile)
        }
        b"av01" => return Err(HeicError::Unsupported("AVIF".to_owned())),
        other => {
            return Err(HeicError::Unsupported(format!(
                "HEIF `{}`",
                String::from_utf8_lossy(other)
            )))
        }
    };
    let config = file
        .hevc_config(first)
        .map_err(container)?
        .ok_or_else(|| HeicError::Corrupt("no HEVC configuration (hvcC)".to_owned()))?;
    let bit_depth = config.bit_depth_luma.max(config.bit_depth_chroma);
    if !(8..=16).contains(&bit_depth) {
        return Err(HeicError::Corrupt(format!("{bit_depth}-bit samples")));
    }

    let (mut width, mut height) = canvas;
    let mut transformed = false;
    let mut icc = None;
    // In association order, as heifer applies them: clap, irot, imir.
    for property in file.item_properties(id).map_err(container)? {
        match property {
            Property::CleanAperture {
                width: cw,
                height: ch,
                horiz_offset,
                vert_offset,
            } => {
                (width, height) =
                    clean_aperture((width, height), *cw, *ch, *horiz_offset, *vert_offset)?;
                transformed = true;
            }
            Property::Rotation(q) => {
                if q % 2 == 1 {
                    (width, height) = (height, width);
                }
                transformed |= q % 4 != 0;
            }
            Property::Mirror(_) => transformed = true,
            Property::Color(ColorInfo::Icc(profile)) if !profile.is_empty() => {
                icc = Some(profile.clone());
            }
            _ => {}
        }
    }
    if icc.is_none() {
        // A grid's profile may sit on its tiles only.
        icc = file
            .icc_profile(id)
            .ok()
            .flatten()
            .filter(|p| !p.is_empty())
            .map(<[u8]>::to_vec);
    }
    if width == 0 || height == 0 {
        return Err(HeicError::Corrupt(format!(
            "the clean aperture leaves {width}x{height}"
        )));
    }
    let has_alpha = [id, first]
        .iter()
        .flat_map(|&i| file.referencing_items(i, b"auxl"))
        .any(|aux| is_alpha(&file, aux));
    Ok(HeicHeader {
        width,
        height,
        canvas,
        bit_depth,
        has_alpha,
        icc,
        decode: HeicDecode {
            canvas_pixels: u64::from(canvas.0) * u64::from(canvas.1),
            picture_pixels: u64::from(picture.0) * u64::from(picture.1),
            grid: item_type == *b"grid",
            chroma_format: config.chroma_format,
            transformed,
        },
    })
}

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
                super::panic_message(panic)
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

/// The `ispe` of an item: its coded size; zero is no size.
fn ispe(file: &HeifFile<'_>, id: ItemId) -> Result<(u32, u32), HeicError> {
    match file.image_size(id).map_err(container)? {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        Some((w, h)) => Err(HeicError::Corrupt(format!("the header says {w}x{h}"))),
        None => Err(HeicError::Corrupt(
            "an image without a size (ispe)".to_owned(),
        )),
    }
}

/// Width and height.
type Size = (u32, u32);

/// A grid's canvas and tile size, once its tiles are known to cover the
/// canvas: as many tiles as rows × columns, all HEVC, all of one size.
fn grid_geometry(file: &HeifFile<'_>, id: ItemId) -> Result<(Size, Size), HeicError> {
    let grid = file.grid(id).map_err(container)?;
    let canvas = (grid.output_width, grid.output_height);
    if canvas.0 == 0 || canvas.1 == 0 {
        return Err(HeicError::Corrupt(format!(
            "the grid says {}x{}",
            canvas.0, canvas.1
        )));
    }
    let tiles = file.referenced_items(id, b"dimg");
    if tiles.is_empty() || tiles.len() != usize::from(grid.rows) * usize::from(grid.columns) {
        return Err(HeicError::Corrupt(format!(
            "a {}x{} grid of {} tiles",
            grid.columns,
            grid.rows,
            tiles.len()
        )));
    }
    let tile = ispe(file, tiles[0])?;
    for &t in tiles {
        let item = file.item(t).map_err(container)?;
        if item.item_type.0 != *b"hvc1" {
            return Err(HeicError::Unsupported(format!(
                "HEIF `{}` grid",
                item.item_type
            )));
        }
        if ispe(file, t)? != tile {
            return Err(HeicError::Corrupt(
                "grid tiles of different sizes".to_owned(),
            ));
        }
    }
    let covers =
        |tile: u32, count: u16, side: u32| u64::from(tile) * u64::from(count) >= u64::from(side);
    if !covers(tile.0, grid.columns, canvas.0) || !covers(tile.1, grid.rows, canvas.1) {
        return Err(HeicError::Corrupt(format!(
            "{}x{} tiles of {}x{} do not cover the {}x{} image",
            grid.columns, grid.rows, tile.0, tile.1, canvas.0, canvas.1
        )));
    }
    Ok((canvas, tile))
}

/// The size `clap` leaves of `size`, as heifer crops it (rounded, clamped
/// to the image).
fn clean_aperture(
    (w, h): (u32, u32),
    width: (u32, u32),
    height: (u32, u32),
    horiz: (i32, u32),
    vert: (i32, u32),
) -> Result<(u32, u32), HeicError> {
    if width.1 == 0 || height.1 == 0 || horiz.1 == 0 || vert.1 == 0 {
        return Err(HeicError::Corrupt(
            "clap with a zero denominator".to_owned(),
        ));
    }
    let side = |size: u32, extent: (u32, u32), offset: (i32, u32)| {
        let c = f64::from(extent.0) / f64::from(extent.1);
        let center = f64::from(offset.0) / f64::from(offset.1) + (f64::from(size) - 1.0) / 2.0;
        let start = ((center - (c - 1.0) / 2.0).round().max(0.0) as u32).min(size);
        (c.round() as u32).min(size - start)
    };
    Ok((side(w, width, horiz), side(h, height, vert)))
}

fn is_alpha(file: &HeifFile<'_>, id: ItemId) -> bool {
    file.item_properties(id).is_ok_and(|mut properties| {
        properties.any(|p| {
            matches!(p, Property::AuxiliaryType(t)
                if t == "urn:mpeg:hevc:2015:auxid:1"
                    || t == "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
        })
    })
}

fn container(e: isobmff::Error) -> HeicError {
    match e {
        isobmff::Error::UnexpectedEof => HeicError::Truncated,
        isobmff::Error::Unimplemented(what) => {
            HeicError::Unsupported(format!("this kind of HEIF ({what})"))
        }
        other => HeicError::Corrupt(other.to_string()),
    }
}

fn decoder(e: heifer::Error) -> HeicError {
    match e {
        heifer::Error::Container(e) => container(e),
        heifer::Error::Unsupported(what) => {
            HeicError::Unsupported(format!("this kind of HEIC ({what})"))
        }
        other => HeicError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by fuzzing heifer 0.3.22: a 300x200 grid of 5x4 tiles whose
    /// `ispe` is 56x64 (280 px wide), which panics in heifer's colour
    /// conversion (color.rs:260).
    const GRID_PANIC: &[u8] = include_bytes!("../../tests/fixtures/heifer_crash_grid_tile.heic");

    #[test]
    fn a_grid_whose_tiles_do_not_cover_it_is_refused_at_the_header() {
        match header(GRID_PANIC) {
            Err(HeicError::Corrupt(detail)) => {
                assert!(detail.contains("do not cover"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

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

    #[test]
    fn clap_is_cropped_as_heifer_crops() {
        let whole = |n: u32| (n, 1);
        let centred = (0, 1);
        // 642x428 coded, 641x427 shown (libheif's odd sizes).
        assert_eq!(
            clean_aperture((642, 428), whole(641), whole(427), centred, centred),
            Ok((641, 427))
        );
        // Larger than the image, or off its edge: clamped.
        assert_eq!(
            clean_aperture((100, 100), whole(500), whole(50), (400, 1), centred),
            Ok((0, 50))
        );
        assert!(clean_aperture((100, 100), (1, 0), whole(1), centred, centred).is_err());
    }
}
