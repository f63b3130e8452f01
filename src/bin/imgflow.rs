//! `imgflow`: the image engine on local files, and its benchmark.

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use imgflow::batch::{expand_inputs, process_file};
use imgflow::config::{self, Settings};
use imgflow::report;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::collections::HashMap;
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
    /// Measure imgflow (and, with --compare, Pillow and sharp) on a corpus.
    Bench(imgflow::bench::BenchArgs),
    /// Run S3 objects through the Lambda's code path (redrive, backfill).
    Reprocess(ReprocessArgs),
    /// Run the Lambda binary on this machine and deliver one event to it.
    Invoke(InvokeArgs),
    /// Measure the Lambda binary: cold start, memory after init, warm overhead.
    BenchLambda(imgflow::bench::lambda::BenchLambdaArgs),
    /// Internal: one image in this process, for `bench` (peak RSS per image).
    #[command(hide = true)]
    BenchWorker(imgflow::bench::WorkerArgs),
}

/// Engine settings; each flag overrides the environment variable it names.
#[derive(Args, Debug, Default)]
pub struct SettingsArgs {
    /// Comma-separated variants to produce, or "all" [env: VARIANTS]
    #[arg(long, value_name = "LIST")]
    variants: Option<String>,
    /// JPEG quality, 1-100 (compressed and thumbnail) [env: JPEG_QUALITY, default 85]
    #[arg(long, value_name = "Q")]
    jpeg_quality: Option<String>,
    /// Quality of the "low" JPEG, 1-100 [env: LOW_QUALITY, default 60]
    #[arg(long, value_name = "Q")]
    low_quality: Option<String>,
    /// WebP quality, 1-100 [env: WEBP_QUALITY, default 85]
    #[arg(long, value_name = "Q")]
    webp_quality: Option<String>,
    /// Thumbnail bounding box [env: THUMBNAIL_SIZE, default 200x200]
    #[arg(long, value_name = "WxH")]
    thumbnail_size: Option<String>,
    /// Largest accepted width x height [env: MAX_INPUT_PIXELS, default 100000000]
    #[arg(long, value_name = "N")]
    max_input_pixels: Option<String>,
    /// Largest accepted file, in bytes [env: MAX_INPUT_BYTES, default 104857600]
    #[arg(long, value_name = "N")]
    max_input_bytes: Option<String>,
}

impl SettingsArgs {
    /// Looks a variable up in the flags first, then in the environment.
    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        let flags: HashMap<&str, &String> = [
            (config::VARIANTS_ENV, &self.variants),
            ("JPEG_QUALITY", &self.jpeg_quality),
            ("LOW_QUALITY", &self.low_quality),
            ("WEBP_QUALITY", &self.webp_quality),
            ("THUMBNAIL_SIZE", &self.thumbnail_size),
            (config::MAX_INPUT_PIXELS_ENV, &self.max_input_pixels),
            (config::MAX_INPUT_BYTES_ENV, &self.max_input_bytes),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
        .collect();
        move |name: &str| match flags.get(name) {
            Some(v) => Some((*v).clone()),
            None => std::env::var(name).ok(),
        }
    }

