//! `imgflow`: the image engine on local files, its benchmark, and the
//! function's code path on S3 objects (redrive, backfill).

mod args;
mod batch;
mod bench;
mod capacity;
mod commands;
mod output;
mod prune;
mod report;
mod reprocess;
mod settings;

use args::{Cli, Command};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread allocates: the memory budget assumes it.
    imgflow_engine::memory::keep_large_blocks_mapped();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Process(args) => commands::process::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Reprocess(args) => commands::reprocess::run(args),
        Command::Prune(args) => commands::prune::run(args),
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
