//! The engine on every input kind it claims to read: outputs are decoded and
//! their pixels, sizes and metadata checked.

use image::{DynamicImage, GenericImageView, ImageDecoder, ImageFormat, RgbImage};
use imgflow_engine::{
    process, process_with, EngineError, ProcessedImage, Reason, Schedule, Settings,
};
use imgflow_testkit::fixtures::*;
use std::io::Cursor;

fn run(bytes: &[u8]) -> ProcessedImage {
    process(bytes, &Settings::default()).unwrap_or_else(|e| panic!("processing failed: {e}"))
}

fn variant<'a>(out: &'a ProcessedImage, name: &str) -> &'a [u8] {
    &out.variants
        .iter()
        .find(|v| v.spec.name == name)
        .unwrap_or_else(|| panic!("no {name} variant"))
        .bytes
}

fn decode(bytes: &[u8]) -> DynamicImage {
    image::load_from_memory(bytes).expect("output decodes")
}

fn icc_of(bytes: &[u8]) -> Option<Vec<u8>> {
    let reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .unwrap();
    let mut decoder = reader.into_decoder().unwrap();
    decoder.icc_profile().unwrap()
}

fn reject_reason(bytes: &[u8], settings: &Settings) -> Reason {
    match process(bytes, settings) {
        Ok(_) => panic!("accepted an input that should be refused"),
        Err(e @ EngineError::Rejected(_)) => e.reason(),
        Err(e) => panic!("not a rejection: {e}"),
    }
}

/// The contract for any input: five variants, in order, of the right
/// formats and sizes; the PNG is pixel-identical to `reference`.
fn check_contract(source: &[u8], reference: &DynamicImage) {
    let out = run(source);
    let names: Vec<_> = out.variants.iter().map(|v| v.spec.name).collect();
    assert_eq!(names, ["compressed", "low", "webp", "png", "thumbnail"]);
    let (w, h) = reference.dimensions();
    assert_eq!((out.source.width, out.source.height), (w, h));
    for v in &out.variants {
        let format = image::guess_format(&v.bytes).unwrap();
        let expected = match v.spec.extension {
            "jpg" => ImageFormat::Jpeg,
            "png" => ImageFormat::Png,
            _ => ImageFormat::WebP,
        };
        assert_eq!(format, expected, "{}", v.spec.name);
        let img = decode(&v.bytes);
        assert_eq!(img.dimensions(), (v.width, v.height), "{}", v.spec.name);
        if v.spec.name == "thumbnail" {
            assert!(v.width <= 200 && v.height <= 200 && v.width >= 1 && v.height >= 1);
            assert!(v.width <= w && v.height <= h, "never upscaled");
        } else {
            assert_eq!((v.width, v.height), (w, h), "{}", v.spec.name);
        }
    }
    let png = decode(variant(&out, "png"));
    assert_eq!(
        png.color(),
        reference.color(),
        "PNG keeps the colour type and depth"
    );
    assert!(png == *reference, "PNG is pixel-identical to the source");

    // One variant at a time (the PNG filtered where the pixels lie), and
    // in two passes (the WebP first, the rest from a second decode): the
    // same bytes, but for the WebP, coded without libwebp's token buffer
    // and with the alpha plane apart: as faithful, about as many bytes.
    for schedule in [Schedule::OneAtATime, Schedule::TwoPasses] {
        let lean = process_with(source, &Settings::default(), schedule).unwrap();
        assert_eq!(lean.source, out.source);
        assert_eq!(lean.variants.len(), out.variants.len());
        for (a, b) in out.variants.iter().zip(&lean.variants) {
            assert_eq!(a.spec.name, b.spec.name, "{schedule:?}");
            if a.spec.name != "webp" {
                assert!(a.bytes == b.bytes, "{}: {schedule:?} differs", a.spec.name);
                continue;
            }
            // As close to the source (other rate-distortion choices).
            let source = reference.to_rgb8();
            let error = |bytes: &[u8]| mean_abs_diff(&decode(bytes).to_rgb8(), &source);
            let (fast, lean) = (error(&a.bytes), error(&b.bytes));
            assert!(
                lean <= fast * 1.1 + 0.2,
                "{schedule:?}: WebP off the source by {lean} against {fast}"
            );
            // The lean alpha coder is simpler than libwebp's: more bytes
            // where there is alpha.
            let ratio = b.bytes.len() as f64 / a.bytes.len() as f64;
            let most = if reference.color().has_alpha() {
                2.0
            } else {
                1.1
            };
            assert!(
                (0.9..=most).contains(&ratio),
                "{schedule:?}: WebP {} bytes against {}",
                b.bytes.len(),
                a.bytes.len()
            );
        }
    }
}

/// JPEGs are decoded with libjpeg-turbo; check that decode against an
/// independent decoder (zune-jpeg, in the image crate) before using it as
/// the reference the PNG variant must equal.
fn libjpeg_reference(src: &[u8]) -> DynamicImage {
    let ours = imgflow_engine::decode::decode(src, &Settings::default().limits, &[])
        .unwrap()
        .pixels;
    let independent = decode(src);
    assert_eq!(ours.color(), independent.color());
    let diff = mean_abs_diff(&ours.to_rgb8(), &independent.to_rgb8());
    assert!(diff < 1.5, "decoders disagree by {diff} on average");
    ours
}

#[test]
fn jpeg_baseline_progressive_and_grayscale() {
    let img = gradient(320, 200);
    for progressive in [false, true] {
        let src = jpeg_rgb(
            &img,
            &JpegOptions {
                progressive,
                ..Default::default()
            },
        );
        check_contract(&src, &libjpeg_reference(&src));
    }
    let gray: Vec<u8> = (0..64 * 48).map(|i| (i % 251) as u8).collect();
    let src = jpeg_gray(64, 48, &gray, &JpegOptions::default());
    check_contract(&src, &libjpeg_reference(&src));
    // Gray stays gray in the JPEG variants.
    let out = run(&src);
    assert_eq!(
        decode(variant(&out, "compressed")).color(),
        image::ColorType::L8
    );
}

