//! `imgflow bench`: time, bytes, fidelity and peak memory on a corpus, each
//! image in its own process (so peak RSS is per image), optionally side by
//! side with the Pillow and sharp reference pipelines.

pub mod plot;
pub mod quality;
pub mod reference;

use crate::batch::expand_inputs;
use crate::settings::EngineFlags;
use anyhow::{bail, Context as _};
use imgflow_engine::{self as engine, pixels, Settings};
use reference::{References, Tool};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

/// A rayon pool with `threads` workers (default: all cores).
pub fn thread_pool(threads: Option<usize>) -> anyhow::Result<rayon::ThreadPool> {
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Folder of images (e.g. the corpus from scripts/bench-setup.sh)
    #[arg(required_unless_present = "from")]
    pub corpus: Option<PathBuf>,
    /// Re-render the tables and the plot from an earlier run's --json file
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["corpus", "compare"])]
    pub from: Option<PathBuf>,
    /// Timed repetitions per image; the median is reported
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    /// Untimed runs before the timed ones
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Also run the Pillow and sharp reference pipelines
    #[arg(long)]
    pub compare: bool,
    /// Draw time and bytes per variant (imgflow vs Pillow vs sharp) as SVG
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Write every measurement as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Where scripts/bench-setup.sh installed Pillow and sharp [default: ~/.cache/imgflow-bench]
    #[arg(long, value_name = "DIR", env = "IMGFLOW_BENCH_CACHE")]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineFlags,
}

#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    pub image: PathBuf,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    #[arg(long, default_value_t = 3)]
    pub reps: u32,
    #[arg(long, default_value_t = 1)]
    pub warmup: u32,
    /// Write the last run's variants here as `<stem>.<variant>.<ext>`
    #[arg(long)]
    pub outdir: Option<PathBuf>,
    /// After measuring, compute PSNR of the outputs in DIR of TOOL (`TOOL=DIR`;
    /// `imgflow` names this worker's own --outdir)
    #[arg(long = "fidelity", value_name = "TOOL=DIR")]
    pub fidelity: Vec<String>,
    /// Make the binary's and libraries' pages resident before measuring, so
    /// that the peak minus `rss_file_kb` is the memory the image took
    /// (without it, how much of the binary is resident depends on the page
    /// cache and moves the peak by megabytes)
    #[arg(long)]
    pub prefault: bool,
    /// How the variants share the machine: side by side on --threads (the
    /// fast path), or a lean schedule the memory budget falls back to: one
    /// at a time, or two passes (the full-size WebP first, then the rest
    /// from a second decode)
    #[arg(long, value_enum, default_value_t = WorkerSchedule::SideBySide)]
    pub schedule: WorkerSchedule,
    #[command(flatten)]
    pub engine: EngineFlags,
}

/// [`engine::Schedule`] as the worker's `--schedule` spells it.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerSchedule {
    SideBySide,
    OneAtATime,
    TwoPasses,
}

impl From<WorkerSchedule> for engine::Schedule {
    fn from(s: WorkerSchedule) -> Self {
        match s {
            WorkerSchedule::SideBySide => engine::Schedule::SideBySide,
            WorkerSchedule::OneAtATime => engine::Schedule::OneAtATime,
            WorkerSchedule::TwoPasses => engine::Schedule::TwoPasses,
        }
    }
}

/// What one worker process measured on one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRun {
    pub file: String,
    pub threads: usize,
    pub width: u32,
    pub height: u32,
    pub source_bytes: usize,
    pub median_ms: f64,
    pub min_ms: f64,
    pub decode_ms: f64,
    pub encode_ms: BTreeMap<String, f64>,
    pub bytes: BTreeMap<String, u64>,
    /// Peak resident memory of the whole process, KiB.
    pub maxrss_kb: u64,
    /// Of which the binary's and libraries' pages (`RssFile` at the end):
    /// how many of those are resident depends on the page cache, not on
    /// the image.
    #[serde(default)]
    pub rss_file_kb: u64,
    /// PSNR (dB) of lossy variants per tool, when asked with --fidelity.
    #[serde(default)]
    pub psnr: PsnrByTool,
    /// Whether imgflow's PNG decodes to exactly the oriented source pixels.
    #[serde(default)]
    pub png_lossless: Option<bool>,
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// Peak RSS of this process (Linux `VmHWM`), KiB; 0 where unknown.
fn peak_rss_kb() -> u64 {
    status_kib("VmHWM:")
}

