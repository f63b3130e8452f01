//! The process's peak memory per invocation, from Linux's `/proc`: the peak
//! is reset when an invocation starts (`clear_refs`) and read when it ends
//! (`VmHWM`), so that each invocation reports its own.

const CLEAR_REFS: &str = "/proc/self/clear_refs";
const STATUS: &str = "/proc/self/status";

/// Starts a new peak; without `/proc` (not Linux) the peak is the
/// process's lifetime peak, or unknown.
pub fn reset_peak() {
    // "5" resets the peak resident set size to the current one.
    let _ = std::fs::write(CLEAR_REFS, "5");
}

/// Peak resident memory since [`reset_peak`], bytes.
pub fn peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string(STATUS).ok()?;
    peak_from_status(&status)
}

fn peak_from_status(status: &str) -> Option<u64> {
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_is_read_from_status() {
        let status =
            "Name:\tbootstrap\nVmPeak:\t  100000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 10240 kB\n";
        assert_eq!(peak_from_status(status), Some(20 * 1024 * 1024));
        assert_eq!(peak_from_status("Name: x\n"), None);
    }

    #[test]
    fn this_process_has_a_peak_after_a_reset() {
        reset_peak();
        if std::path::Path::new(STATUS).exists() {
            assert!(peak_bytes().unwrap_or(0) > 0);
        }
    }
}
