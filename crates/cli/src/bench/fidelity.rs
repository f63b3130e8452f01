//! PSNR of each tool's lossy outputs, and whether imgflow's PNG is
//! lossless: measured by the worker after its peak RSS was read.

use super::quality;
use super::reference::References;
use super::PsnrByTool;
use anyhow::Context as _;
use imgflow_engine::{self as engine, pixels, Settings};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const LOSSY: &[&str] = &["compressed", "low", "webp"];

/// Fidelity of each tool's lossy outputs, each against the pixels that tool
/// encoded: imgflow's oriented source on white (or with alpha for WebP);
/// the references' `convert("RGB")` / `removeAlpha()` of the unrotated source.
pub(super) fn fidelity(
    image: &Path,
    dirs: &[(String, PathBuf)],
    settings: &Settings,
) -> anyhow::Result<(PsnrByTool, Option<bool>)> {
    let bytes = std::fs::read(image)?;
    let source = engine::decode::decode(&bytes, &settings.limits, &settings.variants)?;
    let heic = source.format == engine::sniff::Format::Heic;
    let oriented = Arc::new(source.pixels);
    let eight = pixels::to_eight_bit(&oriented);
    let ours_jpeg = pixels::on_white(&eight);
    let ours_webp = pixels::rgb_or_rgba(&eight);
    // A HEIC's irot/imir are applied by pillow-heif as by imgflow, and no
    // other decoder is at hand: the references are measured against our
    // decode (it differs from libheif's only by chroma upsampling).
    let unrotated = if heic {
        (*oriented).clone()
    } else {
        quality::decode_plain(&bytes).context("cannot decode the source")?
    };
    let theirs = image::DynamicImage::ImageRgb8(unrotated.to_rgb8());
    let stem = image
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();

    let mut out = BTreeMap::new();
    let mut png_lossless = None;
    for (tool, dir) in dirs {
        let mut per = BTreeMap::new();
        for &variant in LOSSY {
            let (path, reference) = if tool == "imgflow" {
                let ext = if variant == "webp" { "webp" } else { "jpg" };
                let r = if variant == "webp" {
                    &ours_webp
                } else {
                    &ours_jpeg
                };
                (dir.join(format!("{stem}.{variant}.{ext}")), r.as_ref())
            } else {
                match References::output_path(dir, image, variant) {
                    Some(p) => (p, &theirs),
                    None => continue,
                }
            };
            if let Ok(encoded) = std::fs::read(&path) {
                if let Some(db) = quality::psnr_of_file(reference, &encoded) {
                    per.insert(variant.to_owned(), (db * 100.0).round() / 100.0);
                }
            }
        }
        if tool == "imgflow" {
            if let Ok(png) = std::fs::read(dir.join(format!("{stem}.png.png"))) {
                png_lossless = Some(image::load_from_memory(&png).is_ok_and(|d| d == *oriented));
            }
        }
        out.insert(tool.clone(), per);
    }
    Ok((out, png_lossless))
}
