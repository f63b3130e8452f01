//! CloudWatch Embedded Metric Format records, with the rules Powertools for
//! AWS Lambda enforces: at most 100 metrics per record and 100 values per
//! metric (the set flushes itself when full), at most 29 dimensions besides
//! `service`, names of 1–255 characters, CloudWatch's units only, finite
//! values, and one unit per metric name.

use serde_json::{json, Map, Value};
use std::fmt;

pub const MAX_METRICS_PER_RECORD: usize = 100;
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// User dimensions; `service` comes on top (CloudWatch allows 30 in all).
pub const MAX_DIMENSIONS: usize = 29;
pub const MAX_NAME_LEN: usize = 255;

/// CloudWatch metric units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    pub const ALL: [Unit; 27] = [
        Unit::Seconds,
        Unit::Microseconds,
        Unit::Milliseconds,
        Unit::Bytes,
        Unit::Kilobytes,
        Unit::Megabytes,
        Unit::Gigabytes,
        Unit::Terabytes,
        Unit::Bits,
        Unit::Kilobits,
        Unit::Megabits,
        Unit::Gigabits,
        Unit::Terabits,
        Unit::Percent,
        Unit::Count,
        Unit::BytesPerSecond,
        Unit::KilobytesPerSecond,
        Unit::MegabytesPerSecond,
        Unit::GigabytesPerSecond,
        Unit::TerabytesPerSecond,
        Unit::BitsPerSecond,
        Unit::KilobitsPerSecond,
        Unit::MegabitsPerSecond,
        Unit::GigabitsPerSecond,
        Unit::TerabitsPerSecond,
        Unit::CountPerSecond,
        Unit::None,
    ];

    /// The spelling CloudWatch expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }

    /// Parses CloudWatch's spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == s)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric or dimension that breaks an EMF rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EmfError {
    #[error("metric name must be 1 to {MAX_NAME_LEN} characters, got {0} characters")]
    NameLength(usize),
    #[error("metric {name} has a non-finite value ({value})")]
    NotFinite { name: String, value: f64 },
    #[error("metric {name} was recorded as {first} and then as {second}; one unit per name")]
    UnitConflict {
        name: String,
        first: Unit,
        second: Unit,
    },
    #[error("at most {MAX_DIMENSIONS} dimensions besides service; {0} would be one too many")]
    TooManyDimensions(String),
    #[error("dimension name and value must be non-empty, 1 to {MAX_NAME_LEN} characters")]
    BadDimension,
}

/// Metrics sharing one namespace and one set of dimensions. Records are
/// produced by [`MetricSet::flush`], or automatically when a limit is reached;
/// take them with [`MetricSet::take_records`].
#[derive(Debug, Clone)]
pub struct MetricSet {
    namespace: String,
    /// `service` first, then user dimensions in insertion order.
    dimensions: Vec<(String, String)>,
    metrics: Vec<(String, Unit, Vec<f64>)>,
    /// Extra top-level fields (searchable in Logs Insights, not metrics).
    properties: Map<String, Value>,
    records: Vec<String>,
    timestamp_ms: fn() -> u64,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().count() <= MAX_NAME_LEN
}

