//! Fixtures made by the tests themselves: every input kind the engine claims
//! to read, built with real encoders, plus hand-made metadata.

use image::{DynamicImage, ImageBuffer, Rgb, RgbImage, Rgba, RgbaImage};
use std::io::Cursor;
use std::path::{Path, PathBuf};

pub const RED: [u8; 3] = [220, 30, 30];
pub const GREEN: [u8; 3] = [30, 200, 40];
pub const BLUE: [u8; 3] = [30, 40, 210];
pub const WHITE: [u8; 3] = [250, 250, 250];

/// 48x32 with four flat quadrants: red, green / blue, white.
pub fn quadrants() -> RgbImage {
    RgbImage::from_fn(48, 32, |x, y| {
        Rgb(match (x < 24, y < 16) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// A smooth colour gradient (compresses like a photo, not like flat art).
pub fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        Rgb([
            (x * 255 / w.max(1)) as u8,
            (y * 255 / h.max(1)) as u8,
            ((x + y) * 127 / (w + h).max(1)) as u8,
        ])
    })
}

/// A plausible ICC header for `space` (`b"RGB "`, `b"GRAY"`, `b"CMYK"`) with
/// a recognisable payload, so tests can check it survives byte for byte.
pub fn icc_profile(space: &[u8; 4]) -> Vec<u8> {
    let mut p = vec![0u8; 128];
    p[8..12].copy_from_slice(&[4, 0x30, 0, 0]);
    p[12..16].copy_from_slice(b"mntr");
    p[16..20].copy_from_slice(space);
    p[20..24].copy_from_slice(b"XYZ ");
    p[36..40].copy_from_slice(b"acsp");
    p.extend_from_slice(&0u32.to_be_bytes()); // tag count
    p.extend_from_slice(b"imgflow-test-profile");
    let len = p.len() as u32;
    p[0..4].copy_from_slice(&len.to_be_bytes());
    p
}

/// [`icc_profile`] padded to `bytes` (its header says so).
pub fn icc_profile_sized(space: &[u8; 4], bytes: usize) -> Vec<u8> {
    let mut p = icc_profile(space);
    p.resize(bytes, 0x5a);
    p[0..4].copy_from_slice(&(bytes as u32).to_be_bytes());
    p
}

/// An EXIF block (APP1 payload, with the `Exif\0\0` prefix) holding an
/// orientation and a camera make that must not leak into outputs.
pub fn exif(orientation: u16) -> Vec<u8> {
    let make = b"LeakyCam SN-0042\0";
    let mut t = Vec::new();
    t.extend_from_slice(b"MM\0*");
    t.extend_from_slice(&8u32.to_be_bytes());
    t.extend_from_slice(&2u16.to_be_bytes()); // two entries
                                              // Make (0x010F), ASCII, stored after the IFD.
    let make_offset = 8 + 2 + 2 * 12 + 4;
    t.extend_from_slice(&0x010Fu16.to_be_bytes());
    t.extend_from_slice(&2u16.to_be_bytes());
    t.extend_from_slice(&(make.len() as u32).to_be_bytes());
    t.extend_from_slice(&(make_offset as u32).to_be_bytes());
    // Orientation (0x0112), SHORT.
    t.extend_from_slice(&0x0112u16.to_be_bytes());
    t.extend_from_slice(&3u16.to_be_bytes());
    t.extend_from_slice(&1u32.to_be_bytes());
    t.extend_from_slice(&orientation.to_be_bytes());
    t.extend_from_slice(&[0, 0]);
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t.extend_from_slice(make);
    let mut out = b"Exif\0\0".to_vec();
    out.extend_from_slice(&t);
    out
}

pub struct JpegOptions {
    pub quality: u8,
    pub progressive: bool,
    pub exif: Option<Vec<u8>>,
    pub icc: Option<Vec<u8>>,
}

impl Default for JpegOptions {
    fn default() -> Self {
        Self {
            quality: 95,
            progressive: false,
            exif: None,
            icc: None,
        }
    }
}

fn jpeg_with(space: mozjpeg::ColorSpace, w: u32, h: u32, raw: &[u8], o: &JpegOptions) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(space);
    c.set_size(w as usize, h as usize);
    c.set_quality(f32::from(o.quality));
    if o.progressive {
        c.set_progressive_mode();
    }
    let mut s = c.start_compress(Vec::new()).unwrap();
    if let Some(exif) = &o.exif {
        s.write_marker(mozjpeg::Marker::APP(1), exif);
    }
    if let Some(icc) = &o.icc {
        for marker in icc_app2_payloads(icc) {
            s.write_marker(mozjpeg::Marker::APP(2), &marker);
        }
    }
    s.write_scanlines(raw).unwrap();
    s.finish().unwrap()
}

