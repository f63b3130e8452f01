//! The geometry heifer would trust without checking: `ispe` sizes, a
//! grid's tiles against its canvas, and the `clap` crop.

use super::{container, HeicError};
use heifer::heifer_isobmff::{HeifFile, ItemId};

/// The `ispe` of an item: its coded size; zero is no size.
pub(super) fn ispe(file: &HeifFile<'_>, id: ItemId) -> Result<(u32, u32), HeicError> {
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
pub(super) fn grid_geometry(file: &HeifFile<'_>, id: ItemId) -> Result<(Size, Size), HeicError> {
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
pub(super) fn clean_aperture(
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

#[cfg(test)]
mod tests {
    use super::*;

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