/// The header reader copies what it reads: it is given the header alone,
/// so comments (or the entropy-coded data) cost nothing twice, and the
/// pixels and the estimate's other terms do not change.
#[test]
fn comments_in_a_jpeg_change_neither_its_header_nor_its_variants() {
    let src = jpeg_rgb(&gradient(64, 48), &JpegOptions::default());
    let mut padded = src[..2].to_vec();
    for _ in 0..32 {
        padded.extend_from_slice(&[0xFF, 0xFE, 0xFF, 0xFF]);
        padded.extend(std::iter::repeat_n(b'c', 65533));
    }
    padded.extend_from_slice(&src[2..]);
    let settings = Settings::default();
    let (plain, commented) = (
        imgflow_engine::inspect(&src, &settings, 1).unwrap(),
        imgflow_engine::inspect(&padded, &settings, 1).unwrap(),
    );
    assert_eq!(plain.shape, commented.shape);
    // Each estimate holds the input once, not twice.
    let grown = commented.memory.one_at_a_time - plain.memory.one_at_a_time;
    let added = (padded.len() - src.len()) as u64;
    assert!(
        grown < added * 11 / 10,
        "{grown} more for {added} bytes of comments"
    );
    let (a, b) = (run(&src), run(&padded));
    for (x, y) in a.variants.iter().zip(&b.variants) {
        assert_eq!(x.bytes, y.bytes, "{}", x.spec.name);
    }
}

#[test]
fn jpeg_cmyk_becomes_rgb() {
    // Flat CMYK (0,0,0,0) is paper white in either Adobe convention's
    // interpretation used by decoders; the variants must just be valid RGB.
    let raw = vec![0u8; 40 * 24 * 4];
    let src = jpeg_cmyk(
        40,
        24,
        &raw,
        &JpegOptions {
            icc: Some(icc_profile(b"CMYK")),
            ..Default::default()
        },
    );
    let out = run(&src);
    for v in &out.variants {
        let img = decode(&v.bytes);
        assert_eq!(img.dimensions(), (40, 24));
        assert!(
            icc_of(&v.bytes).is_none(),
            "a CMYK profile must not label RGB pixels ({})",
            v.spec.name
        );
    }
}

#[test]
fn png_kinds_are_lossless() {
    use png::{BitDepth, ColorType};
    // 8-bit RGB and RGBA.
    let rgb = DynamicImage::ImageRgb8(gradient(97, 61));
    check_contract(&encode_with_image(&rgb, ImageFormat::Png), &rgb);
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(50, 30, |x, y| {
        image::Rgba([x as u8 * 5, y as u8 * 8, 90, (x * 5) as u8])
    }));
    check_contract(&png_rgba(rgba.as_rgba8().unwrap()), &rgba);
    // 16-bit RGBA keeps every bit.
    let deep = DynamicImage::ImageRgba16(rgba16(33, 21));
    check_contract(&encode_with_image(&deep, ImageFormat::Png), &deep);
    // 16-bit gray.
    let g16 = DynamicImage::ImageLuma16(image::ImageBuffer::from_fn(20, 10, |x, y| {
        image::Luma([(x * 3000 + y) as u16])
    }));
    check_contract(&encode_with_image(&g16, ImageFormat::Png), &g16);
    // Gray + alpha.
    let ga: Vec<u8> = (0..16 * 8)
        .flat_map(|i| [(i * 2) as u8, (i * 3) as u8])
        .collect();
    let src = png_raw(
        16,
        8,
        ColorType::GrayscaleAlpha,
        BitDepth::Eight,
        &ga,
        None,
        None,
        None,
    );
    check_contract(&src, &decode(&src));
    // Palette with a transparent entry.
    let plte = [255, 0, 0, 0, 255, 0, 0, 0, 255];
    let trns = [0, 128, 255];
    let idx: Vec<u8> = (0..12 * 6).map(|i| (i % 3) as u8).collect();
    let src = png_raw(
        12,
        6,
        ColorType::Indexed,
        BitDepth::Eight,
        &idx,
        Some((&plte, &trns)),
        None,
        None,
    );
    let reference = decode(&src);
    assert!(reference.color().has_alpha());
    check_contract(&src, &reference);
}

#[test]
fn webp_gif_tiff_bmp() {
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(30, 20, |x, y| {
        image::Rgba([x as u8 * 8, y as u8 * 12, 200, if x < 10 { 0 } else { 255 }])
    }));
    let webp = encode_with_image(&rgba, ImageFormat::WebP);
    check_contract(&webp, &decode(&webp));
    let rgb = DynamicImage::ImageRgb8(gradient(40, 30));
    for format in [ImageFormat::Tiff, ImageFormat::Bmp] {
        let src = encode_with_image(&rgb, format);
        check_contract(&src, &rgb);
    }
    // An animated GIF: the first frame, nothing else.
    let gif = animated_gif();
    let out = run(&gif);
    let first = decode(variant(&out, "png")).to_rgb8();
    assert_eq!((first.width(), first.height()), (40, 30));
    assert!(first.pixels().all(|p| p.0 == RED), "first frame only");
}

/// What exiftool makes of a lossless WebP with alpha when it adds EXIF:
/// the same VP8L bitstream (alpha used) behind a VP8X header whose alpha
/// flag is not set.
fn webp_alpha_behind_a_header_without_it(rgba: &DynamicImage) -> Vec<u8> {
    let simple = encode_with_image(rgba, ImageFormat::WebP);
    let (fourcc, vp8l) = webp_first_chunk(&simple);
    assert_eq!(fourcc, b"VP8L", "a simple lossless file");
    let (w, h) = rgba.dimensions();
    // Flags: no alpha, no EXIF.
    webp_riff(&[(b"VP8X", &vp8x(0, w, h)), (fourcc, vp8l)])
}