/// A profile split into APP2 payloads as ICC.1 Annex B.4 says
/// (`ICC_PROFILE\0`, sequence number from 1, count), written here
/// independently of the engine's own writer so that each checks the other.
fn icc_app2_payloads(profile: &[u8]) -> Vec<Vec<u8>> {
    const CHUNK: usize = 65_519;
    let count = profile.len().div_ceil(CHUNK) as u8;
    (1..=count)
        .zip(profile.chunks(CHUNK))
        .map(|(seq, chunk)| [b"ICC_PROFILE\0".as_slice(), &[seq, count], chunk].concat())
        .collect()
}

pub fn jpeg_rgb(img: &RgbImage, o: &JpegOptions) -> Vec<u8> {
    jpeg_with(
        mozjpeg::ColorSpace::JCS_RGB,
        img.width(),
        img.height(),
        img.as_raw(),
        o,
    )
}

pub fn jpeg_gray(w: u32, h: u32, raw: &[u8], o: &JpegOptions) -> Vec<u8> {
    jpeg_with(mozjpeg::ColorSpace::JCS_GRAYSCALE, w, h, raw, o)
}

pub fn jpeg_cmyk(w: u32, h: u32, raw: &[u8], o: &JpegOptions) -> Vec<u8> {
    jpeg_with(mozjpeg::ColorSpace::JCS_CMYK, w, h, raw, o)
}

/// Encodes with the `png` crate, adding chunks the image crate cannot write.
#[allow(clippy::too_many_arguments)] // a fixture builder: each argument is one PNG feature
pub fn png_raw(
    w: u32,
    h: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    data: &[u8],
    palette: Option<(&[u8], &[u8])>,
    icc: Option<&[u8]>,
    exif: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, w, h);
        e.set_color(color);
        e.set_depth(depth);
        if let Some((plte, trns)) = palette {
            e.set_palette(plte.to_vec());
            e.set_trns(trns.to_vec());
        }
        let mut writer = e.write_header().unwrap();
        if let Some(icc) = icc {
            let mut c = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
            let mut z = vec![0; c.zlib_compress_bound(icc.len())];
            let n = c.zlib_compress(icc, &mut z).unwrap();
            let mut chunk = b"test icc\0\0".to_vec();
            chunk.extend_from_slice(&z[..n]);
            writer
                .write_chunk(png::chunk::ChunkType(*b"iCCP"), &chunk)
                .unwrap();
        }
        if let Some(exif) = exif {
            // eXIf holds the TIFF structure without the "Exif\0\0" prefix.
            let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
            writer
                .write_chunk(png::chunk::ChunkType(*b"eXIf"), tiff)
                .unwrap();
        }
        writer.write_image_data(data).unwrap();
    }
    out
}

/// An RGB PNG of `img` with `chunks` tEXt chunks of `bytes_each` bytes of
/// Latin-1 text each, every character `character`, before its pixels.
pub fn png_rgb_with_text(
    img: &RgbImage,
    chunks: usize,
    bytes_each: usize,
    character: u8,
) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut e = png::Encoder::new(&mut out, img.width(), img.height());
        e.set_color(png::ColorType::Rgb);
        let mut writer = e.write_header().unwrap();
        let mut text = b"Comment\0".to_vec();
        text.resize(text.len() + bytes_each, character);
        for _ in 0..chunks {
            writer
                .write_chunk(png::chunk::ChunkType(*b"tEXt"), &text)
                .unwrap();
        }
        writer.write_image_data(img.as_raw()).unwrap();
    }
    out
}

