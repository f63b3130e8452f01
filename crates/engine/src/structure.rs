//! Structural completeness checks for formats whose decoders are lenient
//! about missing data (they fill the rest with gray rather than fail).

use crate::sniff::Format;

/// Whether the data visibly ends before the image does.
pub fn is_truncated(format: Format, bytes: &[u8]) -> bool {
    match format {
        Format::Jpeg => !jpeg_reaches_eoi(bytes),
        Format::WebP => riff_is_short(bytes),
        _ => false,
    }
}

/// Whether a JPEG's frame is progressive (SOF2, SOF6, SOF10, SOF14): its
/// decoder then holds every coefficient of the image until the last scan.
pub fn jpeg_is_progressive(b: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= b.len() {
        if b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xFF => i += 1,
            0x01 | 0xD0..=0xD8 => i += 2,
            0xC2 | 0xC6 | 0xCA | 0xCE => return true,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => return false,
            // The frame header comes before the first scan.
            0xDA | 0xD9 => return false,
            _ => i += 2 + usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]])),
        }
    }
    false
}

/// A RIFF container declares its length; fewer bytes means a cut file.
fn riff_is_short(b: &[u8]) -> bool {
    match b.get(4..8) {
        Some(size) => {
            let declared = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
            b.len() < declared.saturating_add(8)
        }
        None => true,
    }
}

/// Walks the JPEG marker structure to EOI. Length-prefixed segments are
/// skipped whole, so an EXIF thumbnail's own EOI inside APP1 does not count;
/// entropy-coded data after SOS is scanned for the next real marker.
fn jpeg_reaches_eoi(b: &[u8]) -> bool {
    let mut i = 2; // after SOI
    loop {
        // Tolerate junk between segments; skip fill bytes.
        match b[i.min(b.len())..].iter().position(|&x| x == 0xFF) {
            Some(p) => i += p,
            None => return false,
        }
        while i < b.len() && b[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = b.get(i) else {
            return false;
        };
        i += 1;
        match marker {
            0xD9 => return true,
            0x00 | 0x01 | 0xD0..=0xD8 => continue,
            _ => {
                let Some(len) = b
                    .get(i..i + 2)
                    .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                else {
                    return false;
                };
                if len < 2 {
                    return false;
                }
                i += len;
                if i > b.len() {
                    return false;
                }
                if marker == 0xDA {
                    // Entropy-coded data: FF00 is a stuffed byte, FFD0-D7 a restart.
                    loop {
                        match b[i..].iter().position(|&x| x == 0xFF) {
                            Some(p) => i += p,
                            None => return false,
                        }
                        match b.get(i + 1) {
                            None => return false,
                            Some(0x00 | 0xD0..=0xD7) => i += 2,
                            Some(0xFF) => i += 1,
                            Some(_) => break,
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal_jpeg(with_eoi: bool) -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8];
        // APP1 holding a fake thumbnail with its own EOI.
        j.extend_from_slice(&[0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0x00, 0x00]);
        // SOS with a 2-byte header body, then entropy data with stuffing and a restart.
        j.extend_from_slice(&[
            0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56,
        ]);
        if with_eoi {
            j.extend_from_slice(&[0xFF, 0xD9]);
        }
        j
    }

    #[test]
    fn jpeg_needs_its_own_eoi() {
        assert!(!is_truncated(Format::Jpeg, &minimal_jpeg(true)));
        assert!(
            is_truncated(Format::Jpeg, &minimal_jpeg(false)),
            "the thumbnail's EOI is not the image's"
        );
        assert!(is_truncated(Format::Jpeg, &[0xFF, 0xD8, 0xFF]));
    }

    #[test]
    fn riff_length_is_checked() {
        let mut w = b"RIFF".to_vec();
        w.extend_from_slice(&8u32.to_le_bytes());
        w.extend_from_slice(b"WEBPVP8 ");
        assert!(!is_truncated(Format::WebP, &w));
        assert!(is_truncated(Format::WebP, &w[..14]));
        assert!(!is_truncated(Format::Png, b"anything"));
    }
}
