//! Inputs the fuzzers (fuzz/) found, each refused with its reason, never a
//! panic, and (all but the JPEG) before a decoder allocates for what the
//! header does not deliver. One file each in tests/fuzz/ (scripts/fuzz.sh
//! seeds the fuzzers with them too).

use imgflow_engine::{inspect, process_with, Reason, Schedule, Settings};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    /// The largest single allocation on this thread since the last reset
    /// (tests run on threads of their own; the engine rejects on the
    /// caller's thread).
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

struct Watching;

impl Watching {
    fn note(size: usize) {
        // try_with: nothing to note once the thread's locals are gone.
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    }
}

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::note(new_size);
        System.realloc(ptr, layout, new_size)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static WATCHING: Watching = Watching;

/// A file kept from a fuzz run (tests/fuzz/).
fn fixture(file: &str) -> Vec<u8> {
    let path = format!("{}/tests/fuzz/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Refuses `file` (from tests/fuzz/) in `inspect` and in `process` with
/// `reason` and a message containing `says`, under the default limits,
/// never allocating more than 1 MiB at once on the way.
fn refused(file: &str, reason: Reason, says: &str) {
    let bytes = fixture(file);
    let settings = Settings::default();
    LARGEST.with(|l| l.set(0));
    let inspected = inspect(&bytes, &settings, 1).expect_err("inspect refuses it");
    let processed =
        process_with(&bytes, &settings, Schedule::OneAtATime).expect_err("process refuses it");
    let largest = LARGEST.with(Cell::get);
    for e in [inspected, processed] {
        assert_eq!(e.reason(), reason, "{file}: {e}");
        assert!(e.to_string().contains(says), "{file}: {e}");
    }
    assert!(
        largest <= 1 << 20,
        "{file}: an allocation of {largest} bytes before refusing it"
    );
}

/// An extended WebP with a 24x24 canvas whose VP8 frame claims 16152x16383
/// (the first input found, cut to its chunks): the decoder allocated 400 MB
/// for the frame before comparing the two.
#[test]
fn webp_frame_larger_than_its_canvas() {
    refused(
        "webp-frame-larger-than-canvas.webp",
        Reason::Corrupt,
        "its VP8 frame is 16152x16383, its canvas 24x24",
    );
}

/// The same in a 134-byte WebP whose VP8X chunk declares a size of 0: the
/// decoder still reads its canvas (11x4097) from the bytes after it, then
/// finds the chunks among them, and allocated 400 MB for a VP8 frame of
/// 16140x16383 (found by a 45-minute `process` run).
#[test]
fn webp_frame_larger_than_the_canvas_of_an_empty_vp8x() {
    refused(
        "webp-vp8x-of-size-zero.webp",
        Reason::Corrupt,
        "its VP8 frame is 16140x16383, its canvas 11x4097",
    );
}

/// The same in an animation (found reading image-webp, not by a fuzzer):
/// a 16x16 WebP whose first ANMF frame holds a VP8 bitstream of
/// 16383x16383. The decoder allocated 268 MB for it and decodes such a
/// frame whole before comparing it with the frame's declared size.
#[test]
fn webp_animation_frame_larger_than_its_header() {
    refused(
        "webp-animation-frame-larger-than-its-header.webp",
        Reason::Corrupt,
        "its VP8 frame is 16383x16383, its animation frame 16x16",
    );
}

/// An 850-byte TIFF whose first IFD claims 5.5 million values for a tag:
/// the decoder reserved 178 MB for them before finding none.
#[test]
fn tiff_values_past_the_end() {
    refused(
        "tiff-ifd-count-past-end.tiff",
        Reason::Truncated,
        "the TIFF data is truncated",
    );
}

/// The same, with the VP8 chunk claiming more bytes than the file has: the
/// decoder still read the frame header and allocated 154 MB for it.
#[test]
fn webp_frame_in_a_chunk_past_the_end() {
    refused(
        "webp-frame-chunk-past-the-end.webp",
        Reason::Truncated,
        "the WebP data is truncated",
    );
}

/// A 918-byte WebP whose ICCP chunk claims 1.5 GB: the decoder reserved it
/// all before reading, and the image was then processed without a profile.
#[test]
fn webp_metadata_chunk_past_the_end() {
    refused(
        "webp-iccp-chunk-past-the-end.webp",
        Reason::Truncated,
        "the WebP data is truncated",
    );
}

/// A 328-byte progressive YCCK JPEG (Adobe APP14), whose header passes:
/// the image crate's JPEG decoder, which takes CMYK/YCCK, asserted in its
/// AVX2 upsampler and panicked. (Other upsamplers may decode it; it must
/// never panic.)
#[test]
fn jpeg_ycck_that_made_the_decoder_assert() {
    let bytes = fixture("jpeg-cmyk-upsampler-assert.jpg");
    let result = process_with(&bytes, &Settings::default(), Schedule::OneAtATime);
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let avx2 = false;
    if avx2 {
        let e = result.expect_err("process refuses it");
        assert_eq!(e.reason(), Reason::Corrupt, "{e}");
        assert!(
            e.to_string()
                .contains("the CMYK decoder failed: assertion failed"),
            "{e}"
        );
    }
}

/// A 14-byte file: an `ftyp` box declaring 28 bytes, brand `hei\0`, cut
/// before its compatible brands (found by a HEIC-seeded `process` run): the
/// sniffer panicked computing the brands' range. Not an image we know.
#[test]
fn heic_ftyp_shorter_than_its_brands() {
    let path = format!(
        "{}/tests/fuzz/heic-ftyp-shorter-than-its-brands.heic",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 14);
    let settings = Settings::default();
    let e = process_with(&bytes, &settings, Schedule::OneAtATime).expect_err("refused");
    assert_eq!(e.reason(), Reason::NotAnImage, "{e}");
    // Every length of a HEIC ftyp, cut anywhere: refused, never a panic.
    let mut heic = b"\0\0\0\x1cftypheic\0\0\0\0mif1heic".to_vec();
    heic.extend_from_slice(&[0; 8]);
    for end in 0..heic.len() {
        let _ = inspect(&heic[..end], &settings, 1);
    }
}

/// A 688-byte 4×4 palette PNG whose PLTE holds 236 bytes (not whole RGB
/// entries), with a tRNS chunk: png 0.18 sliced past the palette while
/// expanding it to RGBA and panicked, which killed the process.
#[test]
fn png_palette_of_partial_entries() {
    let bytes = fixture("png-palette-not-whole-entries.png");
    for schedule in [Schedule::OneAtATime, Schedule::SideBySide] {
        let e = process_with(&bytes, &Settings::default(), schedule).expect_err("refused");
        assert_eq!(e.reason(), Reason::Corrupt, "{e}");
        assert!(e.to_string().contains("the decoder failed"), "{e}");
    }
}
