//! What the CLI prints about an image: a table or JSON lines for a processed
//! one, a line or a JSON object for an inspected one.

use imgflow_engine::{sniff, Inspection, ProcessedImage};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Percentage of the source's bytes saved (negative when the variant is larger).
pub fn saved_percent(source_bytes: usize, variant_bytes: usize) -> f64 {
    if source_bytes == 0 {
        return 0.0;
    }
    (source_bytes as f64 - variant_bytes as f64) / source_bytes as f64 * 100.0
}

/// A byte count for people: `812 B`, `45.3 KiB`, `2.40 MiB`.
pub fn human_bytes(n: usize) -> String {
    const KIB: f64 = 1024.0;
    let f = n as f64;
    if f < KIB {
        format!("{n} B")
    } else if f < KIB * KIB {
        format!("{:.1} KiB", f / KIB)
    } else {
        format!("{:.2} MiB", f / KIB / KIB)
    }
}

/// The table printed for one image.
pub fn table(input: &Path, image: &ProcessedImage) -> String {
    let s = &image.source;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {} {}x{}  {}  id {}  decode {:.0} ms",
        input.display(),
        s.format,
        s.width,
        s.height,
        human_bytes(s.bytes),
        s.id,
        image.decode_ms
    );
    let _ = writeln!(
        out,
        "  {:<11} {:>11} {:>11} {:>8} {:>10}",
        "variant", "dimensions", "bytes", "saved", "encode ms"
    );
    for v in &image.variants {
        let _ = writeln!(
            out,
            "  {:<11} {:>11} {:>11} {:>7.1}% {:>10.1}",
            v.spec.name,
            format!("{}x{}", v.width, v.height),
            human_bytes(v.bytes.len()),
            saved_percent(s.bytes, v.bytes.len()),
            v.encode_ms
        );
    }
    out
}

/// One JSON object per variant (the `--json` output).
#[derive(Debug, Serialize)]
pub struct VariantRecord<'a> {
    pub source: &'a Path,
    pub source_format: &'a str,
    pub source_bytes: usize,
    pub id: &'a str,
    pub variant: &'a str,
    pub file: &'a Path,
    pub content_type: &'a str,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    pub bytes: usize,
    pub bytes_saved: i64,
    pub saved_percent: f64,
    pub encode_ms: f64,
    pub decode_ms: f64,
}

pub fn json_lines(input: &Path, image: &ProcessedImage, written: &[PathBuf]) -> String {
    let mut out = String::new();
    for (v, file) in image.variants.iter().zip(written) {
        let record = VariantRecord {
            source: input,
            source_format: image.source.format,
            source_bytes: image.source.bytes,
            id: &image.source.id,
            variant: v.spec.name,
            file,
            content_type: v.spec.content_type,
            width: v.width,
            height: v.height,
            quality: v.quality,
            bytes: v.bytes.len(),
            bytes_saved: v.bytes_saved(image.source.bytes),
            saved_percent: (saved_percent(image.source.bytes, v.bytes.len()) * 10.0).round() / 10.0,
            encode_ms: round2(v.encode_ms),
            decode_ms: round2(image.decode_ms),
        };
        if let Ok(line) = serde_json::to_string(&record) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// What `imgflow inspect` prints for one image.
pub fn inspection(input: &Path, i: &Inspection, threads: usize, json: bool) -> String {
    const MIB: u64 = 1024 * 1024;
    let color = format!("{:?}", i.shape.color);
    if json {
        let record = InspectionRecord {
            source: input,
            format: sniff::format_name(i.shape.format),
            width: i.shape.width,
            height: i.shape.height,
            color: &color,
            progressive: i.shape.progressive.is_some(),
            memory_one_at_a_time_bytes: i.memory.one_at_a_time,
            memory_two_passes_bytes: i.memory.two_passes,
            memory_side_by_side_bytes: i.memory.side_by_side,
            threads,
        };
        return serde_json::to_string(&record).unwrap_or_default();
    }
    format!(
        "{}  {} {}x{} {}  memory: {} MiB one variant at a time, {} MiB in two passes, {} MiB side by side ({threads} thread{})",
        input.display(),
        sniff::format_name(i.shape.format),
        i.shape.width,
        i.shape.height,
        color,
        i.memory.one_at_a_time.div_ceil(MIB),
        i.memory.two_passes.div_ceil(MIB),
        i.memory.side_by_side.div_ceil(MIB),
        if threads == 1 { "" } else { "s" },
    )
}

#[derive(Serialize)]
struct InspectionRecord<'a> {
    source: &'a Path,
    format: &'static str,
    width: u32,
    height: u32,
    color: &'a str,
    progressive: bool,
    memory_one_at_a_time_bytes: u64,
    memory_two_passes_bytes: u64,
    memory_side_by_side_bytes: u64,
    threads: usize,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_and_sizes() {
        assert_eq!(saved_percent(1000, 250), 75.0);
        assert_eq!(saved_percent(1000, 1500), -50.0);
        assert_eq!(saved_percent(0, 10), 0.0);
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(46_387), "45.3 KiB");
        assert_eq!(human_bytes(2_516_582), "2.40 MiB");
    }
}
