//! The reference pipelines: the Python + Pillow Lambda imgflow replaces and
//! a sharp/libvips pipeline (crates/cli/bench/, built into this binary), run
//! one process per image like the imgflow worker, and their JSON read back.
//! scripts/bench-setup.sh installs Pillow and sharp into the cache.

use anyhow::{bail, Context as _};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PILLOW_SCRIPT: &str = include_str!("../../bench/pillow_pipeline.py");
const SHARP_SCRIPT: &str = include_str!("../../bench/sharp_pipeline.mjs");

/// One line of `pillow_pipeline.py` / `sharp_pipeline.mjs` output; steps and
/// variants carry our variant names (and `decode`).
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ReferenceRun {
    pub median_ms: f64,
    #[serde(default)]
    pub step_median_ms: BTreeMap<String, f64>,
    pub bytes: BTreeMap<String, u64>,
    pub maxrss_kb: u64,
}

impl ReferenceRun {
    pub fn step_ms(&self, step: &str) -> Option<f64> {
        self.step_median_ms.get(step).copied()
    }

    pub fn variant_bytes(&self, variant: &str) -> Option<u64> {
        self.bytes.get(variant).copied()
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
    /// Finds Pillow and sharp where `scripts/bench-setup.sh` installed them
    /// in `cache`, and puts this binary's copy of the two scripts there
    /// (sharp's must sit next to its `node_modules`).
    pub fn prepare(cache: &Path) -> anyhow::Result<Self> {
        let hint = "run scripts/bench-setup.sh first (it installs Pillow and sharp into the cache)";
        let python = bench_python(cache)
            .with_context(|| format!("no Python with Pillow in {}: {hint}", cache.display()))?;
        let node_dir = cache.join("node");
        if !node_dir.join("node_modules/sharp").is_dir() {
            bail!("sharp is not installed in {}: {hint}", node_dir.display());
        }
        let pillow_script = cache.join("pillow_pipeline.py");
        let sharp_script = node_dir.join("sharp_pipeline.mjs");
        for (path, text) in [
            (&pillow_script, PILLOW_SCRIPT),
            (&sharp_script, SHARP_SCRIPT),
        ] {
            if std::fs::read_to_string(path).ok().as_deref() != Some(text) {
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
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

    /// Where a tool's output of one variant lands (`<stem>.<variant>.<ext>`).
    pub fn output_path(outdir: &Path, image: &Path, variant: &str) -> Option<PathBuf> {
        let spec = imgflow_engine::variant::spec_named(variant)?;
        let stem = image.file_stem()?.to_string_lossy();
        Some(outdir.join(format!("{stem}.{variant}.{}", spec.extension)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_pillow_line() {
        let line = r#"{"tool": "pillow", "file": "a.jpg", "reps": 1, "median_ms": 100.5, "min_ms": 99.0,
            "step_median_ms": {"decode": 10.0, "compressed": 20.0, "low": 15.0, "webp": 30.0, "png": 40.0, "thumbnail": 5.0},
            "bytes": {"compressed": 1000, "low": 600, "webp": 700, "png": 5000, "thumbnail": 90},
            "thumbnail_size": [200, 150], "maxrss_kb": 34000, "import_ms": 80.1}"#;
        let run: ReferenceRun = serde_json::from_str(line).unwrap();
        assert_eq!(run.step_ms("webp"), Some(30.0));
        assert_eq!(run.step_ms("decode"), Some(10.0));
        assert_eq!(run.variant_bytes("thumbnail"), Some(90));
        assert_eq!(
            References::output_path(Path::new("/o"), Path::new("x/a.b.jpg"), "low"),
            Some(PathBuf::from("/o/a.b.low.jpg"))
        );
    }
}
