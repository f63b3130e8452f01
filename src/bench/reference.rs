//! The reference pipelines (Pillow, sharp) from `../shared/bench`, run one
//! process per image like the imgflow worker, and their JSON read back.

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A reference tool's step and variant names, mapped to ours.
pub const STEP_NAMES: &[(&str, &str)] = &[
    ("jpeg85", "compressed"),
    ("jpeg60", "low"),
    ("webp85", "webp"),
    ("png", "png"),
    ("thumb", "thumbnail"),
];

/// One line of `pillow_pipeline.py` / `sharp_pipeline.mjs` output.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReferenceRun {
    pub median_ms: f64,
    #[serde(default)]
    pub step_median_ms: BTreeMap<String, f64>,
    pub bytes: BTreeMap<String, u64>,
    pub maxrss_kb: u64,
}

impl ReferenceRun {
    /// Step time under our variant name (`decode` stays `decode`).
    pub fn step_ms(&self, ours: &str) -> Option<f64> {
        let theirs = STEP_NAMES
            .iter()
            .find(|(_, o)| *o == ours)
            .map_or(ours, |(t, _)| *t);
        self.step_median_ms.get(theirs).copied()
    }

    pub fn variant_bytes(&self, ours: &str) -> Option<u64> {
        let theirs = STEP_NAMES.iter().find(|(_, o)| *o == ours)?.0;
        self.bytes.get(theirs).copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Pillow,
    Sharp,
}

impl Tool {
    pub fn label(self) -> &'static str {
        match self {
            Tool::Pillow => "Pillow",
            Tool::Sharp => "sharp",
        }
    }
}

/// How to start the reference pipelines.
#[derive(Debug, Clone)]
pub struct References {
    pub python: PathBuf,
    pub pillow_script: PathBuf,
    pub node: PathBuf,
    pub sharp_script: PathBuf,
}

/// The Python that `scripts/bench-setup.sh` prepared in `cache`: a venv, or a
/// pip --target folder where venv is missing. `None` when neither exists.
pub fn bench_python(cache: &Path) -> Option<PathBuf> {
    [cache.join("venv/bin/python"), cache.join("pytarget/python")]
        .into_iter()
        .find(|p| p.is_file())
}

impl References {
    /// Finds the tools prepared by `scripts/bench-setup.sh`.
    pub fn locate(reference_dir: &Path, cache: &Path) -> anyhow::Result<Self> {
        let pillow_script = reference_dir.join("pillow_pipeline.py");
        let python = bench_python(cache).unwrap_or_else(|| cache.join("venv/bin/python"));
        let sharp_script = cache.join("node/sharp_pipeline.mjs");
        let hint = "run scripts/bench-setup.sh first (it installs Pillow and sharp into the cache)";
        if !pillow_script.is_file() {
            bail!(
                "{} not found: pass --reference-dir",
                pillow_script.display()
            );
        }
        if !python.is_file() {
            bail!("{} not found: {hint}", python.display());
        }
        if !sharp_script.is_file() || !cache.join("node/node_modules/sharp").is_dir() {
            bail!(
                "sharp is not installed in {}: {hint}",
                cache.join("node").display()
            );
        }
        Ok(Self {
            python,
            pillow_script,
            node: PathBuf::from("node"),
            sharp_script,
        })
    }

    /// Runs one tool on one image, writing its outputs into `outdir`.
    pub fn run(
        &self,
        tool: Tool,
        image: &Path,
        reps: u32,
        warmup: u32,
        outdir: &Path,
    ) -> anyhow::Result<ReferenceRun> {
        let mut cmd = match tool {
            Tool::Pillow => {
                let mut c = Command::new(&self.python);
                c.arg(&self.pillow_script);
                c
            }
            Tool::Sharp => {
                let mut c = Command::new(&self.node);
                c.arg(&self.sharp_script)
                    .args(["--mode", "seq", "--concurrency", "1"]);
                c
            }
        };
        cmd.args(["--reps", &reps.to_string(), "--warmup", &warmup.to_string()])
            .arg("--outdir")
            .arg(outdir)
            .arg(image);
        let output = cmd
            .output()
            .with_context(|| format!("cannot start {}", tool.label()))?;
        if !output.status.success() {
            bail!(
                "{} failed on {}: {}",
                tool.label(),
                image.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.trim_start().starts_with('{'))
            .with_context(|| {
                format!("{} printed no result for {}", tool.label(), image.display())
            })?;
        serde_json::from_str(line)
            .with_context(|| format!("unreadable {} result: {line}", tool.label()))
    }

    /// Where a tool's output of one variant lands (`<stem>.<step>.<ext>`).
    pub fn output_path(outdir: &Path, image: &Path, ours: &str) -> Option<PathBuf> {
        let (theirs, _) = STEP_NAMES.iter().find(|(_, o)| *o == ours)?;
        let ext = match ours {
            "webp" => "webp",
            "png" => "png",
            _ => "jpg",
        };
        let stem = image.file_stem()?.to_string_lossy();
        Some(outdir.join(format!("{stem}.{theirs}.{ext}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pillow_line() {
        let line = r#"{"tool": "pillow", "file": "a.jpg", "reps": 1, "median_ms": 100.5, "min_ms": 99.0,
            "step_median_ms": {"decode": 10.0, "jpeg85": 20.0, "jpeg60": 15.0, "webp85": 30.0, "png": 40.0, "thumb": 5.0},
            "bytes": {"jpeg85": 1000, "jpeg60": 600, "webp85": 700, "png": 5000, "thumb": 90},
            "total_bytes": 7390, "thumb_size": [200, 150], "maxrss_kb": 34000, "rss_after_import_kb": 12000, "import_ms": 80.1}"#;
        let run: ReferenceRun = serde_json::from_str(line).unwrap();
        assert_eq!(run.step_ms("webp"), Some(30.0));
        assert_eq!(run.step_ms("decode"), Some(10.0));
        assert_eq!(run.variant_bytes("thumbnail"), Some(90));
        assert_eq!(
            References::output_path(Path::new("/o"), Path::new("x/a.b.jpg"), "low"),
            Some(PathBuf::from("/o/a.b.jpeg60.jpg"))
        );
    }
}
