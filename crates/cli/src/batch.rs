//! Local batch processing for the CLI: expand inputs, read, process, write.

use crate::output::{write_all, OutputFile};
use imgflow_engine::memory::{Admission, Budget};
use imgflow_engine::sniff::{sniff, Sniffed};
use imgflow_engine::{
    self as engine, naming, EngineError, Inspection, ProcessedImage, Reason, RejectReason,
    Schedule, Settings,
};
use imgflow_lambda::config;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why one input produced nothing.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{0}")]
    Engine(#[from] EngineError),
    #[error("cannot read: {0}")]
    Read(io::Error),
    #[error("cannot write the variants: {0}")]
    Write(io::Error),
    /// The engine panicked on this input: our bug, reported for this file
    /// alone while the rest of the batch goes on.
    #[error("the engine crashed: {0}")]
    Crashed(String),
}

impl InputError {
    pub fn reason(&self) -> Reason {
        match self {
            InputError::Engine(e) => e.reason(),
            InputError::Read(_) => Reason::ReadFailed,
            InputError::Write(_) => Reason::WriteFailed,
            InputError::Crashed(_) => Reason::EngineCrashed,
        }
    }

    /// The message, naming the setting behind a limit the input broke.
    pub fn message(&self) -> String {
        match config::limit_variable(self.reason()) {
            Some(variable) => format!("{self} ({variable} / --{})", config::flag_of(variable)),
            None => self.to_string(),
        }
    }
}

/// The inputs to process: named files as given; folders walked recursively
/// for files whose bytes look like an image (recognised formats, supported or
/// not, so that a HEIC in a folder is reported rather than skipped) or whose
/// name says they are one (so that a damaged photo is reported, not skipped).
pub struct Inputs {
    pub files: Vec<PathBuf>,
    /// Files inside folders that are not images, left alone.
    pub skipped: usize,
}

pub fn expand_inputs(paths: &[PathBuf], exclude: Option<&Path>) -> Inputs {
    let exclude = exclude.and_then(|p| p.canonicalize().ok());
    let mut files = Vec::new();
    let mut skipped = 0;
    for path in paths {
        if !path.is_dir() {
            // Missing or unreadable files are reported when processed.
            files.push(path.clone());
            continue;
        }
        let walker = walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let inside_output = exclude
                    .as_ref()
                    .is_some_and(|ex| e.path().canonicalize().is_ok_and(|p| &p == ex));
                !inside_output
            });
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_file() => {
                    if named_like_image(e.path()) || looks_like_image(e.path()) {
                        files.push(e.into_path());
                    } else {
                        skipped += 1;
                    }
                }
                // Devices, pipes, sockets: reported when named like an
                // image (never read), else counted as skipped.
                Ok(e) if !e.file_type().is_dir() => {
                    if named_like_image(e.path()) {
                        files.push(e.into_path());
                    } else {
                        skipped += 1;
                    }
                }
                Ok(_) => {}
                // An unreadable folder entry is an input we could not read.
                Err(e) => files.push(
                    e.path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| path.clone()),
                ),
            }
        }
    }
    Inputs { files, skipped }
}

/// Extensions of image formats, read or refused.
const IMAGE_EXTENSIONS: [&str; 14] = [
    "jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "tif", "tiff", "bmp", "heic", "heif",
    "hif", "avif",
];

fn named_like_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

fn looks_like_image(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let n = fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    !matches!(sniff(&head[..n]), Sniffed::Unknown)
}

/// Reads one file, refusing it by its size before reading when over the limit.
pub fn read_source(path: &Path, settings: &Settings) -> Result<Vec<u8>, InputError> {
    let limit = settings.limits.max_bytes;
    let too_many = |bytes| {
        InputError::from(EngineError::from(RejectReason::TooManyBytes {
            bytes,
            limit,
        }))
    };
    // A device or a pipe has no size to check first, and may never end.
    // Checked before opening (opening a pipe waits for a writer) and on
    // what was opened.
    let regular = |m: io::Result<fs::Metadata>| match m {
        Ok(m) if m.is_file() => Ok(m),
        Ok(_) => Err(InputError::Read(io::Error::other(
            "not a regular file (a device, a pipe or a folder)",
        ))),
        Err(e) => Err(InputError::Read(e)),
    };
    regular(fs::metadata(path))?;
    let file = fs::File::open(path).map_err(InputError::Read)?;
    let metadata = regular(file.metadata())?;
    if metadata.len() > limit {
        return Err(too_many(metadata.len()));
    }
    // Read at most one byte past the limit: a file that grew since is
    // refused too.
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Read)?;
    if bytes.len() as u64 > limit {
        return Err(too_many(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A processed input and where its variants were written.
pub struct Done {
    pub image: ProcessedImage,
    pub written: Vec<PathBuf>,
}

/// Processes one file's bytes into `out_dir` as `schedule` says: all
/// variants land, or none.
pub fn process_bytes(
    path: &Path,
    bytes: &[u8],
    out_dir: &Path,
    settings: &Settings,
    schedule: Schedule,
) -> Result<Done, InputError> {
    let image = unless_it_panics(|| engine::process_with(bytes, settings, schedule))??;
    let source_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let files: Vec<OutputFile<'_>> = image
        .variants
        .iter()
        .map(|v| OutputFile {
            name: naming::output_file_name(
                &source_name,
                v.spec.name,
                &image.source.id,
                v.spec.extension,
            ),
            bytes: &v.bytes,
        })
        .collect();
    let written = write_all(out_dir, &files).map_err(InputError::Write)?;
    Ok(Done { image, written })
}

/// Runs the engine on one input; a panic becomes that input's error.
fn unless_it_panics<T>(run: impl FnOnce() -> T) -> Result<T, InputError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
        .map_err(|panic| InputError::Crashed(engine::codecs::panic_message(panic)))
}

const MIB: u64 = 1024 * 1024;

/// What the images of one run are admitted against: `--memory-budget`
/// (MiB), else the memory the machine has available now, else no limit.
pub fn memory_budget(flag_mib: Option<u64>) -> u64 {
    flag_mib
        .map(|mib| mib.saturating_mul(MIB))
        .or_else(available_memory)
        .unwrap_or(u64::MAX)
}

/// `MemAvailable` of Linux's `/proc/meminfo`: what can be allocated without
/// swapping. `None` elsewhere.
fn available_memory() -> Option<u64> {
    let meminfo = fs::read_to_string("/proc/meminfo").ok()?;
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Admits one inspected image (see [`Inspection::admit`]), or refuses it
/// before decoding when it can never fit.
pub fn admit(
    budget: &Arc<Budget>,
    inspection: &Inspection,
) -> Result<(Admission, Schedule), InputError> {
    inspection.admit(budget, None).map_err(|_| {
        let too_large = inspection.too_large(budget, |needed_mib| {
            format!("run it with --memory-budget {needed_mib} or more on a machine that has it")
        });
        EngineError::from(too_large).into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_in_the_engine_is_that_inputs_error() {
        let result: Result<(), _> = unless_it_panics(|| panic!("row {} out of range", 7));
        let e = result.expect_err("a panic is an error");
        assert_eq!(e.reason(), Reason::EngineCrashed);
        assert_eq!(e.message(), "the engine crashed: row 7 out of range");
    }

    #[test]
    fn what_the_engine_returns_passes_through() {
        assert_eq!(unless_it_panics(|| 5).expect("no panic"), 5);
    }
}
