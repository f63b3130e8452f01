//! Observability: EMF metrics, log levels, X-Ray traces.

pub mod catalog;
pub mod emf;
pub mod level;
pub mod logging;
pub mod metrics;
pub mod xray;
