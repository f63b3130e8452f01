//! `imgflow`: the image engine on local files, its benchmark, and the
//! function's code path on S3 objects (redrive, backfill).

mod batch;
mod bench;
mod capacity;
mod output;
mod prune;
mod report;
mod reprocess;
mod settings;

use anyhow::Context as _;
use batch::{admit, expand_inputs, memory_budget, process_bytes, read_source, InputError};
use clap::{Args, Parser, Subcommand};
use imgflow_engine::memory::Budget;
use imgflow_lambda::config;
use imgflow_lambda::outcome::Outcome;
use indicatif::{ProgressBar, ProgressStyle};
use settings::EngineFlags;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Parser)]
#[command(name = "imgflow", version, about = "Five optimised variants of every image", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
struct ProcessArgs {
    /// Image files or folders
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Output folder (created if missing)
    #[arg(long, short, value_name = "DIR")]
    out: PathBuf,
    /// Print one JSON object per variant instead of tables
    #[arg(long)]
    json: bool,
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Memory the images may take at once, MiB: each is admitted against it
    /// by its estimate, and one that can never fit is refused before it is
    /// decoded [default: the memory available now]
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..))]
    memory_budget: Option<u64>,
    #[command(flatten)]
    engine: EngineFlags,
}

#[derive(Args)]
struct InspectArgs {
    /// Image files or folders
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Print one JSON object per image
    #[arg(long)]
    json: bool,
    /// Threads the side-by-side estimate is for [default: all cores]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    #[command(flatten)]
    engine: EngineFlags,
}

#[derive(Args)]
struct CapacityArgs {
    /// Lambda memory sizes, MB
    #[arg(long, value_name = "MB", value_delimiter = ',', default_value = "512,1024,2048,3008",
          value_parser = clap::value_parser!(u64).range(128..=10240))]
    memory_sizes: Vec<u64>,
    /// Make each image, process it (one thread) and report its measured peak
    #[arg(long)]
    verify: bool,
    /// Print one JSON object per cell instead of the table
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    engine: EngineFlags,
}

#[derive(Args)]
struct ReprocessArgs {
    /// Objects to process, as s3://bucket/key
    #[arg(value_name = "S3_URL", required_unless_present = "prefix")]
    objects: Vec<String>,
    /// Also every object under s3://bucket/folder/ (repeatable)
    #[arg(long, value_name = "S3_URL")]
    prefix: Vec<String>,
    /// List what would be processed; read and write nothing
    #[arg(long)]
    dry_run: bool,
    /// Objects processed at the same time
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// Where the variants go
    #[arg(long, value_name = "BUCKET", env = config::PROCESSED_BUCKET)]
    processed_bucket: Option<String>,
    #[command(flatten)]
    engine: EngineFlags,
}

