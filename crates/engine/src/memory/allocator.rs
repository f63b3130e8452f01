//! The allocator behaviour the estimates assume: a large block, once freed,
//! goes back to the system.
//!
//! By default glibc raises its mmap threshold to the size of each large
//! block freed (up to 32 MiB); blocks up to that size then come from the
//! heap, where they stay resident after they are freed. One variant's
//! freed working set would then sit beside the next one's: measured on a
//! 2 MP noise PNG, 6 MiB more (a quarter of its peak) once two JPEGs had
//! run before the PNG. Setting the threshold fixes it where it is.

/// glibc's default threshold is 128 KiB; at 256 KiB the benchmark's time
/// moved within its noise (`imgflow bench-worker`, corpus photos).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 256 * 1024;

/// Keeps blocks of 256 KiB and more mapped on their own, so that freeing
/// them returns their memory. Call it first thing in `main`. Does nothing
/// where the C library is not glibc.
pub fn keep_large_blocks_mapped() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets one of glibc's parameters, under its own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    }
}
