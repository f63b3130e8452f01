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

    /// The budget it is held from.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// Holds `bytes` in all from now on if the difference is free now; a
    /// smaller figure gives the rest back. `false`: unchanged.
    pub fn try_grow_to(&mut self, bytes: u64) -> bool {
        self.grow_to_waiting(bytes, Wait::No).is_ok()
    }

    /// Holds `bytes` in all, waiting until `deadline` (`None`: as long as
    /// it takes) for the difference to be free; a smaller figure gives the
    /// rest back. On an error the admission is unchanged.
    pub fn grow_to(&mut self, bytes: u64, deadline: Option<Instant>) -> Result<(), NotAdmitted> {
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        self.grow_to_waiting(bytes, wait)
    }

    fn grow_to_waiting(&mut self, bytes: u64, wait: Wait) -> Result<(), NotAdmitted> {
        let budget = Arc::clone(&self.budget);
        if bytes > budget.total {
            return Err(NotAdmitted::TooLarge);
        }
        let mut free = budget.free.lock().unwrap_or_else(|e| e.into_inner());
        if bytes <= self.bytes {
            *free += self.bytes - bytes;
            self.bytes = bytes;
            budget.freed.notify_all();
            return Ok(());
        }
        let more = bytes - self.bytes;
        while *free < more {
            free = match wait {
                Wait::No => return Err(NotAdmitted::TimedOut),
                Wait::Forever => budget.freed.wait(free).unwrap_or_else(|e| e.into_inner()),
                Wait::Until(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(NotAdmitted::TimedOut);
                    }
                    budget
                        .freed
                        .wait_timeout(free, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        *free -= more;
        self.bytes = bytes;
        Ok(())
    }
}

/// How [`Admission::grow_to`] waits for room.
#[derive(Clone, Copy)]
enum Wait {
    No,
    Forever,
    Until(Instant),
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

    /// An admission of nothing yet, to grow ([`Admission::grow_to`]).
    pub fn nothing(self: &Arc<Self>) -> Admission {
        Admission {
            budget: Arc::clone(self),
            bytes: 0,
        }
    }

    /// Takes `bytes` now if they are free.
    pub fn try_admit(self: &Arc<Self>, bytes: u64) -> Option<Admission> {
        let mut admission = self.nothing();
        admission.try_grow_to(bytes).then_some(admission)
    }

    /// Waits until `bytes` are free (or `deadline` passes) and takes them.
    pub fn admit(
        self: &Arc<Self>,
        bytes: u64,
        deadline: Option<Instant>,
    ) -> Result<Admission, NotAdmitted> {
        let mut admission = self.nothing();
        admission.grow_to(bytes, deadline)?;
        Ok(admission)
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

    #[test]
    fn an_admission_grows_when_there_is_room_and_gives_back_what_it_sheds() {
        let budget = Budget::new(100);
        let mut held = budget.try_admit(30).unwrap();
        let other = budget.try_admit(50).unwrap();
        assert!(!held.try_grow_to(60), "20 free, 30 more needed");
        assert_eq!(held.bytes(), 30, "unchanged");
        assert_eq!(held.grow_to(101, None), Err(NotAdmitted::TooLarge));
        let soon = Instant::now() + std::time::Duration::from_millis(30);
        assert_eq!(held.grow_to(60, Some(soon)), Err(NotAdmitted::TimedOut));
        assert!(held.try_grow_to(50), "exactly the 20 free");
        assert!(budget.try_admit(1).is_none());
        held.grow_to(10, None).unwrap();
        let _taken = budget.try_admit(40).expect("40 given back");
        let waiter = std::thread::spawn(move || held.grow_to(50, None).map(|()| held));
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!waiter.is_finished(), "waits while 50 are held elsewhere");
        drop(other);
        let held = waiter.join().unwrap().unwrap();
        assert_eq!(held.bytes(), 50);
        assert!(budget.try_admit(11).is_none(), "50 and 40 held");
        assert!(budget.try_admit(10).is_some());
    }
}