/// An uncompressed gray-and-alpha TIFF of `w`x`h` pixels, each a (gray,
/// alpha) pair of `bits` (8 or 16) bits, the alpha associated
/// (premultiplied) or not. Neither the image crate's nor the tiff crate's
/// encoder writes one.
pub fn tiff_gray_alpha(
    w: u32,
    h: u32,
    pixels: &[(u16, u16)],
    bits: u16,
    associated: bool,
) -> Vec<u8> {
    let extra_samples = (338, 3, 1, if associated { 1 } else { 2 });
    tiff_two_samples(w, h, pixels, bits, &[extra_samples])
}

/// An uncompressed little-endian TIFF of two samples a pixel (black-is-zero
/// gray, chunky), with `tags` (tag, type, count, value held in the entry)
/// added or replacing the defaults.
pub fn tiff_two_samples(
    w: u32,
    h: u32,
    pixels: &[(u16, u16)],
    bits: u16,
    tags: &[(u16, u16, u32, u32)],
) -> Vec<u8> {
    let mut data = Vec::new();
    for &(first, second) in pixels {
        for v in [first, second] {
            if bits == 8 {
                data.push(v as u8);
            } else {
                data.extend(v.to_le_bytes());
            }
        }
    }
    let mut entries: Vec<(u16, u16, u32, u32)> = vec![
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 2, u32::from(bits) | u32::from(bits) << 16), // two SHORTs in the entry
        (259, 3, 1, 1),                                       // no compression
        (262, 3, 1, 1),                                       // black is zero
        (273, 4, 1, 8),                                       // the strip, after the header
        (277, 3, 1, 2),
        (278, 4, 1, h),
        (279, 4, 1, data.len() as u32),
    ];
    for &tag in tags {
        entries.retain(|e| e.0 != tag.0);
        entries.push(tag);
    }
    entries.sort_by_key(|e| e.0);
    let ifd = 8 + data.len() as u32;
    let mut out = b"II*\0".to_vec();
    out.extend(ifd.to_le_bytes());
    out.extend(&data);
    out.extend((entries.len() as u16).to_le_bytes());
    for (tag, kind, count, value) in entries {
        out.extend(tag.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(count.to_le_bytes());
        out.extend(value.to_le_bytes());
    }
    out.extend(0u32.to_le_bytes());
    out
}

/// An RGB TIFF carrying `icc` (InterColorProfile), which the image crate's
/// encoder cannot write.
pub fn tiff_rgb_with_icc(img: &RgbImage, icc: &[u8]) -> Vec<u8> {
    use tiff::encoder::{colortype::RGB8, TiffEncoder};
    let mut out = std::io::Cursor::new(Vec::new());
    let mut encoder = TiffEncoder::new(&mut out).unwrap();
    let mut image = encoder
        .new_image::<RGB8>(img.width(), img.height())
        .unwrap();
    image
        .encoder()
        .write_tag(tiff::tags::Tag::IccProfile, icc)
        .unwrap();
    image.write_data(img.as_raw()).unwrap();
    out.into_inner()
}

/// Any image through the image crate's own encoders (PNG, GIF, TIFF, BMP,
/// lossless WebP).
pub fn encode_with_image(img: &DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

pub fn png_rgba(img: &RgbaImage) -> Vec<u8> {
    encode_with_image(
        &DynamicImage::ImageRgba8(img.clone()),
        image::ImageFormat::Png,
    )
}

/// Something like a photo: smooth areas, edges and fine noise, so that
/// encoders work and outputs are not trivially small; alpha ramps from
/// left to right.
pub fn photo_like(w: u32, h: u32) -> RgbaImage {
    let mut seed = 0x2545_f491_u32;
    RgbaImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let noise = (seed % 24) as u8;
        let band = if (x / 97 + y / 61) % 2 == 0 { 40 } else { 0 };
        Rgba([
            ((x * 255 / w) as u8).wrapping_add(noise),
            ((y * 255 / h) as u8).saturating_add(band),
            (((x + y) % 256) as u8).wrapping_add(noise / 2),
            (x * 255 / w) as u8,
        ])
    })
}