/// Faults in every page mapped so far (the binary, its libraries): locking
/// them reads them all in; they are unlocked at once, so later allocations
/// are not affected.
#[cfg(target_os = "linux")]
fn prefault_mappings() -> anyhow::Result<()> {
    // SAFETY: plain system calls on this process's own mappings.
    let locked = unsafe { libc::mlockall(libc::MCL_CURRENT) };
    if locked != 0 {
        anyhow::bail!(
            "--prefault: mlockall failed ({}); raise `ulimit -l`",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: as above.
    unsafe { libc::munlockall() };
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn prefault_mappings() -> anyhow::Result<()> {
    anyhow::bail!("--prefault is only available on Linux")
}

/// A KiB field of Linux's `/proc/self/status`; 0 where unknown.
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// The hidden `bench-worker` command: one image, timed, in this process.
pub fn worker(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    if args.prefault {
        prefault_mappings()?;
    }
    let settings = args.engine.settings()?;
    let bytes = std::fs::read(&args.image)
        .with_context(|| format!("cannot read {}", args.image.display()))?;
    let pool = thread_pool(Some(args.threads))?;
    let schedule = args.schedule.into();
    let mut walls = Vec::new();
    let mut decodes = Vec::new();
    let mut encodes: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut last = None;
    for rep in 0..args.warmup + args.reps.max(1) {
        // The previous run's outputs would inflate this run's peak memory.
        drop(last.take());
        let started = Instant::now();
        let image = pool
            .install(|| engine::process_with(&bytes, &settings, schedule))
            .with_context(|| format!("{}", args.image.display()))?;
        let wall = started.elapsed().as_secs_f64() * 1000.0;
        if rep >= args.warmup {
            walls.push(wall);
            decodes.push(image.decode_ms);
            for v in &image.variants {
                encodes
                    .entry(v.spec.name.to_owned())
                    .or_default()
                    .push(v.encode_ms);
            }
        }
        last = Some(image);
    }
    let image = last.context("no run")?;
    if let Some(dir) = &args.outdir {
        std::fs::create_dir_all(dir)?;
        let stem = args.image.file_stem().unwrap_or_default().to_string_lossy();
        for v in &image.variants {
            std::fs::write(
                dir.join(format!("{stem}.{}.{}", v.spec.name, v.spec.extension)),
                &v.bytes,
            )?;
        }
    }
    let run = WorkerRun {
        file: args
            .image
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        threads: args.threads,
        width: image.source.width,
        height: image.source.height,
        source_bytes: bytes.len(),
        min_ms: walls.iter().copied().fold(f64::INFINITY, f64::min),
        median_ms: median(walls),
        decode_ms: median(decodes),
        encode_ms: encodes.into_iter().map(|(k, v)| (k, median(v))).collect(),
        bytes: image
            .variants
            .iter()
            .map(|v| (v.spec.name.to_owned(), v.bytes.len() as u64))
            .collect(),
        maxrss_kb: peak_rss_kb(),
        rss_file_kb: status_kib("RssFile:"),
        psnr: PsnrByTool::new(),
        png_lossless: None,
    };
    // Measured after the peak RSS was read: decoding outputs costs memory.
    let mut run = run;
    if !args.fidelity.is_empty() {
        drop(image);
        let dirs: Vec<(String, PathBuf)> = args
            .fidelity
            .iter()
            .filter_map(|spec| spec.split_once('='))
            .map(|(tool, dir)| (tool.to_owned(), PathBuf::from(dir)))
            .collect();
        let (psnr, png_lossless) = fidelity(&args.image, &dirs, &settings)?;
        run.psnr = psnr;
        run.png_lossless = png_lossless;
    }
    println!("{}", serde_json::to_string(&run)?);
    Ok(ExitCode::SUCCESS)
}

/// Everything measured on one image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageResult {
    pub file: String,
    pub megapixels: f64,
    pub single: WorkerRun,
    pub multi: Option<WorkerRun>,
    pub pillow: Option<reference::ReferenceRun>,
    pub sharp: Option<reference::ReferenceRun>,
    /// PSNR (dB) of lossy variants per tool: tool → variant → dB.
    pub psnr: PsnrByTool,
    /// Whether imgflow's PNG decodes to exactly the oriented source pixels.
    pub png_lossless: Option<bool>,
}

/// tool → variant → PSNR (dB).
pub type PsnrByTool = BTreeMap<String, BTreeMap<String, f64>>;

const LOSSY: &[&str] = &["compressed", "low", "webp"];

fn run_worker(
    image: &Path,
    threads: usize,
    args: &BenchArgs,
    outdir: &Path,
    fidelity: &[(String, PathBuf)],
) -> anyhow::Result<WorkerRun> {
    let exe = std::env::current_exe().context("cannot find the imgflow executable")?;
    let mut cmd = Command::new(exe);
    // The worker reads the same settings, from its environment.
    cmd.envs(args.engine.as_env())
        .arg("bench-worker")
        .arg(image)
        .args(["--threads", &threads.to_string()])
        .args([
            "--reps",
            &args.reps.to_string(),
            "--warmup",
            &args.warmup.to_string(),
        ])
        .arg("--outdir")
        .arg(outdir);
    for (tool, dir) in fidelity {
        cmd.arg("--fidelity")
            .arg(format!("{tool}={}", dir.display()));
    }
    let output = cmd.output().context("cannot start the bench worker")?;
    if !output.status.success() {
        bail!(
            "{}: {}",
            image.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// Fidelity of each tool's lossy outputs, each against the pixels that tool
/// encoded: imgflow's oriented source on white (or with alpha for WebP);
/// the references' `convert("RGB")` / `removeAlpha()` of the unrotated source.
fn fidelity(
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

fn default_cache() -> PathBuf {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/imgflow-bench"))
        .unwrap_or_else(|| PathBuf::from(".cache/imgflow-bench"))
}

/// The `bench` command.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.from {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let results: Vec<ImageResult> = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a bench --json file", path.display()))?;
        return report(&results, &args);
    }
    args.engine.settings()?; // fail early on a bad setting; workers read it too
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let corpus = args.corpus.clone().context("a corpus folder is needed")?;
    let images = expand_inputs(std::slice::from_ref(&corpus), None).files;
    if images.is_empty() {
        bail!("no images in {}", corpus.display());
    }
    let references = if args.compare {
        Some(References::prepare(
            &args.cache.clone().unwrap_or_else(default_cache),
        )?)
    } else {
        None
    };
    let scratch = tempfile::tempdir()?;
    let mut results = Vec::new();
    for image in &images {
        let name = image
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        eprintln!("bench: {name}");
        // References first, while this process is still small: Linux keeps
        // a parent's peak RSS across fork+exec, so a big parent would
        // inflate every child's reported peak.
        let ours_dir = scratch.path().join("imgflow");
        let mut dirs = vec![("imgflow".to_owned(), ours_dir.clone())];
        let (mut pillow, mut sharp) = (None, None);
        if let Some(refs) = &references {
            // sharp's libvips has no HEVC decoder: HEIC is imgflow against
            // Pillow with pillow-heif (libheif, libde265) only.
            let heic = std::fs::read(image)
                .map(|b| {
                    engine::sniff::sniff(&b)
                        == engine::sniff::Sniffed::Supported(engine::sniff::Format::Heic)
                })
                .unwrap_or(false);
            for (tool, slot) in [(Tool::Pillow, &mut pillow), (Tool::Sharp, &mut sharp)] {
                if heic && tool == Tool::Sharp {
                    continue;
                }
                let dir = scratch.path().join(tool.label());
                *slot = Some(refs.run(tool, image, args.reps, args.warmup, &dir)?);
                dirs.push((tool.label().to_owned(), dir));
            }
        }
        let single = run_worker(image, 1, &args, &ours_dir, &dirs)?;
        let multi = if cores > 1 {
            let dir = scratch.path().join("imgflow-multi");
            Some(run_worker(image, cores, &args, &dir, &[])?)
        } else {
            None
        };
        let (psnr, png_lossless) = (single.psnr.clone(), single.png_lossless);
        results.push(ImageResult {
            file: name,
            megapixels: f64::from(single.width) * f64::from(single.height) / 1e6,
            single,
            multi,
            pillow,
            sharp,
            psnr,
            png_lossless,
        });
    }
    report(&results, &args)
}

fn report(results: &[ImageResult], args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let cores = results
        .iter()
        .find_map(|r| r.multi.as_ref().map(|m| m.threads))
        .unwrap_or(1);
    print!("{}", tables::render(results, args, cores));
    if let Some(path) = args.json.as_ref().filter(|_| args.from.is_none()) {
        std::fs::write(path, serde_json::to_string_pretty(results)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(path) = &args.plot {
        plot::draw(results, path)?;
        eprintln!("bench: plot written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

mod tables;
