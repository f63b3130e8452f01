//! Writes the fuzz targets' seed corpora (scripts/fuzz.sh runs it): small
//! images of every kind the engine reads, made with the tests' fixture
//! builders and the committed sample, and S3 events.
//!
//! Usage: cargo run -p imgflow-engine --example fuzz_seeds -- <corpus dir>
//! (writes <dir>/header, <dir>/process and <dir>/s3_event).

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage, ImageFormat, Rgba, RgbaImage};
use imgflow_testkit::fixtures::*;
use std::path::Path;
use std::{env, fs, io};

fn main() -> io::Result<()> {
    let dir = env::args_os()
        .nth(1)
        .ok_or_else(|| io::Error::other("usage: fuzz_seeds <corpus dir>"))?;
    let dir = Path::new(&dir);
    let images = images()?;
    for target in ["header", "process"] {
        write_all(&dir.join(target), &images)?;
    }
    write_all(&dir.join("s3_event"), &events())?;
    println!(
        "{} image seeds, {} event seeds in {}",
        images.len(),
        events().len(),
        dir.display()
    );
    Ok(())
}

fn write_all(dir: &Path, seeds: &[(String, Vec<u8>)]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// Small, so that libFuzzer's default input length (4 KiB) covers most of
/// them and an execution stays fast; each format in the variants the
/// engine handles differently (depth, alpha, palette, progressive, CMYK,
/// EXIF orientation, ICC, animation).
fn images() -> io::Result<Vec<(String, Vec<u8>)>> {
    let sample = image::open(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../samples/astronaut.png"
    ))
    .map_err(io::Error::other)?;
    let photo = sample.resize_exact(24, 24, FilterType::Triangle).to_rgb8();
    let rgba = DynamicImage::ImageRgba8(photo_like(16, 12));
    let gray = GrayImage::from_fn(16, 16, |x, y| image::Luma([(x * 16 + y) as u8]));
    let small = gradient(16, 8);
    let icc = icc_profile(b"RGB ");
    let jpeg = |progressive, exif, icc| JpegOptions {
        quality: 50,
        progressive,
        exif,
        icc,
    };

    let mut seeds = vec![
        ("photo.jpg", jpeg_rgb(&photo, &jpeg(false, None, None))),
        (
            "progressive.jpg",
            jpeg_rgb(&photo, &jpeg(true, Some(exif(6)), None)),
        ),
        (
            "icc.jpg",
            jpeg_rgb(&small, &jpeg(false, None, Some(icc.clone()))),
        ),
        (
            "gray.jpg",
            jpeg_gray(16, 16, gray.as_raw(), &jpeg(false, None, None)),
        ),
        (
            "cmyk.jpg",
            jpeg_cmyk(8, 8, &[40; 8 * 8 * 4], &jpeg(false, None, None)),
        ),
        (
            "exif.png",
            png_raw(
                16,
                8,
                png::ColorType::Rgb,
                png::BitDepth::Eight,
                small.as_raw(),
                None,
                Some(&icc),
                Some(&exif(8)),
            ),
        ),
        (
            "palette.png",
            png_raw(
                4,
                4,
                png::ColorType::Indexed,
                png::BitDepth::Two,
                &[0b0001_1011; 4],
                Some((&[255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9], &[255, 128, 0])),
                None,
                None,
            ),
        ),
        ("rgba.png", png_rgba(&photo_like(16, 12))),
        (
            "rgba16.png",
            encode_with_image(&DynamicImage::ImageRgba16(rgba16(8, 8)), ImageFormat::Png),
        ),
        ("animated.gif", animated_gif()),
        ("rgba.gif", encode_with_image(&rgba, ImageFormat::Gif)),
        (
            "past-screen.gif",
            gif_past_its_screen(&photo_like(16, 12), (3, 2), (4, 4)),
        ),
        ("lossless.webp", encode_with_image(&rgba, ImageFormat::WebP)),
        (
            "gray.tiff",
            encode_with_image(&gray.clone().into(), ImageFormat::Tiff),
        ),
        ("rgba.tiff", encode_with_image(&rgba, ImageFormat::Tiff)),
        ("gray-alpha.tiff", {
            let pixels: Vec<(u16, u16)> = (0..48u16).map(|i| (i * 5, 255 - i * 5)).collect();
            tiff_gray_alpha(8, 6, &pixels, 8, false)
        }),
        ("gray-alpha16.tiff", {
            let pixels: Vec<(u16, u16)> =
                (0..48u16).map(|i| (i * 1300, 60_000 - i * 1000)).collect();
            tiff_gray_alpha(8, 6, &pixels, 16, true)
        }),
        (
            "rgb.bmp",
            encode_with_image(&small.clone().into(), ImageFormat::Bmp),
        ),
        ("rgba.bmp", encode_with_image(&rgba, ImageFormat::Bmp)),
    ];
    // Lossy WebP, with and without alpha and ICC, from the engine's encoder.
    let webp = |img: DynamicImage, icc| {
        imgflow_engine::codecs::webp::encode(
            img.into(),
            40,
            icc,
            imgflow_engine::codecs::webp::Footprint::Fast,
        )
        .map_err(io::Error::other)
    };
    seeds.push((
        "lossy.webp",
        webp(DynamicImage::ImageRgb8(photo.clone()), Some(&icc))?,
    ));
    let transparent = RgbaImage::from_fn(12, 12, |x, _| Rgba([200, 20, 20, (x * 20) as u8]));
    seeds.push(("alpha.webp", webp(transparent.into(), None)?));

    // Cut short: the truncation checks.
    let cut: Vec<_> = seeds
        .iter()
        .filter(|(name, _)| ["photo.jpg", "rgba.png", "lossy.webp"].contains(name))
        .map(|(name, bytes)| {
            (
                format!("truncated-{name}"),
                bytes[..bytes.len() * 2 / 3].to_vec(),
            )
        })
        .collect();
    let mut seeds: Vec<(String, Vec<u8>)> = seeds
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect();
    seeds.extend(cut);
    Ok(seeds)
}

/// Notifications as S3 sends them (keys encoded), and the kinds the
/// function skips.
fn events() -> Vec<(String, Vec<u8>)> {
    use imgflow_testkit::s3_event_of;
    let one = s3_event_of([("uploads", "holiday photos/été 1+1.jpg", Some(2048))]);
    let several = s3_event_of([
        ("uploads", "a/b/c.png", None),
        ("uploads", "folder/", Some(0)),
        ("processed", "x.jpg", Some(5)),
    ]);
    let mut removed = s3_event_of([("uploads", "gone.jpg", None)]);
    removed["Records"][0]["eventName"] = "ObjectRemoved:Delete".into();
    removed["Records"][0]["s3"]["object"]["versionId"] = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into();
    let mut bad_key = s3_event_of([("uploads", "x", Some(1))]);
    bad_key["Records"][0]["s3"]["object"]["key"] = "%FF%FE%2".into();
    [
        ("put.json", one),
        ("several.json", several),
        ("removed.json", removed),
        ("bad-key.json", bad_key),
    ]
    .into_iter()
    .map(|(name, event)| (name.to_owned(), event.to_string().into_bytes()))
    .collect()
}