/// Uniform RGB noise: the least compressible picture, the worst case of
/// every content-dependent buffer (libwebp's tokens above all).
pub fn noise(w: u32, h: u32) -> RgbImage {
    let mut next = noise_bytes();
    RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]))
}

/// Noise of black and white samples (each channel 0 or 255, apart): the
/// most tokens libwebp's lossy encoder records, and the largest lossy
/// outputs, of the noises and patterns tried.
pub fn black_and_white_noise(w: u32, h: u32) -> RgbImage {
    let mut next = noise_bytes();
    let mut bit = move || if next() & 1 == 0 { 0 } else { 255 };
    RgbImage::from_fn(w, h, |_, _| image::Rgb([bit(), bit(), bit()]))
}

/// Pseudo-random bytes (xorshift), the same run every time.
fn noise_bytes() -> impl FnMut() -> u8 {
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed as u8
    }
}

/// [`noise`] in every channel, alpha included: the worst case of the
/// WebP alpha coders.
pub fn noise_rgba(w: u32, h: u32) -> RgbaImage {
    let mut next = noise_bytes();
    RgbaImage::from_fn(w, h, |_, _| image::Rgba([next(), next(), next(), next()]))
}

/// A very large image as phones and cameras upload them: a photo-like
/// picture upscaled (so that a 100 MP PNG stays tens of MB, like a real
/// photo, instead of the hundreds pure noise would take), with an alpha
/// ramp from left to right. (`fast_image_resize`: `image`'s resize takes
/// 5x longer at the tests' optimisation level, for the same pixels ±1.)
pub fn upscaled_photo(w: u32, h: u32) -> RgbaImage {
    use fast_image_resize::images::Image;
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let small = photo_like(w.div_ceil(16), h.div_ceil(16));
    let (sw, sh) = small.dimensions();
    let source = Image::from_vec_u8(sw, sh, small.into_raw(), PixelType::U8x4).unwrap();
    let mut big = Image::new(w, h, PixelType::U8x4);
    let bilinear = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Bilinear))
        .use_alpha(false);
    Resizer::new().resize(&source, &mut big, &bilinear).unwrap();
    let mut big = RgbaImage::from_raw(w, h, big.into_vec()).unwrap();
    for (x, _, p) in big.enumerate_pixels_mut() {
        p.0[3] = (u64::from(x) * 255 / u64::from(w)) as u8;
    }
    big
}

/// The slow tests' 100 MP upload, [`upscaled_photo`] at 10000x9999, as a
/// PNG ([`png_fast`]) and a JPEG (RGB, [`JpegOptions::default`]): their
/// paths, in `IMGFLOW_LARGE_UPLOADS` when it is set, else in `dir`. Made
/// once per folder: scripts/test.sh gives the slow test binaries, which
/// run side by side, one folder, and the first one here makes the files
/// (~15 CPU-s) while the other waits on the lock.
pub fn large_uploads(dir: &Path) -> std::io::Result<(PathBuf, PathBuf)> {
    let dir =
        std::env::var_os("IMGFLOW_LARGE_UPLOADS").map_or_else(|| dir.to_path_buf(), PathBuf::from);
    let (png, jpeg) = (dir.join("large.png"), dir.join("large.jpg"));
    let lock = std::fs::File::create(dir.join("large.lock"))?;
    lock.lock()?;
    if !(png.is_file() && jpeg.is_file()) {
        // Written aside, then renamed: a run stopped half-way leaves no
        // half file for the next one to take.
        let write = |path: &Path, bytes: Vec<u8>| {
            let aside = path.with_extension("part");
            std::fs::write(&aside, bytes)?;
            std::fs::rename(&aside, path)
        };
        let photo = DynamicImage::ImageRgba8(upscaled_photo(10_000, 9_999));
        write(&png, png_fast(&photo))?;
        write(&jpeg, jpeg_rgb(&photo.into_rgb8(), &JpegOptions::default()))?;
    }
    Ok((png, jpeg))
}

