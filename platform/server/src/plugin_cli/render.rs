//! How the plugin commands print: aligned text for people, JSON (`--json`) for scripts.

use serde_json::{Value, json};
use std::fmt::Write as _;

use trolley_core::domain::{CallReport, Evaluation, LogLevel, PluginCall, Severity};
use trolley_plugin_host::ModuleCheck;

pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1024 * 1024 => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
        n if n >= 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

fn duration(us: u64) -> String {
    if us >= 1000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn level(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Trace => "trace",
        LogLevel::Debug => "debug",
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

/// `trolley plugin check`.
pub fn check(file: &str, c: &ModuleCheck) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "file        {file} ({})", bytes(c.size_bytes));
    let _ = writeln!(out, "sha256      {}", c.sha256);
    let _ = writeln!(out, "world       {}", c.world);
    let _ = writeln!(out, "contract    {}", c.contract_version);
    let _ = writeln!(out, "exports     {}", c.exports.join(", "));
    // Rust's std imports WASI's streams and friends, which the host links as traps: named
    // apart so the imports a plugin author chose stand out.
    let (wasi, own): (Vec<&String>, Vec<&String>) =
        c.imports.iter().partition(|i| i.starts_with("wasi:"));
    let mut imports: Vec<String> = own.into_iter().cloned().collect();
    if !wasi.is_empty() {
        imports.push(format!(
            "{} wasi:* from Rust's std (linked as traps: calling one fails the call)",
            wasi.len()
        ));
    }
    let imports = if imports.is_empty() {
        "none".to_owned()
    } else {
        imports.join(", ")
    };
    let _ = writeln!(out, "imports     {imports}");
    let _ = writeln!(
        out,
        "order type  {} — {} {}",
        c.info.order_type, c.info.name, c.info.version
    );
    let fields: Vec<&str> = c.info.config_schema["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "config      {}",
        if fields.is_empty() {
            "no fields".to_owned()
        } else {
            fields.join(", ")
        }
    );
    // The check tier is what an upload waits for; the serving compile runs after it.
    let _ = writeln!(
        out,
        "compile     {} ms to check (baseline), {} ms to serve (optimised)",
        c.check_compile_ms, c.compile_ms
    );
    out
}

pub fn check_json(c: &ModuleCheck) -> Value {
    json!({
        "sha256": c.sha256,
        "size_bytes": c.size_bytes,
        "world": c.world,
        "contract_version": c.contract_version,
        "exports": c.exports,
        "imports": c.imports,
        "check_compile_ms": c.check_compile_ms,
        "compile_ms": c.compile_ms,
        "order_type": c.info.order_type,
        "name": c.info.name,
        "version": c.info.version,
        "config_schema": c.info.config_schema,
    })
}

fn severity(s: Severity) -> &'static str {
    s.as_str()
}

