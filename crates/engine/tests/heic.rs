//! HEIC input on files made from a real photo by pillow-heif: every variant
//! made, the PNG variant against libheif's decode of the same file (same
//! size; luma PSNR >= 45 dB; RGB differs only by how chroma is upsampled),
//! orientation against the photo as a viewer turns it, and the damaged
//! files refused with their reason.

use image::{DynamicImage, GenericImageView, ImageDecoder};
use imgflow_engine::memory::HeicDecode;
use imgflow_engine::{process, process_with, EngineError, Reason, Schedule, Settings};
use imgflow_testkit::fixtures::contains;
use imgflow_testkit::heic::{make_heic_corpus, psnr, HeicCase, HeicCorpus};
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

/// Made once for this test binary (x265 is slow).
fn corpus() -> &'static HeicCorpus {
    static CORPUS: OnceLock<HeicCorpus> = OnceLock::new();
    CORPUS
        .get_or_init(|| make_heic_corpus(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("heic"), &[]))
}

fn variant<'a>(out: &'a imgflow_engine::ProcessedImage, name: &str) -> &'a [u8] {
    &out.variants
        .iter()
        .find(|v| v.spec.name == name)
        .unwrap_or_else(|| panic!("no {name} variant"))
        .bytes
}

fn icc_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap();
    reader.into_decoder().unwrap().icc_profile().unwrap()
}

fn reason(bytes: &[u8]) -> (Reason, String) {
    match process(bytes, &Settings::default()) {
        Ok(_) => panic!("accepted"),
        Err(e @ EngineError::Rejected(_)) => (e.reason(), e.to_string()),
        Err(e) => panic!("not a rejection: {e}"),
    }
}

/// Luma PSNR against libheif never under this (the bar).
const MIN_LUMA_DB: f64 = 45.0;
/// RGB PSNR: the only difference is chroma upsampling (heifer bilinear,
/// libheif repeats samples), largest on sharp colour edges; at half a
/// chroma sample of shift, small sharp pictures measure 38-40 dB.
const MIN_RGB_DB: f64 = 36.0;