#[test]
fn a_webp_whose_header_hides_its_alpha_keeps_it() {
    let rgba = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(30, 20, |x, _| {
        if x < 15 {
            image::Rgba([255, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    }));
    let webp = webp_alpha_behind_a_header_without_it(&rgba);
    let out = run(&webp);
    let png = decode(variant(&out, "png")).to_rgba8();
    assert_eq!(
        png.get_pixel(25, 10).0,
        [0, 0, 0, 0],
        "transparent, not black"
    );
    assert_eq!(png.get_pixel(5, 10).0, [255, 0, 0, 255]);
    let jpeg = decode(variant(&out, "compressed")).to_rgb8();
    assert!(jpeg.get_pixel(25, 10).0.iter().all(|&c| c > 240), "white");
    assert!(decode(variant(&out, "webp")).color().has_alpha());
}

/// A lossy WebP behind a VP8X header that claims alpha it does not have
/// (no ALPH chunk): libwebp shows it opaque, and so do we.
#[test]
fn a_webp_whose_header_claims_alpha_it_lacks_is_opaque() {
    let lossy = run(&encode_with_image(
        &DynamicImage::ImageRgb8(gradient(30, 20)),
        ImageFormat::Png,
    ));
    let (fourcc, vp8) = webp_first_chunk(variant(&lossy, "webp"));
    assert_eq!(fourcc, b"VP8 ", "a simple lossy file");
    let claims_alpha = webp_riff(&[(b"VP8X", &vp8x(0x10, 30, 20)), (fourcc, vp8)]);
    let out = run(&claims_alpha);
    let png = decode(variant(&out, "png"));
    assert_eq!(png.dimensions(), (30, 20));
    assert!(!png.color().has_alpha(), "opaque: {:?}", png.color());
}

/// A 24-bit BMP of `gradient(w, h)`: top-down (negative height in a
/// BITMAPINFOHEADER) or with an OS/2 core header (16-bit sizes).
fn bmp_24(w: u16, h: u16, top_down: bool, core: bool) -> Vec<u8> {
    let pixels = gradient(u32::from(w), u32::from(h));
    let stride = (usize::from(w) * 3).div_ceil(4) * 4;
    let mut rows = Vec::new();
    for y in 0..u32::from(h) {
        let y = if top_down { y } else { u32::from(h) - 1 - y };
        let mut row: Vec<u8> = (0..u32::from(w))
            .flat_map(|x| {
                let [r, g, b] = pixels.get_pixel(x, y).0;
                [b, g, r]
            })
            .collect();
        row.resize(stride, 0);
        rows.extend(row);
    }
    let mut dib = Vec::new();
    if core {
        dib.extend(12u32.to_le_bytes());
        dib.extend(w.to_le_bytes());
        dib.extend(h.to_le_bytes());
        dib.extend(1u16.to_le_bytes());
        dib.extend(24u16.to_le_bytes());
    } else {
        let height = if top_down {
            -i32::from(h)
        } else {
            i32::from(h)
        };
        dib.extend(40u32.to_le_bytes());
        dib.extend(i32::from(w).to_le_bytes());
        dib.extend(height.to_le_bytes());
        dib.extend(1u16.to_le_bytes());
        dib.extend(24u16.to_le_bytes());
        dib.extend([0u8; 24]);
    }
    bmp_file(&dib, &rows)
}

/// A BMP file: the file header, then `dib` (the bitmap's header and any
/// masks) and the pixel rows.
fn bmp_file(dib: &[u8], rows: &[u8]) -> Vec<u8> {
    let offset = 14 + dib.len() as u32;
    let mut bmp = b"BM".to_vec();
    bmp.extend((offset + rows.len() as u32).to_le_bytes());
    bmp.extend([0u8; 4]);
    bmp.extend(offset.to_le_bytes());
    bmp.extend(dib);
    bmp.extend(rows);
    bmp
}

/// imagesize read these headers' sizes as unsigned 32-bit values: a
/// top-down BMP was 4294967236 rows high, an OS/2 one 262148 wide, both
/// refused as too_many_pixels.
#[test]
fn top_down_and_os2_bmps_are_read_at_their_size() {
    let rgb = DynamicImage::ImageRgb8(gradient(40, 30));
    for (top_down, core) in [(true, false), (false, true), (false, false)] {
        check_contract(&bmp_24(40, 30, top_down, core), &rgb);
    }
}

/// A 32-bit BMP with a version 5 header and an alpha mask, every alpha
/// zero: how Photoshop and the Windows clipboard write opaque images.
fn bmp_v5_alpha_zero(w: u32, h: u32, bgr: [u8; 3]) -> Vec<u8> {
    let pixels: Vec<u8> = (0..w * h)
        .flat_map(|_| [bgr[0], bgr[1], bgr[2], 0])
        .collect();
    let mut dib = Vec::new();
    dib.extend(124u32.to_le_bytes());
    dib.extend(w.to_le_bytes());
    dib.extend(h.to_le_bytes());
    dib.extend(1u16.to_le_bytes());
    dib.extend(32u16.to_le_bytes());
    dib.extend(3u32.to_le_bytes()); // BI_BITFIELDS
    dib.extend((pixels.len() as u32).to_le_bytes());
    dib.extend([0u8; 16]); // resolution, palette
    for mask in [0x00ff_0000u32, 0x0000_ff00, 0x0000_00ff, 0xff00_0000] {
        dib.extend(mask.to_le_bytes());
    }
    dib.resize(124, 0);
    bmp_file(&dib, &pixels)
}

#[test]
fn a_bmp_whose_alpha_is_zero_everywhere_is_opaque() {
    let bmp = bmp_v5_alpha_zero(16, 8, [0, 0, 255]);
    assert!(
        decode(&bmp)
            .to_rgba8()
            .pixels()
            .all(|p| p.0 == [255, 0, 0, 0]),
        "the decoder's view: transparent"
    );
    let out = run(&bmp);
    let png = decode(variant(&out, "png")).to_rgba8();
    assert!(png.pixels().all(|p| p.0 == [255, 0, 0, 255]));
    for jpeg in ["compressed", "thumbnail"] {
        let px = decode(variant(&out, jpeg)).to_rgb8().get_pixel(0, 0).0;
        assert!(
            px[0] > 240 && px[1] < 16 && px[2] < 16,
            "{jpeg}: {px:?}, not white"
        );
    }
}

/// An uncompressed little-endian RGBA TIFF whose ExtraSamples says what
/// its alpha is (1: associated, premultiplied; 2: unassociated).
fn tiff_rgba(image: &image::RgbaImage, extra_samples: u16) -> Vec<u8> {
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    let (w, h) = image.dimensions();
    let pixels = image.as_raw();
    let entries: [(u16, u16, u32, u32); 10] = [
        (256, LONG, 1, w),
        (257, LONG, 1, h),
        (258, SHORT, 4, 8), // BitsPerSample: four values, at offset 8
        (259, SHORT, 1, 1), // no compression
        (262, SHORT, 1, 2), // RGB
        (273, LONG, 1, 16), // the strip, after the bits per sample
        (277, SHORT, 1, 4),
        (278, LONG, 1, h),
        (279, LONG, 1, pixels.len() as u32),
        (338, SHORT, 1, u32::from(extra_samples)),
    ];
    let ifd = 16 + pixels.len() as u32;
    let mut tiff = b"II*\0".to_vec();
    tiff.extend(ifd.to_le_bytes());
    tiff.extend([8u16, 8, 8, 8].iter().flat_map(|b| b.to_le_bytes()));
    tiff.extend(pixels);
    tiff.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        tiff.extend(tag.to_le_bytes());
        tiff.extend(kind.to_le_bytes());
        tiff.extend(count.to_le_bytes());
        if kind == SHORT && count == 1 {
            tiff.extend((value as u16).to_le_bytes());
            tiff.extend([0, 0]);
        } else {
            tiff.extend(value.to_le_bytes());
        }
    }
    tiff.extend(0u32.to_le_bytes());
    tiff
}

#[test]
fn gray_with_alpha_tiffs_are_read() {
    // Opaque, half-transparent and transparent pixels, 8 and 16 bits.
    let pixels: Vec<(u16, u16)> = (0..12)
        .map(|i| [(200, 255), (100, 128), (0, 0)][i % 3])
        .collect();
    let out = run(&tiff_gray_alpha(4, 3, &pixels, 8, false));
    assert!(out.variants.iter().all(|v| (v.width, v.height) == (4, 3)));
    let png = decode(variant(&out, "png")).to_luma_alpha8();
    for (p, &(gray, alpha)) in png.pixels().zip(&pixels) {
        assert_eq!(p.0, [gray as u8, alpha as u8]);
    }
    assert!(contains(variant(&out, "webp"), b"ALPH"), "alpha kept");

    let wide: Vec<(u16, u16)> = pixels.iter().map(|&(g, a)| (g * 257, a * 257)).collect();
    let png = decode(variant(
        &run(&tiff_gray_alpha(4, 3, &wide, 16, false)),
        "png",
    ));
    assert_eq!(png.color(), image::ColorType::La16);
    for (p, &(gray, alpha)) in png.to_luma_alpha16().pixels().zip(&wide) {
        assert_eq!(p.0, [gray, alpha]);
    }

    // Associated alpha is made straight: gray 50 at alpha 128 is 100.
    let premultiplied = vec![(50, 128); 12];
    let png = decode(variant(
        &run(&tiff_gray_alpha(4, 3, &premultiplied, 8, true)),
        "png",
    ));
    assert!(png.to_luma_alpha8().pixels().all(|p| p.0 == [100, 128]));

    // SampleFormat given per sample (libtiff's way), both unsigned.
    let per_sample = tiff_two_samples(
        4,
        3,
        &pixels,
        8,
        &[(338, 3, 1, 2), (339, 3, 2, 1 | 1 << 16)],
    );
    let png = decode(variant(&run(&per_sample), "png")).to_luma_alpha8();
    assert_eq!(png.get_pixel(1, 0).0, [100, 128]);
    // Without ExtraSamples saying alpha (0: unspecified, or none), the
    // second sample is not alpha: gray, as Pillow reads it.
    for tags in [&[(338, 3, 1, 0)][..], &[]] {
        let out = run(&tiff_two_samples(4, 3, &pixels, 8, tags));
        let png = decode(variant(&out, "png"));
        assert_eq!(png.color(), image::ColorType::L8, "{tags:?}");
        assert_eq!(png.to_luma8().get_pixel(2, 0).0, [0]);
        assert!(!contains(variant(&out, "webp"), b"ALPH"));
    }

    // Cut short: refused as the other TIFFs are.
    let whole = tiff_gray_alpha(4, 3, &pixels, 8, false);
    let mut cut = whole[..20].to_vec();
    cut.extend(&whole[whole.len() - 126..]);
    assert!(matches!(
        reject_reason(&cut, &Settings::default()),
        Reason::Truncated | Reason::Corrupt
    ));
}

#[test]
fn tiffs_of_pixel_types_the_decoder_does_not_read_are_named() {
    let mut float = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut float)
        .unwrap()
        .write_image::<tiff::encoder::colortype::Gray32Float>(4, 3, &[0.5; 12])
        .unwrap();
    let float = float.into_inner();
    let err = process(&float, &Settings::default()).unwrap_err();
    assert_eq!(err.reason(), Reason::UnsupportedFormat);
    assert!(
        err.to_string()
            .contains("this TIFF is not supported: its pixels are 32-bit floating-point gray"),
        "{err}"
    );
    // Two-sample gray the tiff crate cannot read: white-is-zero.
    let white_is_zero = tiff_two_samples(4, 3, &[(10, 255); 12], 8, &[(262, 3, 1, 0)]);
    let err = process(&white_is_zero, &Settings::default()).unwrap_err();
    assert_eq!(err.reason(), Reason::UnsupportedFormat, "{err}");
    assert!(
        err.to_string()
            .contains("its pixels are 8-bit white-is-zero gray with one extra sample"),
        "{err}"
    );
    // (Planar ones are named too; this one's single strip is not a
    // planar file's two, which the decoder finds inconsistent first.)
    let planar = tiff_two_samples(4, 3, &[(10, 255); 12], 16, &[(284, 3, 1, 2)]);
    assert_eq!(
        imgflow_engine::structure::tiff_pixel_kind(&planar).as_deref(),
        Some("16-bit gray with one extra sample, in separate planes")
    );
    // A palette TIFF (the tiff crate reads none): a gray one relabelled.
    let mut palette = encode_with_image(
        &DynamicImage::ImageLuma8(image::GrayImage::new(4, 3)),
        ImageFormat::Tiff,
    );
    let photometric = palette
        .windows(8)
        .position(|w| w == [0x06, 0x01, 3, 0, 1, 0, 0, 0])
        .expect("a Photometric entry");
    palette[photometric + 8] = 3;
    let err = process(&palette, &Settings::default()).unwrap_err();
    assert_eq!(err.reason(), Reason::UnsupportedFormat);
    assert!(
        err.to_string().contains("(its pixels are 8-bit palette;"),
        "{err}"
    );
}

