//! `imgflow process`: the variants of local images, written into a folder.

use crate::args::ProcessArgs;
use crate::batch::{admit, expand_inputs, memory_budget, process_bytes, read_source, InputError};
use crate::{bench, progress_bar, report, usage_error};
use anyhow::Context as _;
use imgflow_engine::memory::Budget;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

pub fn run(args: ProcessArgs) -> anyhow::Result<ExitCode> {
    let settings = match args.engine.settings() {
        Ok(s) => s,
        Err(e) => return Ok(usage_error(e)),
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create the output folder {}", args.out.display()))?;
    // Folders are walked without the output folder (earlier variants are
    // not inputs): an input that is the output folder would yield nothing.
    if let Some(same) = args
        .inputs
        .iter()
        .find(|input| same_folder(input, &args.out))
    {
        return Ok(usage_error(format_args!(
            "{}: is the output folder too: its images would be skipped as \
             earlier variants; choose another --out (a folder inside it works)",
            same.display()
        )));
    }
    crate::output::take_back_on_signal();
    crate::output::sweep_stale_temporaries(&args.out);
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

fn same_folder(a: &std::path::Path, b: &std::path::Path) -> bool {
    a.is_dir() && matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}