/// The size at which [`control_partition_overflow`] overflows (95.2 MP).
pub const CONTROL_PARTITION_OVERFLOW_SIZE: (u32, u32) = (9984, 9536);

/// An image whose macroblock modes overflow VP8's 512 KiB control partition
/// when libwebp encodes it without its token buffer (`low_memory`, quality
/// 85, method 4) at [`CONTROL_PARTITION_OVERFLOW_SIZE`]: gray 16x16 cells,
/// 62% flat, the rest faint noise. libwebp's first pass estimates the
/// modes with default probabilities and finds them just under the limit;
/// the real pass, with this image's probabilities (zeros are cheap, so
/// the noisy cells turn to intra 4x4), goes over. The window is narrow
/// (about 94-97 MP with libwebp 1.6): tests that use it check the
/// overflow first. Real photos near 100 MP overflow too, but no smooth
/// generated one does.
pub fn control_partition_overflow(w: u32, h: u32) -> RgbImage {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(x: u32, y: u32, seed: u64) -> f64 {
        let v = mix(u64::from(x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ u64::from(y).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ seed);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }
    RgbImage::from_fn(w, h, |x, y| {
        let g = if unit(x / 16, y / 16, 1) < 0.62 {
            128
        } else {
            (128.0 + 9.0 * (unit(x, y, 2) * 2.0 - 1.0)).round() as u8
        };
        Rgb([g, g, g])
    })
}

/// A PNG encoded quickly (large fixtures would take long at the default).
pub fn png_fast(img: &DynamicImage) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let mut out = Vec::new();
    img.write_with_encoder(PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Fast,
        FilterType::Adaptive,
    ))
    .unwrap();
    out
}

/// A `w`x`h` GIF with no transparent colour whose one frame covers the
/// screen, every pixel palette index 3 of a two-colour palette: past its
/// end, which the decoder leaves transparent. Hand-coded LZW (2-bit codes,
/// a clear code before each pixel keeps them 3 bits wide).
pub fn gif_out_of_palette(w: u16, h: u16) -> Vec<u8> {
    let mut b = b"GIF89a".to_vec();
    b.extend(w.to_le_bytes());
    b.extend(h.to_le_bytes());
    b.extend([0x80, 0, 0, 255, 0, 0, 0, 0, 255]);
    b.push(0x2C);
    for v in [0, 0, w, h] {
        b.extend(v.to_le_bytes());
    }
    b.push(0);
    let (clear, end) = (4u32, 5u32);
    let codes = (0..u32::from(w) * u32::from(h))
        .flat_map(|_| [clear, 3])
        .chain([end]);
    let (mut stream, mut bits, mut n) = (Vec::new(), 0u32, 0);
    for code in codes {
        bits |= code << n;
        n += 3;
        while n >= 8 {
            stream.push(bits as u8);
            bits >>= 8;
            n -= 8;
        }
    }
    if n > 0 {
        stream.push(bits as u8);
    }
    b.push(2);
    for block in stream.chunks(255) {
        b.push(block.len() as u8);
        b.extend(block);
    }
    b.extend([0, 0x3B]);
    b
}

/// A GIF whose one frame, `image` drawn at `at`, reaches past its logical
/// `screen` (browsers and Pillow grow the canvas to hold it). The colours
/// are quantised to the frame's own palette.
pub fn gif_past_its_screen(image: &RgbaImage, at: (u16, u16), screen: (u16, u16)) -> Vec<u8> {
    let (w, h) = (image.width() as u16, image.height() as u16);
    let mut pixels = image.as_raw().clone();
    let mut frame = gif::Frame::from_rgba_speed(w, h, &mut pixels, 30);
    (frame.left, frame.top) = at;
    let mut out = Vec::new();
    {
        let mut encoder = gif::Encoder::new(&mut out, screen.0, screen.1, &[]).unwrap();
        encoder.write_frame(&frame).unwrap();
    }
    out
}

