//! `imgflow reprocess`: the command line's side (settings, runtime,
//! progress, printing); listing and processing the objects are in
//! `crate::reprocess`.

use crate::args::ReprocessArgs;
use crate::{progress_bar, reprocess, usage_error};
use imgflow_lambda::config;
use imgflow_lambda::outcome::Outcome;
use std::process::ExitCode;

pub fn run(args: ReprocessArgs) -> anyhow::Result<ExitCode> {
    // The function's own loader: engine settings from the flags (or their
    // variables), the rest of the function's variables from the environment.
    let lookup = |name: &str| match name {
        config::PROCESSED_BUCKET => args.processed_bucket.clone(),
        _ => args.engine.get(name).or_else(|| std::env::var(name).ok()),
    };
    let handler = match config::handler_settings(&lookup) {
        Ok(h) => h,
        Err(mut e) => {
            e.variable = match e.variable.as_str() {
                config::PROCESSED_BUCKET => "--processed-bucket (or PROCESSED_BUCKET)".to_owned(),
                variable => args.engine.given_as(variable),
            };
            return Ok(usage_error(e));
        }
    };
    let runtime = super::runtime()?;
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
