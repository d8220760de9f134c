//! Structured JSON logs through `tracing`. Every request runs in an `http.request` span
//! (`trolley_api::telemetry`) carrying its `request_id`, so each line logged while serving
//! it carries the id too.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber: JSON lines on stderr, filtered by `RUST_LOG`
/// (default `info`). Each line has the current span's fields under `span` (the innermost
/// span: `request_id` when it is the request's) and every enclosing span's under `spans`,
/// outermost first, so the request id is on every line logged inside a request, however
/// deep. Safe to call more than once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_current_span(true)
        .with_span_list(true)
        .try_init();
}
