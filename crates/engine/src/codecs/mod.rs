//! Encoders, one module per output format, and the decoders we drive
//! ourselves (JPEG, GIF, gray-and-alpha TIFF, HEIC). Each encoder takes
//! pixels it can store as they are, plus the ICC profile to embed when it
//! fits those pixels.

pub mod gif_decode;
pub mod heic;
pub mod jpeg;
pub mod jpeg_decode;
pub mod png;
pub mod png_source;
pub mod tiff_decode;
pub mod webp;

/// A decoding error in the image crate's terms, for the decoders we drive
/// ourselves: the engine classifies every decoder's errors the same way.
fn decoding_error(format: image::ImageFormat, detail: &str) -> image::ImageError {
    image::ImageError::Decoding(image::error::DecodingError::new(
        image::error::ImageFormatHint::Exact(format),
        detail.to_owned(),
    ))
}

/// The message of a caught panic: libjpeg reports fatal errors by
/// unwinding with the message as payload (mozjpeg's error manager);
/// zune-jpeg asserts, and heifer panics on some hostile files. (The CLI
/// reports an engine panic on one input with it too.)
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "no message".to_owned())
}

/// The largest ICC profile the variants carry. Real ones take kilobytes,
/// a few hundred at most; the large LUT-based print profiles describe CMYK,
/// which no variant carries. Each variant holds a copy, so a larger profile
/// would multiply the upload's memory and every output's size for nothing;
/// and Pillow, for one, refuses to open a PNG whose profile inflates past
/// 1 MiB.
pub const MAX_ICC_BYTES: usize = 1 << 20;

/// Whether variants carry `profile`: an RGB or gray one (see [`profile_for`]).
pub fn carried(profile: &[u8]) -> bool {
    icc_space(profile) != IccSpace::Other
}

/// The colour model a profile describes (ICC header, bytes 16..20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IccSpace {
    Gray,
    Rgb,
    Other,
}

/// A profile that is not [whole](is_whole) is `Other`: no variant carries it.
pub fn icc_space(profile: &[u8]) -> IccSpace {
    if !is_whole(profile) {
        return IccSpace::Other;
    }
    match profile.get(16..20) {
        Some(b"GRAY") => IccSpace::Gray,
        Some(b"RGB ") => IccSpace::Rgb,
        _ => IccSpace::Other,
    }
}

/// Whether `profile` holds all it says it does: the `acsp` signature, a
/// size in its header (bytes 0..4) no larger than its bytes, and its tag
/// table within that size. A cut one (a JPEG missing one of its ICC
/// segments) would make viewers refuse the variants that carried it. A
/// tag that reaches past the end is not checked: Little CMS skips such a
/// tag and reads the rest of the profile.
fn is_whole(profile: &[u8]) -> bool {
    let be32 = |at: usize| {
        profile
            .get(at..at + 4)
            .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    };
    let (Some(size), Some(tags)) = (be32(0), be32(128)) else {
        return false;
    };
    profile.get(36..40) == Some(b"acsp")
        && (132..=profile.len() as u64).contains(&size)
        && 132 + 12 * tags <= size
}

/// The profile, if it describes pixels of this kind. A CMYK profile on
/// converted RGB pixels (or a gray one on RGB) would make viewers draw wrong
/// colours or reject the file, so such a profile is left out.
pub fn profile_for(icc: Option<&[u8]>, gray: bool) -> Option<&[u8]> {
    let profile = icc?;
    let wanted = if gray { IccSpace::Gray } else { IccSpace::Rgb };
    (icc_space(profile) == wanted).then_some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(space: &[u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 132];
        p[0..4].copy_from_slice(&132u32.to_be_bytes());
        p[16..20].copy_from_slice(space);
        p[36..40].copy_from_slice(b"acsp");
        p
    }

    /// `header` with one tag of `len` bytes at `at`, its data after the table.
    fn with_tag(space: &[u8; 4], at: u32, len: u32) -> Vec<u8> {
        let mut p = header(space);
        p[128..132].copy_from_slice(&1u32.to_be_bytes());
        p.extend(b"desc");
        p.extend(at.to_be_bytes());
        p.extend(len.to_be_bytes());
        p.resize(144 + 16, 0);
        let size = p.len() as u32;
        p[0..4].copy_from_slice(&size.to_be_bytes());
        p
    }

    #[test]
    fn cut_or_damaged_profiles_are_not_carried() {
        let whole = with_tag(b"RGB ", 144, 16);
        assert_eq!(icc_space(&whole), IccSpace::Rgb);
        // Padding after the size the header gives is harmless.
        let mut padded = whole.clone();
        padded.extend([0; 8]);
        assert_eq!(icc_space(&padded), IccSpace::Rgb);
        // Cut short: the header's size is past the end.
        assert_eq!(icc_space(&whole[..150]), IccSpace::Other);
        // A tag past the profile's end: readers skip that tag alone.
        assert_eq!(icc_space(&with_tag(b"RGB ", u32::MAX, 16)), IccSpace::Rgb);
        // More tags than the profile holds.
        let mut tags = whole.clone();
        tags[128..132].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(icc_space(&tags), IccSpace::Other);
        // No signature.
        let mut unsigned = whole;
        unsigned[36..40].copy_from_slice(b"xxxx");
        assert_eq!(icc_space(&unsigned), IccSpace::Other);
        assert!(!carried(&unsigned));
    }

    #[test]
    fn profiles_go_only_where_they_fit() {
        let rgb = header(b"RGB ");
        let gray = header(b"GRAY");
        let cmyk = header(b"CMYK");
        assert_eq!(profile_for(Some(&rgb), false), Some(rgb.as_slice()));
        assert_eq!(profile_for(Some(&rgb), true), None);
        assert_eq!(profile_for(Some(&gray), true), Some(gray.as_slice()));
        assert_eq!(profile_for(Some(&cmyk), false), None);
        assert_eq!(
            profile_for(Some(&[1, 2, 3]), false),
            None,
            "too short to be a profile"
        );
        assert_eq!(profile_for(None, false), None);
    }
}