/// A strip size in the header that the pixels do not need (here 2 GiB
/// for 160x120) runs into the decoder's allocation limit: that is a
/// corrupt file, not one over the pixel limit (which an operator would
/// raise for nothing).
#[test]
fn a_strip_the_pixels_do_not_need_is_corrupt_not_too_many_pixels() {
    let mut tiff = tiff_rgba(&photo_like(160, 120), 2);
    let ifd = u32::from_le_bytes(tiff[4..8].try_into().unwrap()) as usize;
    // StripByteCounts is the ninth entry; its value is the entry's last 4 bytes.
    let value = ifd + 2 + 8 * 12 + 8;
    assert_eq!(tiff[value - 8..value - 6], 279u16.to_le_bytes());
    tiff[value..value + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    let err = process(&tiff, &Settings::default()).unwrap_err();
    assert_eq!(err.reason(), Reason::Corrupt, "{err}");
    assert!(
        err.to_string().contains("asks the decoder for more than"),
        "{err}"
    );
}

/// Text chunks are read past, not kept: a PNG carrying 2,000 of them
/// (Latin-1, which the decoder would keep as UTF-8) gives the variants of
/// its pixels.
#[test]
fn png_text_chunks_are_read_past() {
    let img = gradient(40, 30);
    let png = png_rgb_with_text(&img, 2_000, 1_000, 0xE9);
    check_contract(&png, &DynamicImage::ImageRgb8(img));
}

#[test]
fn tiff_with_associated_alpha_is_made_straight() {
    // Premultiplied: red at alpha 82 is stored as (82, 0, 0, 82).
    let stored = image::RgbaImage::from_fn(9, 4, |x, _| match x % 3 {
        0 => image::Rgba([82, 0, 0, 82]),
        1 => image::Rgba([0, 0, 0, 0]),
        _ => image::Rgba([10, 20, 30, 255]),
    });
    let png = |tiff: &[u8]| decode(variant(&run(tiff), "png")).to_rgba8();
    let straight = png(&tiff_rgba(&stored, 1));
    assert_eq!(straight.get_pixel(0, 0).0, [255, 0, 0, 82]);
    assert_eq!(straight.get_pixel(1, 0).0, [0, 0, 0, 0]);
    assert_eq!(straight.get_pixel(2, 0).0, [10, 20, 30, 255]);
    // Unassociated alpha is taken as it is.
    assert_eq!(png(&tiff_rgba(&stored, 2)), stored);
}

#[test]
fn a_gif_that_says_it_is_opaque_is_decoded_opaque() {
    // Its header promises no transparency (the memory estimate counts no
    // alpha coder): indices past the palette, which the decoder leaves
    // transparent, come out opaque black rather than prove it wrong.
    let gif = gif_out_of_palette(40, 30);
    let raw = decode(&gif);
    assert!(
        raw.to_rgba8().pixels().all(|p| p.0 == [0, 0, 0, 0]),
        "the decoder's view"
    );
    let out = run(&gif);
    let png = decode(variant(&out, "png")).to_rgba8();
    assert!(png.pixels().all(|p| p.0 == [0, 0, 0, 255]));
    assert!(!contains(variant(&out, "webp"), b"ALPH"), "no alpha coded");
}

#[test]
fn a_gif_frame_past_its_screen_is_drawn_whole_as_browsers_draw_it() {
    // A 1x1 screen over a 40x30 frame: Pillow and browsers show 40x30 (the
    // image crate would crop it to 1x1, after decoding all of it).
    let red = image::RgbaImage::from_pixel(40, 30, image::Rgba([255, 0, 0, 255]));
    let gif = gif_past_its_screen(&red, (0, 0), (1, 1));
    let inspection = imgflow_engine::inspect(&gif, &Settings::default(), 1).unwrap();
    assert_eq!((inspection.shape.width, inspection.shape.height), (40, 30));
    let out = run(&gif);
    assert!(out.variants.iter().all(|v| (v.width, v.height) == (40, 30)));
    let png = decode(variant(&out, "png")).to_rgba8();
    assert!(png.pixels().all(|p| p.0 == [255, 0, 0, 255]));
    assert!(
        !contains(variant(&out, "webp"), b"ALPH"),
        "opaque: no alpha coded"
    );

    // Drawn at (5, 4), past a 10x10 screen: the canvas holds both, and is
    // transparent around the frame.
    let gif = gif_past_its_screen(&red, (5, 4), (10, 10));
    let out = run(&gif);
    let png = decode(variant(&out, "png")).to_rgba8();
    assert_eq!(png.dimensions(), (45, 34));
    assert_eq!(png.get_pixel(0, 0).0, [0, 0, 0, 0]);
    assert_eq!(png.get_pixel(4, 33).0, [0, 0, 0, 0]);
    assert_eq!(png.get_pixel(5, 4).0, [255, 0, 0, 255]);
    assert_eq!(png.get_pixel(44, 33).0, [255, 0, 0, 255]);

    // The pixel limit holds for the canvas, and the refusal names it.
    let mut small = Settings::default();
    small.limits.max_pixels = 1000;
    let err = process(&gif_past_its_screen(&red, (0, 0), (1, 1)), &small).unwrap_err();
    assert_eq!(err.reason(), Reason::TooManyPixels);
    assert!(err.to_string().contains("40x30 is 1200 pixels"), "{err}");
}

/// Displayed colours (TL, TR, BL, BR) of the quadrant fixture per EXIF orientation.
type Quadrants = [[u8; 3]; 4];
const ORIENTED: [(u16, (u32, u32), Quadrants); 8] = [
    (1, (48, 32), [RED, GREEN, BLUE, WHITE]),
    (2, (48, 32), [GREEN, RED, WHITE, BLUE]),
    (3, (48, 32), [WHITE, BLUE, GREEN, RED]),
    (4, (48, 32), [BLUE, WHITE, RED, GREEN]),
    (5, (32, 48), [RED, BLUE, GREEN, WHITE]),
    (6, (32, 48), [BLUE, RED, WHITE, GREEN]),
    (7, (32, 48), [WHITE, GREEN, BLUE, RED]),
    (8, (32, 48), [GREEN, WHITE, RED, BLUE]),
];

#[test]
fn every_exif_orientation_is_applied_and_exif_removed() {
    for (orientation, dims, colors) in ORIENTED {
        let src = jpeg_rgb(
            &quadrants(),
            &JpegOptions {
                exif: Some(exif(orientation)),
                ..Default::default()
            },
        );
        let out = run(&src);
        assert_eq!(
            (out.source.width, out.source.height),
            dims,
            "orientation {orientation}"
        );
        for name in ["compressed", "low", "webp", "png", "thumbnail"] {
            let bytes = variant(&out, name);
            let img = decode(bytes).to_rgb8();
            assert_eq!(img.dimensions(), dims, "orientation {orientation}, {name}");
            let got = quadrant_colors(&img);
            for (g, want) in got.iter().zip(&colors) {
                assert!(
                    close(*g, *want, 24),
                    "orientation {orientation}, {name}: {got:?} vs {colors:?}"
                );
            }
            assert!(
                !contains(bytes, b"LeakyCam"),
                "camera make leaked into {name}"
            );
            assert!(!contains(bytes, b"Exif\0\0"), "EXIF left in {name}");
        }
    }
}

/// Two EXIF blocks: the first one's orientation is applied, as Pillow and
/// browsers do (the image crate's reader keeps the last).
#[test]
fn the_first_of_two_exif_blocks_orients_the_image() {
    let src = jpeg_rgb(
        &quadrants(),
        &JpegOptions {
            exif: Some(exif(6)),
            ..Default::default()
        },
    );
    // A second APP1 right after the first (marker, length, `Exif\0\0`).
    let payload = src.windows(6).position(|w| w == b"Exif\0\0").unwrap();
    assert_eq!(src[payload - 4..payload - 2], [0xFF, 0xE1]);
    let first_end =
        payload - 2 + usize::from(u16::from_be_bytes([src[payload - 2], src[payload - 1]]));
    let second = exif(3);
    let mut two = src[..first_end].to_vec();
    two.extend([0xFF, 0xE1]);
    two.extend(u16::try_from(second.len() + 2).unwrap().to_be_bytes());
    two.extend(&second);
    two.extend(&src[first_end..]);
    let (_, dims, colors) = ORIENTED[5];
    let out = run(&two);
    assert_eq!((out.source.width, out.source.height), dims);
    let got = quadrant_colors(&decode(variant(&out, "png")).to_rgb8());
    for (g, want) in got.iter().zip(&colors) {
        assert!(close(*g, *want, 24), "{got:?} vs {colors:?}");
    }
}

#[test]
fn png_exif_orientation_is_applied() {
    let img = quadrants();
    let src = png_raw(
        48,
        32,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        img.as_raw(),
        None,
        None,
        Some(&exif(6)),
    );
    let out = run(&src);
    let png = decode(variant(&out, "png")).to_rgb8();
    assert_eq!(png.dimensions(), (32, 48));
    assert_eq!(quadrant_colors(&png), [BLUE, RED, WHITE, GREEN]);
    assert!(!contains(variant(&out, "png"), b"LeakyCam"));
}

/// A profile cut short (its header says more bytes than its segments
/// hold) would make viewers refuse the variants: none carries it.
#[test]
fn a_cut_icc_profile_is_left_out() {
    let mut cut = icc_profile_sized(b"RGB ", 3000);
    cut.truncate(200);
    let src = jpeg_rgb(
        &gradient(64, 40),
        &JpegOptions {
            icc: Some(cut),
            ..Default::default()
        },
    );
    for v in &run(&src).variants {
        assert_eq!(icc_of(&v.bytes), None, "{}", v.spec.name);
    }
}

#[test]
fn icc_profile_is_kept_in_every_variant() {
    let rgb_icc = icc_profile(b"RGB ");
    let src = jpeg_rgb(
        &gradient(64, 40),
        &JpegOptions {
            icc: Some(rgb_icc.clone()),
            ..Default::default()
        },
    );
    let out = run(&src);
    assert!(out.source.has_icc);
    for v in &out.variants {
        assert_eq!(
            icc_of(&v.bytes).as_deref(),
            Some(rgb_icc.as_slice()),
            "{}",
            v.spec.name
        );
    }
    // Lossy WebP with ICC is an extended (VP8X) file with an ICCP chunk.
    let webp = variant(&out, "webp");
    assert_eq!(&webp[12..16], b"VP8X");
    assert!(contains(webp, b"ICCP"));

    // From a PNG source too.
    let img = gradient(30, 20);
    let src = png_raw(
        30,
        20,
        png::ColorType::Rgb,
        png::BitDepth::Eight,
        img.as_raw(),
        None,
        Some(&rgb_icc),
        None,
    );
    for v in &run(&src).variants {
        assert_eq!(
            icc_of(&v.bytes).as_deref(),
            Some(rgb_icc.as_slice()),
            "{}",
            v.spec.name
        );
    }

    // From a small TIFF too, with a profile of a few kilobytes (the image
    // crate's decoder loses those; the engine reads the tag itself).
    let srgb_sized = icc_profile_sized(b"RGB ", 3144);
    for v in &run(&tiff_rgb_with_icc(&gradient(30, 20), &srgb_sized)).variants {
        assert_eq!(
            icc_of(&v.bytes).as_deref(),
            Some(srgb_sized.as_slice()),
            "TIFF {}",
            v.spec.name
        );
    }

    // A gray profile stays with gray pixels and is not put on RGB ones.
    let gray_icc = icc_profile(b"GRAY");
    let raw: Vec<u8> = (0..32 * 16).map(|i| i as u8).collect();
    let src = jpeg_gray(
        32,
        16,
        &raw,
        &JpegOptions {
            icc: Some(gray_icc.clone()),
            ..Default::default()
        },
    );
    let out = run(&src);
    for name in ["compressed", "low", "png", "thumbnail"] {
        assert_eq!(
            icc_of(variant(&out, name)).as_deref(),
            Some(gray_icc.as_slice()),
            "{name}"
        );
    }
    assert_eq!(
        icc_of(variant(&out, "webp")),
        None,
        "WebP is RGB: a gray profile does not fit"
    );
}

#[test]
fn a_profile_every_variant_would_copy_is_refused_past_1_mib() {
    let max = imgflow_engine::codecs::MAX_ICC_BYTES;
    let jpeg = |icc| {
        jpeg_rgb(
            &gradient(64, 40),
            &JpegOptions {
                icc: Some(icc),
                ..Default::default()
            },
        )
    };
    // At the limit: kept in every variant.
    let fits = icc_profile_sized(b"RGB ", max);
    for v in &run(&jpeg(fits.clone())).variants {
        assert_eq!(
            icc_of(&v.bytes).as_deref(),
            Some(fits.as_slice()),
            "{}",
            v.spec.name
        );
    }
    // Past it, in a JPEG, a WebP and a TIFF: refused from the header, naming the
    // profile, before any pixel.
    let over = icc_profile_sized(b"RGB ", max + 1);
    let webp = imgflow_engine::codecs::webp::encode(
        std::sync::Arc::new(DynamicImage::ImageRgb8(gradient(64, 40))),
        85,
        Some(&over),
        imgflow_engine::codecs::webp::Footprint::Fast,
    )
    .unwrap();
    let tiff = tiff_rgb_with_icc(&gradient(64, 40), &over);
    for (name, src) in [("JPEG", jpeg(over.clone())), ("WebP", webp), ("TIFF", tiff)] {
        let settings = Settings::default();
        for err in [
            imgflow_engine::inspect(&src, &settings, 1).err(),
            process(&src, &settings).err(),
        ] {
            let err = err.unwrap_or_else(|| panic!("{name}: accepted"));
            assert_eq!(err.reason(), Reason::Corrupt, "{name}");
            let message = err.to_string();
            assert!(
                message.contains(name) && message.contains("ICC profile takes 1048577 bytes"),
                "{message}"
            );
        }
    }
    // A CMYK profile goes in no variant: any size the upload can hold.
    let raw: Vec<u8> = (0..32 * 16 * 4).map(|i| i as u8).collect();
    let cmyk = jpeg_cmyk(
        32,
        16,
        &raw,
        &JpegOptions {
            icc: Some(icc_profile_sized(b"CMYK", 3 * max)),
            ..Default::default()
        },
    );
    for v in &run(&cmyk).variants {
        assert_eq!(icc_of(&v.bytes), None, "{}", v.spec.name);
    }
}

#[test]
fn transparency_goes_white_in_jpeg_and_stays_in_webp_and_png() {
    // Left half fully transparent black, right half opaque blue.
    let img = image::RgbaImage::from_fn(64, 32, |x, _| {
        if x < 32 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([BLUE[0], BLUE[1], BLUE[2], 255])
        }
    });
    let out = run(&png_rgba(&img));
    for name in ["compressed", "low", "thumbnail"] {
        let jpeg = decode(variant(&out, name)).to_rgb8();
        let (w, h) = jpeg.dimensions();
        assert!(
            close(jpeg.get_pixel(w / 8, h / 2).0, [255, 255, 255], 3),
            "{name}: transparent → white"
        );
        assert!(
            close(jpeg.get_pixel(7 * w / 8, h / 2).0, BLUE, 12),
            "{name}"
        );
    }
    let webp = decode(variant(&out, "webp"));
    assert!(webp.color().has_alpha(), "WebP keeps alpha");
    let webp = webp.to_rgba8();
    assert_eq!(webp.get_pixel(4, 16).0[3], 0);
    assert_eq!(webp.get_pixel(60, 16).0[3], 255);
    let png = decode(variant(&out, "png"));
    assert!(png.as_rgba8().is_some_and(|p| p == &img));
}

