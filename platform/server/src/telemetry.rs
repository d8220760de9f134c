//! Structured JSON logs through `tracing`, and optionally the same spans exported as
//! OpenTelemetry traces over OTLP/HTTP.
//!
//! Every request runs in an `http.request` span (`trolley_api::telemetry`) carrying its
//! `request_id`, so each line logged while serving it carries the id too.
//!
//! # OTLP export
//! Off unless an endpoint is configured (`--otlp-endpoint` / `OTEL_EXPORTER_OTLP_ENDPOINT`):
//! without one no exporter, layer or middleware exists, so tracing costs what the JSON logs
//! cost. With one:
//! - every span the `RUST_LOG` filter lets through (the request span, use cases, database,
//!   cache and plugin calls) is exported with service name `trolley`, in batches from a
//!   background thread (the SDK's batch processor; `OTEL_BSP_*` variables tune it), as
//!   OTLP/HTTP JSON to `<endpoint>/v1/traces`;
//! - a caller's W3C `traceparent` becomes the parent of the request span ([`remote_parent`]),
//!   so Trolley's spans join the caller's trace;
//! - [`Telemetry::shutdown`] flushes what is still queued when the server stops.
//!
//! Only plain `http://` endpoints are supported: no TLS stack is built in for this (it would
//! pull a second crypto provider into the binary). Run an OpenTelemetry Collector next to
//! the node and let it forward to a vendor over TLS.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::middleware::Next;
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The `service.name` of every exported span.
pub const SERVICE_NAME: &str = "trolley";

/// The OTLP/HTTP path for traces, appended to the configured endpoint as the OpenTelemetry
/// specification says for `OTEL_EXPORTER_OTLP_ENDPOINT`.
const TRACES_PATH: &str = "/v1/traces";

/// Log lines that may wait for the writer thread before new ones are dropped.
const QUEUED_LINES: usize = 64 * 1024;

/// The writer thread's buffer: what it has drained from the queue goes out in writes of up
/// to this size, and is flushed whenever the queue is empty.
const LOG_BUFFER_BYTES: usize = 64 * 1024;

/// How long one export request may take before it is abandoned (the batch is dropped; the
/// server never waits on it).
const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why telemetry could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error(
        "the OTLP endpoint `{0}` is not supported: use a plain http:// URL (a local OpenTelemetry Collector can forward over TLS)"
    )]
    UnsupportedEndpoint(String),
    #[error("cannot build the OTLP trace exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
}

/// What must outlive the server: the trace pipeline, if any, so it can be flushed.
#[derive(Debug, Default)]
#[must_use = "call `shutdown` when the server stops, or queued spans and log lines are lost"]
pub struct Telemetry {
    traces: Option<SdkTracerProvider>,
    /// Flushes the log lines still queued for the writer thread when dropped.
    logs: Option<WorkerGuard>,
}

impl Telemetry {
    /// Whether spans are exported (and the request middleware should link callers' traces).
    pub fn exports_traces(&self) -> bool {
        self.traces.is_some()
    }

    /// Exports every span still queued and stops the exporter. Blocks up to the SDK's
    /// shutdown timeout, so it runs on the blocking pool.
    pub async fn shutdown(self) {
        let Self { traces, logs } = self;
        // Dropped last (after the span flush below has logged), which writes out what is
        // still queued.
        let _logs = logs;
        let Some(provider) = traces else {
            return;
        };
        let flushed = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        match flushed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "flushing spans to the OTLP endpoint failed"),
            Err(e) => tracing::warn!(error = %e, "the span flush task failed"),
        }
    }
}

