//! S3 event notifications as the function receives them: JSON → `S3Event`
//! → each record's object (its key decoded) or the reason it is skipped.
#![no_main]

use imgflow_lambda::event::{decode_key, source_of, S3Event};
use libfuzzer_sys::fuzz_target;

const PROCESSED: &str = "processed";

fuzz_target!(|bytes: &[u8]| {
    let Ok(event) = serde_json::from_slice::<S3Event>(bytes) else {
        return;
    };
    for record in &event.records {
        let raw = record.s3.object.key.as_deref().unwrap_or_default();
        let decoded = decode_key(raw);
        if !raw.contains(['%', '+']) {
            assert_eq!(decoded.as_deref(), Ok(raw), "nothing to decode");
        }
        if let Ok(object) = source_of(record, PROCESSED) {
            assert_eq!(Ok(&object.key), decoded.as_ref());
            assert!(!object.key.is_empty() && !object.key.ends_with('/'));
            assert!(!object.bucket.is_empty() && object.bucket != PROCESSED);
            assert_ne!(object.size, Some(0));
        }
    }
});
