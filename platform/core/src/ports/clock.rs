//! The clock seam: time goes through here so tests move it instead of sleeping.

use chrono::{DateTime, Utc};

/// Wall-clock time, so tests can move it instead of sleeping.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// `now`, at the millisecond precision storage keeps, so a value written and read back
    /// compares equal to the one just answered.
    fn now_millis(&self) -> DateTime<Utc> {
        use chrono::SubsecRound;
        self.now().trunc_subsecs(3)
    }
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to: tests use it to expire holds, checkouts and carts
/// without sleeping.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(std::sync::Mutex::new(start))
    }

    pub fn advance(&self, by: chrono::Duration) {
        if let Ok(mut now) = self.0.lock() {
            *now += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
            .lock()
            .map(|now| *now)
            .unwrap_or_else(|e| *e.into_inner())
    }
}
