//! `imgflow capacity`: the largest RGBA PNG and JPEG the function processes
//! at each Lambda memory size.
//!
//! The function admits an image when its memory estimate (the engine's
//! `memory::estimate`, which the tests hold against measured peaks: never
//! below, at most 1.5 times above) fits the memory size less the process's
//! reserve. This finds the largest 4:3 image of each kind that fits; with
//! `--verify` it makes each one, processes it in a child process and
//! measures its peak resident memory against the memory size.

use anyhow::{bail, Context};
use image::{ColorType, DynamicImage, ImageFormat, RgbaImage};
use imgflow_engine::memory::{estimate, Shape};
use imgflow_engine::sniff::Format;
use imgflow_engine::{Inspection, Schedule, Settings};
use imgflow_lambda::config::PROCESS_RESERVE_MIB;
use serde::Serialize;
use std::path::Path;
use std::process::{Command, ExitCode};

const MIB: u64 = 1024 * 1024;

/// An upload kind: its decoded form and a typical compressed size.
struct Kind {
    name: &'static str,
    format: Format,
    color: ColorType,
    /// Upload bytes per pixel assumed (the function holds the upload too):
    /// a PNG photo with alpha, a JPEG photo at quality 90 or so.
    upload_bytes_per_pixel: f64,
}

const KINDS: [Kind; 2] = [
    Kind {
        name: "RGBA PNG",
        format: Format::Png,
        color: ColorType::Rgba8,
        upload_bytes_per_pixel: 1.0,
    },
    Kind {
        name: "JPEG",
        format: Format::Jpeg,
        color: ColorType::Rgb8,
        upload_bytes_per_pixel: 0.3,
    },
];

/// One cell of the table.
#[derive(Debug, Serialize)]
pub struct Largest {
    pub memory_mb: u64,
    pub kind: &'static str,
    /// The largest 4:3 image the function processes: what the memory
    /// admits, or MAX_INPUT_PIXELS when that refuses first.
    pub width: u32,
    pub height: u32,
    pub megapixels: f64,
    /// What the memory alone would admit, MP.
    pub memory_megapixels: f64,
    pub limited_by: Limit,
    /// The estimate the function admits it with, MiB.
    pub estimate_mib: u64,
    /// "one at a time" or "two passes".
    #[serde(serialize_with = "schedule_name")]
    pub schedule: Schedule,
    /// With --verify: the peak resident memory of processing it, MiB.
    pub measured_peak_mib: Option<u64>,
}

/// What stops a larger image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Limit {
    #[serde(rename = "memory")]
    Memory,
    #[serde(rename = "MAX_INPUT_PIXELS")]
    MaxInputPixels,
}

fn schedule_name<S: serde::Serializer>(schedule: &Schedule, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match schedule {
        Schedule::TwoPasses => "two passes",
        _ => "one at a time",
    })
}

/// The budget the function has at `memory_mb` (see the Lambda's config).
fn budget(memory_mb: u64) -> u64 {
    memory_mb.saturating_sub(PROCESS_RESERVE_MIB) * MIB
}

fn inspection(kind: &Kind, width: u32, height: u32, settings: &Settings) -> Inspection {
    let shape = Shape {
        format: kind.format,
        width,
        height,
        color: kind.color,
        progressive: None,
        turned: false,
        heic: None,
        opaque: false,
        input_copied: false,
        icc: Default::default(),
        exif: 0,
        held: 0,
    };
    let pixels = f64::from(width) * f64::from(height);
    let upload = (pixels * kind.upload_bytes_per_pixel).min(settings.limits.max_bytes as f64);
    // One thread: the side-by-side estimate plays no part in what fits.
    let memory = estimate(&shape, upload as u64, &settings.variants, 1);
    Inspection {
        shape,
        memory,
        threads: 1,
    }
}

/// The largest 4:3 image of `kind` whose leanest schedule fits `memory_mb`.
fn largest(kind: &Kind, memory_mb: u64, settings: &Settings) -> Option<Largest> {
    let total = budget(memory_mb);
    let fits = |k: u32| {
        let i = inspection(kind, 4 * k, 3 * k, settings);
        i.leanest().0 <= total
    };
    if !fits(1) {
        return None;
    }
    // Estimates grow with the pixel count: bisect on the 4:3 unit.
    let largest_unit = |fits: &dyn Fn(u32) -> bool| {
        let (mut lo, mut hi) = (1u32, 20_000u32);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    };
    let by_memory = largest_unit(&fits);
    let by_limit =
        largest_unit(&|k| 12 * u64::from(k) * u64::from(k) <= settings.limits.max_pixels);
    let unit = by_memory.min(by_limit);
    let (width, height) = (4 * unit, 3 * unit);
    let (bytes, schedule) = inspection(kind, width, height, settings).leanest();
    let megapixels = |k: u32| (12.0 * f64::from(k) * f64::from(k) / 1e5).round() / 10.0;
    Some(Largest {
        memory_mb,
        kind: kind.name,
        width,
        height,
        megapixels: megapixels(unit),
        memory_megapixels: megapixels(by_memory),
        limited_by: if by_limit < by_memory {
            Limit::MaxInputPixels
        } else {
            Limit::Memory
        },
        estimate_mib: bytes.div_ceil(MIB),
        schedule,
        measured_peak_mib: None,
    })
}

