//! What the handler's integration tests share (a module of each test
//! crate, not a test of its own).

use imgflow_engine::memory::Budget;
use imgflow_engine::Settings;
use imgflow_lambda::handler::HandlerSettings;
use std::sync::Arc;
use std::time::Duration;

/// The handler as deployed by default, with memory to spare.
pub fn settings() -> HandlerSettings {
    HandlerSettings {
        processed_bucket: "processed".into(),
        cache_control: "public, max-age=31536000, immutable".into(),
        kms_key_arn: None,
        engine: Arc::new(Settings::default()),
        record_concurrency: 4,
        deadline_margin: Duration::from_millis(500),
        memory: Budget::new(u64::MAX),
        admission: Default::default(),
    }
}
