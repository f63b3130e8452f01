//! HEIC (HEVC-coded HEIF) decoding with heifer: the header read without
//! decoding a picture, the checks heifer does not make, and the primary
//! image decoded with its `clap`/`irot`/`imir` applied.
//!
//! heifer applies the HEIF transforms itself; the EXIF orientation a phone
//! also writes describes the same turn and is never applied on top. It
//! returns the coded RGB (YCbCr → RGB with the `nclx` or HEVC VUI matrix,
//! no colour management): the ICC profile travels with the pixels as for
//! every other format.

// The header (what the boxes say, checked), the geometry it checks (`ispe`,
// grids, `clap`), and the decode itself; the errors they share are here.
mod decode;
mod geometry;
mod header;

pub use decode::decode;
pub use header::{header, HeicHeader};

use heifer::heifer_isobmff as isobmff;

/// Why a HEIC cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeicError {
    /// The data ends before the file does.
    #[error("the data ends before the file does")]
    Truncated,
    /// The file is damaged or inconsistent.
    #[error("{0}")]
    Corrupt(String),
    /// A HEIF whose primary image is not HEVC (AVIF, JPEG in HEIF): the
    /// text names the format, to go before "images are not supported".
    #[error("{0}")]
    Unsupported(String),
    /// A HEIC using a feature the decoder does not read: the text names it.
    #[error("{0}")]
    UnsupportedFeature(String),
}

fn container(e: isobmff::Error) -> HeicError {
    match e {
        isobmff::Error::UnexpectedEof => HeicError::Truncated,
        isobmff::Error::Unimplemented(what) => HeicError::UnsupportedFeature(what.to_string()),
        other => HeicError::Corrupt(other.to_string()),
    }
}

fn decoder(e: heifer::Error) -> HeicError {
    match e {
        heifer::Error::Container(e) => container(e),
        heifer::Error::Unsupported(what) => HeicError::UnsupportedFeature(what),
        other => HeicError::Corrupt(other.to_string()),
    }
}

/// Found by fuzzing heifer 0.3.22: a 300x200 grid of 5x4 tiles whose
/// `ispe` is 56x64 (280 px wide), which panics in heifer's colour
/// conversion (color.rs:260).
#[cfg(test)]
const GRID_PANIC: &[u8] = include_bytes!("../../../tests/fixtures/heifer_crash_grid_tile.heic");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_decoders_do_not_read_is_named_as_a_feature() {
        assert_eq!(
            container(isobmff::Error::Unimplemented("infe version < 2")),
            HeicError::UnsupportedFeature("infe version < 2".into())
        );
        assert_eq!(
            decoder(heifer::Error::Unsupported("colour primaries 22".into())),
            HeicError::UnsupportedFeature("colour primaries 22".into())
        );
        assert_eq!(
            container(isobmff::Error::UnexpectedEof),
            HeicError::Truncated
        );
    }
}
