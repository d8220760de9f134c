//! Builds Trolley's guest plugins (order types and test fixtures) into `wasm32-wasip2`
//! components from a build script, the way spin's `tests/test-components/build.rs` does:
//! the wasm a test or the server embeds is compiled from this repository's sources, never
//! downloaded or committed.
//!
//! ```no_run
//! // The `main` of a build.rs that embeds or loads the guests: the crate then finds
//! // them with `env!("TROLLEY_PLUGIN_GROCERY_WASM")` and friends.
//! trolley_wasm_build::emit_guest_env(&["trolley-plugin-grocery", "trolley-plugin-hostile"]);
//! ```
//!
//! # Why the nested build cleans its environment
//!
//! A build script runs inside an outer `cargo` invocation whose environment is meant for
//! the *host* crate being built, not for a second `cargo build --target wasm32-wasip2`:
//! - `RUSTC_WRAPPER` / `RUSTC_WORKSPACE_WRAPPER` are set by `cargo clippy` (to
//!   `clippy-driver`) and by sccache; the nested build would lint or cache the guests with
//!   the outer tool's flags, or fail outright;
//! - `CARGO_ENCODED_RUSTFLAGS`, `RUSTFLAGS`, `CARGO_BUILD_RUSTFLAGS` carry host flags
//!   (`-C target-cpu=native`, instrumentation, `-D warnings` …) that are wrong or fatal for
//!   `wasm32`;
//! - `CARGO_TARGET_DIR` and `CARGO_BUILD_TARGET` would point the nested build at the outer
//!   build's directory (whose lock the outer cargo holds: a deadlock) or at the host target;
//! - `CARGO_MAKEFLAGS`, `MAKEFLAGS`, `MFLAGS` hand the outer jobserver's file descriptors
//!   to the child, which are not open in it.
//!
//! So the nested build gets its own target directory,
//! `${CARGO_TARGET_DIR:-<workspace>/target}/wasm-guests`, and none of the variables above.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target guests are built for: WASI preview 2, which makes components directly.
pub const TARGET: &str = "wasm32-wasip2";

/// The cargo profile guests are built with (the workspace `Cargo.toml`'s
/// `[profile.wasm-guest]`: size-optimized, LTO, one codegen unit, stripped).
pub const PROFILE: &str = "wasm-guest";

/// Variables of the outer cargo that break a nested build (see the crate docs).
const SCRUBBED_ENV: &[&str] = &[
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTC_WRAPPER",
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
];

/// One built guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// The cargo package, e.g. `trolley-plugin-grocery`.
    pub package: String,
    /// The `.wasm` component, e.g.
    /// `<target>/wasm-guests/wasm32-wasip2/wasm-guest/trolley_plugin_grocery.wasm`.
    pub path: PathBuf,
}

