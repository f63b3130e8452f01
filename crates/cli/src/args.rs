//! The command line's shape: the subcommands and their flags, as clap reads
//! them (`imgflow --help` is generated from these doc comments).

use crate::bench;
use crate::settings::EngineFlags;
use clap::{Args, Parser, Subcommand};
use imgflow_lambda::config;
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "imgflow", version, about = "Five optimised variants of every image", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Write the variants of images (files or folders, recursively) into a folder.
    Process(ProcessArgs),
    /// Check images as `process` would, from their headers, and estimate the memory each needs.
    Inspect(InspectArgs),
    /// Measure imgflow (and, with --compare, Pillow and sharp) on a corpus.
    Bench(bench::BenchArgs),
    /// Run S3 objects through the Lambda's code path (redrive, backfill).
    Reprocess(ReprocessArgs),
    /// Delete the variants (and manifests) whose upload is gone or no longer current.
    Prune(PruneArgs),
    /// The largest RGBA PNG and JPEG the function processes at each Lambda memory size.
    Capacity(CapacityArgs),
    /// Internal: one image in this process, for `bench` (peak RSS per image).
    #[command(hide = true)]
    BenchWorker(bench::WorkerArgs),
}

#[derive(Args)]
pub struct ProcessArgs {
    /// Image files or folders
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Output folder (created if missing)
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// Print one JSON object per variant instead of tables
    #[arg(long)]
    pub json: bool,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Memory the images may take at once, MiB: each is admitted against it
    /// by its estimate, and one that can never fit is refused before it is
    /// decoded [default: the memory available now]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    pub memory_budget: Option<u64>,
    #[command(flatten)]
    pub engine: EngineFlags,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Image files or folders
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Print one JSON object per image
    #[arg(long)]
    pub json: bool,
    /// Threads the side-by-side estimate is for [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    #[command(flatten)]
    pub engine: EngineFlags,
}

#[derive(Args)]
pub struct CapacityArgs {
    /// Lambda memory sizes, MB
    #[arg(long, value_name = "MB", value_delimiter = ',', default_value = "512,1024,2048,3008",
          value_parser = clap::value_parser!(u64).range(128..=10240))]
    pub memory_sizes: Vec<u64>,
    /// Make each image, process it (one thread) and report its measured peak
    #[arg(long)]
    pub verify: bool,
    /// Print one JSON object per cell instead of the table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub engine: EngineFlags,
}

#[derive(Args)]
// Objects, a prefix or both: a usage error names both ways.
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["objects", "prefix"])))]
pub struct ReprocessArgs {
    /// Objects to process, as s3://bucket/key
    #[arg(value_name = "S3_URL")]
    pub objects: Vec<String>,
    /// Also every object under s3://bucket/folder/ (repeatable)
    #[arg(long, value_name = "S3_URL")]
    pub prefix: Vec<String>,
    /// List what would be processed; read and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Objects processed at the same time
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Where the variants go
    #[arg(long, value_name = "BUCKET", env = config::PROCESSED_BUCKET)]
    pub processed_bucket: Option<String>,
    #[command(flatten)]
    pub engine: EngineFlags,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Where the uploads are
    #[arg(long, value_name = "BUCKET", env = "UPLOAD_BUCKET")]
    pub upload_bucket: String,
    /// Where the variants are
    #[arg(long, value_name = "BUCKET", env = config::PROCESSED_BUCKET)]
    pub processed_bucket: String,
    /// Only keys under this folder (e.g. `photos/2024/`)
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub prefix: String,
    /// Leave objects written less than this many minutes ago (a record may
    /// be writing them right now)
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    pub min_age_minutes: u64,
    /// List what would be deleted; delete nothing
    #[arg(long)]
    pub dry_run: bool,
}