/// Processes `case`, checks the five variants and returns the PNG's
/// pixels with the PSNRs against the reference.
fn check(case: &HeicCase) -> (DynamicImage, f64, f64) {
    let bytes = case.bytes();
    let out =
        process(&bytes, &Settings::default()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(out.source.format, "HEIC");
    assert_eq!(
        (out.source.width, out.source.height),
        (case.width, case.height),
        "{}",
        case.name
    );
    let names: Vec<_> = out.variants.iter().map(|v| v.spec.name).collect();
    assert_eq!(names, ["compressed", "low", "webp", "png", "thumbnail"]);
    for v in &out.variants {
        let img = image::load_from_memory(&v.bytes).expect("variant decodes");
        assert_eq!(img.dimensions(), (v.width, v.height), "{}", v.spec.name);
        if v.spec.name != "thumbnail" {
            assert_eq!((v.width, v.height), (case.width, case.height));
        }
        // Phones (and pillow-heif) keep an EXIF block: never in a variant.
        assert!(!contains(&v.bytes, b"Exif\0\0"), "{}: EXIF", v.spec.name);
        let icc = icc_of(&v.bytes);
        assert_eq!(
            icc.is_some(),
            case.icc,
            "{} {}: ICC",
            case.name,
            v.spec.name
        );
    }
    let png = image::load_from_memory(variant(&out, "png")).unwrap();
    let reference = case.reference();
    let peak = f64::from((1u32 << case.bit_depth) - 1);
    let (rgb, luma) = psnr(&png, &reference, peak);
    println!(
        "{:9} {}x{} {:?}: RGB {rgb:.1} dB, luma {luma:.1} dB against libheif",
        case.name,
        png.width(),
        png.height(),
        png.color()
    );
    assert!(luma >= MIN_LUMA_DB, "{}: luma {luma:.1} dB", case.name);
    assert!(rgb >= MIN_RGB_DB, "{}: RGB {rgb:.1} dB", case.name);
    (png, rgb, luma)
}

#[test]
fn plain_icc_clap_grid_and_large_match_libheif() {
    for name in ["plain", "icc", "clap", "grid", "large"] {
        let case = corpus().case(name);
        let (png, ..) = check(case);
        assert_eq!(
            png.color(),
            image::ColorType::Rgb8,
            "{name}: no alpha invented"
        );
    }
    // The photo's own profile, in every variant (checked in `check`) and
    // byte for byte in the PNG.
    let photo = std::fs::read(imgflow_testkit::heic::photo()).unwrap();
    let photo_icc = icc_of(&photo).expect("the sample has a profile");
    let out = process(&corpus().case("icc").bytes(), &Settings::default()).unwrap();
    assert_eq!(icc_of(variant(&out, "png")), Some(photo_icc));
}

#[test]
fn a_profile_past_1_mib_is_refused() {
    let bytes = corpus().case("icc_oversized").bytes();
    let settings = Settings::default();
    for err in [
        imgflow_engine::inspect(&bytes, &settings, 1).err(),
        process(&bytes, &settings).err(),
    ] {
        let err = err.expect("refused");
        assert_eq!(err.reason(), imgflow_engine::Reason::Corrupt);
        assert!(
            err.to_string().contains("ICC profile takes 1048577 bytes"),
            "{err}"
        );
    }
}

#[test]
fn the_eight_orientations_show_the_photo_as_a_viewer_does() {
    let cases: Vec<&HeicCase> = (1..=8)
        .map(|o| corpus().case(&format!("orient{o}")))
        .collect();
    let shown: Vec<image::RgbImage> = cases.iter().map(|c| c.shown_source().unwrap()).collect();
    for (i, case) in cases.iter().enumerate() {
        let (png, ..) = check(case);
        // Against the photo turned by each EXIF orientation of the same
        // size: the file's own is by far the closest.
        let mut scores: Vec<(usize, f64)> = shown
            .iter()
            .enumerate()
            .filter(|(_, s)| s.dimensions() == png.dimensions())
            .map(|(j, s)| (j, psnr(&png, &DynamicImage::ImageRgb8(s.clone()), 255.0).0))
            .collect();
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        assert_eq!(
            scores[0].0,
            i,
            "{}: closest is orientation {}",
            case.name,
            scores[0].0 + 1
        );
        assert!(scores[0].1 > 30.0, "{}: {scores:?}", case.name);
        assert!(
            scores[1].1 < scores[0].1 - 10.0,
            "{}: {scores:?}",
            case.name
        );
    }
}

#[test]
fn alpha_is_kept_for_webp_and_png_and_white_in_jpeg() {
    let case = corpus().case("alpha");
    let (png, ..) = check(case);
    assert_eq!(png.color(), image::ColorType::Rgba8);
    let reference = case.reference().to_rgba8();
    let ours = png.to_rgba8();
    let alpha_diff = ours
        .pixels()
        .zip(reference.pixels())
        .map(|(a, b)| a.0[3].abs_diff(b.0[3]))
        .max()
        .unwrap();
    assert!(alpha_diff <= 1, "alpha differs by {alpha_diff}");
    let out = process(&case.bytes(), &Settings::default()).unwrap();
    let webp = image::load_from_memory(variant(&out, "webp")).unwrap();
    assert!(webp.color().has_alpha());
    // The top-left corner is transparent (x265 codes the alpha plane
    // lossily: nearly 0): white in the JPEG.
    assert!(ours.get_pixel(2, 2).0[3] <= 4, "{:?}", ours.get_pixel(2, 2));
    let jpeg = image::load_from_memory(variant(&out, "compressed"))
        .unwrap()
        .to_rgb8();
    assert!(
        jpeg.get_pixel(2, 2).0.iter().all(|&c| c >= 245),
        "{:?}",
        jpeg.get_pixel(2, 2)
    );
}

#[test]
fn ten_bit_gives_a_16_bit_png() {
    let case = corpus().case("10bit");
    assert_eq!(case.bit_depth, 10);
    let (png, ..) = check(case);
    assert_eq!(png.color(), image::ColorType::Rgb16);
}

/// The same bytes whatever the schedule, but for the full-size WebP, which
/// the lean schedules make with less memory (see the engine's tests).
#[test]
fn every_schedule_gives_the_same_bytes() {
    for name in ["alpha", "orient6"] {
        let bytes = corpus().case(name).bytes();
        let side = process(&bytes, &Settings::default()).unwrap();
        for schedule in [Schedule::OneAtATime, Schedule::TwoPasses] {
            let lean = process_with(&bytes, &Settings::default(), schedule).unwrap();
            for (a, b) in side.variants.iter().zip(&lean.variants) {
                assert_eq!(a.spec.name, b.spec.name);
                if a.spec.name == "webp" {
                    let decode = |b: &[u8]| image::load_from_memory(b).unwrap();
                    let (fast, lean) = (decode(&a.bytes), decode(&b.bytes));
                    assert_eq!(fast.dimensions(), lean.dimensions(), "{name}");
                    assert_eq!(fast.color(), lean.color(), "{name}");
                    continue;
                }
                assert!(a.bytes == b.bytes, "{name} {}: {schedule:?}", a.spec.name);
            }
        }
    }
}

#[test]
fn the_header_is_read_without_decoding_and_budgeted() {
    let settings = Settings::default();
    let large = corpus().case("large").bytes();
    let i = imgflow_engine::inspect(&large, &settings, 1).unwrap();
    assert_eq!((i.shape.width, i.shape.height), (3024, 4032));
    assert_eq!(i.shape.color, image::ColorType::Rgb8);
    let heic: HeicDecode = i.shape.heic.expect("HEIC decode costs");
    assert!(heic.grid && heic.transformed);
    assert_eq!(heic.canvas_pixels, 4032 * 3024);
    assert_eq!(heic.picture_pixels, 512 * 512);
    // Beyond the pixel limit: refused from the header.
    let mut small = settings.clone();
    small.limits.max_pixels = 4032 * 3024 - 1;
    match process(&large, &small) {
        Err(e) => assert_eq!(e.reason(), Reason::TooManyPixels, "{e}"),
        Ok(_) => panic!("accepted"),
    }
    let ten = imgflow_engine::inspect(&corpus().case("10bit").bytes(), &settings, 1).unwrap();
    assert_eq!(ten.shape.color, image::ColorType::Rgb16);
    let alpha = imgflow_engine::inspect(&corpus().case("alpha").bytes(), &settings, 1).unwrap();
    assert_eq!(alpha.shape.color, image::ColorType::Rgba8);
}

#[test]
fn damaged_and_other_heif_files_get_their_reason() {
    let plain = corpus().case("plain").bytes();
    for cut in [0.002, 0.1, 0.5, 0.9, 0.999] {
        let n = (plain.len() as f64 * cut) as usize;
        let (r, msg) = reason(&plain[..n]);
        assert_eq!(r, Reason::Truncated, "cut at {n} of {}: {msg}", plain.len());
    }
    // Bytes flipped in the coded picture: refused, not garbage.
    let mut flipped = plain.clone();
    let n = flipped.len();
    for i in (n - 2000..n - 100).step_by(97) {
        flipped[i] ^= 0x5A;
    }
    assert_eq!(reason(&flipped).0, Reason::Corrupt);
    // The fuzz reproducer that panics heifer 0.3.22.
    let crash = include_bytes!("fixtures/heifer_crash_grid_tile.heic");
    let (r, msg) = reason(crash);
    assert_eq!(r, Reason::Corrupt, "{msg}");
    // AVIF: named.
    let (r, msg) = reason(&corpus().avif());
    assert_eq!(r, Reason::UnsupportedFormat);
    assert!(msg.starts_with("AVIF images are not supported"), "{msg}");
    // ispe says 0x0.
    let zero = patch_ispe(&plain, 0, 0);
    assert_eq!(reason(&zero).0, Reason::Corrupt);
    // ispe far larger than the picture: the pixel limit, from the header.
    let bomb = patch_ispe(&plain, 60000, 60000);
    assert_eq!(reason(&bomb).0, Reason::TooManyPixels);
    // ispe smaller than the coded picture: the decoder is held to it.
    let small = patch_ispe(&plain, 16, 16);
    assert_eq!(reason(&small).0, Reason::Corrupt);
}

/// `plain` with its `ispe` set to `w`x`h`.
fn patch_ispe(bytes: &[u8], w: u32, h: u32) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let at = out
        .windows(4)
        .position(|x| x == b"ispe")
        .expect("an ispe box");
    // type, version and flags, then width and height.
    out[at + 8..at + 12].copy_from_slice(&w.to_be_bytes());
    out[at + 12..at + 16].copy_from_slice(&h.to_be_bytes());
    out
}
