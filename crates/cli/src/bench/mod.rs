//! `imgflow bench`: time, bytes, fidelity and peak memory on a corpus, each
//! image in its own process (so peak RSS is per image), optionally side by
//! side with the Pillow and sharp reference pipelines.

// The parent's side (corpus, references, tables, plot) is here; what runs
// in each per-image process is in `worker`, with the fidelity and memory
// measurements it takes.
mod fidelity;
pub mod plot;
mod process_memory;
pub mod quality;
pub mod reference;
mod tables;
mod worker;

pub use worker::{worker, WorkerArgs, WorkerRun};

use crate::batch::expand_inputs;
use crate::settings::EngineFlags;
use anyhow::{bail, Context as _};
use imgflow_engine as engine;
use reference::{References, Tool};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use worker::run_worker;

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