/// The table for `memory_sizes`, measured when `verify` is set.
pub fn run(
    memory_sizes: &[u64],
    settings: &Settings,
    env: Vec<(String, String)>,
    verify: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let mut rows = Vec::new();
    for &memory_mb in memory_sizes {
        for kind in &KINDS {
            let Some(mut row) = largest(kind, memory_mb, settings) else {
                bail!("{memory_mb} MB leaves no memory for images after the process's {PROCESS_RESERVE_MIB} MiB");
            };
            if verify {
                // Each takes from seconds to a minute: say what is under way.
                eprintln!(
                    "imgflow capacity: {memory_mb} MB, {} {}×{}: making and processing it…",
                    kind.name, row.width, row.height
                );
                row.measured_peak_mib = Some(measure(kind, &row, &env)?);
            }
            if json {
                println!("{}", serde_json::to_string(&row)?);
            }
            rows.push(row);
        }
    }
    if !json {
        print!("{}", table(&rows, settings));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(rows: &[Largest], settings: &Settings) -> String {
    let mut out =
        String::from("| memory size | largest RGBA PNG | largest JPEG |\n|---|---|---|\n");
    let cell = |r: &Largest| {
        let mut s = format!("{}×{} ({} MP", r.width, r.height, r.megapixels);
        if let Some(peak) = r.measured_peak_mib {
            s += &format!(", measured peak {peak} MiB");
        }
        if r.limited_by != Limit::Memory {
            s += &format!("; memory alone: {} MP*", r.memory_megapixels);
        }
        s + ")"
    };
    for pair in rows.chunks(KINDS.len()) {
        out += &format!(
            "| {} MB | {} | {} |\n",
            pair[0].memory_mb,
            cell(&pair[0]),
            pair.get(1).map(cell).unwrap_or_default()
        );
    }
    if rows.iter().any(|r| r.limited_by != Limit::Memory) {
        out += &format!(
            "\n* MAX_INPUT_PIXELS ({:.0} MP) refuses larger images first.\n",
            settings.limits.max_pixels as f64 / 1e6
        );
    }
    out += &format!(
        "\nUploads of {} and {} bytes per pixel; 4:3 images; the function's budget is the memory size less {PROCESS_RESERVE_MIB} MiB.\n",
        KINDS[0].upload_bytes_per_pixel, KINDS[1].upload_bytes_per_pixel
    );
    out
}

/// Makes the image of `row`, processes it in a child process (one thread,
/// the schedule the function would use) and returns its peak RSS, MiB.
fn measure(kind: &Kind, row: &Largest, env: &[(String, String)]) -> anyhow::Result<u64> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(match kind.format {
        Format::Png => "capacity.png",
        _ => "capacity.jpg",
    });
    write_photo(&path, kind, row.width, row.height)?;
    let exe = std::env::current_exe().context("cannot find the imgflow executable")?;
    let mut cmd = Command::new(exe);
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .arg("bench-worker")
        .arg(&path)
        .args(["--threads", "1", "--reps", "1", "--warmup", "0"])
        .args([
            "--schedule",
            match row.schedule {
                Schedule::TwoPasses => "two-passes",
                Schedule::OneAtATime => "one-at-a-time",
                Schedule::SideBySide => "side-by-side",
            },
        ]);
    let output = cmd.output().context("cannot start the bench worker")?;
    if !output.status.success() {
        bail!(
            "{}×{} {}: {}",
            row.width,
            row.height,
            row.kind,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let run: crate::bench::WorkerRun = serde_json::from_slice(&output.stdout)?;
    Ok(run.maxrss_kb.div_ceil(1024))
}

/// A photo-like image: a small noisy picture upscaled (so that it
/// compresses like a photo), alpha ramping from left to right.
fn write_photo(path: &Path, kind: &Kind, width: u32, height: u32) -> anyhow::Result<()> {
    let mut seed = 0x9e37_79b9_u32;
    let small = RgbaImage::from_fn(width.div_ceil(16), height.div_ceil(16), |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgba([
            a / 8 + (x % 192) as u8,
            b / 8 + (y % 192) as u8,
            c / 8 + ((x + y) % 192) as u8,
            255,
        ])
    });
    let mut big =
        image::imageops::resize(&small, width, height, image::imageops::FilterType::Triangle);
    for (x, _, p) in big.enumerate_pixels_mut() {
        p.0[3] = (u64::from(x) * 255 / u64::from(width)) as u8;
    }
    let image = match kind.color {
        ColorType::Rgba8 => DynamicImage::ImageRgba8(big),
        _ => DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(big).into_rgb8()),
    };
    let format = match kind.format {
        Format::Png => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    };
    image
        .save_with_format(path, format)
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn more_memory_larger_images_and_rgba_costs_more_than_jpeg() {
        let settings = Settings::default();
        let at = |mb| {
            let png = largest(&KINDS[0], mb, &settings).unwrap();
            let jpeg = largest(&KINDS[1], mb, &settings).unwrap();
            (png, jpeg)
        };
        let (png_1g, jpeg_1g) = at(1024);
        let (png_2g, _) = at(2048);
        assert!(png_2g.memory_megapixels > png_1g.megapixels * 1.8);
        assert!(jpeg_1g.megapixels > png_1g.megapixels);
        // The next size up does not fit.
        let next = inspection(&KINDS[0], png_1g.width + 4, png_1g.height + 3, &settings);
        assert!(next.leanest().0 > budget(1024));
        assert!(png_1g.estimate_mib * MIB <= budget(1024));
        assert_eq!(png_1g.limited_by, Limit::Memory);
        // At 3008 MB the pixel limit refuses first.
        let (png_3g, _) = at(3008);
        assert_eq!(png_3g.limited_by, Limit::MaxInputPixels);
        assert!(png_3g.memory_megapixels > png_3g.megapixels);
        assert!(u64::from(png_3g.width) * u64::from(png_3g.height) <= settings.limits.max_pixels);
    }

    #[test]
    fn a_memory_size_below_the_reserve_has_no_room() {
        assert!(largest(&KINDS[1], PROCESS_RESERVE_MIB, &Settings::default()).is_none());
    }
}
