//! What the fuzz targets share: the engine settings they run with, and an
//! allocator that turns a runaway allocation into a crash libFuzzer reports.

use imgflow_engine::{Limits, Settings};
use std::alloc::{GlobalAlloc, Layout, System};

/// Pixels an input may declare: small, so that an execution stays in the
/// milliseconds and a decoder that allocates past the header's promise
/// stands out.
pub const MAX_PIXELS: u64 = 256 * 256;

/// Every variant at its defaults, under small limits.
pub fn settings() -> Settings {
    Settings {
        limits: Limits {
            max_pixels: MAX_PIXELS,
            max_bytes: 1 << 20,
        },
        ..Settings::default()
    }
}

/// The largest single allocation a target may make. libFuzzer's
/// `-malloc_limit_mb` needs a sanitizer's malloc hooks, which `-s none`
/// builds do not have; this does its job for Rust allocations (the C
/// codecs' own mallocs are left to `-rss_limit_mb`). The image crate may
/// reserve up to 64 MiB for a decoder (`decode::image_crate_decoder`), so
/// anything past twice that, for a 64K-pixel input of a few KiB, is a bug.
pub const MAX_ALLOCATION: usize = 128 << 20;

/// The system allocator, aborting on one allocation over [`MAX_ALLOCATION`].
pub struct CappedAllocator;

impl CappedAllocator {
    fn check(size: usize) {
        if size > MAX_ALLOCATION {
            // No allocation here: print with a fixed buffer, then abort
            // (libFuzzer saves the input as a crash).
            let mut buf = [0u8; 96];
            let n = format_over_limit(&mut buf, size);
            let _ = std::io::Write::write_all(&mut std::io::stderr(), &buf[..n]);
            std::process::abort();
        }
    }
}

/// "allocation of N bytes over the fuzz limit\n" into `buf`, without allocating.
fn format_over_limit(buf: &mut [u8], size: usize) -> usize {
    let mut digits = [0u8; 20];
    let mut d = digits.len();
    let mut n = size;
    loop {
        d -= 1;
        digits[d] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let parts: [&[u8]; 3] = [
        b"allocation of ",
        &digits[d..],
        b" bytes over the fuzz limit\n",
    ];
    let mut len = 0;
    for part in parts {
        buf[len..len + part.len()].copy_from_slice(part);
        len += part.len();
    }
    len
}

unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: CappedAllocator = CappedAllocator;
