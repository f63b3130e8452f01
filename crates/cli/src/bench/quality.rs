//! Fidelity of lossy outputs against the pixels they were made from.

use image::DynamicImage;

/// PSNR in dB over all channels of same-sized 8-bit images; `None` when the
/// sizes or channel counts differ. Identical images give 99 dB (JSON has no ∞).
pub fn psnr(reference: &[u8], candidate: &[u8]) -> Option<f64> {
    if reference.len() != candidate.len() || reference.is_empty() {
        return None;
    }
    let sse: u64 = reference
        .iter()
        .zip(candidate)
        .map(|(&a, &b)| {
            let d = i64::from(a) - i64::from(b);
            (d * d) as u64
        })
        .sum();
    if sse == 0 {
        return Some(99.0);
    }
    let mse = sse as f64 / reference.len() as f64;
    Some((10.0 * (255.0f64 * 255.0 / mse).log10()).min(99.0))
}

/// PSNR of an encoded file against a reference image, compared in the
/// reference's channel layout (RGB, or RGBA when the reference has alpha).
pub fn psnr_of_file(reference: &DynamicImage, encoded: &[u8]) -> Option<f64> {
    let decoded = decode_plain(encoded)?;
    if (decoded.width(), decoded.height()) != (reference.width(), reference.height()) {
        return None;
    }
    if reference.color().has_alpha() {
        psnr(reference.to_rgba8().as_raw(), decoded.to_rgba8().as_raw())
    } else {
        psnr(reference.to_rgb8().as_raw(), decoded.to_rgb8().as_raw())
    }
}

/// Decodes as a browser would, without applying EXIF orientation: JPEG with
/// libjpeg-turbo (zune-jpeg's progressive path rounds differently, which
/// would blur a comparison of progressive and baseline files), the rest with
/// the image crate.
pub fn decode_plain(bytes: &[u8]) -> Option<DynamicImage> {
    if image::guess_format(bytes).ok()? == image::ImageFormat::Jpeg {
        if let Ok(Some(img)) = imgflow_engine::codecs::jpeg_decode::decode(bytes) {
            return Some(img);
        }
    }
    image::load_from_memory(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_values() {
        assert_eq!(psnr(&[1, 2, 3], &[1, 2, 3]), Some(99.0));
        assert_eq!(psnr(&[1, 2], &[1, 2, 3]), None);
        // One unit of error everywhere: 10*log10(255^2) = 48.13 dB.
        let p = psnr(&[10; 100], &[11; 100]).unwrap();
        assert!((p - 48.13).abs() < 0.01, "{p}");
    }
}
