//! Precompiled artifacts on disk: a restart loads instead of compiling.

use serde_json::json;
use trolley_core::domain::PluginLimits;
use trolley_core::ports::PluginRuntime;
use trolley_plugin_host::{SandboxPolicy, WasmRuntime};

use crate::support::{TempDir, cart, guests};

fn runtime(dir: &TempDir) -> WasmRuntime {
    WasmRuntime::new(SandboxPolicy {
        cache_dir: Some(dir.0.clone()),
        ..SandboxPolicy::default()
    })
    .unwrap()
}

fn artifact_files(dir: &TempDir) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for engine_dir in std::fs::read_dir(&dir.0).unwrap() {
        for file in std::fs::read_dir(engine_dir.unwrap().path()).unwrap() {
            files.push(file.unwrap().path());
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_loads_the_artifact_instead_of_compiling() {
    let dir = TempDir::new("artifacts");
    let wasm = &guests().grocery;
    let sha = {
        let first = runtime(&dir);
        let sha = first.inspect(wasm).await.unwrap().sha256;
        // Waits for the background serving compile, which writes the artifact.
        first.load(&sha, wasm).await.unwrap();
        assert_eq!(first.stats().compiled_from_scratch, 1);
        assert_eq!(first.stats().loaded_from_artifact, 0);
        sha
    };
    let files = artifact_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with(format!("{sha}.cwasm")), "{files:?}");

    // "Restart": a new runtime on the same cache directory.
    let second = runtime(&dir);
    assert!(!second.is_loaded(&sha));
    second.load(&sha, wasm).await.unwrap();
    assert!(second.is_loaded(&sha));
    let stats = second.stats();
    assert_eq!(stats.compiled_from_scratch, 0, "{stats:?}");
    assert_eq!(stats.loaded_from_artifact, 1, "{stats:?}");
    assert_eq!(second.info(&sha).unwrap().order_type, "grocery");
    second
        .evaluate(&sha, &cart(5), &json!({}), &PluginLimits::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_artifact_is_replaced_not_trusted() {
    let dir = TempDir::new("corrupt");
    let wasm = &guests().food;
    let first = runtime(&dir);
    let sha = first.inspect(wasm).await.unwrap().sha256;
    first.load(&sha, wasm).await.unwrap();
    drop(first);
    let file = artifact_files(&dir).remove(0);

    // Flip a byte in the payload: the recorded hash no longer matches.
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let restarted = runtime(&dir);
    restarted.load(&sha, wasm).await.unwrap();
    let stats = restarted.stats();
    assert_eq!(
        (
            stats.artifacts_rejected,
            stats.compiled_from_scratch,
            stats.loaded_from_artifact
        ),
        (1, 1, 0),
        "{stats:?}"
    );
    restarted
        .evaluate(&sha, &cart(2), &json!({}), &PluginLimits::default())
        .await
        .unwrap();

    // Rewritten: the next restart loads it.
    let again = runtime(&dir);
    again.load(&sha, wasm).await.unwrap();
    assert_eq!(again.stats().loaded_from_artifact, 1);

    // Truncated, and someone else's file under the name: both refused.
    for garbage in [&bytes[..100], b"not an artifact at all".as_slice()] {
        std::fs::write(&file, garbage).unwrap();
        let restarted = runtime(&dir);
        restarted.load(&sha, wasm).await.unwrap();
        assert_eq!(restarted.stats().artifacts_rejected, 1);
        assert_eq!(restarted.stats().compiled_from_scratch, 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_artifact_is_only_written_for_an_accepted_module() {
    let dir = TempDir::new("refused");
    let runtime = runtime(&dir);
    assert!(runtime.inspect(&guests().wrong_world).await.is_err());
    assert!(artifact_files(&dir).is_empty());
}

#[cfg(unix)]
#[test]
fn a_cache_dir_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("shared");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o777)).unwrap();
    let error = WasmRuntime::new(SandboxPolicy {
        cache_dir: Some(dir.0.clone()),
        ..SandboxPolicy::default()
    })
    .unwrap_err();
    assert!(
        error.to_string().contains("writable by other users"),
        "{error}"
    );
}