/// A WebP file of `chunks` (fourcc, payload), each padded to an even size.
pub fn webp_riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (fourcc, data) in chunks {
        body.extend(*fourcc);
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(*data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend((body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

/// A VP8X chunk's payload: `flags` (0x02 animation, 0x08 EXIF, 0x10
/// alpha, ...) and a `width`x`height` canvas.
pub fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
    let mut payload = vec![flags, 0, 0, 0];
    payload.extend(&(width - 1).to_le_bytes()[..3]);
    payload.extend(&(height - 1).to_le_bytes()[..3]);
    payload
}

/// A still WebP in the extended format: the frame of `simple` (a simple
/// VP8 or VP8L file) of `width`x`height`, followed by an EXIF chunk of
/// `exif` (a TIFF header and its IFDs, without the `Exif\0\0` prefix).
pub fn webp_with_exif(simple: &[u8], width: u32, height: u32, exif: &[u8]) -> Vec<u8> {
    let (fourcc, frame) = webp_first_chunk(simple);
    webp_riff(&[
        (b"VP8X", &vp8x(0x08, width, height)),
        (fourcc, frame),
        (b"EXIF", exif),
    ])
}

/// The first chunk of a simple WebP file (VP8 or VP8L): its fourcc and
/// payload.
pub fn webp_first_chunk(simple: &[u8]) -> (&[u8; 4], &[u8]) {
    let fourcc: &[u8; 4] = simple[12..16].try_into().expect("a WebP file");
    let size = u32::from_le_bytes(simple[16..20].try_into().expect("a WebP file")) as usize;
    (fourcc, &simple[20..20 + size])
}

/// An animated WebP of `width`x`height` whose frames are the given simple
/// (VP8 or VP8L, without VP8X) WebP files, each covering the canvas.
pub fn webp_animation(width: u32, height: u32, frames: &[Vec<u8>]) -> Vec<u8> {
    let u24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let anmf: Vec<Vec<u8>> = frames
        .iter()
        .map(|frame| {
            let mut anmf = [u24(0), u24(0), u24(width - 1), u24(height - 1), u24(100)].concat();
            anmf.push(0);
            // The frame's own chunk: after "RIFF", its size and "WEBP".
            anmf.extend(&frame[12..]);
            anmf
        })
        .collect();
    let vp8x = vp8x(0x02, width, height);
    let mut chunks: Vec<(&[u8; 4], &[u8])> =
        vec![(b"VP8X", &vp8x), (b"ANIM", &[255, 255, 255, 255, 0, 0])];
    chunks.extend(anmf.iter().map(|a| (b"ANMF", a.as_slice())));
    webp_riff(&chunks)
}

/// A two-frame animated GIF: first frame red, second blue.
pub fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        for color in [RED, BLUE] {
            let frame = RgbaImage::from_pixel(40, 30, Rgba([color[0], color[1], color[2], 255]));
            enc.encode_frame(Frame::from_parts(
                frame,
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .unwrap();
        }
    }
    out
}

/// 16-bit RGBA with values that 8 bits cannot hold.
pub fn rgba16(w: u32, h: u32) -> ImageBuffer<Rgba<u16>, Vec<u16>> {
    ImageBuffer::from_fn(w, h, |x, y| {
        Rgba([
            (x * 997 + y * 13) as u16,
            (y * 1009 + 7) as u16,
            (x * y * 31 + 1) as u16,
            if x % 5 == 0 {
                0
            } else {
                (40_000 + x * 3) as u16
            },
        ])
    })
}

/// Mean absolute difference per channel between two same-sized RGB images.
pub fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Colour of the pixel at the centre of each quadrant: TL, TR, BL, BR.
pub fn quadrant_colors(img: &RgbImage) -> [[u8; 3]; 4] {
    let (w, h) = img.dimensions();
    let at = |x: u32, y: u32| img.get_pixel(x, y).0;
    [
        at(w / 4, h / 4),
        at(3 * w / 4, h / 4),
        at(w / 4, 3 * h / 4),
        at(3 * w / 4, 3 * h / 4),
    ]
}

/// Whether two colours are within `tol` per channel.
pub fn close(a: [u8; 3], b: [u8; 3], tol: u8) -> bool {
    a.iter().zip(&b).all(|(x, y)| x.abs_diff(*y) <= tol)
}
