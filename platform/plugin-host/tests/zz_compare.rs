#![allow(clippy::unwrap_used)]
#[path = "host/support.rs"]
mod support;
use std::time::{Duration, Instant};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::*;

#[test]
#[ignore]
fn compare() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let runtime = WasmRuntime::new(SandboxPolicy::default()).unwrap();
    let scratch =
        std::fs::read("/tmp/scratch-target/wasm32-wasip2/release/scratch_guest.wasm").unwrap();
    let s = rt.block_on(runtime.inspect(&scratch)).unwrap().sha256;
    let g = rt
        .block_on(runtime.inspect(&support::guests().grocery))
        .unwrap()
        .sha256;
    let cfg = serde_json::json!({"max_total_quantity": 1000});
    let limits = trolley_core::domain::PluginLimits::default();
    for n in [5, 50, 200] {
        let cart = support::cart(n);
        let mut best = [Duration::MAX; 2];
        for _ in 0..60 {
            for (i, sha) in [&s, &g].iter().enumerate() {
                let t = Instant::now();
                for _ in 0..20 {
                    runtime
                        .evaluate_blocking(sha, &cart, &cfg, &limits)
                        .unwrap();
                }
                best[i] = best[i].min(t.elapsed() / 20);
            }
        }
        println!(
            "{n} lines: minimal guest {:?}, grocery {:?}",
            best[0], best[1]
        );
    }
}

mod compact {
    wasmtime::component::bindgen!({ path: "/tmp/compact-guest/wit", world: "compact" });
}

#[test]
#[ignore]
fn compact_cart() {
    use compact::scratch::compact::types::{Cart, Line, Pair, Span};
    use wasmtime::*;
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(16)
        .linear_memory_keep_resident(4 << 20)
        .table_keep_resident(64 << 10)
        .pagemap_scan(Enabled::Auto)
        .max_memory_size(64 << 20);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&config).unwrap();
    let wasm =
        std::fs::read("/tmp/scratch-target/wasm32-wasip2/release/compact_guest.wasm").unwrap();
    let component = component::Component::new(&engine, &wasm).unwrap();
    let mut linker = component::Linker::<()>::new(&engine);
    linker.define_unknown_imports_as_traps(&component).unwrap();
    let pre = compact::CompactPre::new(linker.instantiate_pre(&component).unwrap()).unwrap();
    for n in [5, 50, 200] {
        let pc = support::cart(n);
        let mut best = Duration::MAX;
        for _ in 0..60 {
            let t = Instant::now();
            for _ in 0..20 {
                // Pack like the arena.
                let mut text = String::with_capacity(64 * n);
                let push = |text: &mut String, s: &str| {
                    let start = text.len() as u32;
                    text.push_str(s);
                    Span {
                        start,
                        len: s.len() as u32,
                    }
                };
                let mut pairs = Vec::new();
                let mut lines = Vec::with_capacity(n);
                let cart_id = push(&mut text, &pc.cart_id);
                let currency = push(&mut text, &pc.currency);
                let subtotal = push(&mut text, &pc.subtotal.to_string());
                for l in &pc.lines {
                    let start = pairs.len() as u32;
                    for (k, v) in &l.item_attributes {
                        let key = push(&mut text, k);
                        let value = push(&mut text, v);
                        pairs.push(Pair { key, value });
                    }
                    let items = Span {
                        start,
                        len: pairs.len() as u32 - start,
                    };
                    lines.push(Line {
                        line_id: push(&mut text, &l.line_id),
                        sku: push(&mut text, &l.sku),
                        quantity: l.quantity,
                        unit_price: push(&mut text, &l.unit_price.to_string()),
                        category: push(&mut text, &l.category),
                        seller: l.seller.as_deref().map(|s| push(&mut text, s)),
                        fulfillment: l.fulfillment.as_deref().map(|s| push(&mut text, s)),
                        item_attributes: items,
                        line_attributes: Span { start: 0, len: 0 },
                    });
                }
                let context = Span {
                    start: pairs.len() as u32,
                    len: 0,
                };
                let cart = Cart {
                    text,
                    cart_id,
                    currency,
                    subtotal,
                    lines,
                    pairs,
                    context,
                };
                let mut store = Store::new(&engine, ());
                store.set_epoch_deadline(100);
                let inst = pre.instantiate(&mut store).unwrap();
                let r = inst
                    .call_evaluate(&mut store, &cart, "{}")
                    .unwrap()
                    .unwrap();
                std::hint::black_box(r);
            }
            best = best.min(t.elapsed() / 20);
        }
        println!("{n} lines: compact cart {best:?}");
    }
}

#[test]
#[ignore]
fn hop() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut best = Duration::MAX;
    for _ in 0..50 {
        let t = Instant::now();
        for _ in 0..200 {
            rt.block_on(async { tokio::task::spawn_blocking(|| 1).await.unwrap() });
        }
        best = best.min(t.elapsed() / 200);
    }
    let mut med = vec![];
    for _ in 0..2000 {
        let t = Instant::now();
        rt.block_on(async { tokio::task::spawn_blocking(|| 1).await.unwrap() });
        med.push(t.elapsed());
    }
    med.sort();
    println!("hop: best batch avg {best:?}, median {:?}", med[1000]);
    let mut med = vec![];
    for _ in 0..2000 {
        let t = Instant::now();
        rt.block_on(async { 1 });
        med.push(t.elapsed());
    }
    med.sort();
    println!("block_on alone median {:?}", med[1000]);
    let mut med = vec![];
    for _ in 0..2000 {
        let t = Instant::now();
        rt.block_on(async {
            tokio::spawn(async { tokio::task::spawn_blocking(|| 1).await.unwrap() })
                .await
                .unwrap()
        });
        med.push(t.elapsed());
    }
    med.sort();
    println!("from a worker task median {:?}", med[1000]);
}