#[derive(Args)]
struct PruneArgs {
    /// Where the uploads are
    #[arg(long, value_name = "BUCKET", env = "UPLOAD_BUCKET")]
    upload_bucket: String,
    /// Where the variants are
    #[arg(long, value_name = "BUCKET", env = config::PROCESSED_BUCKET)]
    processed_bucket: String,
    /// Only keys under this folder (e.g. `photos/2024/`)
    #[arg(long, value_name = "PREFIX", default_value = "")]
    prefix: String,
    /// Leave objects written less than this many minutes ago (a record may
    /// be writing them right now)
    #[arg(long, value_name = "MINUTES", default_value_t = 60)]
    min_age_minutes: u64,
    /// List what would be deleted; delete nothing
    #[arg(long)]
    dry_run: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => process(args),
        Command::Inspect(args) => inspect(args),
        Command::Bench(args) => bench::run(args),
        Command::Reprocess(args) => reprocess(args),
        Command::Prune(args) => prune(args),
        Command::Capacity(args) => match args.engine.settings() {
            Ok(settings) => {
                let env = args
                    .engine
                    .as_env()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                capacity::run(&args.memory_sizes, &settings, env, args.verify, args.json)
            }
            Err(e) => Ok(usage_error(e)),
        },
        Command::BenchWorker(args) => bench::worker(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("imgflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit status 2: the command line or a setting is wrong.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("imgflow: {message}");
    ExitCode::from(2)
}

fn progress_bar(len: usize, template: &str) -> ProgressBar {
    ProgressBar::new(len as u64).with_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

fn process(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let settings = match args.engine.settings() {
        Ok(s) => s,
        Err(e) => return Ok(usage_error(e)),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let pool = bench::thread_pool(args.threads.map(usize::from))?;
    let inputs = expand_inputs(&args.inputs, Some(&args.out));

    let bar = progress_bar(
        inputs.files.len(),
        "{bar:30} {pos}/{len} images  {per_sec}  ETA {eta}  {wide_msg}",
    );
    let failed = AtomicUsize::new(0);
    let fail = |path: &std::path::Path, e: InputError| {
        failed.fetch_add(1, Ordering::Relaxed);
        bar.suspend(|| {
            eprintln!(
                "imgflow: {}: {}: {}",
                path.display(),
                e.reason(),
                e.message()
            )
        });
        bar.inc(1);
    };
    let budget = Budget::new(memory_budget(args.memory_budget));
    let threads = pool.current_num_threads();
    // Images are read, checked and admitted here, on this thread (not a pool
    // worker: one waiting for memory must not sit on a worker's stack), and
    // processed on the pool.
    pool.in_place_scope(|scope| {
        for path in &inputs.files {
            let bytes = match read_source(path, &settings) {
                Ok(bytes) => bytes,
                Err(e) => {
                    fail(path, e);
                    continue;
                }
            };
            let admitted = imgflow_engine::inspect(&bytes, &settings, threads)
                .map_err(InputError::from)
                .and_then(|inspection| admit(&budget, &inspection));
            let (admission, schedule) = match admitted {
                Ok(admitted) => admitted,
                Err(e) => {
                    fail(path, e);
                    continue;
                }
            };
            let (bar, settings, out, json, fail) = (&bar, &settings, &args.out, args.json, &fail);
            scope.spawn(move |_| {
                bar.set_message(path.display().to_string());
                let outcome = process_bytes(path, &bytes, out, settings, schedule);
                drop(bytes);
                drop(admission);
                match outcome {
                    Ok(done) => {
                        bar.suspend(|| {
                            let text = if json {
                                report::json_lines(path, &done.image, &done.written)
                            } else {
                                report::table(path, &done.image)
                            };
                            let mut stdout = std::io::stdout().lock();
                            let _ = stdout.write_all(text.as_bytes());
                            let _ = stdout.flush();
                        });
                        bar.inc(1);
                    }
                    Err(e) => fail(path, e),
                }
            });
        }
    });
    bar.finish_and_clear();

    if inputs.skipped > 0 {
        eprintln!(
            "imgflow: skipped {} file(s) in folders that are not images",
            inputs.skipped
        );
    }
    if inputs.files.is_empty() {
        eprintln!("imgflow: no images found in the inputs");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if failed.into_inner() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let settings = match args.engine.settings() {
        Ok(s) => s,
        Err(e) => return Ok(usage_error(e)),
    };
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let inputs = expand_inputs(&args.inputs, None);
    let mut failed = 0;
    for path in &inputs.files {
        let inspected = read_source(path, &settings).and_then(|bytes| {
            imgflow_engine::inspect(&bytes, &settings, threads).map_err(InputError::from)
        });
        match inspected {
            Ok(inspection) => println!(
                "{}",
                report::inspection(path, &inspection, threads, args.json)
            ),
            Err(e) => {
                failed += 1;
                eprintln!(
                    "imgflow: {}: {}: {}",
                    path.display(),
                    e.reason(),
                    e.message()
                );
            }
        }
    }
    if inputs.files.is_empty() {
        eprintln!("imgflow: no images found in the inputs");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let scope = prune::Scope {
        upload_bucket: args.upload_bucket,
        processed_bucket: args.processed_bucket,
        prefix: args.prefix,
        min_age: std::time::Duration::from_secs(args.min_age_minutes.saturating_mul(60)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = imgflow_lambda::store::s3::S3Store::from_env().await;
        let plan = prune::plan(&store, &scope, std::time::SystemTime::now())
            .await
            .with_context(|| {
                format!(
                    "cannot read s3://{}/{}",
                    scope.processed_bucket, scope.prefix
                )
            })?;
        let verb = if args.dry_run { "would delete" } else { "delete" };
        for doomed in plan.manifests.iter().chain(&plan.variants) {
            println!("{verb}  {}  ({})", doomed.key, doomed.why);
        }
        for key in &plan.unreadable {
            eprintln!("imgflow: {key}: not a manifest this function wrote; left alone");
        }
        println!(
            "{} object(s) examined: {} manifest(s) and {} variant(s) of gone or replaced uploads ({} bytes); \
             {} variant(s) of uploads without a manifest yet (`imgflow reprocess` writes it); \
             {} too recent (--min-age-minutes)",
            plan.examined,
            plan.manifests.len(),
            plan.variants.len(),
            plan.bytes(),
            plan.without_manifest.len(),
            plan.too_recent
        );
        if args.dry_run {
            println!("nothing was deleted (--dry-run)");
            return Ok(ExitCode::SUCCESS);
        }
        let (deleted, failure) = prune::apply(&store, &scope.processed_bucket, &plan).await;
        println!("deleted {deleted} object(s)");
        match failure {
            None => Ok(ExitCode::SUCCESS),
            Some(e) => {
                eprintln!("imgflow: stopped at the first failed delete: {e}; run prune again");
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

fn reprocess(args: ReprocessArgs) -> anyhow::Result<ExitCode> {
    // The function's own loader: engine settings from the flags (or their
    // variables), the rest of the function's variables from the environment.
    let lookup = |name: &str| match name {
        config::PROCESSED_BUCKET => args.processed_bucket.clone(),
        _ => args.engine.get(name).or_else(|| std::env::var(name).ok()),
    };
    let handler = match config::handler_settings(&lookup) {
        Ok(h) => h,
        Err(e) => return Ok(usage_error(e)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = imgflow_lambda::store::s3::S3Store::from_env().await;
        let objects = reprocess::targets(&store, &args.objects, &args.prefix)
            .await
            .map_err(anyhow::Error::msg)?;
        if args.dry_run {
            for o in &objects {
                println!("would process s3://{}/{}", o.bucket, o.key);
            }
            println!(
                "{} object(s); nothing was read or written (--dry-run)",
                objects.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
        let bar = progress_bar(
            objects.len(),
            "{bar:30} {pos}/{len} objects  {per_sec}  ETA {eta}",
        );
        let timeout = std::time::Duration::from_secs(900);
        let summary = reprocess::run(
            &store,
            &handler,
            objects,
            usize::from(args.concurrency),
            timeout,
            |outcome| {
                bar.suspend(|| match outcome {
                    Outcome::Processed {
                        key, id, variants, ..
                    } => {
                        println!("processed  {key}  ({} variants, id {id})", variants.len())
                    }
                    Outcome::Unchanged {
                        key,
                        id,
                        manifest_written,
                        deleted,
                    } => {
                        println!(
                        "unchanged  {key}  (id {id}; manifest {}; {} leftover variant(s) deleted)",
                        if *manifest_written { "rewritten" } else { "kept" },
                        deleted.len()
                    )
                    }
                    Outcome::Removed { key, deleted, .. } => {
                        println!("removed    {key}  ({} variants)", deleted.len())
                    }
                    Outcome::Skipped { key, reason } => println!("skipped    {key}  ({reason})"),
                    Outcome::Rejected {
                        key,
                        reason,
                        message,
                    }
                    | Outcome::Failed {
                        key,
                        reason,
                        message,
                    } => eprintln!("imgflow: {key}: {reason}: {message}"),
                });
                bar.inc(1);
            },
        )
        .await;
        bar.finish_and_clear();
        println!(
            "processed {} · unchanged {} · skipped {} · rejected {} · failed {}",
            summary.processed, summary.unchanged, summary.skipped, summary.rejected, summary.failed
        );
        Ok(if summary.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