    fn resolve(&self) -> Result<Settings, config::ConfigError> {
        Settings::from_lookup(self.lookup())
    }
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
    #[command(flatten)]
    settings: SettingsArgs,
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
    /// Where the variants go [env: PROCESSED_BUCKET]
    #[arg(long, value_name = "BUCKET")]
    processed_bucket: Option<String>,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// The function runs as Lambda runs it: the `bootstrap` binary under a
/// Runtime API (here a loopback one), with this shell's environment
/// (PROCESSED_BUCKET, AWS_ENDPOINT_URL for an emulator, credentials, …).
#[derive(Args)]
struct InvokeArgs {
    /// Uploaded objects, as s3://bucket/key: one S3 event with a record each
    #[arg(value_name = "S3_URL", required_unless_present = "event")]
    objects: Vec<String>,
    /// A JSON event file instead (e.g. one kept by the failed-events queue)
    #[arg(long, value_name = "FILE", conflicts_with = "objects")]
    event: Option<PathBuf>,
    /// The Lambda binary [default: `bootstrap` next to this `imgflow`]
    #[arg(long, value_name = "PATH")]
    bootstrap: Option<PathBuf>,
    /// The invocation's time budget, like the function's timeout
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    timeout: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => process(args),
        Command::Bench(args) => imgflow::bench::run(args),
        Command::Reprocess(args) => reprocess(args),
        Command::Invoke(args) => invoke(args),
        Command::BenchLambda(args) => imgflow::bench::lambda::run(args),
        Command::BenchWorker(args) => imgflow::bench::worker(args),
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

fn process(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let settings = match args.settings.resolve() {
        Ok(s) => s,
        Err(e) => return Ok(usage_error(e)),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    let pool = imgflow::bench::thread_pool(args.threads.map(usize::from))?;
    let inputs = expand_inputs(&args.inputs, Some(&args.out));

    let bar = ProgressBar::new(inputs.files.len() as u64).with_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} images  {per_sec}  ETA {eta}  {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let failed = AtomicUsize::new(0);
    pool.install(|| {
        inputs.files.par_iter().for_each(|path| {
            bar.set_message(path.display().to_string());
            let outcome = process_file(path, &args.out, &settings);
            bar.suspend(|| match &outcome {
                Ok(done) => {
                    let text = if args.json {
                        report::json_lines(path, &done.image, &done.written)
                    } else {
                        report::table(path, &done.image)
                    };
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout.write_all(text.as_bytes());
                    let _ = stdout.flush();
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("imgflow: {}: {}: {e}", path.display(), e.code());
                }
            });
            bar.inc(1);
        });
    });
    bar.finish_and_clear();

    let failed = failed.into_inner();
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn reprocess(args: ReprocessArgs) -> anyhow::Result<ExitCode> {
    use imgflow::handler::{HandlerSettings, Outcome};
    use imgflow::reprocess::{run, targets};
    let lookup = args.settings.lookup();
    let handler = HandlerSettings::from_lookup(|name| match (name, &args.processed_bucket) {
        ("PROCESSED_BUCKET", Some(bucket)) => Some(bucket.clone()),
        _ => lookup(name),
    });
    let handler = match handler {
        Ok(h) => h,
        Err(e) => return Ok(usage_error(e)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let store = imgflow::store::s3::S3Store::from_env().await;
        let objects = targets(&store, &args.objects, &args.prefix)
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
        let bar = ProgressBar::new(objects.len() as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} objects  {per_sec}  ETA {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let timeout = std::time::Duration::from_secs(900);
        let summary = run(
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
                    Outcome::Skipped { key, reason } => println!("skipped    {key}  ({reason})"),
                    Outcome::Rejected { key, code, message } => {
                        eprintln!("imgflow: {key}: {code}: {message}")
                    }
                    Outcome::Failed { key, message } => {
                        eprintln!("imgflow: {key}: failed: {message}")
                    }
                });
                bar.inc(1);
            },
        )
        .await;
        bar.finish_and_clear();
        println!(
            "processed {} · skipped {} · rejected {} · failed {}",
            summary.processed, summary.skipped, summary.rejected, summary.failed
        );
        Ok(if summary.failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}

fn invoke(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    use imgflow::local_lambda::{s3_event_of, LocalFunction, Reported, RuntimeApi};
    use std::time::Duration;
    let event: serde_json::Value = match &args.event {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the event file {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON event", path.display()))?
        }
        None => {
            let objects = args
                .objects
                .iter()
                .map(|url| imgflow::reprocess::parse_s3_url(url))
                .collect::<Result<Vec<_>, _>>()
                .map_err(anyhow::Error::msg)?;
            s3_event_of(objects.iter().map(|(b, k)| (b.as_str(), k.as_str(), None)))
        }
    };
    let bootstrap = match args.bootstrap {
        Some(path) => path,
        None => imgflow::bench::lambda::default_bootstrap()?,
    };
    let api = RuntimeApi::start().context("cannot open the local Runtime API")?;
    let mut function = LocalFunction::start(&bootstrap, &api, &[], true)?;
    let print_output = |function: &LocalFunction, from: usize| {
        let lines = function.lines_since(from, Duration::from_millis(100));
        for line in &lines {
            println!("{line}");
        }
        from + lines.len()
    };
    if api.wait_for_next(Duration::from_secs(30)).is_none() {
        function.wait_exit(Duration::from_secs(1));
        print_output(&function, 0);
        anyhow::bail!(
            "{} did not start (see its output above)",
            bootstrap.display()
        );
    }
    let done = api
        .invoke(event, Duration::from_secs(args.timeout))
        .inspect_err(|_| {
            print_output(&function, 0);
        })?;
    print_output(&function, 0);
    let (label, body, code) = match &done.reported {
        Reported::Response(body) => ("response", body, ExitCode::SUCCESS),
        Reported::Error(body) => ("error", body, ExitCode::FAILURE),
    };
    eprintln!(
        "imgflow: invocation {} {label} after {:.1} ms: {body}",
        done.request_id,
        done.elapsed.as_secs_f64() * 1000.0
    );
    Ok(code)
}
