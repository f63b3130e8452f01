//! S3 event notifications as the function receives them: JSON → `S3Event`
//! → each record's change (created or removed, its key decoded, its
//! sequencer parsed) or the reason it is skipped.
#![no_main]

use imgflow_lambda::event::{change_of, decode_key, Change, S3Event};
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
        if let Ok(change) = change_of(record, PROCESSED) {
            let object = change.object();
            assert_eq!(Ok(&object.key), decoded.as_ref());
            assert!(!object.key.is_empty() && !object.key.ends_with('/'));
            assert!(!object.bucket.is_empty() && object.bucket != PROCESSED);
            if let Change::Created(object) = &change {
                assert_ne!(object.size, Some(0));
            }
            if let Some(sequencer) = &object.sequencer {
                // Equal to itself with leading zeros, whatever its digits.
                let padded = format!("00{sequencer}");
                assert_eq!(
                    imgflow_lambda::event::Sequencer::parse(&padded).as_ref(),
                    Some(sequencer)
                );
            }
        }
    }
});