/// Installs the global subscriber: JSON lines on stderr, filtered by `RUST_LOG` (default
/// `info`), and, when `otlp_endpoint` is set, an OpenTelemetry layer exporting the same
/// spans there. Each log line has the current span's fields under `span` (the innermost
/// span: `request_id` when it is the request's) and every enclosing span's under `spans`,
/// outermost first, so the request id is on every line logged inside a request, however
/// deep. A second call installs nothing (the first subscriber stays) and exports nothing.
///
/// Lines are written by a thread of their own: a request only formats its line and queues
/// it, and the thread writes whatever has queued in one buffered write. Before, each worker
/// wrote each request's line to stderr itself: a system call per request on the thread
/// that serves requests, and a request stalled behind a slow stderr (BENCHMARKS.md). Past
/// [`QUEUED_LINES`] waiting lines (a stalled stderr) new lines are dropped rather than
/// making requests wait.
pub fn init(otlp_endpoint: Option<&str>, default_level: &str) -> Result<Telemetry, TelemetryError> {
    let provider = otlp_endpoint.map(tracer_provider).transpose()?;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let (writer, guard) = NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("trolley-logs")
        .finish(std::io::BufWriter::with_capacity(
            LOG_BUFFER_BYTES,
            std::io::stderr(),
        ));
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_current_span(true)
        .with_span_list(true);
    let traces = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(SERVICE_NAME)));
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(logs)
        .with(traces)
        .try_init()
        .is_ok();
    if let (Some(endpoint), true) = (otlp_endpoint, installed) {
        tracing::info!(endpoint, "exporting traces over OTLP/HTTP");
    }
    Ok(Telemetry {
        traces: provider.filter(|_| installed),
        logs: installed.then_some(guard),
    })
}

/// The trace pipeline for `endpoint`: a batching OTLP/HTTP JSON exporter.
fn tracer_provider(endpoint: &str) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(traces_url(endpoint)?)
        .with_timeout(EXPORT_TIMEOUT)
        .build()?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(Resource::builder().with_service_name(SERVICE_NAME).build())
        .build())
}

/// `<endpoint>/v1/traces`. The endpoint is a base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` is
/// everywhere else (the exporter would use a programmatic endpoint verbatim).
fn traces_url(endpoint: &str) -> Result<String, TelemetryError> {
    let endpoint = endpoint.trim();
    let rest = endpoint
        .strip_prefix("http://")
        .filter(|rest| !rest.is_empty() && !rest.starts_with('/'))
        .ok_or_else(|| TelemetryError::UnsupportedEndpoint(endpoint.to_owned()))?;
    Ok(format!(
        "http://{}{TRACES_PATH}",
        rest.trim_end_matches('/')
    ))
}

/// Middleware: runs the request under the trace context of the caller's W3C `traceparent`
/// (and `tracestate`), so the `http.request` span that `trolley_api::telemetry::observe`
/// opens inside takes it as its parent and exported spans carry the caller's trace id.
/// Wrap it outside `observe`, and only while traces are exported.
pub async fn remote_parent(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // No or an invalid header leaves the context empty: the request span is a new root.
    let parent = TraceContextPropagator::new().extract(&Headers(req.headers()));
    next.call(req).with_context(parent).await
}

/// Actix's header map as a propagation carrier (it is not the `http` crate's map, which
/// the OpenTelemetry crates support out of the box).
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_a_base_url_for_plain_http() {
        for (given, url) in [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("http://127.0.0.1:4318/", "http://127.0.0.1:4318/v1/traces"),
            (" http://otel/prefix ", "http://otel/prefix/v1/traces"),
        ] {
            assert_eq!(traces_url(given).unwrap(), url, "{given}");
        }
        for refused in [
            "https://api.vendor.io",
            "collector:4318",
            "http://",
            "",
            "ftp://x",
        ] {
            assert!(
                matches!(
                    traces_url(refused),
                    Err(TelemetryError::UnsupportedEndpoint(_))
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_traceparent_becomes_the_remote_parent() {
        use opentelemetry::trace::TraceContextExt as _;
        let mut headers = HeaderMap::new();
        headers.insert(
            actix_web::http::header::HeaderName::from_static("traceparent"),
            actix_web::http::header::HeaderValue::from_static(
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            ),
        );
        let cx = TraceContextPropagator::new().extract(&Headers(&headers));
        let span = cx.span();
        let parent = span.span_context();
        assert!(parent.is_remote() && parent.is_sampled());
        assert_eq!(
            parent.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(parent.span_id().to_string(), "00f067aa0ba902b7");

        let cx = TraceContextPropagator::new().extract(&Headers(&HeaderMap::new()));
        assert!(!cx.span().span_context().is_valid());
    }
}
