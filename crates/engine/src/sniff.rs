//! Recognises a format from the first bytes, never from a file name.

use image::ImageFormat;

/// A format the engine decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    WebP,
    Tiff,
    Bmp,
    /// HEVC-coded HEIF (phone photos), decoded by heifer (`codecs::heic`).
    Heic,
}

impl Format {
    /// The display name: `JPEG`, `HEIC`, …
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Gif => "GIF",
            Format::WebP => "WebP",
            Format::Tiff => "TIFF",
            Format::Bmp => "BMP",
            Format::Heic => "HEIC",
        }
    }

    /// The `image` crate's name for it, for the formats that crate decodes.
    pub fn image_format(self) -> Option<ImageFormat> {
        match self {
            Format::Jpeg => Some(ImageFormat::Jpeg),
            Format::Png => Some(ImageFormat::Png),
            Format::Gif => Some(ImageFormat::Gif),
            Format::WebP => Some(ImageFormat::WebP),
            Format::Tiff => Some(ImageFormat::Tiff),
            Format::Bmp => Some(ImageFormat::Bmp),
            Format::Heic => None,
        }
    }
}

/// What the leading bytes say the data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A format we decode.
    Supported(Format),
    /// A format we recognise but do not decode; the name is for the message.
    Unsupported(&'static str),
    /// No known signature.
    Unknown,
}

