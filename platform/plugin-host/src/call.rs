//! One call into a loaded plugin, whatever contract version it implements: `evaluate` with
//! its report (duration, fuel, peak memory, logs — kept on failure too, since a failed call's
//! logs explain it) and `describe` at admission.

use std::time::Instant;

use tracing::{Instrument as _, field};
use trolley_core::domain::{CallReport, PluginCall, PluginCart, PluginError, PluginInfo};

use crate::compile::Contract;
use crate::output;
use crate::policy::CallLimits;
use crate::runtime::{Counters, Plugin, bump, short};
use crate::sandbox::{Call, Sandbox, bounded};
use crate::wit::{CartArena, v1_0, v1_1};

/// The span of one evaluation: a child of the caller's span (the request's).
pub(crate) fn evaluate_span(plugin: &Plugin, lines: usize) -> tracing::Span {
    tracing::info_span!(
        "plugin.evaluate",
        sha256 = short(&plugin.sha256),
        order_type = %plugin.info.order_type,
        contract = plugin.pre.version(),
        lines,
        outcome = field::Empty,
        elapsed_us = field::Empty,
        fuel_used = field::Empty,
        peak_memory_bytes = field::Empty,
    )
}

/// The plugin's own `err`: it could not read its configuration.
fn rejected(reason: String, limits: &CallLimits) -> PluginError {
    if reason.len() > limits.output_bytes {
        PluginError::OutputTooLarge(limits.output_bytes)
    } else {
        PluginError::ConfigRejected(bounded(reason))
    }
}

/// Instantiates and calls `evaluate` in `call`'s store, in the plugin's contract version;
/// the answer comes back in 1.1's shape, checked.
async fn evaluate_in(
    call: &mut Call,
    contract: &Contract,
    cart: &PluginCart,
    config: &str,
    limits: &CallLimits,
) -> Result<trolley_core::domain::Evaluation, PluginError> {
    match contract {
        Contract::V1_1(pre) => {
            let arena = CartArena::<v1_1::Packing>::new(cart);
            let instance = pre
                .instantiate_async(call.store())
                .await
                .map_err(|e| call.instantiate_failed(&e))?;
            let context = v1_1::context(&arena);
            let answer = instance
                .call_evaluate(call.store(), v1_1::cart(&arena, &context), config)
                .await
                .map_err(|e| call.failed(&e))?
                .map_err(|reason| rejected(reason, limits))?;
            output::evaluation(answer, arena.line_ids(), limits.output_bytes)
        }
        Contract::V1_0(pre) => {
            let arena = CartArena::<v1_0::Packing>::new(cart);
            let instance = pre
                .instantiate_async(call.store())
                .await
                .map_err(|e| call.instantiate_failed(&e))?;
            let context = v1_0::context(&arena);
            let answer = instance
                .call_evaluate(call.store(), v1_0::cart(&arena, &context), config)
                .await
                .map_err(|e| call.failed(&e))?
                .map_err(|reason| rejected(reason, limits))?;
            output::evaluation(
                v1_0::evaluation(answer),
                arena.line_ids(),
                limits.output_bytes,
            )
        }
    }
}

/// One evaluation in a fresh instance, inside `span` (see [`evaluate_span`]).
pub(crate) async fn evaluate(
    span: &tracing::Span,
    sandbox: &Sandbox,
    counters: &Counters,
    plugin: &Plugin,
    cart: &PluginCart,
    config: &str,
    limits: &CallLimits,
) -> PluginCall {
    let started = Instant::now();
    let mut report = CallReport::default();
    let result: Result<_, PluginError> = async {
        let mut call = sandbox.prepare(limits)?;
        let result = evaluate_in(&mut call, &plugin.pre, cart, config, limits).await;
        report.fuel_used = call.fuel_used();
        report.peak_memory_bytes = call.peak_memory_bytes();
        (report.logs, report.logs_dropped) = call.take_logs();
        let mut evaluation = result?;
        evaluation.fuel_used = report.fuel_used;
        Ok(evaluation)
    }
    .instrument(span.clone())
    .await;
    let elapsed = started.elapsed();
    report.duration_us = elapsed.as_micros() as u64;
    let _entered = span.enter();
    span.record("elapsed_us", report.duration_us);
    span.record("peak_memory_bytes", report.peak_memory_bytes);
    if let Some(fuel) = report.fuel_used {
        span.record("fuel_used", fuel);
    }
    span.record(
        "outcome",
        match &result {
            Ok(_) => "ok",
            Err(e) => e.kind(),
        },
    );
    bump(&counters.evaluations);
    if let Err(e) = &result {
        bump(&counters.failed_evaluations);
        tracing::warn!(error = %e, elapsed_us = report.duration_us, "plugin call failed");
    }
    PluginCall { result, report }
}

/// Calls `describe` in a sandbox and checks its answer. Every failure refuses the module.
pub(crate) async fn describe(
    sandbox: &Sandbox,
    contract: &Contract,
    limits: &CallLimits,
) -> Result<PluginInfo, PluginError> {
    let raw = async {
        let mut call = sandbox.prepare(limits)?;
        match contract {
            Contract::V1_1(pre) => {
                let instance = pre
                    .instantiate_async(call.store())
                    .await
                    .map_err(|e| call.instantiate_failed(&e))?;
                instance
                    .call_describe(call.store())
                    .await
                    .map_err(|e| call.failed(&e))
            }
            Contract::V1_0(pre) => {
                let instance = pre
                    .instantiate_async(call.store())
                    .await
                    .map_err(|e| call.instantiate_failed(&e))?;
                instance
                    .call_describe(call.store())
                    .await
                    .map(v1_0::plugin_info)
                    .map_err(|e| call.failed(&e))
            }
        }
    }
    .await
    .map_err(|e| match e {
        PluginError::Unavailable(_) => e,
        other => PluginError::Invalid(format!("describe failed: {other}")),
    })?;
    if output::info_size(&raw) > limits.output_bytes {
        return Err(PluginError::Invalid(format!(
            "describe answered more than {} bytes",
            limits.output_bytes
        )));
    }
    output::plugin_info(raw)
}
