//! A circuit breaker: after a failure, calls are refused at once for a cool-down; then a
//! single call probes, and its success closes the breaker for everyone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Breaker {
    /// When the breaker was created; times below are milliseconds since then.
    epoch: Instant,
    cool_down: Duration,
    /// 0 = closed; otherwise the time until which calls are refused.
    open_until_ms: AtomicU64,
    /// Set while one caller probes a breaker whose cool-down has passed.
    probing: AtomicBool,
}

impl Breaker {
    pub fn new(cool_down: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            cool_down,
            open_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a call may go ahead now. When the cool-down has passed, exactly one caller
    /// is let through to probe; the rest are refused until it reports.
    pub fn allow(&self) -> bool {
        let open_until = self.open_until_ms.load(Ordering::Acquire);
        if open_until == 0 {
            return true;
        }
        if self.now_ms() < open_until {
            return false;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Closes the breaker.
    pub fn succeeded(&self) {
        self.open_until_ms.store(0, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    /// Opens the breaker for the cool-down.
    pub fn failed(&self) {
        let until = self
            .now_ms()
            .saturating_add(self.cool_down.as_millis() as u64)
            .max(1);
        self.open_until_ms.store(until, Ordering::Release);
        self.probing.store(false, Ordering::Release);
    }

    pub fn is_closed(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_refuses_calls_until_one_probe_succeeds() {
        let breaker = Breaker::new(Duration::from_millis(20));
        assert!(breaker.allow());
        breaker.failed();
        assert!(!breaker.allow(), "refused during the cool-down");
        assert!(!breaker.is_closed());
        std::thread::sleep(Duration::from_millis(25));
        assert!(breaker.allow(), "one probe after the cool-down");
        assert!(!breaker.allow(), "only one");
        breaker.succeeded();
        assert!(breaker.is_closed());
        assert!(breaker.allow() && breaker.allow());
    }

    #[test]
    fn a_failed_probe_opens_it_again() {
        let breaker = Breaker::new(Duration::from_millis(10));
        breaker.failed();
        std::thread::sleep(Duration::from_millis(15));
        assert!(breaker.allow());
        breaker.failed();
        assert!(!breaker.allow());
    }
}