/// ISO-BMFF brands (`ftyp` box) of HEVC-coded HEIF: images (`heic`, `heix`:
/// 10/12-bit, `heim`/`heis`: multi-layer and scalable) and sequences
/// (`hevc`, `hevx`: the primary image is still an image).
const HEIC_BRANDS: &[&[u8; 4]] = &[b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"];

/// Generic HEIF brands: the codec is said by another brand, if at all.
const HEIF_BRANDS: &[&[u8; 4]] = &[b"mif1", b"mif2", b"msf1", b"miaf"];

/// ISO-BMFF brands of formats we recognise but do not decode.
const BMFF_BRANDS: &[(&[u8; 4], &str)] = &[
    (b"avif", "AVIF"),
    (b"avis", "AVIF"),
    (b"avci", "HEIF with AVC (H.264)"),
    (b"vvic", "HEIF with VVC (H.266)"),
    (b"jpeg", "HEIF with JPEG"),
    (b"j2ki", "HEIF with JPEG 2000"),
    (b"crx ", "Canon CR3 raw"),
    (b"jp2 ", "JPEG 2000"),
];

/// Simple signatures of other formats people upload by mistake.
const OTHER_SIGNATURES: &[(&[u8], &str)] = &[
    (&[0xFF, 0x0A], "JPEG XL"),
    (b"\0\0\0\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\0\0\0\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"%PDF", "PDF"),
    (b"8BPS", "Photoshop PSD"),
    (&[0, 0, 1, 0], "ICO"),
    (b"qoif", "QOI"),
    (&[0x76, 0x2f, 0x31, 0x01], "OpenEXR"),
    (b"#?RADIANCE", "Radiance HDR"),
    (b"DDS ", "DDS"),
    // TIFF with 64-bit offsets (version 43 instead of 42).
    (b"II+\0", "BigTIFF"),
    (b"MM\0+", "BigTIFF"),
];

/// DIB header sizes of the BMP versions that exist; "BM" alone is too weak a
/// signature (any text starting with "BM" would pass).
const BMP_DIB_SIZES: &[u32] = &[12, 16, 40, 52, 56, 64, 108, 124];

pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(Format::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Supported(Format::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Supported(Format::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(Format::WebP);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Supported(Format::Tiff);
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 18 {
        let dib = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        if BMP_DIB_SIZES.contains(&dib) {
            return Sniffed::Supported(Format::Bmp);
        }
    }
    if let Some(sniffed) = sniff_bmff(bytes) {
        return sniffed;
    }
    if let Some((_, name)) = OTHER_SIGNATURES
        .iter()
        .find(|(sig, _)| bytes.starts_with(sig))
    {
        return Sniffed::Unsupported(name);
    }
    if looks_like_svg(bytes) {
        return Sniffed::Unsupported("SVG");
    }
    Sniffed::Unknown
}

/// An ISO-BMFF file (`ftyp` first): HEIC from its major brand, or from
/// its compatible brands when the major one is a generic HEIF brand; a
/// generic HEIF with no codec brand is left to the header (the primary
/// item's type decides there). `None`: not an `ftyp` we know (an MP4).
fn sniff_bmff(bytes: &[u8]) -> Option<Sniffed> {
    if bytes.len() < 12 || &bytes[4..8] != b"ftyp" {
        return None;
    }
    let major = &bytes[8..12];
    let declared = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    // Compatible brands follow the major brand and its minor version.
    // (`min`, not `clamp`: a file shorter than 16 bytes has none, and
    // `clamp` panics when its bounds cross.)
    let compatible = bytes
        .get(16..declared.min(bytes.len()))
        .unwrap_or_default()
        .chunks_exact(4);
    let known = |brand: &[u8]| BMFF_BRANDS.iter().find(|(b, _)| b.as_slice() == brand);
    let is_heic = |brand: &[u8]| HEIC_BRANDS.iter().any(|b| b.as_slice() == brand);
    // HEIF's compact form (a `mini` box instead of `meta`), which the HEIC
    // decoder does not read: its codec brand stands where the minor
    // version does.
    if major == b"mif3" {
        return Some(Sniffed::Unsupported(match bytes.get(12..16) {
            Some(b"avif") => "AVIF",
            _ => "HEIF in its compact form (mif3)",
        }));
    }
    if is_heic(major) {
        return Some(Sniffed::Supported(Format::Heic));
    }
    if let Some((_, name)) = known(major) {
        return Some(Sniffed::Unsupported(name));
    }
    if !HEIF_BRANDS.iter().any(|b| b.as_slice() == major) {
        return None;
    }
    if compatible.clone().any(is_heic) {
        return Some(Sniffed::Supported(Format::Heic));
    }
    if let Some((_, name)) = compatible.clone().find_map(known) {
        return Some(Sniffed::Unsupported(name));
    }
    Some(Sniffed::Supported(Format::Heic))
}

/// The display name of a decodable format.
pub fn format_name(format: Format) -> &'static str {
    format.name()
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    (text.starts_with("<?xml") || text.starts_with("<svg") || text.starts_with("<!DOCTYPE svg"))
        && text.contains("<svg")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmff(brand: &[u8; 4]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 0x18];
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(brand);
        v.extend_from_slice(&[0; 12]);
        v
    }

    /// An `ftyp` box with a major brand and compatible brands.
    fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
        let size = 16 + 4 * compatible.len() as u32;
        let mut v = size.to_be_bytes().to_vec();
        v.extend_from_slice(b"ftyp");
        v.extend_from_slice(major);
        v.extend_from_slice(&[0; 4]);
        for b in compatible {
            v.extend_from_slice(*b);
        }
        // What follows the box is not a brand.
        v.extend_from_slice(b"\0\0\0\x08avif");
        v
    }

    #[test]
    fn supported_signatures() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Sniffed::Supported(Format::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Sniffed::Supported(Format::Png)
        );
        assert_eq!(sniff(b"GIF89a.."), Sniffed::Supported(Format::Gif));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Supported(Format::WebP)
        );
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Sniffed::Supported(Format::Tiff));
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Sniffed::Supported(Format::Bmp));
    }

    #[test]
    fn heic_from_its_brands() {
        let heic = Sniffed::Supported(Format::Heic);
        for brand in [b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"] {
            assert_eq!(sniff(&bmff(brand)), heic, "{brand:?}");
        }
        // What libheif writes (pillow-heif, phones): heic, then mif1 heic.
        assert_eq!(sniff(&ftyp(b"heic", &[b"mif1", b"heic"])), heic);
        // A generic major brand: the compatible brands say the codec.
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"heic"])), heic);
        assert_eq!(sniff(&ftyp(b"msf1", &[b"msf1", b"hevc"])), heic);
        // None says it: the header's primary item decides.
        assert_eq!(sniff(&ftyp(b"mif1", &[b"mif1", b"miaf"])), heic);
        assert_eq!(sniff(&bmff(b"mif1")), heic);
    }

    #[test]
    fn avif_and_other_bmff_images_are_named() {
        assert_eq!(sniff(&bmff(b"avif")), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(&bmff(b"avis")), Sniffed::Unsupported("AVIF"));
        // What Pillow and libavif write.
        assert_eq!(
            sniff(&ftyp(b"avif", &[b"avif", b"mif1", b"miaf"])),
            Sniffed::Unsupported("AVIF")
        );
        assert_eq!(
            sniff(&ftyp(b"mif1", &[b"mif1", b"avif", b"miaf"])),
            Sniffed::Unsupported("AVIF")
        );
        // A brand past the end of the box is not one of its brands.
        assert_eq!(
            sniff(&ftyp(b"mif1", &[b"mif1"])),
            Sniffed::Supported(Format::Heic)
        );
        assert_eq!(sniff(&bmff(b"crx ")), Sniffed::Unsupported("Canon CR3 raw"));
        // What libheif writes for H.264 and H.266 coded images.
        assert_eq!(
            sniff(&ftyp(b"avci", &[b"mif1", b"avci", b"miaf"])),
            Sniffed::Unsupported("HEIF with AVC (H.264)")
        );
        assert_eq!(
            sniff(&ftyp(b"vvic", &[b"mif1", b"vvic", b"miaf"])),
            Sniffed::Unsupported("HEIF with VVC (H.266)")
        );
        // The compact form: `ftyp` of 16 bytes, the codec in the minor
        // version.
        let compact =
            |codec: &[u8; 4]| [16u32.to_be_bytes().as_slice(), b"ftypmif3", codec].concat();
        assert_eq!(
            sniff(&compact(b"heic")),
            Sniffed::Unsupported("HEIF in its compact form (mif3)")
        );
        assert_eq!(sniff(&compact(b"avif")), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Unsupported("PDF"));
        assert_eq!(sniff(b"II+\0\x08\0\0\0"), Sniffed::Unsupported("BigTIFF"));
        assert_eq!(sniff(b"MM\0+\0\x08\0\0"), Sniffed::Unsupported("BigTIFF"));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Sniffed::Unsupported("SVG")
        );
    }

    #[test]
    fn text_is_not_an_image() {
        assert_eq!(
            sniff(b"BMW owners club, minutes of the meeting"),
            Sniffed::Unknown
        );
        assert_eq!(sniff(b"hello"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
        assert_eq!(
            sniff(&bmff(b"isom")),
            Sniffed::Unknown,
            "an MP4 is not an image"
        );
    }
}
