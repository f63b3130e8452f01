//! The imgflow Lambda function: an S3 event names uploads; each is fetched,
//! run through the engine (`imgflow_engine`) and its variants written to the
//! processed bucket, all or none, with metrics, logs and traces.
//!
//! [`config`] reads every variable once; [`event`] turns S3 notifications
//! into changes (created, removed); [`handler`] applies the failure model
//! and keeps each upload's [`manifest`]; [`store`] is S3; [`outcome`] is
//! what happened to a record; [`telemetry`] reports it.
//! The `bootstrap` binary (src/bin/bootstrap.rs) puts them together.

pub mod config;
pub mod event;
pub mod handler;
pub mod manifest;
pub mod outcome;
pub mod store;
pub mod telemetry;