impl MetricSet {
    pub fn new(namespace: &str, service: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            dimensions: vec![("service".to_owned(), service.to_owned())],
            metrics: Vec::new(),
            properties: Map::new(),
            records: Vec::new(),
            timestamp_ms: now_ms,
        }
    }

    /// Uses a fixed clock (tests).
    pub fn with_clock(mut self, clock: fn() -> u64) -> Self {
        self.timestamp_ms = clock;
        self
    }

    pub fn add_dimension(&mut self, name: &str, value: &str) -> Result<(), EmfError> {
        if !valid_name(name) || !valid_name(value) {
            return Err(EmfError::BadDimension);
        }
        if let Some(slot) = self.dimensions.iter_mut().find(|(n, _)| n == name) {
            slot.1 = value.to_owned();
            return Ok(());
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            return Err(EmfError::TooManyDimensions(name.to_owned()));
        }
        self.dimensions.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    pub fn add_property(&mut self, name: &str, value: impl Into<Value>) {
        self.properties.insert(name.to_owned(), value.into());
    }

    /// Adds one value. Flushes first when the metric already holds 100
    /// values or the record already holds 100 metrics.
    pub fn add_metric(&mut self, name: &str, unit: Unit, value: f64) -> Result<(), EmfError> {
        if !valid_name(name) {
            return Err(EmfError::NameLength(name.chars().count()));
        }
        if !value.is_finite() {
            return Err(EmfError::NotFinite {
                name: name.to_owned(),
                value,
            });
        }
        let existing = self.metrics.iter().position(|(n, _, _)| n == name);
        if let Some(i) = existing {
            let first = self.metrics[i].1;
            if first != unit {
                return Err(EmfError::UnitConflict {
                    name: name.to_owned(),
                    first,
                    second: unit,
                });
            }
            if self.metrics[i].2.len() >= MAX_VALUES_PER_METRIC {
                self.flush();
            }
        } else if self.metrics.len() >= MAX_METRICS_PER_RECORD {
            self.flush();
        }
        match self.metrics.iter_mut().find(|(n, _, _)| n == name) {
            Some(m) => m.2.push(value),
            None => self.metrics.push((name.to_owned(), unit, vec![value])),
        }
        Ok(())
    }

    /// Serialises the pending metrics into one record (nothing when empty).
    pub fn flush(&mut self) {
        if self.metrics.is_empty() {
            return;
        }
        let mut root = self.properties.clone();
        for (name, value) in &self.dimensions {
            root.insert(name.clone(), Value::String(value.clone()));
        }
        let mut definitions = Vec::with_capacity(self.metrics.len());
        for (name, unit, values) in self.metrics.drain(..) {
            definitions.push(json!({"Name": name, "Unit": unit.as_str()}));
            let v = match values.as_slice() {
                [one] => json!(one),
                many => json!(many),
            };
            root.insert(name, v);
        }
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": (self.timestamp_ms)(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }]
            }),
        );
        self.records.push(Value::Object(root).to_string());
    }

    /// Flushes, then returns every record made so far.
    pub fn take_records(&mut self) -> Vec<String> {
        self.flush();
        std::mem::take(&mut self.records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> MetricSet {
        MetricSet::new("ImageProcessor", "imgflow").with_clock(|| 1_700_000_000_000)
    }

    fn parse(record: &str) -> Value {
        serde_json::from_str(record).unwrap()
    }

    #[test]
    fn a_record_has_the_emf_shape() {
        let mut m = set();
        m.add_dimension("Variant", "webp").unwrap();
        m.add_metric("BytesSaved", Unit::Bytes, -12.0).unwrap();
        m.add_metric("EncodeTime", Unit::Milliseconds, 3.5).unwrap();
        m.add_property("key", "a/b.jpg");
        let records = m.take_records();
        assert_eq!(records.len(), 1);
        let r = parse(&records[0]);
        assert_eq!(r["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let cw = &r["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "ImageProcessor");
        assert_eq!(cw["Dimensions"], json!([["service", "Variant"]]));
        assert_eq!(
            cw["Metrics"][0],
            json!({"Name": "BytesSaved", "Unit": "Bytes"})
        );
        assert_eq!(r["service"], "imgflow");
        assert_eq!(r["Variant"], "webp");
        assert_eq!(r["BytesSaved"], -12.0);
        assert_eq!(r["key"], "a/b.jpg");
        assert!(!records[0].contains('\n'), "one line per record");
    }

    #[test]
    fn more_than_100_values_flush() {
        let mut m = set();
        for i in 0..250 {
            m.add_metric("EncodeTime", Unit::Milliseconds, f64::from(i))
                .unwrap();
        }
        let records = m.take_records();
        assert_eq!(records.len(), 3);
        let sizes: Vec<usize> = records
            .iter()
            .map(|r| parse(r)["EncodeTime"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[test]
    fn more_than_100_metrics_flush() {
        let mut m = set();
        for i in 0..101 {
            m.add_metric(&format!("M{i}"), Unit::Count, 1.0).unwrap();
        }
        let records = m.take_records();
        assert_eq!(records.len(), 2);
        assert_eq!(
            parse(&records[0])["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .len(),
            100
        );
        assert_eq!(parse(&records[1])["M100"], 1.0);
    }

    #[test]
    fn dimension_limit_is_29_plus_service() {
        let mut m = set();
        for i in 0..29 {
            m.add_dimension(&format!("D{i}"), "x").unwrap();
        }
        assert_eq!(
            m.add_dimension("D29", "x"),
            Err(EmfError::TooManyDimensions("D29".into()))
        );
        m.add_dimension("D0", "replaced").unwrap();
        assert_eq!(m.add_dimension("", "x"), Err(EmfError::BadDimension));
        assert_eq!(m.add_dimension("E", ""), Err(EmfError::BadDimension));
    }

    #[test]
    fn names_values_and_units_are_checked() {
        let mut m = set();
        assert_eq!(
            m.add_metric("", Unit::Count, 1.0),
            Err(EmfError::NameLength(0))
        );
        let long = "x".repeat(256);
        assert_eq!(
            m.add_metric(&long, Unit::Count, 1.0),
            Err(EmfError::NameLength(256))
        );
        assert!(m.add_metric(&"x".repeat(255), Unit::Count, 1.0).is_ok());
        assert!(matches!(
            m.add_metric("T", Unit::Milliseconds, f64::NAN),
            Err(EmfError::NotFinite { .. })
        ));
        assert!(matches!(
            m.add_metric("T", Unit::Milliseconds, f64::INFINITY),
            Err(EmfError::NotFinite { .. })
        ));
        m.add_metric("T", Unit::Milliseconds, 1.0).unwrap();
        assert!(matches!(
            m.add_metric("T", Unit::Seconds, 1.0),
            Err(EmfError::UnitConflict { .. })
        ));
    }

    #[test]
    fn units_round_trip() {
        for u in Unit::ALL {
            assert_eq!(Unit::parse(u.as_str()), Some(u));
        }
        assert_eq!(Unit::parse("Millisecond"), None);
        assert_eq!(Unit::BytesPerSecond.as_str(), "Bytes/Second");
    }

    #[test]
    fn empty_sets_write_nothing() {
        assert!(set().take_records().is_empty());
    }
}
