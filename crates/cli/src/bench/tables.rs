//! The bench report: per-image and total tables, and the targets.

use super::{BenchArgs, ImageResult};
use imgflow_engine::VARIANT_TABLE;
use std::fmt::Write as _;

fn secs(ms: f64) -> String {
    format!("{:.2}", ms / 1000.0)
}

fn mib(kb: u64) -> String {
    format!("{:.0}", kb as f64 / 1024.0)
}

fn ratio(theirs: f64, ours: f64) -> String {
    if ours > 0.0 {
        format!("{:.1}x", theirs / ours)
    } else {
        "-".into()
    }
}

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map(f).unwrap_or_else(|| "-".into())
}

pub fn render(results: &[ImageResult], args: &BenchArgs, cores: usize) -> String {
    let mut o = String::new();
    let compare = results.iter().any(|r| r.pillow.is_some());
    let names: Vec<&str> = VARIANT_TABLE
        .iter()
        .map(|s| s.name)
        .filter(|n| results.iter().any(|r| r.single.bytes.contains_key(*n)))
        .collect();
    let _ = writeln!(
        o,
        "\nimgflow bench: {} image{}, median of {} run(s) after {} warm-up, one process per image, {} cores\n",
        results.len(),
        if results.len() == 1 { "" } else { "s" },
        args.reps.max(1),
        args.warmup,
        cores
    );

    // Wall time.
    let _ = write!(
        o,
        "{:<22} {:>6} {:>9} {:>9}",
        "wall time (s)",
        "MP",
        "1 thread",
        format!("{cores} thr")
    );
    if compare {
        let _ = write!(
            o,
            " {:>9} {:>9} {:>10} {:>10}",
            "Pillow", "sharp", "Pillow/1t", "sharp/1t"
        );
    }
    let _ = writeln!(o);
    let mut total = [0.0f64; 4];
    // sharp has no HEVC decoder (its libvips reads HEIF only for AVIF):
    // no sharp run on a HEIC, and no sharp total unless every image has one.
    let all_sharp = results.iter().all(|r| r.sharp.is_some());
    for r in results {
        let multi = r.multi.as_ref().map(|m| m.median_ms);
        let _ = write!(
            o,
            "{:<22} {:>6.2} {:>9} {:>9}",
            r.file,
            r.megapixels,
            secs(r.single.median_ms),
            opt(multi, secs)
        );
        total[0] += r.single.median_ms;
        total[1] += multi.unwrap_or(0.0);
        if compare {
            let p = r.pillow.as_ref().map_or(0.0, |p| p.median_ms);
            let s = r.sharp.as_ref().map(|s| s.median_ms);
            total[2] += p;
            total[3] += s.unwrap_or(0.0);
            let _ = write!(
                o,
                " {:>9} {:>9} {:>10} {:>10}",
                secs(p),
                opt(s, secs),
                ratio(p, r.single.median_ms),
                opt(s, |s| ratio(s, r.single.median_ms))
            );
        }
        let _ = writeln!(o);
    }
    let mp: f64 = results.iter().map(|r| r.megapixels).sum();
    let _ = write!(
        o,
        "{:<22} {:>6.2} {:>9} {:>9}",
        "TOTAL",
        mp,
        secs(total[0]),
        secs(total[1])
    );
    if compare {
        let sharp_total = all_sharp.then_some(total[3]);
        let _ = write!(
            o,
            " {:>9} {:>9} {:>10} {:>10}",
            secs(total[2]),
            opt(sharp_total, secs),
            ratio(total[2], total[0]),
            opt(sharp_total, |s| ratio(s, total[0]))
        );
    }
    let _ = writeln!(o, "\n");

    // imgflow per-variant encode time and memory.
    let _ = write!(o, "{:<22} {:>8}", "imgflow 1 thread (ms)", "decode");
    for n in &names {
        let _ = write!(o, " {:>10}", n);
    }
    let _ = write!(o, " {:>8} {:>8}", "RSS 1t", format!("RSS {cores}t"));
    if compare {
        let _ = write!(o, " {:>8} {:>8}", "Pillow", "sharp");
    }
    let _ = writeln!(o, "   (RSS: peak MiB)");
    for r in results {
        let _ = write!(o, "{:<22} {:>8.0}", r.file, r.single.decode_ms);
        for n in &names {
            let _ = write!(
                o,
                " {:>10}",
                opt(r.single.encode_ms.get(*n), |v| format!("{v:.0}"))
            );
        }
        let _ = write!(
            o,
            " {:>8} {:>8}",
            mib(r.single.maxrss_kb),
            opt(r.multi.as_ref(), |m| mib(m.maxrss_kb))
        );
        if compare {
            let _ = write!(
                o,
                " {:>8} {:>8}",
                opt(r.pillow.as_ref(), |p| mib(p.maxrss_kb)),
                opt(r.sharp.as_ref(), |s| mib(s.maxrss_kb))
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o);

    // Output bytes per image.
    let _ = write!(o, "{:<22} {:>11}", "imgflow output bytes", "source");
    for n in &names {
        let _ = write!(o, " {:>11}", n);
    }
    let _ = writeln!(o, " {:>9}", "PNG exact");
    for r in results {
        let _ = write!(o, "{:<22} {:>11}", r.file, r.single.source_bytes);
        for n in &names {
            let _ = write!(o, " {:>11}", opt(r.single.bytes.get(*n), |b| b.to_string()));
        }
        let _ = writeln!(
            o,
            " {:>9}",
            opt(r.png_lossless, |b| if b { "yes" } else { "NO" }.to_string())
        );
    }
    let _ = writeln!(o);

    // Per-variant totals across tools.
    let tools: Vec<&str> = if compare {
        vec!["imgflow", "Pillow", "sharp"]
    } else {
        vec!["imgflow"]
    };
    let _ = writeln!(
        o,
        "per variant, whole corpus: encode time (s, 1 thread) / output bytes / mean PSNR (dB)"
    );
    let _ = write!(o, "{:<11}", "variant");
    for t in &tools {
        let _ = write!(
            o,
            " {:>9} {:>12} {:>6}",
            format!("{t} s"),
            format!("{t} bytes"),
            "PSNR"
        );
    }
    let _ = writeln!(o);
    let mut rows: Vec<String> = vec!["decode".into()];
    rows.extend(names.iter().map(|n| n.to_string()));
    for n in &rows {
        let _ = write!(o, "{:<11}", n);
        for t in &tools {
            let (time, bytes) = variant_totals(results, t, n);
            let psnr = mean_psnr(results, t, n);
            let _ = write!(
                o,
                " {:>9} {:>12} {:>6}",
                opt(time, secs),
                opt(bytes, |b| b.to_string()),
                opt(psnr, |p| format!("{p:.2}"))
            );
        }
        let _ = writeln!(o);
    }
    if compare {
        let _ = writeln!(o, "\ntargets (single thread, whole corpus):");
        let _ = writeln!(
            o,
            "  time: imgflow {} s; Pillow/imgflow {} (target >= 5.0x); sharp/imgflow {} (target >= 2.0x)",
            secs(total[0]),
            ratio(total[2], total[0]),
            opt(all_sharp.then_some(total[3]), |s| ratio(s, total[0]))
        );
        for n in ["compressed", "low", "webp", "png"] {
            let ours = variant_totals(results, "imgflow", n).1.unwrap_or(0);
            let pil = variant_totals(results, "Pillow", n).1.unwrap_or(0);
            let pct = if pil > 0 {
                (ours as f64 / pil as f64 - 1.0) * 100.0
            } else {
                0.0
            };
            let target = if n == "png" {
                "<= +5%"
            } else {
                "<= 0%, PSNR not lower"
            };
            let psnr = match (
                mean_psnr(results, "imgflow", n),
                mean_psnr(results, "Pillow", n),
            ) {
                (Some(a), Some(b)) => format!(", PSNR {a:.2} vs {b:.2} dB"),
                _ => String::new(),
            };
            let _ = writeln!(
                o,
                "  {n} bytes vs Pillow: {pct:+.1}% (target {target}){psnr}"
            );
        }
        if let Some(big) = results
            .iter()
            .max_by(|a, b| a.megapixels.total_cmp(&b.megapixels))
        {
            let _ = writeln!(
                o,
                "  peak RSS on {} ({:.1} MP): imgflow {} MiB (1 thread), {} MiB ({cores} threads); Pillow {} MiB; sharp {} MiB",
                big.file,
                big.megapixels,
                mib(big.single.maxrss_kb),
                opt(big.multi.as_ref(), |m| mib(m.maxrss_kb)),
                opt(big.pillow.as_ref(), |p| mib(p.maxrss_kb)),
                opt(big.sharp.as_ref(), |s| mib(s.maxrss_kb)),
            );
        }
    }
    o
}

/// Total step time (ms) and output bytes of one variant for one tool.
pub fn variant_totals(
    results: &[ImageResult],
    tool: &str,
    variant: &str,
) -> (Option<f64>, Option<u64>) {
    let mut time = None::<f64>;
    let mut bytes = None::<u64>;
    for r in results {
        let (t, b) = match tool {
            "imgflow" => (
                if variant == "decode" {
                    Some(r.single.decode_ms)
                } else {
                    r.single.encode_ms.get(variant).copied()
                },
                r.single.bytes.get(variant).copied(),
            ),
            _ => {
                let run = if tool == "Pillow" {
                    r.pillow.as_ref()
                } else {
                    r.sharp.as_ref()
                };
                match run {
                    Some(run) => (run.step_ms(variant), run.variant_bytes(variant)),
                    None => (None, None),
                }
            }
        };
        if let Some(t) = t {
            time = Some(time.unwrap_or(0.0) + t);
        }
        if let Some(b) = b {
            bytes = Some(bytes.unwrap_or(0) + b);
        }
    }
    (time, bytes)
}

fn mean_psnr(results: &[ImageResult], tool: &str, variant: &str) -> Option<f64> {
    let values: Vec<f64> = results
        .iter()
        .filter_map(|r| r.psnr.get(tool).and_then(|m| m.get(variant)).copied())
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}
