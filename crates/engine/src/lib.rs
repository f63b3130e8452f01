//! The image engine: pure and synchronous, no I/O, no environment. Bytes and
//! [`Settings`] in; the enabled variants' bytes and timings out. It knows
//! nothing of S3, files or variables: the function and the CLI decide where
//! bytes and settings come from.
//!
//! The path of one image: [`sniff`] → limits from the header → [`decode`]
//! (orientation, ICC) → one encoder per variant of the [`variant`] table
//! ([`codecs`], [`resize`] for thumbnails), each converting the source's
//! [`rows`] or [`pixels`] as it needs them, in the order a [`Schedule`]
//! gives.

mod alpha;
pub mod codecs;
pub mod decode;
pub mod error;
pub mod memory;
pub mod naming;
pub mod pixels;
pub mod reason;
pub mod resize;
pub mod rows;
mod schedule;
pub mod settings;
pub mod sniff;
pub mod structure;
pub mod variant;

pub use decode::SourceImage;
pub use error::{EngineError, RejectReason};
pub use reason::{Reason, Verdict};
pub use schedule::{process, process_with, Schedule};
pub use settings::{Limits, Settings, VariantSettings};
use std::sync::Arc;
use std::time::Instant;
pub use variant::{Codec, VariantSpec, VARIANT_TABLE};

/// What was read, for reports and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceInfo {
    /// `JPEG`, `PNG`, …
    pub format: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
    /// First 8 hex characters of the SHA-256 of the source bytes.
    pub id: String,
    pub has_icc: bool,
}

/// One encoded variant.
#[derive(Debug, Clone)]
pub struct ProcessedVariant {
    pub spec: &'static VariantSpec,
    pub width: u32,
    pub height: u32,
    pub quality: Option<u8>,
    pub bytes: Vec<u8>,
    /// Encode time, including the thumbnail's resize.
    pub encode_ms: f64,
}

impl ProcessedVariant {
    fn new(
        v: &VariantSettings,
        (width, height): (u32, u32),
        bytes: Vec<u8>,
        started: Instant,
    ) -> Self {
        Self {
            spec: v.spec,
            width,
            height,
            quality: v.quality,
            bytes,
            encode_ms: ms_since(started),
        }
    }

    /// Source bytes minus variant bytes: negative when the variant is larger.
    pub fn bytes_saved(&self, source_bytes: usize) -> i64 {
        source_bytes as i64 - self.bytes.len() as i64
    }
}

/// Every enabled variant of one source, in table order.
#[derive(Debug, Clone)]
pub struct ProcessedImage {
    pub source: SourceInfo,
    /// Sniff, header checks, decode and orientation.
    pub decode_ms: f64,
    pub variants: Vec<ProcessedVariant>,
}

/// An image looked at before it is decoded: what it is, and the memory it
/// will need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspection {
    pub shape: memory::Shape,
    pub memory: memory::Estimate,
    /// The threads the side-by-side estimate is for.
    pub threads: usize,
}

/// Reads the header of `bytes` and checks it as [`process`] would (size,
/// format, limits, completeness), without allocating a pixel; estimates
/// the memory processing it takes, with up to `threads` variants side by
/// side.
pub fn inspect(
    bytes: &[u8],
    settings: &Settings,
    threads: usize,
) -> Result<Inspection, EngineError> {
    let shape = decode::inspect(bytes, &settings.limits, &settings.variants)?;
    let memory = memory::estimate(&shape, bytes.len() as u64, &settings.variants, threads);
    Ok(Inspection {
        shape,
        memory,
        threads,
    })
}

impl Inspection {
    /// Admits the image against `budget`: side by side when there are
    /// threads for it and that fits now, else the [leanest](Self::leanest)
    /// schedule, waiting for room until `deadline`.
    pub fn admit(
        &self,
        budget: &Arc<memory::Budget>,
        deadline: Option<Instant>,
    ) -> Result<(memory::Admission, Schedule), memory::NotAdmitted> {
        self.admit_from(budget.nothing(), deadline)
    }

    /// [`admit`](Self::admit), growing what is `held` already for the image
    /// (its input's bytes, reserved before it was read; the estimates
    /// count the input). On an error `held` is given back.
    pub fn admit_from(
        &self,
        mut held: memory::Admission,
        deadline: Option<Instant>,
    ) -> Result<(memory::Admission, Schedule), memory::NotAdmitted> {
        if self.threads > 1 && held.try_grow_to(self.memory.side_by_side) {
            return Ok((held, Schedule::SideBySide));
        }
        let (bytes, schedule) = self.leanest();
        held.grow_to(bytes, deadline)?;
        Ok((held, schedule))
    }

    /// The schedule with the smaller peak, and its estimate: one variant at
    /// a time, or two passes when they need at least
    /// [`memory::TWO_PASSES_MIN_SAVING`] less (large images with alpha: an
    /// extra decode, a few percent of the time, for hundreds of MiB). Below
    /// that saving the two-pass estimate is not trusted (glibc's heap keeps
    /// what the first pass freed), so an image that fits only by it is
    /// refused rather than risked.
    pub fn leanest(&self) -> (u64, Schedule) {
        let m = &self.memory;
        // Estimates saturate at u64::MAX for absurd headers: no overflow here.
        if m.two_passes.saturating_add(memory::TWO_PASSES_MIN_SAVING) < m.one_at_a_time {
            (m.two_passes, Schedule::TwoPasses)
        } else {
            (m.one_at_a_time, Schedule::OneAtATime)
        }
    }

    /// The refusal when the image can never fit `budget`; `remedy` says, in
    /// the caller's terms, what would make `needed_mib` available.
    pub fn too_large(
        &self,
        budget: &memory::Budget,
        remedy: impl FnOnce(u64) -> String,
    ) -> RejectReason {
        const MIB: u64 = 1024 * 1024;
        let (bytes, _) = self.leanest();
        let needed_mib = bytes.div_ceil(MIB);
        RejectReason::TooLargeForMemory {
            width: self.shape.width,
            height: self.shape.height,
            needed_mib,
            budget_mib: budget.total() / MIB,
            remedy: remedy(needed_mib),
        }
    }
}

pub(crate) fn ms_since(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_at_their_ceiling_pick_a_schedule_without_overflow() {
        let inspection = Inspection {
            shape: memory::Shape {
                format: sniff::Format::Png,
                width: 1,
                height: 1,
                color: image::ColorType::Rgba16,
                progressive: None,
                turned: false,
                heic: None,
                opaque: false,
                input_copied: false,
                icc: memory::IccShape::default(),
                exif: 0,
                held: 0,
            },
            memory: memory::Estimate {
                one_at_a_time: u64::MAX,
                two_passes: u64::MAX,
                side_by_side: u64::MAX,
            },
            threads: 1,
        };
        assert_eq!(inspection.leanest(), (u64::MAX, Schedule::OneAtATime));
    }
}
