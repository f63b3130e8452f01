//! Test machinery for imgflow, a dev-dependency only: nothing here ships.
//!
//! - [`runtime_api`]: a Lambda Runtime API on loopback and the shipped
//!   `bootstrap` binary run under it;
//! - [`emulator`]: moto server as S3, and a client for it;
//! - [`events`]: S3 event notifications as S3 sends them;
//! - [`faults`]: errors injected into S3's answers, after S3 acted;
//! - [`fixtures`]: images of every kind the engine reads, made with real
//!   encoders, plus hand-made metadata (EXIF, ICC);
//! - [`heic`]: HEIC files made from a real photo by pillow-heif, with
//!   libheif's decode of each.

pub mod emulator;
pub mod events;
pub mod faults;
pub mod fixtures;
pub mod heic;
pub mod runtime_api;

pub use emulator::S3Emulator;
pub use events::{encode_event_key, s3_change, s3_event, s3_event_of};
pub use runtime_api::{
    cpu_ms, memory_kib, trace_header, Invocation, LocalFunction, Reported, RuntimeApi,
};
