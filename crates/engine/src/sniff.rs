//! Recognises a format from the first bytes, never from a file name.

use image::ImageFormat;

/// What the leading bytes say the data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A format we decode.
    Supported(ImageFormat),
    /// A format we recognise but do not decode; the name is for the message.
    Unsupported(&'static str),
    /// No known signature.
    Unknown,
}

/// ISO-BMFF brands (`ftyp` box) of formats we recognise but do not decode.
const BMFF_BRANDS: &[(&[u8; 4], &str)] = &[
    (b"avif", "AVIF"),
    (b"avis", "AVIF"),
    (b"heic", "HEIC"),
    (b"heix", "HEIC"),
    (b"heim", "HEIC"),
    (b"heis", "HEIC"),
    (b"hevc", "HEIC"),
    (b"hevx", "HEIC"),
    (b"mif1", "HEIF"),
    (b"msf1", "HEIF"),
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
];

/// DIB header sizes of the BMP versions that exist; "BM" alone is too weak a
/// signature (any text starting with "BM" would pass).
const BMP_DIB_SIZES: &[u32] = &[12, 16, 40, 52, 56, 64, 108, 124];

pub fn sniff(bytes: &[u8]) -> Sniffed {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Sniffed::Supported(ImageFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Sniffed::Supported(ImageFormat::Png);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Sniffed::Supported(ImageFormat::Gif);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Sniffed::Supported(ImageFormat::WebP);
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Sniffed::Supported(ImageFormat::Tiff);
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 18 {
        let dib = u32::from_le_bytes([bytes[14], bytes[15], bytes[16], bytes[17]]);
        if BMP_DIB_SIZES.contains(&dib) {
            return Sniffed::Supported(ImageFormat::Bmp);
        }
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        if let Some((_, name)) = BMFF_BRANDS.iter().find(|(b, _)| b.as_slice() == brand) {
            return Sniffed::Unsupported(name);
        }
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

/// The display name of a decodable format.
pub fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Png => "PNG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        _ => "image",
    }
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

    #[test]
    fn supported_signatures() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Sniffed::Supported(ImageFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n...."),
            Sniffed::Supported(ImageFormat::Png)
        );
        assert_eq!(sniff(b"GIF89a.."), Sniffed::Supported(ImageFormat::Gif));
        assert_eq!(
            sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Sniffed::Supported(ImageFormat::WebP)
        );
        assert_eq!(
            sniff(b"II*\0\x08\0\0\0"),
            Sniffed::Supported(ImageFormat::Tiff)
        );
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        assert_eq!(sniff(&bmp), Sniffed::Supported(ImageFormat::Bmp));
    }

    #[test]
    fn heic_and_avif_are_named() {
        assert_eq!(sniff(&bmff(b"heic")), Sniffed::Unsupported("HEIC"));
        assert_eq!(sniff(&bmff(b"mif1")), Sniffed::Unsupported("HEIF"));
        assert_eq!(sniff(&bmff(b"avif")), Sniffed::Unsupported("AVIF"));
        assert_eq!(sniff(b"%PDF-1.7"), Sniffed::Unsupported("PDF"));
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
