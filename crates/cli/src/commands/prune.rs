//! `imgflow prune`: the command line's side (flags, runtime, printing); the
//! plan and the deletes are in `crate::prune`.

use crate::args::PruneArgs;
use crate::prune;
use anyhow::Context as _;
use std::process::ExitCode;

pub fn run(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let scope = prune::Scope {
        upload_bucket: args.upload_bucket,
        processed_bucket: args.processed_bucket,
        prefix: args.prefix,
        min_age: std::time::Duration::from_secs(args.min_age_minutes.saturating_mul(60)),
    };
    let runtime = super::runtime()?;
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
