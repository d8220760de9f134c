//! One full plugin round (validate + fees + fulfillment in one `evaluate`, fresh instance
//! each time) with the grocery plugin for 5-, 50- and 200-line carts, and making a module
//! known by compiling it vs loading its precompiled artifact.
//!
//! `cargo bench -p trolley-plugin-host --bench plugin_round -- --warm-up-time 1 --measurement-time 3`

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/host/support.rs"]
mod support;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;
use trolley_core::domain::PluginLimits;
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use support::{TempDir, cart, guests};

fn rounds(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = WasmRuntime::new(SandboxPolicy::default()).unwrap();
    let sha = tokio
        .block_on(runtime.inspect(&guests().grocery))
        .unwrap()
        .sha256;
    // Waits for the serving compile that follows an upload's check.
    tokio
        .block_on(runtime.load(&sha, &guests().grocery))
        .unwrap();
    let config = json!({"max_total_quantity": 1000});
    let limits = PluginLimits::default();

    let mut group = c.benchmark_group("round");
    for lines in [5, 50, 200] {
        let cart = cart(lines);
        // The sandboxed round itself, on the calling thread.
        group.bench_with_input(BenchmarkId::new("grocery", lines), &cart, |b, cart| {
            b.iter(|| {
                black_box(
                    runtime
                        .evaluate_blocking(&sha, cart, &config, &limits)
                        .unwrap(),
                )
            })
        });
        // Through the async port, as a request runs it: on the caller's task (no hop to a
        // blocking thread since session 6).
        group.bench_with_input(
            BenchmarkId::new("grocery_async", lines),
            &cart,
            |b, cart| {
                b.iter(|| {
                    black_box(
                        tokio
                            .block_on(runtime.evaluate(&sha, cart, &config, &limits))
                            .unwrap(),
                    )
                })
            },
        );
    }
    group.finish();
}

fn modules(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let wasm = &guests().grocery;
    let dir = TempDir::new("bench");
    let cached = WasmRuntime::new(SandboxPolicy {
        cache_dir: Some(dir.0.clone()),
        ..SandboxPolicy::default()
    })
    .unwrap();
    let sha = tokio.block_on(cached.inspect(wasm)).unwrap().sha256;
    // Waits for the serving compile, which writes the artifact.
    tokio.block_on(cached.load(&sha, wasm)).unwrap();
    let uncached = WasmRuntime::new(SandboxPolicy::default()).unwrap();

    let mut group = c.benchmark_group("module");
    group.sample_size(10);
    // `load` of a module the runtime does not hold: hash, compile (or read and check the
    // artifact), check against the world, describe.
    group.bench_function("load_compile", |b| {
        b.iter(|| {
            uncached.unload(&sha);
            tokio.block_on(uncached.load(&sha, wasm)).unwrap();
        })
    });
    group.bench_function("load_precompiled", |b| {
        b.iter(|| {
            cached.unload(&sha);
            tokio.block_on(cached.load(&sha, wasm)).unwrap();
        })
    });
    group.finish();
    assert_eq!(cached.stats().compiled_from_scratch, 1);
}

criterion_group!(benches, rounds, modules);
criterion_main!(benches);
