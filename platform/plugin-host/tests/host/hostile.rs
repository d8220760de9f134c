//! Misbehaving plugins fail their own call only, with the right typed error, and everything
//! else keeps working — right after, and at the same time on other threads.

use std::time::{Duration, Instant};

use serde_json::json;
use trolley_core::domain::{Evaluation, PluginError, PluginLimits};
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use crate::support::{cached_policy, cart, guests, loaded};

const DEADLINE_MS: u64 = 50;

fn limits() -> PluginLimits {
    PluginLimits {
        deadline_ms: DEADLINE_MS,
        ..PluginLimits::default()
    }
}

async fn hostile(mode: &str) -> Result<Evaluation, PluginError> {
    let loaded = loaded();
    loaded
        .runtime
        .evaluate(
            &loaded.hostile,
            &cart(3),
            &json!({ "mode": mode }),
            &limits(),
        )
        .await
}

/// Limits for well-behaved calls: a deadline no scheduling hiccup on a loaded machine
/// reaches, since these calls check isolation, not latency.
fn roomy() -> PluginLimits {
    PluginLimits {
        deadline_ms: 1000,
        ..PluginLimits::default()
    }
}

/// Well-behaved calls on the same runtime.
async fn assert_still_serves() {
    let loaded = crate::support::loaded();
    let ok = loaded
        .runtime
        .evaluate(&loaded.hostile, &cart(3), &json!({"mode": "ok"}), &roomy())
        .await
        .unwrap();
    assert_eq!(ok.fees[0].code, "hostile.ok");
    loaded
        .runtime
        .evaluate(&loaded.grocery, &cart(5), &json!({}), &roomy())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_loop_is_cut_at_its_deadline() {
    let started = Instant::now();
    let result = hostile("loop").await;
    let elapsed = started.elapsed();
    assert_eq!(result, Err(PluginError::DeadlineExceeded));
    // At least the deadline; at most the deadline plus the epoch tick (1 ms) and generous
    // scheduling slack for a loaded CI machine.
    assert!(elapsed >= Duration::from_millis(DEADLINE_MS), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(DEADLINE_MS + 400),
        "{elapsed:?}"
    );
    assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_memory_bomb_is_out_of_memory() {
    assert_eq!(hostile("alloc").await, Err(PluginError::OutOfMemory));
    assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn traps_and_panics_are_trapped() {
    for mode in ["trap", "panic"] {
        let result = hostile(mode).await;
        let Err(PluginError::Trapped(message)) = result else {
            panic!("{mode}: {result:?}");
        };
        match mode {
            "trap" => assert_eq!(
                message,
                "wasm trap: wasm `unreachable` instruction executed"
            ),
            // The SDK's panic hook logged the panic; that line is the reason.
            _ => {
                assert!(message.starts_with("panicked at "), "{message}");
                assert!(
                    message.ends_with(": the hostile fixture panics on purpose"),
                    "{message}"
                );
            }
        }
        assert_still_serves().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_answers_are_bad_output() {
    match hostile("bad_decimal").await {
        Err(PluginError::BadOutput(message)) => assert!(message.contains("12,5abc"), "{message}"),
        other => panic!("{other:?}"),
    }
    match hostile("unknown_line").await {
        Err(PluginError::BadOutput(message)) => {
            assert!(message.contains("no-such-line"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_answer_is_refused() {
    // ~10 MB of violations, given time to build them (the operator's 1 s cap) so the size
    // limits are what stops it. Under the default 32 MiB memory cap the guest can build the
    // answer and the host refuses it by size after copying it out; under a smaller cap the
    // guest runs out of memory first. Either way only this call fails.
    let loaded = loaded();
    let roomy = roomy();
    let huge = json!({"mode": "huge_output"});
    let result = loaded
        .runtime
        .evaluate(&loaded.hostile, &cart(1), &huge, &roomy)
        .await;
    assert!(
        matches!(
            result,
            Err(PluginError::OutputTooLarge(_) | PluginError::OutOfMemory)
        ),
        "{result:?}"
    );
    let tight = PluginLimits {
        memory_bytes: 8 * 1024 * 1024,
        ..roomy
    };
    let result = loaded
        .runtime
        .evaluate(&loaded.hostile, &cart(1), &huge, &tight)
        .await;
    assert_eq!(result, Err(PluginError::OutOfMemory));
    assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_the_plugin_cannot_read_is_config_rejected() {
    let result = hostile("sneaky").await;
    assert!(
        matches!(result, Err(PluginError::ConfigRejected(_))),
        "{result:?}"
    );
    assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn well_behaved_calls_run_on_while_hostile_ones_fail() {
    let loaded = loaded();
    let runtime = &loaded.runtime;
    let good_cart = cart(20);
    let config = json!({});
    // The deadline is wall-clock time: with looping plugins and the test's own threads
    // oversubscribing two cores, a well-behaved call can be descheduled for longer than the
    // hostile calls' 50 ms. Isolation, not latency, is what this test checks.
    let roomy = roomy();
    // Hostile calls on the async runtime …
    let mut hostile_calls = tokio::task::JoinSet::new();
    for mode in [
        "loop",
        "alloc",
        "trap",
        "panic",
        "loop",
        "huge_output",
        "bad_decimal",
    ] {
        hostile_calls.spawn(hostile(mode));
    }
    // … while plain threads call the blocking API with a well-behaved plugin.
    let good_calls: Vec<usize> = tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    scope.spawn(|| {
                        let until = Instant::now() + Duration::from_millis(300);
                        let mut calls = 0;
                        while Instant::now() < until {
                            match runtime.evaluate_blocking(
                                &loaded.grocery,
                                &good_cart,
                                &config,
                                &roomy,
                            ) {
                                Ok(_) => calls += 1,
                                // Only a full pool may refuse a blocking call.
                                Err(PluginError::Unavailable(_)) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        calls
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        })
    });
    assert!(good_calls.iter().all(|&calls| calls > 0), "{good_calls:?}");
    while let Some(result) = hostile_calls.join_next().await {
        assert!(result.unwrap().is_err());
    }
    // And async well-behaved calls alongside hostile ones.
    let mut tasks = tokio::task::JoinSet::new();
    // Fewer calls than pool slots (16), so none has to queue.
    for i in 0..12 {
        tasks.spawn(async move {
            let loaded = crate::support::loaded();
            if i % 6 == 0 {
                hostile("loop").await.map(|_| ())
            } else {
                loaded
                    .runtime
                    .evaluate(&loaded.food, &cart(4), &json!({}), &roomy)
                    .await
                    .map(|_| ())
            }
        });
    }
    let mut failures = 0;
    while let Some(result) = tasks.join_next().await {
        if let Err(e) = result.unwrap() {
            assert_eq!(e, PluginError::DeadlineExceeded);
            failures += 1;
        }
    }
    assert_eq!(failures, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saturated_pool_answers_unavailable() {
    let runtime = WasmRuntime::new(SandboxPolicy {
        pool_size: 1,
        queue_timeout: Duration::from_millis(20),
        ..cached_policy()
    })
    .unwrap();
    let sha = runtime.inspect(&guests().hostile).await.unwrap().sha256;
    // Waits for the serving compile that follows the upload's check, so the calls below
    // do not.
    runtime.load(&sha, &guests().hostile).await.unwrap();
    let slow = PluginLimits {
        deadline_ms: 500,
        ..PluginLimits::default()
    };
    let one_line = cart(1);
    let looping_config = json!({"mode": "loop"});
    let (looping, waiting) = tokio::join!(
        runtime.evaluate(&sha, &one_line, &looping_config, &slow),
        async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            runtime.evaluate(&sha, &one_line, &json!({}), &slow).await
        }
    );
    assert_eq!(looping, Err(PluginError::DeadlineExceeded));
    assert!(
        matches!(waiting, Err(PluginError::Unavailable(_))),
        "{waiting:?}"
    );
    // The slot is free again.
    runtime
        .evaluate(&sha, &cart(1), &json!({}), &slow)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn fuel_cuts_a_loop_when_metering_is_on() {
    let runtime = WasmRuntime::new(SandboxPolicy {
        max_fuel: Some(50_000_000),
        ..cached_policy()
    })
    .unwrap();
    let sha = runtime.inspect(&guests().hostile).await.unwrap().sha256;
    // Waits for the serving compile that follows the upload's check, so the calls below
    // do not.
    runtime.load(&sha, &guests().hostile).await.unwrap();
    let fuel = PluginLimits {
        deadline_ms: 10_000,
        fuel: Some(1_000_000),
        ..PluginLimits::default()
    };
    let started = Instant::now();
    let result = runtime
        .evaluate(&sha, &cart(1), &json!({"mode": "loop"}), &fuel)
        .await;
    assert_eq!(result, Err(PluginError::DeadlineExceeded));
    // The operator's 1 s deadline cap did not have to step in.
    assert!(started.elapsed() < Duration::from_millis(900));
    runtime
        .evaluate(&sha, &cart(1), &json!({}), &fuel)
        .await
        .unwrap();
}

/// A call runs on its caller's task (an actix worker is a single-threaded runtime) and
/// yields at every epoch tick: a plugin looping until its deadline does not hold the thread,
/// so another tenant's calls on the same thread finish while it still loops.
#[test]
fn a_loop_shares_its_thread_with_other_calls() {
    let thread = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    thread.block_on(async {
        let loaded = loaded();
        let slow = PluginLimits {
            deadline_ms: 400,
            ..PluginLimits::default()
        };
        let looping_config = json!({"mode": "loop"});
        let one_line = cart(1);
        let looping = loaded
            .runtime
            .evaluate(&loaded.hostile, &one_line, &looping_config, &slow);
        let neighbour = async {
            // Let the loop start first, so it holds the thread if it does not yield.
            tokio::task::yield_now().await;
            let mut finished = Vec::new();
            for _ in 0..20 {
                loaded
                    .runtime
                    .evaluate(&loaded.grocery, &cart(5), &json!({}), &roomy())
                    .await
                    .unwrap();
                finished.push(Instant::now());
            }
            finished
        };
        let ((looped, loop_ended), finished) =
            tokio::join!(async { (looping.await, Instant::now()) }, neighbour);
        assert_eq!(looped, Err(PluginError::DeadlineExceeded));
        assert!(
            finished.iter().all(|at| *at < loop_ended),
            "every neighbour call finished while the loop was still running"
        );
    });
}
