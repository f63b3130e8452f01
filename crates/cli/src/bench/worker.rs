//! The hidden `bench-worker` command, which measures one image in a process
//! of its own (so that its peak RSS is that image's), and the parent's call
//! that starts it and reads its JSON line.

use super::fidelity::fidelity;
use super::process_memory::{peak_rss_kb, prefault_mappings, status_kib};
use super::{thread_pool, BenchArgs, PsnrByTool};
use crate::settings::EngineFlags;
use anyhow::{bail, Context as _};
use imgflow_engine as engine;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

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

pub(super) fn run_worker(
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
