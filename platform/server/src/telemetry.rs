//! Structured JSON logs through `tracing`; every request carries a request id
//! (`tracing-actix-web`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: JSON lines on stderr, filtered by `RUST_LOG`
/// (default `info`). Safe to call more than once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(true)
        .try_init();
}
