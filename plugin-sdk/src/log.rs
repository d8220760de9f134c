//! Logging from a plugin: `info!("{} lines", cart.lines().len())`.
//!
//! In WebAssembly each line goes to the host's `log` import (contract 1.1), which keeps it with
//! the call's record, so a failed call's log explains it. The host bounds what it keeps per
//! call (50 lines, 4 KiB): log what explains a decision, not every step. Natively (unit tests)
//! the lines are collected per thread; [`testing::take_logs`](crate::testing::take_logs)
//! returns them.
//!
//! ```
//! use trolley_plugin_sdk::log::{info, warn};
//! info!("checking {} lines", 3);
//! warn!("no delivery slot");
//! let logs = trolley_plugin_sdk::testing::take_logs();
//! assert_eq!(logs[0].message, "checking 3 lines");
//! ```
//!
//! A plugin cannot print: `println!` and `eprintln!` reach WASI's stdout/stderr, which the host
//! does not provide, and fail the call.

pub use crate::{debug, error, info, trace, warn};

/// How loud a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Step by step detail.
    Trace,
    /// Detail useful while developing.
    Debug,
    /// A decision and why.
    Info,
    /// Something unexpected the plugin worked around.
    Warn,
    /// Something went wrong (the panic hook logs panics here).
    Error,
}

/// One line a plugin logged, as the native harness keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// How loud.
    pub level: Level,
    /// What.
    pub message: String,
}

/// Logs one line; the macros call this.
pub fn log(level: Level, message: &str) {
    imp::log(level, message);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::bindings::trolley::order_type::host::{self, Level as Wit};

    pub fn log(level: Level, message: &str) {
        let level = match level {
            Level::Trace => Wit::Trace,
            Level::Debug => Wit::Debug,
            Level::Info => Wit::Info,
            Level::Warn => Wit::Warn,
            Level::Error => Wit::Error,
        };
        host::log(level, message);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;

    use super::{Level, LogLine};

    thread_local! {
        static LINES: RefCell<Vec<LogLine>> = const { RefCell::new(Vec::new()) };
    }

    pub fn log(level: Level, message: &str) {
        LINES.with(|lines| {
            lines.borrow_mut().push(LogLine {
                level,
                message: message.to_owned(),
            });
        });
    }

    pub fn take() -> Vec<LogLine> {
        LINES.with(|lines| std::mem::take(&mut *lines.borrow_mut()))
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use imp::take;

/// Installs, once, the panic hook that logs `panicked at <file>:<line>:<col>: <message>` at
/// [`Level::Error`] instead of printing it (a plugin cannot print). The host then reports
/// that line as the reason the call trapped. `export_order_type!` calls it before any user
/// code runs.
#[cfg(target_arch = "wasm32")]
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info.payload_as_str().unwrap_or("Box<dyn Any>");
            let line = match info.location() {
                Some(at) => format!(
                    "panicked at {}:{}:{}: {message}",
                    at.file(),
                    at.line(),
                    at.column()
                ),
                None => format!("panicked: {message}"),
            };
            log(Level::Error, &line);
        }));
    });
}

/// Not on native targets: tests keep the test harness's own panic output.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn install_panic_hook() {}

/// Logs at [`Level::Trace`], with `format!` arguments.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Trace, &::std::format!($($arg)+)) };
}

/// Logs at [`Level::Debug`](crate::log::Level::Debug), with `format!` arguments.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+)) };
}

/// Logs at [`Level::Info`](crate::log::Level::Info), with `format!` arguments.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+)) };
}

/// Logs at [`Level::Warn`](crate::log::Level::Warn), with `format!` arguments.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+)) };
}

/// Logs at [`Level::Error`](crate::log::Level::Error), with `format!` arguments.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+)) };
}