/// Builds the given workspace packages as `wasm32-wasip2` components with the
/// [`PROFILE`] profile and returns where each one is.
///
/// Call it from a build script: it prints `cargo:rerun-if-changed` for the SDK and the
/// plugins (so the caller rebuilds when a guest's source changes) and `cargo:warning` lines
/// when it has to install the target.
///
/// # Errors
/// A message for people: the `wasm32-wasip2` target is missing and cannot be installed, the
/// nested build failed (its output is included), or a component is not where cargo should
/// have put it.
pub fn build_guests(packages: &[&str]) -> Result<Vec<Guest>, String> {
    let root = workspace_root();
    println!(
        "cargo:rerun-if-changed={}",
        root.join("plugin-sdk").display()
    );
    println!("cargo:rerun-if-changed={}", root.join("plugins").display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    if packages.is_empty() {
        return Ok(Vec::new());
    }

    ensure_target_installed()?;

    let target_dir = guest_target_dir(&root);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut command = Command::new(&cargo);
    command
        .arg("build")
        .arg("--profile")
        .arg(PROFILE)
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
    for package in packages {
        command.arg("-p").arg(package);
    }
    for var in SCRUBBED_ENV {
        command.env_remove(var);
    }

    let output = command
        .output()
        .map_err(|e| format!("could not run `{cargo}` to build the wasm guests: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "building the wasm guests ({}) failed with {}:\n{}",
            packages.join(", "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }

    let release = target_dir.join(TARGET).join(PROFILE);
    packages
        .iter()
        .map(|package| {
            let path = release.join(format!("{}.wasm", package.replace('-', "_")));
            if path.is_file() {
                Ok(Guest {
                    package: (*package).to_owned(),
                    path,
                })
            } else {
                Err(format!(
                    "`{package}` built but {} is missing: is it a `cdylib` crate?",
                    path.display()
                ))
            }
        })
        .collect()
}

/// [`build_guests`] for a build script whose crate reads each guest's path at compile
/// time: sets `<PACKAGE>_WASM` (`trolley-plugin-grocery` → `TROLLEY_PLUGIN_GROCERY_WASM`)
/// for every package, or prints the failure and ends the build script with status 1.
pub fn emit_guest_env(packages: &[&str]) {
    match build_guests(packages) {
        Ok(guests) => {
            for guest in guests {
                let var = guest.package.to_uppercase().replace('-', "_");
                println!("cargo:rustc-env={var}_WASM={}", guest.path.display());
            }
        }
        Err(e) => {
            eprintln!("building the guest plugins failed: {e}");
            std::process::exit(1);
        }
    }
}

/// `wasm` with an empty custom section named `name` appended: another module (another
/// sha256) with the same behaviour, which tests use as a "v2" that needs no second build.
pub fn with_custom_section(mut wasm: Vec<u8>, name: &str) -> Vec<u8> {
    let mut payload = leb128(name.len());
    payload.extend_from_slice(name.as_bytes());
    wasm.push(0); // custom section id
    wasm.extend(leb128(payload.len()));
    wasm.extend(payload);
    wasm
}

/// `wasm` claiming version `to` instead of `from`: the version string its `describe`
/// answers, rewritten in the data segment (same length, so nothing else moves). Tests use it
/// as another release of a plugin without a second build; a plugin version names one build,
/// so the same version with other bytes is refused at upload. Panics unless `from` occurs
/// exactly once in the module and `to` has its length.
pub fn with_version(mut wasm: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
    assert_eq!(
        from.len(),
        to.len(),
        "a version can only be rewritten in place"
    );
    let found: Vec<usize> = wasm
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from.as_bytes())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "`{from}` occurs {} times in the module; cannot tell the version apart",
        found.len()
    );
    let at = found[0];
    wasm[at..at + to.len()].copy_from_slice(to.as_bytes());
    wasm
}

/// Unsigned LEB128, the encoding of sizes in the wasm binary format.
fn leb128(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// This crate lives at `<root>/platform/wasm-build`.
fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `${CARGO_TARGET_DIR:-<root>/target}/wasm-guests`: next to the outer build's artifacts
/// (shared caches keep working) but not inside a directory the outer cargo has locked.
/// A relative `CARGO_TARGET_DIR` is taken relative to the workspace root (a build script
/// does not know the directory the outer cargo was started in).
fn guest_target_dir(root: &Path) -> PathBuf {
    let base = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        _ => root.join("target"),
    };
    base.join("wasm-guests")
}

/// Installs the target with rustup when the toolchain lacks it.
fn ensure_target_installed() -> Result<(), String> {
    if target_installed()? {
        return Ok(());
    }
    println!(
        "cargo:warning=the {TARGET} target is not installed; running `rustup target add {TARGET}`"
    );
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .status();
    match status {
        Ok(status) if status.success() && target_installed()? => {
            println!("cargo:warning=installed the {TARGET} target");
            Ok(())
        }
        Ok(status) => Err(format!(
            "the {TARGET} target is not installed and `rustup target add {TARGET}` failed \
             ({status}); run it yourself, then build again"
        )),
        Err(e) => Err(format!(
            "the {TARGET} target is not installed and rustup could not be run ({e}); \
             run `rustup target add {TARGET}` (or install the target's standard library), \
             then build again"
        )),
    }
}

/// Whether `<sysroot>/lib/rustlib/wasm32-wasip2` exists for the rustc cargo would use.
fn target_installed() -> Result<bool, String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .map_err(|e| format!("could not run `{rustc} --print sysroot`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`{rustc} --print sysroot` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(Path::new(&sysroot)
        .join("lib")
        .join("rustlib")
        .join(TARGET)
        .is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_root_has_the_wit_contract() {
        assert!(
            workspace_root()
                .join("plugin-sdk/wit/since_v1.0.0/order-type.wit")
                .is_file()
        );
    }

    #[test]
    fn sizes_are_leb128() {
        assert_eq!(leb128(0), vec![0]);
        assert_eq!(leb128(127), vec![0x7f]);
        assert_eq!(leb128(128), vec![0x80, 0x01]);
        assert_eq!(leb128(624_485), vec![0xe5, 0x8e, 0x26]);
        let tagged = with_custom_section(vec![1, 2], "v2");
        assert_eq!(tagged, vec![1, 2, 0, 3, 2, b'v', b'2']);
    }

    #[test]
    fn guests_get_their_own_target_dir() {
        let dir = guest_target_dir(Path::new("/repo"));
        assert!(dir.ends_with("wasm-guests"), "{}", dir.display());
    }

    #[test]
    fn no_packages_builds_nothing() {
        assert_eq!(build_guests(&[]), Ok(Vec::new()));
    }

    /// Builds the real guests the way a build script does (slow: a release wasm build).
    /// `cargo test -p trolley-wasm-build -- --ignored --nocapture`
    #[test]
    #[ignore = "runs a nested release build of the wasm guests"]
    fn builds_every_guest() {
        let packages = [
            "trolley-plugin-grocery",
            "trolley-plugin-food",
            "trolley-plugin-medicine",
            "trolley-plugin-hostile",
            "trolley-plugin-wrong-world",
            "trolley-plugin-contract-v1-0",
            "trolley-plugin-minimal",
        ];
        let guests = build_guests(&packages).unwrap();
        assert_eq!(guests.len(), packages.len());
        for guest in guests {
            let bytes = std::fs::read(&guest.path).unwrap();
            // A component, not a core module: layer 1 of the binary format.
            assert_eq!(
                &bytes[..8],
                b"\0asm\x0d\0\x01\0",
                "{}",
                guest.path.display()
            );
            println!("{} {} bytes", guest.path.display(), bytes.len());
        }
    }
}