#[test]
fn thumbnails_fit_keep_aspect_and_never_upscale() {
    for ((w, h), expected) in [
        ((800, 200), (200, 50)),
        ((150, 90), (150, 90)),
        ((1000, 3), (200, 1)),
        ((90, 450), (40, 200)),
    ] {
        let src = encode_with_image(&DynamicImage::ImageRgb8(gradient(w, h)), ImageFormat::Png);
        let out = run(&src);
        let thumb = decode(variant(&out, "thumbnail"));
        assert_eq!(thumb.dimensions(), expected, "{w}x{h}");
    }
    // A flat colour stays that colour: the filter neither rings nor shifts.
    let flat = RgbImage::from_pixel(640, 480, image::Rgb(GREEN));
    let out = run(&encode_with_image(
        &DynamicImage::ImageRgb8(flat),
        ImageFormat::Png,
    ));
    let thumb = decode(variant(&out, "thumbnail")).to_rgb8();
    assert!(thumb.pixels().all(|p| close(p.0, GREEN, 4)));
}

#[test]
fn lossy_variants_stay_close_to_the_source() {
    let img = gradient(256, 160);
    let src = encode_with_image(&DynamicImage::ImageRgb8(img.clone()), ImageFormat::Png);
    let out = run(&src);
    let tolerances = [("compressed", 2.0), ("low", 3.0), ("webp", 2.5)];
    for (name, tol) in tolerances {
        let diff = mean_abs_diff(&img, &decode(variant(&out, name)).to_rgb8());
        assert!(diff < tol, "{name}: mean difference {diff}");
    }
    // Lower quality, fewer bytes.
    assert!(variant(&out, "low").len() < variant(&out, "compressed").len());
}

