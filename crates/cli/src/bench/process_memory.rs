//! The worker's own memory, read from Linux's `/proc/self/status`, and the
//! page faulting that makes its peak comparable between runs.

/// Peak RSS of this process (Linux `VmHWM`), KiB; 0 where unknown.
pub(super) fn peak_rss_kb() -> u64 {
    status_kib("VmHWM:")
}

/// Faults in every page mapped so far (the binary, its libraries): locking
/// them reads them all in; they are unlocked at once, so later allocations
/// are not affected.
#[cfg(target_os = "linux")]
pub(super) fn prefault_mappings() -> anyhow::Result<()> {
    // SAFETY: plain system calls on this process's own mappings.
    let locked = unsafe { libc::mlockall(libc::MCL_CURRENT) };
    if locked != 0 {
        anyhow::bail!(
            "--prefault: mlockall failed ({}); raise `ulimit -l`",
            std::io::Error::last_os_error()
        );
    }
    // SAFETY: as above.
    unsafe { libc::munlockall() };
    Ok(())
}

#[cfg(not(target_os = "linux"))]
pub(super) fn prefault_mappings() -> anyhow::Result<()> {
    anyhow::bail!("--prefault is only available on Linux")
}

/// A KiB field of Linux's `/proc/self/status`; 0 where unknown.
pub(super) fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}
