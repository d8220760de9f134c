use std::collections::BTreeMap;
use std::time::Instant;
use trolley_core::domain::*;
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::*;

fn cart(n: usize) -> PluginCart {
    PluginCart {
        cart_id: "c1".into(),
        currency: "EUR".into(),
        subtotal: "10.00".parse().unwrap(),
        lines: (0..n).map(|i| PluginLine {
            line_id: uuid::Uuid::now_v7().to_string(),
            sku: format!("sku-{i}"),
            quantity: 1,
            unit_price: "1.50".parse().unwrap(),
            category: "grocery".into(),
            seller: Some("s".into()),
            fulfillment: None,
            item_attributes: BTreeMap::from([("cold_chain".to_string(), "true".to_string())]),
            line_attributes: BTreeMap::new(),
        }).collect(),
        context: BTreeMap::new(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn scratch() {
    let wasm = std::fs::read("/tmp/scratch-target/wasm32-wasip2/release/scratch_guest.wasm").unwrap();
    let rt = WasmRuntime::new(SandboxPolicy::default()).unwrap();
    let t = Instant::now();
    let ins = rt.inspect(&wasm).await;
    println!("inspect {:?} {:?}", t.elapsed(), ins);
    let sha = ins.unwrap().sha256;
    let limits = PluginLimits::default();
    for mode in ["ok", "loop", "alloc", "trap", "panic", "bad_decimal", "huge_output", "unknown_line"] {
        let t = Instant::now();
        let r = rt.evaluate(&sha, &cart(5), &serde_json::json!({"mode": mode}), &limits).await;
        println!("{mode}: {:?} {:?}", t.elapsed(), r.map(|e| e.fees.len()));
    }
    for n in [5, 50, 200] {
        let c = cart(n);
        let cfg = serde_json::json!({});
        for _ in 0..200 { rt.evaluate_blocking(&sha, &c, &cfg, &limits).unwrap(); }
        let t = Instant::now();
        for _ in 0..1000 { rt.evaluate_blocking(&sha, &c, &cfg, &limits).unwrap(); }
        println!("{n} lines blocking: {:?}/call", t.elapsed() / 1000);
        let t = Instant::now();
        for _ in 0..1000 { rt.evaluate(&sha, &c, &cfg, &limits).await.unwrap(); }
        println!("{n} lines async: {:?}/call", t.elapsed() / 1000);
    }
    println!("{:?}", rt.stats());
}