#[test]
fn same_input_same_bytes_whatever_the_thread_count() {
    let src = jpeg_rgb(
        &gradient(300, 200),
        &JpegOptions {
            icc: Some(icc_profile(b"RGB ")),
            ..Default::default()
        },
    );
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let two = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    let a = one.install(|| run(&src));
    let b = two.install(|| run(&src));
    let c = run(&src);
    for ((x, y), z) in a.variants.iter().zip(&b.variants).zip(&c.variants) {
        assert!(
            x.bytes == y.bytes && y.bytes == z.bytes,
            "{} differs",
            x.spec.name
        );
    }
    assert_eq!(a.source.id, imgflow_engine::naming::content_id(&src));
}

#[test]
fn settings_change_the_output() {
    let src = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(400, 300)),
        ImageFormat::Png,
    );
    let mut settings = Settings::default().only(&["thumbnail", "low"]);
    settings.variants[0].quality = Some(10);
    settings.variants[1].fit = Some((64, 64));
    let out = process(&src, &settings).unwrap();
    let names: Vec<_> = out.variants.iter().map(|v| v.spec.name).collect();
    assert_eq!(names, ["low", "thumbnail"]);
    assert_eq!(decode(variant(&out, "thumbnail")).dimensions(), (64, 48));
    let default_low = run(&src);
    assert!(variant(&out, "low").len() < variant(&default_low, "low").len());
}

