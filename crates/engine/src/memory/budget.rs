//! A weighted semaphore over bytes: images of one invocation (or one CLI
//! run) are admitted against it by their estimates.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// A weighted semaphore over bytes: images are admitted while their
/// estimates fit in what is left, and wait otherwise.
#[derive(Debug)]
pub struct Budget {
    total: u64,
    free: Mutex<u64>,
    freed: Condvar,
}

/// Bytes held from a [`Budget`], given back when dropped.
#[derive(Debug)]
pub struct Admission {
    budget: Arc<Budget>,
    bytes: u64,
}

impl Admission {
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut free = self.budget.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += self.bytes;
        self.budget.freed.notify_all();
    }
}

/// Why [`Budget::admit`] gave nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAdmitted {
    /// More than the whole budget: it can never fit.
    TooLarge,
    /// The deadline came while it waited for others to finish.
    TimedOut,
}

impl Budget {
    pub fn new(total: u64) -> Arc<Self> {
        Arc::new(Self {
            total,
            free: Mutex::new(total),
            freed: Condvar::new(),
        })
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// Takes `bytes` now if they are free.
    pub fn try_admit(self: &Arc<Self>, bytes: u64) -> Option<Admission> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        (*free >= bytes).then(|| {
            *free -= bytes;
            Admission {
                budget: Arc::clone(self),
                bytes,
            }
        })
    }

    /// Waits until `bytes` are free (or `deadline` passes) and takes them.
    pub fn admit(
        self: &Arc<Self>,
        bytes: u64,
        deadline: Option<Instant>,
    ) -> Result<Admission, NotAdmitted> {
        if bytes > self.total {
            return Err(NotAdmitted::TooLarge);
        }
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free < bytes {
            free = match deadline {
                None => self.freed.wait(free).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(NotAdmitted::TimedOut);
                    }
                    self.freed
                        .wait_timeout(free, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        *free -= bytes;
        Ok(Admission {
            budget: Arc::clone(self),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_admits_what_fits_and_waits_for_the_rest() {
        let budget = Budget::new(100);
        let a = budget.try_admit(60).expect("fits");
        assert!(budget.try_admit(50).is_none(), "only 40 left");
        assert_eq!(budget.admit(101, None).err(), Some(NotAdmitted::TooLarge));
        let soon = Instant::now() + std::time::Duration::from_millis(30);
        assert_eq!(
            budget.admit(90, Some(soon)).err(),
            Some(NotAdmitted::TimedOut)
        );
        let waiter = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || budget.admit(90, None).map(|p| p.bytes()))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "waits while 60 are held");
        drop(a);
        assert_eq!(waiter.join().unwrap(), Ok(90));
        assert!(budget.try_admit(100).is_some(), "all given back");
    }
}
