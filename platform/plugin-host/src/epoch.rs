//! The wall-clock deadline: a thread advances the engine's epoch every tick while plugin
//! calls run, and parks (no wake-ups) once none has run for [`PARK_AFTER_IDLE_TICKS`]
//! ticks. The grace period keeps a busy service from paying a futex wake per call.
//!
//! Every tick makes a running call yield to its executor and check its deadline, so it is
//! interrupted between `deadline` and `deadline + tick` after it starts (see
//! [`SandboxPolicy::epoch_tick`](crate::SandboxPolicy::epoch_tick) and `sandbox.rs`).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{JoinHandle, Thread};
use std::time::Duration;

use wasmtime::Engine;

/// Idle ticks before the ticker parks (100 ms at the default 1 ms tick).
const PARK_AFTER_IDLE_TICKS: u32 = 100;

#[derive(Default)]
struct State {
    stop: AtomicBool,
    /// Calls running now.
    running: AtomicUsize,
}

/// What calls hold to keep the ticker ticking.
#[derive(Clone)]
pub(crate) struct Ticks {
    state: Arc<State>,
    thread: Thread,
}

impl Ticks {
    /// Marks a call as running until the guard is dropped.
    pub fn running(&self) -> Running {
        if self.state.running.fetch_add(1, Ordering::AcqRel) == 0 {
            self.thread.unpark();
        }
        Running(self.clone())
    }
}

/// A running call: owned, because the call it guards may yield and move between polls.
pub(crate) struct Running(Ticks);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.state.running.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Owns the ticker thread; stops and joins it when dropped.
pub(crate) struct EpochTicker {
    ticks: Ticks,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    /// Ticks every engine in `engines` (the serving and the check tier's).
    pub fn start(engines: &[&Engine], tick: Duration) -> io::Result<Self> {
        let state = Arc::new(State::default());
        let engines: Vec<_> = engines.iter().map(|engine| engine.weak()).collect();
        let thread = std::thread::Builder::new()
            .name("plugin-epoch".to_owned())
            .spawn({
                let state = Arc::clone(&state);
                move || {
                    let mut idle_ticks = 0;
                    while !state.stop.load(Ordering::Acquire) {
                        if state.running.load(Ordering::Acquire) > 0 {
                            idle_ticks = 0;
                        } else if idle_ticks >= PARK_AFTER_IDLE_TICKS {
                            // A call starting unparks us; an unpark that came first makes
                            // this return at once.
                            std::thread::park();
                            idle_ticks = 0;
                            continue;
                        } else {
                            idle_ticks += 1;
                        }
                        std::thread::sleep(tick);
                        let mut alive = false;
                        for engine in engines.iter().filter_map(|engine| engine.upgrade()) {
                            engine.increment_epoch();
                            alive = true;
                        }
                        if !alive {
                            break;
                        }
                    }
                }
            })?;
        Ok(Self {
            ticks: Ticks {
                state,
                thread: thread.thread().clone(),
            },
            thread: Some(thread),
        })
    }

    pub fn ticks(&self) -> Ticks {
        self.ticks.clone()
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.ticks.state.stop.store(true, Ordering::Release);
        self.ticks.thread.unpark();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