// ---- refusals -------------------------------------------------------------

/// A PNG whose header claims `w`x`h` and that has no pixel data at all.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32fast::hash(&ihdr).to_be_bytes());
    out
}

#[test]
fn huge_headers_are_refused_before_allocating() {
    let settings = Settings::default();
    let bomb = png_header_only(60_000, 60_000);
    let err = process(&bomb, &settings).unwrap_err();
    assert_eq!(err.reason(), Reason::TooManyPixels);
    assert!(err.to_string().contains("60000x60000"), "{err}");
    // The limit is a setting.
    let mut small = Settings::default();
    small.limits.max_pixels = 1000;
    let src = encode_with_image(&DynamicImage::ImageRgb8(gradient(40, 30)), ImageFormat::Png);
    assert_eq!(reject_reason(&src, &small), Reason::TooManyPixels);
}

#[test]
fn byte_limit() {
    let src = encode_with_image(&DynamicImage::ImageRgb8(gradient(40, 30)), ImageFormat::Png);
    let mut settings = Settings::default();
    settings.limits.max_bytes = 100;
    assert_eq!(reject_reason(&src, &settings), Reason::TooManyBytes);
}

#[test]
fn wider_than_webp_allows() {
    let wide = image::GrayImage::from_pixel(17_000, 2, image::Luma([9]));
    let src = encode_with_image(&DynamicImage::ImageLuma8(wide), ImageFormat::Png);
    let err = process(&src, &Settings::default()).unwrap_err();
    assert_eq!(err.reason(), Reason::DimensionsTooLarge);
    assert!(err.to_string().contains("WebP"), "{err}");
    // Without the WebP variant the same image is fine.
    let no_webp = Settings::default().only(&["png", "thumbnail"]);
    assert!(process(&src, &no_webp).is_ok());
}

