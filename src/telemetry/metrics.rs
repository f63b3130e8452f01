//! Outcomes → EMF records: one per variant of a processed image (dimension
//! `Variant`), one per image, and `ColdStart` once per cold start.

use super::catalog::{self, *};
use super::emf::{EmfError, MetricSet};
use crate::outcome::Outcome;

/// Namespace and `service` dimension (`config::FunctionConfig` reads them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    pub namespace: String,
    pub service: String,
}

impl MetricsConfig {
    fn set(&self) -> MetricSet {
        MetricSet::new(&self.namespace, &self.service)
    }
}

fn add(set: &mut MetricSet, name: &str, value: f64) -> Result<(), EmfError> {
    let def = catalog::metric(name).expect("every emitted metric is in the catalog");
    set.add_metric(def.name, def.unit, value)
}

/// Prints EMF records on stdout, each as one line, under one lock so that
/// they never interleave with log lines.
pub fn emit(records: &[String]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in records {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// The EMF records (JSON lines) for one record's outcome.
pub fn records_for(outcome: &Outcome, config: &MetricsConfig) -> Result<Vec<String>, EmfError> {
    let mut records = Vec::new();
    let mut image = config.set();
    image.add_property("key", outcome.key());
    image.add_property("outcome", outcome.label());
    match outcome {
        Outcome::Processed {
            id,
            source_bytes,
            decode_ms,
            processing_ms,
            variants,
            ..
        } => {
            for v in variants {
                let mut set = config.set();
                set.add_dimension(VARIANT_DIMENSION, v.name)?;
                set.add_property("key", outcome.key());
                set.add_property("id", id.as_str());
                add(&mut set, BYTES_SAVED, v.bytes_saved as f64)?;
                add(&mut set, ENCODE_TIME, v.encode_ms)?;
                add(&mut set, OUTPUT_BYTES, v.bytes as f64)?;
                records.extend(set.take_records());
            }
            image.add_property("id", id.as_str());
            add(&mut image, IMAGES_PROCESSED, 1.0)?;
            add(&mut image, PROCESSING_TIME, *processing_ms)?;
            add(&mut image, DECODE_TIME, *decode_ms)?;
            add(&mut image, SOURCE_BYTES, *source_bytes as f64)?;
        }
        Outcome::Rejected { reason, .. } => {
            image.add_property("reason", reason.code());
            add(&mut image, IMAGES_REJECTED, 1.0)?;
        }
        Outcome::Failed { reason, .. } => {
            image.add_property("reason", reason.code());
            add(&mut image, IMAGES_FAILED, 1.0)?;
        }
        Outcome::Removed { .. } => add(&mut image, UPLOADS_REMOVED, 1.0)?,
        Outcome::Unchanged { .. } | Outcome::Skipped { .. } => {}
    }
    if outcome.manifest_written() {
        add(&mut image, MANIFESTS_WRITTEN, 1.0)?;
    }
    if !outcome.deleted().is_empty() {
        add(&mut image, VARIANTS_DELETED, outcome.deleted().len() as f64)?;
    }
    records.extend(image.take_records());
    Ok(records)
}

/// `ColdStart` = 1 with the `function_name` dimension, as Powertools does.
pub fn cold_start_record(config: &MetricsConfig, function_name: &str) -> Result<String, EmfError> {
    let mut set = config.set();
    if !function_name.is_empty() {
        set.add_dimension("function_name", function_name)?;
    }
    add(&mut set, COLD_START, 1.0)?;
    Ok(set.take_records().remove(0))
}

/// The invocation's peak memory (`MemoryPeak`, MB) and, when the memory
/// size is known, its share of it (`MemoryUtilization`, %).
pub fn memory_record(
    config: &MetricsConfig,
    peak_bytes: u64,
    memory_size_mb: Option<u64>,
) -> Result<String, EmfError> {
    const MB: f64 = 1024.0 * 1024.0;
    let mut set = config.set();
    let peak_mb = peak_bytes as f64 / MB;
    add(&mut set, MEMORY_PEAK, (peak_mb * 10.0).round() / 10.0)?;
    if let Some(size) = memory_size_mb.filter(|&s| s > 0) {
        let percent = peak_mb / size as f64 * 100.0;
        add(
            &mut set,
            MEMORY_UTILIZATION,
            (percent * 10.0).round() / 10.0,
        )?;
    }
    Ok(set.take_records().remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::WrittenVariant;
    use imgflow_engine::Reason;
    use serde_json::Value;

    fn config() -> MetricsConfig {
        MetricsConfig {
            namespace: "ImageProcessor".into(),
            service: "imgflow".into(),
        }
    }

    fn parse(r: &str) -> Value {
        serde_json::from_str(r).unwrap()
    }

    #[test]
    fn a_processed_image_gives_one_record_per_variant_and_one_per_image() {
        let variant = |name: &'static str, bytes: usize| WrittenVariant {
            content_type: "image/png",
            name,
            key: format!("k_{name}"),
            bytes,
            bytes_saved: 1000 - bytes as i64,
            width: 10,
            height: 10,
            quality: None,
            encode_ms: 2.5,
        };
        let outcome = Outcome::Processed {
            key: "a/b.png".into(),
            id: "0011aabb".into(),
            source_bytes: 1000,
            decode_ms: 4.0,
            engine_ms: 12.0,
            processing_ms: 20.0,
            variants: vec![variant("compressed", 300), variant("png", 1500)],
            replaced: vec!["a/b_png_99999999.png".into()],
        };
        let records = records_for(&outcome, &config()).unwrap();
        assert_eq!(records.len(), 3);
        let png = parse(&records[1]);
        assert_eq!(png["Variant"], "png");
        assert_eq!(
            png["BytesSaved"], -500.0,
            "a larger variant saves a negative amount"
        );
        assert_eq!(
            png["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["service", "Variant"])
        );
        let image = parse(&records[2]);
        assert_eq!(image["ImagesProcessed"], 1.0);
        assert_eq!(image["SourceBytes"], 1000.0);
        assert_eq!(image["outcome"], "processed");
        assert_eq!(image["ManifestsWritten"], 1.0);
        assert_eq!(image["VariantsDeleted"], 1.0);
        assert_eq!(
            image["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["service"])
        );
    }

    #[test]
    fn lifecycle_counts() {
        let removed = Outcome::Removed {
            key: "a.png".into(),
            manifest_deleted: true,
            deleted: vec!["a_x_1.jpg".into(), "a_y_1.png".into()],
        };
        let r = parse(&records_for(&removed, &config()).unwrap()[0]);
        assert_eq!(r["UploadsRemoved"], 1.0);
        assert_eq!(r["VariantsDeleted"], 2.0);
        assert!(r.get("ManifestsWritten").is_none());
        let unchanged = |manifest_written| Outcome::Unchanged {
            key: "a.png".into(),
            id: "00000000".into(),
            manifest_written,
            deleted: vec![],
        };
        let r = records_for(&unchanged(true), &config()).unwrap();
        assert_eq!(parse(&r[0])["ManifestsWritten"], 1.0);
        assert!(records_for(&unchanged(false), &config())
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rejections_failures_and_skips() {
        let r = records_for(
            &Outcome::stopped("x.txt", Reason::NotAnImage, "…"),
            &config(),
        )
        .unwrap();
        assert_eq!(parse(&r[0])["ImagesRejected"], 1.0);
        assert_eq!(parse(&r[0])["reason"], "not_an_image");
        let f = records_for(
            &Outcome::stopped("x", Reason::StoreFailed, "timeout"),
            &config(),
        )
        .unwrap();
        assert_eq!(parse(&f[0])["ImagesFailed"], 1.0);
        assert_eq!(parse(&f[0])["reason"], "store_failed");
        let s = records_for(&Outcome::stopped("x", Reason::OwnOutput, "ours"), &config()).unwrap();
        assert!(s.is_empty(), "skips are logged, not counted");
    }

    #[test]
    fn cold_start() {
        let r = parse(&cold_start_record(&config(), "imgflow-fn").unwrap());
        assert_eq!(r["ColdStart"], 1.0);
        assert_eq!(r["function_name"], "imgflow-fn");
        assert_eq!(
            r["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Count"
        );
    }

    #[test]
    fn memory_against_the_memory_size() {
        let r = parse(&memory_record(&config(), 1536 * 1024 * 1024, Some(2048)).unwrap());
        assert_eq!(r["MemoryPeak"], 1536.0);
        assert_eq!(r["MemoryUtilization"], 75.0);
        assert_eq!(
            r["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
            serde_json::json!(["service"])
        );
        let r = parse(&memory_record(&config(), 10 * 1024 * 1024, None).unwrap());
        assert_eq!(r["MemoryPeak"], 10.0);
        assert!(
            r.get("MemoryUtilization").is_none(),
            "no memory size, no share"
        );
    }

    #[test]
    fn every_catalog_entry_has_a_valid_unit_and_name() {
        for m in METRICS {
            assert!(!m.name.is_empty() && m.name.len() <= 255);
            assert_eq!(
                super::super::emf::Unit::parse(m.unit.as_str()),
                Some(m.unit)
            );
        }
    }
}
