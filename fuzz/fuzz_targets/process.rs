//! Every decoder through the engine's entry point: bytes → every variant,
//! one at a time. An input may be refused with a reason; it may not panic,
//! an encoder may not fail on pixels the decoder produced, and what is
//! decoded, the header check (`inspect`) admits with the same dimensions.
#![no_main]

use imgflow_engine::{EngineError, Schedule};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    // libfuzzer-sys aborts on any panic, even one the engine catches (it
    // keeps a decoder's assertion inside, as a corrupt file); an uncaught
    // panic still aborts, where it leaves the target.
    init: drop(std::panic::take_hook()),
    |bytes: &[u8]| {
    let settings = imgflow_fuzz::settings();
    match imgflow_engine::process_with(bytes, &settings, Schedule::OneAtATime) {
        Ok(image) => {
            let source = &image.source;
            assert!(u64::from(source.width) * u64::from(source.height) <= imgflow_fuzz::MAX_PIXELS);
            // The function inspects before it processes: the header must
            // admit what the decoder reads, with the same dimensions (the
            // memory estimate is made from them).
            let shape = match imgflow_engine::inspect(bytes, &settings, 1) {
                Ok(inspection) => inspection.shape,
                Err(e) => panic!("decoded, but the header was refused: {e}"),
            };
            let shown = if shape.turned {
                (shape.height, shape.width)
            } else {
                (shape.width, shape.height)
            };
            assert_eq!(shown, (source.width, source.height), "{shape:?}");
            assert_eq!(image.variants.len(), settings.variants.len());
            for v in &image.variants {
                assert!(!v.bytes.is_empty(), "{} variant is empty", v.spec.name);
            }
        }
        Err(EngineError::Rejected(_)) => {}
        Err(e @ EngineError::Encode { .. }) => panic!("decoded, then failed to encode: {e}"),
    }
}
);