/// Violations, fees and fulfillment, one block each.
pub fn evaluation(out: &mut String, e: &Evaluation) {
    let _ = writeln!(out, "violations ({})", e.violations.len());
    for v in &e.violations {
        let _ = write!(out, "  {:<15} {}", severity(v.severity), v.code);
        if let Some(line) = &v.line_id {
            let _ = write!(out, "  line {line}");
        }
        if let Some(field) = &v.field {
            let _ = write!(out, "  field {field}");
        }
        let _ = writeln!(out, "\n    {}", v.message);
    }
    let _ = writeln!(out, "fees ({})", e.fees.len());
    for f in &e.fees {
        let _ = writeln!(out, "  {:<28} {:<28} {:>10}", f.code, f.label, f.amount);
    }
    let r = &e.fulfillment;
    let _ = writeln!(out, "fulfillment");
    let any = |v: &[String]| {
        if v.is_empty() {
            "any".to_owned()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "  allowed modes  {}", any(&r.allowed_modes));
    let none = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    let _ = writeln!(out, "  requirements   {}", none(&r.requirements));
    if let Some(m) = r.lead_time_minutes {
        let _ = writeln!(out, "  lead time      {m} min");
    }
    if let Some(km) = r.max_distance_km {
        let _ = writeln!(out, "  max distance   {km} km");
    }
    for note in &r.notes {
        let _ = writeln!(out, "  note           {note}");
    }
}

pub fn report(out: &mut String, r: &CallReport) {
    let fuel = r
        .fuel_used
        .map_or("not metered".to_owned(), |f| f.to_string());
    let _ = writeln!(
        out,
        "took {} · fuel {fuel} · peak memory {}",
        duration(r.duration_us),
        bytes(r.peak_memory_bytes)
    );
    let _ = writeln!(out, "logs ({})", r.logs.len());
    for l in &r.logs {
        let _ = writeln!(out, "  {:<5} {}", level(l.level), l.message);
    }
    if r.logs_dropped > 0 {
        let _ = writeln!(
            out,
            "  … {} more lines dropped (per-call bound)",
            r.logs_dropped
        );
    }
}

/// `trolley plugin run`: the answer or the failure, then what the runtime saw.
pub fn call(module: &str, call: &PluginCall) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "plugin  {module}");
    match &call.result {
        Ok(e) => {
            let _ = writeln!(out, "result  ok");
            evaluation(&mut out, e);
        }
        Err(e) => {
            let _ = writeln!(
                out,
                "result  FAILED ({}{})",
                e.kind(),
                if e.is_transient() {
                    ", transient"
                } else {
                    ", fails the same way every time"
                }
            );
            let _ = writeln!(out, "reason  {e}");
        }
    }
    report(&mut out, &call.report);
    out
}

pub fn call_json(module: Value, call: &PluginCall) -> Value {
    let (evaluation, failure) = match &call.result {
        Ok(e) => (serde_json::to_value(e).unwrap_or_default(), Value::Null),
        Err(e) => (
            Value::Null,
            json!({"kind": e.kind(), "message": e.to_string(), "transient": e.is_transient()}),
        ),
    };
    json!({
        "plugin": module,
        "evaluation": evaluation,
        "failure": failure,
        "report": serde_json::to_value(&call.report).unwrap_or_default(),
    })
}

/// What a replay changed, from the recorded run (`output`, `failure` as the API shows them)
/// to the new call.
pub fn replay_diff(recorded: &Value, call: &PluginCall) -> Vec<String> {
    let mut changes = Vec::new();
    let before_failure = recorded["failure"].as_object().map(|f| {
        format!(
            "{}: {}",
            f.get("kind").and_then(Value::as_str).unwrap_or("?"),
            f.get("message").and_then(Value::as_str).unwrap_or("")
        )
    });
    match (&before_failure, &call.result) {
        (Some(before), Err(after)) => changes.push(format!(
            "still fails: was {before}; now {}: {after}",
            after.kind()
        )),
        (Some(before), Ok(_)) => changes.push(format!("fixed: was {before}; now it answers")),
        (None, Err(after)) => changes.push(format!(
            "now fails: {}: {after} (the recorded run answered)",
            after.kind()
        )),
        (None, Ok(after)) => {
            let after = serde_json::to_value(after).unwrap_or_default();
            let before = &recorded["output"];
            for (list, key) in [("violations", "code"), ("fees", "code")] {
                let keyed = |v: &Value| -> Vec<(String, Value)> {
                    v[list]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|item| (item[key].as_str().unwrap_or("").to_owned(), item.clone()))
                        .collect()
                };
                let (old, new) = (keyed(before), keyed(&after));
                for (code, item) in &old {
                    match new.iter().find(|(c, _)| c == code) {
                        None => changes.push(format!("- {list} {code} is gone")),
                        Some((_, now)) if now != item => {
                            changes.push(format!("~ {list} {code}: {item} → {now}"))
                        }
                        Some(_) => {}
                    }
                }
                for (code, item) in &new {
                    if !old.iter().any(|(c, _)| c == code) {
                        changes.push(format!("+ {list} {code}: {item}"));
                    }
                }
            }
            if before["fulfillment"] != after["fulfillment"] {
                changes.push(format!(
                    "~ fulfillment: {} → {}",
                    before["fulfillment"], after["fulfillment"]
                ));
            }
        }
    }
    changes
}