#[test]
fn every_bad_input_gets_its_reason() {
    let s = Settings::default();
    let png = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(200, 150)),
        ImageFormat::Png,
    );
    let jpeg = jpeg_rgb(
        &gradient(200, 150),
        &JpegOptions {
            progressive: true,
            ..Default::default()
        },
    );
    let gif = animated_gif();
    let webp = encode_with_image(
        &DynamicImage::ImageRgb8(gradient(200, 150)),
        ImageFormat::WebP,
    );
    let mut heic = vec![0, 0, 0, 0x18];
    heic.extend_from_slice(b"ftypheic\0\0\0\0mif1heic");
    let mut avif = vec![0, 0, 0, 0x1c];
    avif.extend_from_slice(b"ftypavif\0\0\0\0avifmif1miaf");
    let mut bad_precision = jpeg.clone();
    let sof = bad_precision
        .windows(2)
        .position(|w| w == [0xFF, 0xC2])
        .expect("progressive SOF");
    // sample precision
    bad_precision[sof + 4] = 99;
    // The same frame, marked as codings the decoders do not read.
    let coded_as = |marker: u8, precision: u8| {
        let mut other = jpeg.clone();
        other[sof + 1] = marker;
        other[sof + 4] = precision;
        other
    };
    let cut_and_closed = |jpeg: &[u8]| [&jpeg[..jpeg.len() * 6 / 10], &[0xFF, 0xD9]].concat();
    let mut bad_crc = png.clone();
    bad_crc[29] ^= 0xFF; // IHDR CRC
    let cases: Vec<(&str, Vec<u8>, Reason)> = vec![
        ("empty", vec![], Reason::Empty),
        (
            "text",
            b"hello, this is a text file\n".to_vec(),
            Reason::NotAnImage,
        ),
        ("heic ftyp only", heic, Reason::Corrupt),
        ("avif", avif, Reason::UnsupportedFormat),
        (
            "svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".to_vec(),
            Reason::UnsupportedFormat,
        ),
        (
            "png cut in half",
            png[..png.len() / 2].to_vec(),
            Reason::Truncated,
        ),
        ("png signature only", png[..8].to_vec(), Reason::Truncated),
        (
            "jpeg cut in half",
            jpeg[..jpeg.len() / 2].to_vec(),
            Reason::Truncated,
        ),
        // Cut, then closed with an EOI: libjpeg would fill the rest gray.
        (
            "jpeg cut and closed",
            cut_and_closed(&jpeg),
            Reason::Truncated,
        ),
        (
            "baseline jpeg cut and closed",
            cut_and_closed(&jpeg_rgb(&gradient(200, 150), &JpegOptions::default())),
            Reason::Truncated,
        ),
        ("gif cut", gif[..gif.len() / 2].to_vec(), Reason::Truncated),
        (
            "webp cut",
            webp[..webp.len() / 2].to_vec(),
            Reason::Truncated,
        ),
        ("png bad crc", bad_crc, Reason::Corrupt),
        ("jpeg bad precision", bad_precision, Reason::Corrupt),
        ("jpeg 12-bit", coded_as(0xC2, 12), Reason::UnsupportedFormat),
        (
            "jpeg lossless",
            coded_as(0xC3, 8),
            Reason::UnsupportedFormat,
        ),
        (
            "jpeg arithmetic",
            coded_as(0xCA, 8),
            Reason::UnsupportedFormat,
        ),
    ];
    let mut wrong = Vec::new();
    for (what, bytes, reason) in cases {
        match process(&bytes, &s) {
            Err(e) if e.reason() == reason => {}
            Err(e) => wrong.push(format!("{what}: {} ({e})", e.reason())),
            Ok(_) => wrong.push(format!("{what}: accepted")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let heic_msg = process(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", &s)
        .unwrap_err()
        .to_string();
    assert!(heic_msg.contains("HEIC"), "{heic_msg}");
}

/// A variant the table does not have yet (a small WebP preview), built from
/// the same pieces a new table entry would use.
#[test]
fn a_new_kind_of_variant_needs_only_its_spec() {
    use imgflow_engine::variant::{Codec, Quality, Size, VariantSpec};
    use imgflow_engine::{Limits, VariantSettings};
    static PREVIEW: VariantSpec = VariantSpec {
        name: "preview",
        extension: "webp",
        content_type: "image/webp",
        codec: Codec::WebP,
        quality: Some(Quality {
            setting: "preview_quality",
            default: 70,
        }),
        size: Size::Fit {
            setting: "preview_size",
            default: (64, 64),
        },
    };
    let settings = Settings {
        variants: vec![VariantSettings::default_for(&PREVIEW)],
        limits: Limits::default(),
    };
    // A gray source: the fitted WebP must still be RGB.
    let gray: Vec<u8> = (0..300 * 150).map(|i| (i % 256) as u8).collect();
    let src = jpeg_gray(300, 150, &gray, &JpegOptions::default());
    let out = process(&src, &settings).unwrap();
    assert_eq!(out.variants.len(), 1);
    let img = decode(&out.variants[0].bytes);
    assert_eq!(
        image::guess_format(&out.variants[0].bytes).unwrap(),
        ImageFormat::WebP
    );
    assert_eq!(img.dimensions(), (64, 32));
}
