//! A local output folder, written so that an image's variants appear all
//! together or not at all.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Temporary files staged by this process so far.
static STAGED: AtomicU64 = AtomicU64::new(0);

/// What writes under way would leave behind if the process stopped now:
/// their temporary files, and the variants they have already renamed
/// into place (new ones only). Files are created and renamed with the
/// lock held, so that [`take_back_in_flight`] sees every one.
struct InFlight {
    staged: Vec<PathBuf>,
    placed: Vec<PathBuf>,
}

static IN_FLIGHT: Mutex<InFlight> = Mutex::new(InFlight {
    staged: Vec::new(),
    placed: Vec::new(),
});

fn in_flight() -> MutexGuard<'static, InFlight> {
    // A writer that panicked left the lists as they were: still right.
    IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes what the writes under way have staged or placed, and returns
/// the lock still held, so that none goes on: for a signal's handler,
/// right before the process exits.
fn take_back_in_flight() -> MutexGuard<'static, InFlight> {
    let guard = in_flight();
    for path in guard.staged.iter().chain(&guard.placed) {
        let _ = fs::remove_file(path);
    }
    guard
}

/// On Ctrl-C, `kill` or a closed terminal, the files being written are
/// removed before the process exits (128 + the signal, as a shell
/// reports it): an interrupted run leaves no temporary file and no
/// image with only some of its variants.
#[cfg(unix)]
pub fn take_back_on_signal() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // Without the handler (it cannot be set), a signal stops the process
    // as it would any other.
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let _held = take_back_in_flight();
            std::process::exit(128 + signal);
        }
    });
}

#[cfg(not(unix))]
pub fn take_back_on_signal() {}

/// How old a temporary file must be to be swept: a live run's are seconds
/// old, and a process id unknown here may be alive on another machine or
/// in another container sharing the folder.
const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the temporary files that a run killed outright (`kill -9`, the
/// machine's OOM killer: no handler runs) left in `dir`: those named for a
/// process that does not exist here, an hour old or more. Returns how many.
pub fn sweep_stale_temporaries(dir: &Path) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix(".imgflow-")?.strip_suffix(".tmp"))
                .and_then(|n| n.split_once('-'))
                .filter(|(_, serial)| serial.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|(pid, _)| pid.parse::<u32>().ok());
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age >= STALE_AFTER));
            old && pid.is_some_and(|pid| pid != std::process::id() && !process_exists(pid))
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; it only checks that the process
    // exists (EPERM: it does, owned by someone else).
    let sent = unsafe { libc::kill(pid, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    // Unknown: keep the file.
    true
}

/// One file to write: its final name inside the folder, and its bytes.
pub struct OutputFile<'a> {
    pub name: String,
    pub bytes: &'a [u8],
}

/// Writes every file under a temporary name first, then renames them into
/// place; on any error the temporary files are removed and nothing lands.
/// Returns the final paths.
pub fn write_all(dir: &Path, files: &[OutputFile<'_>]) -> io::Result<Vec<PathBuf>> {
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(files.len());
    let mut renamed: Vec<PathBuf> = Vec::new();
    let result = (|| {
        for file in files {
            let target = dir.join(&file.name);
            // A short temporary name: the final one may be near the file
            // system's limit (255 bytes) already. Unique within the process
            // (images are written from several threads) and across them.
            let serial = STAGED.fetch_add(1, Ordering::Relaxed);
            let temp = dir.join(format!(".imgflow-{}-{serial}.tmp", std::process::id()));
            staged.push((temp.clone(), target.clone()));
            let named =
                |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", target.display()));
            let mut out = {
                let mut flight = in_flight();
                let out = fs::File::create(&temp).map_err(named)?;
                flight.staged.push(temp.clone());
                out
            };
            out.write_all(file.bytes).map_err(named)?;
            out.sync_data().map_err(named)?;
        }
        for (temp, target) in &staged {
            let mut flight = in_flight();
            let existed = target.exists();
            // (A folder in a variant's place stops the renames halfway.)
            fs::rename(temp, target)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", target.display())))?;
            flight.staged.retain(|p| p != temp);
            if !existed {
                flight.placed.push(target.clone());
                renamed.push(target.clone());
            }
        }
        Ok(staged.iter().map(|(_, target)| target.clone()).collect())
    })();
    if result.is_err() {
        // All or none: what was staged goes, and so do the variants this
        // call put in place (earlier runs' files stay).
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
        for target in &renamed {
            let _ = fs::remove_file(target);
        }
    }
    // Done either way: nothing of this call is in flight any more.
    let mut flight = in_flight();
    flight
        .staged
        .retain(|p| !staged.iter().any(|(temp, _)| temp == p));
    flight.placed.retain(|p| !renamed.contains(p));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_runs_temporaries_are_swept_and_no_others() {
        let dir = tempfile::tempdir().unwrap();
        // A process id that cannot exist (above Linux's pid_max and macOS's).
        let dead = ".imgflow-4194999-3.tmp";
        // The same, but fresh: perhaps another machine's, still writing.
        let dead_fresh = ".imgflow-4194999-4.tmp";
        let ours = format!(".imgflow-{}-0.tmp", std::process::id());
        let alive = ".imgflow-1-0.tmp"; // init
        let names = [
            dead,
            dead_fresh,
            &ours,
            alive,
            ".imgflow-x-1.tmp",
            "a_png_0a1b2c3d.png",
        ];
        let two_hours_ago = std::time::SystemTime::now() - 2 * STALE_AFTER;
        for name in names {
            let file = fs::File::create(dir.path().join(name)).unwrap();
            if name != dead_fresh {
                file.set_modified(two_hours_ago).unwrap();
            }
        }
        assert_eq!(sweep_stale_temporaries(dir.path()), 1);
        assert!(!dir.path().join(dead).exists());
        let mut left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left.len(), 5, "{left:?}");
    }

    /// a.jpg ("aaa"), then `second` ("bb").
    fn a_and(second: &str) -> [OutputFile<'static>; 2] {
        [
            OutputFile {
                name: "a.jpg".into(),
                bytes: b"aaa",
            },
            OutputFile {
                name: second.into(),
                bytes: b"bb",
            },
        ]
    }

    #[test]
    fn writes_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let files = a_and("b.png");
        let paths = write_all(dir.path(), &files).unwrap();
        assert_eq!(paths, [dir.path().join("a.jpg"), dir.path().join("b.png")]);
        assert_eq!(fs::read(&paths[1]).unwrap(), b"bb");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            2,
            "no temporary files left"
        );
    }

    #[test]
    fn a_failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // Past the file system's 255 bytes a name: the second fails.
        let long = format!("{}.png", "b".repeat(252));
        let files = a_and(&long);
        let error = write_all(dir.path(), &files).unwrap_err();
        assert!(error.to_string().contains(&long), "{error}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn names_at_the_file_system_limit_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let longest = format!("{}.png", "b".repeat(251));
        let files = a_and(&longest);
        let paths = write_all(dir.path(), &files).unwrap();
        assert_eq!(fs::read(&paths[1]).unwrap(), b"bb");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_rename_that_fails_takes_back_the_ones_before_it() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("b.png")).unwrap();
        let files = a_and("b.png");
        let error = write_all(dir.path(), &files).unwrap_err();
        assert!(error.to_string().contains("b.png: "), "{error}");
        let left: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["b.png"], "a.jpg, put in place first, was taken back");
    }
}
