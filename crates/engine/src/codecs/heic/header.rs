//! The header of a HEIC: the primary image's size, depth, alpha and ICC
//! profile read from the boxes, without decoding a picture.

use super::geometry::{clean_aperture, grid_geometry, ispe};
use super::{container, HeicError};
use crate::memory::HeicDecode;
use heifer::heifer_isobmff::boxes::{ColorInfo, Property};
use heifer::heifer_isobmff::{HeifFile, ItemId};

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
    let file = HeifFile::parse(bytes).map_err(|e| match e {
        // A sequence (`moov`, as for a video) without a still image.
        heifer::heifer_isobmff::Error::MissingBox(missing)
            if missing.0 == *b"meta" && has_top_level_box(bytes, b"moov") =>
        {
            HeicError::Unsupported("HEIF sequence (no still image)".to_owned())
        }
        other => container(other),
    })?;
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

fn is_alpha(file: &HeifFile<'_>, id: ItemId) -> bool {
    file.item_properties(id).is_ok_and(|mut properties| {
        properties.any(|p| {
            matches!(p, Property::AuxiliaryType(t)
                if t == "urn:mpeg:hevc:2015:auxid:1"
                    || t == "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha")
        })
    })
}

/// Whether the file has a top-level box of type `kind`.
fn has_top_level_box(bytes: &[u8], kind: &[u8; 4]) -> bool {
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at.saturating_add(8)) {
        if &header[4..8] == kind {
            return true;
        }
        let size = match u32::from_be_bytes([header[0], header[1], header[2], header[3]]) {
            // 64-bit size after the type; 0 (to the end of the file) ends the walk.
            1 => bytes
                .get(at + 8..at + 16)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u64::from_be_bytes),
            size => u64::from(size),
        };
        if size < 8 {
            return false;
        }
        at = match usize::try_from(size)
            .ok()
            .and_then(|size| at.checked_add(size))
        {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codecs::heic::GRID_PANIC;

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
    fn a_sequence_without_a_still_image_is_named() {
        let ftyp = [&24u32.to_be_bytes(), b"ftypmsf1\0\0\0\0msf1isom".as_slice()].concat();
        let moov = [&16u32.to_be_bytes(), b"moov\0\0\0\x08free".as_slice()].concat();
        assert_eq!(
            header(&[ftyp.as_slice(), &moov].concat()).err(),
            Some(HeicError::Unsupported(
                "HEIF sequence (no still image)".to_owned()
            ))
        );
        // Neither a still image nor a sequence: damaged.
        assert!(matches!(header(&ftyp), Err(HeicError::Corrupt(_))));
    }
}
