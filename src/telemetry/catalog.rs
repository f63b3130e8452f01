//! Every metric the function emits: one list that the code, the dashboard
//! and the alarms are checked against (docs/design.md, "Observability").

use super::emf::Unit;

/// Which record a metric belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One value per variant per image, dimension `Variant`.
    Variant,
    /// One value per image (or per rejected/failed record).
    Image,
    /// Once per cold start, dimension `function_name`.
    ColdStart,
    /// Once per invocation.
    Invocation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub name: &'static str,
    pub unit: Unit,
    pub scope: Scope,
    pub help: &'static str,
}

pub const BYTES_SAVED: &str = "BytesSaved";
pub const ENCODE_TIME: &str = "EncodeTime";
pub const OUTPUT_BYTES: &str = "OutputBytes";
pub const IMAGES_PROCESSED: &str = "ImagesProcessed";
pub const IMAGES_REJECTED: &str = "ImagesRejected";
pub const IMAGES_FAILED: &str = "ImagesFailed";
pub const PROCESSING_TIME: &str = "ProcessingTime";
pub const DECODE_TIME: &str = "DecodeTime";
pub const SOURCE_BYTES: &str = "SourceBytes";
pub const MANIFESTS_WRITTEN: &str = "ManifestsWritten";
pub const VARIANTS_DELETED: &str = "VariantsDeleted";
pub const UPLOADS_REMOVED: &str = "UploadsRemoved";
pub const COLD_START: &str = "ColdStart";
pub const MEMORY_PEAK: &str = "MemoryPeak";
pub const MEMORY_UTILIZATION: &str = "MemoryUtilization";

pub const VARIANT_DIMENSION: &str = "Variant";

pub const METRICS: &[MetricDef] = &[
    MetricDef {
        name: BYTES_SAVED,
        unit: Unit::Bytes,
        scope: Scope::Variant,
        help: "source bytes minus variant bytes; negative when the variant is larger",
    },
    MetricDef {
        name: ENCODE_TIME,
        unit: Unit::Milliseconds,
        scope: Scope::Variant,
        help: "time to encode the variant (thumbnail: resize included)",
    },
    MetricDef {
        name: OUTPUT_BYTES,
        unit: Unit::Bytes,
        scope: Scope::Variant,
        help: "size of the variant",
    },
    MetricDef {
        name: IMAGES_PROCESSED,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "images whose variants all landed",
    },
    MetricDef {
        name: IMAGES_REJECTED,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "permanent problems: not an image, corrupt, over a limit, …",
    },
    MetricDef {
        name: IMAGES_FAILED,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "transient problems that fail the invocation for a retry",
    },
    MetricDef {
        name: PROCESSING_TIME,
        unit: Unit::Milliseconds,
        scope: Scope::Image,
        help: "one record, from download to the last upload",
    },
    MetricDef {
        name: DECODE_TIME,
        unit: Unit::Milliseconds,
        scope: Scope::Image,
        help: "sniff, decode and orientation",
    },
    MetricDef {
        name: SOURCE_BYTES,
        unit: Unit::Bytes,
        scope: Scope::Image,
        help: "size of the upload",
    },
    MetricDef {
        name: MANIFESTS_WRITTEN,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "manifests written: a new upload, or a newer event for the same bytes",
    },
    MetricDef {
        name: VARIANTS_DELETED,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "variants deleted: replaced by an overwrite, or their upload was deleted",
    },
    MetricDef {
        name: UPLOADS_REMOVED,
        unit: Unit::Count,
        scope: Scope::Image,
        help: "deleted uploads whose manifest and variants were removed",
    },
    MetricDef {
        name: COLD_START,
        unit: Unit::Count,
        scope: Scope::ColdStart,
        help: "1 on the first invocation of an execution environment",
    },
    MetricDef {
        name: MEMORY_PEAK,
        unit: Unit::Megabytes,
        scope: Scope::Invocation,
        help: "the process's peak resident memory during the invocation",
    },
    MetricDef {
        name: MEMORY_UTILIZATION,
        unit: Unit::Percent,
        scope: Scope::Invocation,
        help: "MemoryPeak against the function's memory size (Lambda stops the sandbox at 100)",
    },
];

pub fn metric(name: &str) -> Option<&'static MetricDef> {
    METRICS.iter().find(|m| m.name == name)
}
