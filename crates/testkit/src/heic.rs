//! HEIC files made from the committed photo (`samples/astronaut.png`) by
//! pillow-heif (libheif with x265), each with libheif's own decode
//! (libde265, transforms applied) as the reference: `heic_corpus.py` says
//! what each case is. pillow-heif comes with the test tools
//! (`scripts/python-tools.sh test`), whose `python3` must be first on PATH,
//! as `scripts/test.sh` puts it.

use image::{DynamicImage, GenericImageView, ImageBuffer, Rgb, Rgba};
use std::path::{Path, PathBuf};
use std::process::Command;

const SCRIPT: &str = include_str!("heic_corpus.py");

/// The photo the cases are made from.
pub fn photo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/astronaut.png")
}

/// One HEIC file and what libheif decodes from it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HeicCase {
    pub name: String,
    /// Shown size (transforms applied).
    pub width: u32,
    pub height: u32,
    /// pillow-heif's mode of the reference: `RGB`, `RGBA`, `RGB;16`, `RGBA;16`.
    pub mode: String,
    pub bit_depth: u8,
    /// libheif found an ICC profile.
    pub icc: bool,
    /// An orientation case: `<name>.src` is the photo as a viewer shows it.
    #[serde(default)]
    pub source: bool,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl HeicCase {
    pub fn path(&self) -> PathBuf {
        self.dir.join(format!("{}.heic", self.name))
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(self.path()).expect("the HEIC file")
    }

    pub fn has_alpha(&self) -> bool {
        self.mode.starts_with("RGBA")
    }

    /// libheif's decode: 8-bit, or 10/12-bit scaled to 16 bits as the
    /// engine scales them (`v * 65535 / max`, rounded).
    pub fn reference(&self) -> DynamicImage {
        let raw = std::fs::read(self.dir.join(format!("{}.ref", self.name))).expect("reference");
        let (w, h) = (self.width, self.height);
        // pillow-heif returns the coded value in the high bits.
        let shift = 16 - u32::from(self.bit_depth);
        let max = (1u32 << self.bit_depth) - 1;
        let wide: Vec<u16> = raw
            .chunks_exact(2)
            .map(|b| {
                let v = u32::from(u16::from_le_bytes([b[0], b[1]])) >> shift;
                ((v * 65535 + max / 2) / max) as u16
            })
            .collect();
        let img = match self.mode.as_str() {
            "RGB" => ImageBuffer::<Rgb<u8>, _>::from_raw(w, h, raw).map(DynamicImage::ImageRgb8),
            "RGBA" => ImageBuffer::<Rgba<u8>, _>::from_raw(w, h, raw).map(DynamicImage::ImageRgba8),
            "RGB;16" => {
                ImageBuffer::<Rgb<u16>, _>::from_raw(w, h, wide).map(DynamicImage::ImageRgb16)
            }
            "RGBA;16" => {
                ImageBuffer::<Rgba<u16>, _>::from_raw(w, h, wide).map(DynamicImage::ImageRgba16)
            }
            other => panic!("mode {other}"),
        };
        img.expect("reference of the stated size")
    }

    /// The photo turned by the EXIF orientation (orientation cases only).
    pub fn shown_source(&self) -> Option<image::RgbImage> {
        self.source.then(|| {
            let raw = std::fs::read(self.dir.join(format!("{}.src", self.name))).unwrap();
            ImageBuffer::from_raw(self.width, self.height, raw).expect("source of the shown size")
        })
    }
}

/// The cases made in one folder.
#[derive(Debug)]
pub struct HeicCorpus {
    pub dir: PathBuf,
    pub cases: Vec<HeicCase>,
}

impl HeicCorpus {
    pub fn case(&self, name: &str) -> &HeicCase {
        self.cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no HEIC case {name}"))
    }

    /// An AVIF of the same photo (Pillow's encoder), when asked for.
    pub fn avif(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("avif.avif")).expect("the AVIF file")
    }
}

/// Makes the named cases (every case when `only` is empty) in `dir`,
/// replacing what was there. Slow (x265): call it once per test binary.
pub fn make_heic_corpus(dir: &Path, only: &[&str]) -> HeicCorpus {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let script = dir.join("heic_corpus.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(photo())
        .arg(dir)
        .args(only)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "making the HEIC test files failed. They need pillow-heif: run the tests with the \
         test tools first on PATH, PATH=\"$(scripts/python-tools.sh test):$PATH\" cargo test \
         (scripts/test.sh does).\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read(dir.join("cases.json")).expect("cases.json");
    let mut cases: Vec<HeicCase> = serde_json::from_slice(&json).expect("cases.json parses");
    for c in &mut cases {
        c.dir = dir.to_path_buf();
    }
    HeicCorpus {
        dir: dir.to_path_buf(),
        cases,
    }
}

/// PSNR (dB) of `a` against `b` over RGB, and over luma (BT.601
/// weights), in code values of `peak` (255 for 8-bit images, 1023 for
/// 10-bit); alpha is not counted.
pub fn psnr(a: &DynamicImage, b: &DynamicImage, peak: f64) -> (f64, f64) {
    assert_eq!(a.dimensions(), b.dimensions(), "same size");
    let (a, b) = (a.to_rgb32f(), b.to_rgb32f());
    let (mut rgb, mut luma, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for (p, q) in a.pixels().zip(b.pixels()) {
        let d: Vec<f64> = (0..3).map(|i| f64::from(p.0[i] - q.0[i]) * peak).collect();
        rgb += d.iter().map(|x| x * x).sum::<f64>();
        let y = 0.299 * d[0] + 0.587 * d[1] + 0.114 * d[2];
        luma += y * y;
        n += 1.0;
    }
    let db = |sum: f64, count: f64| {
        let mse = sum / count;
        if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (peak * peak / mse).log10()
        }
    };
    (db(rgb, n * 3.0), db(luma, n))
}
