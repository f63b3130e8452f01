//! imgflow: five optimised variants of every uploaded image.
//!
//! [`engine`] is pure image work, [`naming`] maps sources to output names,
//! [`config`] reads and validates settings, [`store`] writes results.

pub mod batch;
pub mod bench;
pub mod config;
pub mod engine;
pub mod event;
pub mod handler;
pub mod local_lambda;
pub mod naming;
pub mod report;
pub mod reprocess;
pub mod store;
pub mod telemetry;
