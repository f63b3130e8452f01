//! `imgflow inspect`: what `process` would accept, from the headers alone,
//! and the memory each image would need.

use crate::args::InspectArgs;
use crate::batch::{expand_inputs, read_source, InputError};
use crate::{report, usage_error};
use std::process::ExitCode;

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
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
