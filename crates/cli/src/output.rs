//! A local output folder, written so that an image's variants appear all
//! together or not at all.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files staged by this process so far.
static STAGED: AtomicU64 = AtomicU64::new(0);

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
            let mut out = fs::File::create(&temp).map_err(named)?;
            out.write_all(file.bytes).map_err(named)?;
            out.sync_data().map_err(named)?;
        }
        for (temp, target) in &staged {
            let existed = target.exists();
            // (A folder in a variant's place stops the renames halfway.)
            fs::rename(temp, target)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", target.display())))?;
            if !existed {
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
    result
}

#[cfg(test)]
mod tests {
    use super::*;

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
