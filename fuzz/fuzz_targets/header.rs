//! Sniffing, the size and signature checks and `inspect` (the header
//! checks and the memory estimate): no pixel is allocated on this path.
#![no_main]

use imgflow_engine::decode::{check_bytes, check_dimensions, Header};
use imgflow_engine::sniff::{sniff, Sniffed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let settings = imgflow_fuzz::settings();
    let sniffed = sniff(bytes);
    let checked = check_bytes(bytes, &settings.limits);
    assert_eq!(
        matches!(sniffed, Sniffed::Supported(_)),
        checked.is_ok(),
        "check_bytes agrees with sniff"
    );
    if let Ok(inspection) = imgflow_engine::inspect(bytes, &settings, 2) {
        let shape = inspection.shape;
        assert_eq!(Ok(shape.format), checked);
        let header = Header {
            format: shape.format,
            width: shape.width,
            height: shape.height,
        };
        // What inspect admitted passes the limits on its own.
        assert_eq!(
            check_dimensions(header, &settings.limits, &settings.variants),
            Ok(())
        );
        let (needed, _) = inspection.leanest();
        assert!(needed > 0, "a decodable image needs memory: {inspection:?}");
    }
});
