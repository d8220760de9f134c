//! Precompiled components on disk, so a restart loads a module in well under a millisecond
//! instead of compiling it again (30–55 ms).
//!
//! Layout: `<cache_dir>/<engine compatibility hash>/<module sha256>.cwasm`. The middle level
//! is derived from `Engine::precompile_compatibility_hash`, so a wasmtime upgrade or a
//! different engine configuration (fuel on/off, …) simply uses a fresh directory.
//!
//! A file is `MAGIC ‖ sha256(module) ‖ sha256(payload) ‖ payload`, where the payload is
//! what `Component::serialize` produced in this process.
//!
//! # Why deserializing is sound
//! `Component::deserialize` is `unsafe` because wasmtime trusts the artifact: it maps its code
//! as executable without validating it, so a forged or corrupt file means arbitrary code
//! execution. We only deserialize bytes that this runtime itself wrote:
//! - the directory is created by us with mode `0700`, and a cache directory that is group- or
//!   world-writable is refused, so only this service's user can put files there (whoever can
//!   write as that user already controls the process);
//! - files are written to a unique temporary name and renamed into place, so a reader never
//!   sees a half-written file;
//! - before deserializing, the header's magic, module hash and payload hash are checked over
//!   the exact bytes that are then deserialized (read once into memory, so there is no window
//!   between the check and the use); a truncated, bit-rotted or foreign file is rejected and
//!   the module compiled from its wasm again;
//! - wasmtime itself checks that the artifact was produced by the same wasmtime version and a
//!   compatible engine configuration.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

const MAGIC: &[u8; 16] = b"trolley-cwasm-v1";
const HEADER: usize = MAGIC.len() + 32 + 32;

/// Feeds `Hash` output into SHA-256, for a hash that is stable across processes (unlike
/// `DefaultHasher`, whose algorithm may change between Rust releases).
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        0
    }
}

/// A short, stable name for the engine's compilation settings.
pub(crate) fn engine_key(engine: &Engine) -> String {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hex::encode(&hasher.0.finalize()[..16])
}

/// Why an artifact on disk was not used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ArtifactError {
    #[error("cannot read the artifact: {0}")]
    Io(#[from] io::Error),
    #[error("the artifact is truncated, corrupt or not ours")]
    Corrupt,
    #[error("wasmtime refused the artifact: {0}")]
    Incompatible(String),
}

/// The artifact directory for one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ArtifactStore {
    dir: PathBuf,
}

impl ArtifactStore {
    /// Opens (creating if needed) `<cache_dir>/<engine key>/`.
    pub fn open(cache_dir: &Path, engine: &Engine) -> io::Result<Self> {
        let dir = cache_dir.join(engine_key(engine));
        create_private_dir(cache_dir)?;
        create_private_dir(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.cwasm"))
    }

    /// The component precompiled for `sha256`, if this runtime wrote one. `Ok(None)` when
    /// there is none.
    pub fn read(&self, engine: &Engine, sha256: &str) -> Result<Option<Component>, ArtifactError> {
        let bytes = match fs::read(self.path(sha256)) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if bytes.len() < HEADER || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ArtifactError::Corrupt);
        }
        let (header, payload) = bytes.split_at(HEADER);
        let module_hash = &header[MAGIC.len()..MAGIC.len() + 32];
        let payload_hash = &header[MAGIC.len() + 32..];
        if hex::encode(module_hash) != sha256 || Sha256::digest(payload)[..] != *payload_hash {
            return Err(ArtifactError::Corrupt);
        }
        // SAFETY: `payload` is exactly the bytes checked above against the hash this runtime
        // recorded when it wrote them from `Component::serialize`, in a directory only this
        // service can write (see the module docs).
        #[allow(unsafe_code)]
        let component = unsafe { Component::deserialize(engine, payload) }
            .map_err(|e| ArtifactError::Incompatible(format!("{e:#}")))?;
        Ok(Some(component))
    }

    /// Writes the artifact for `sha256` atomically.
    pub fn write(&self, sha256: &str, payload: &[u8]) -> io::Result<()> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.join(format!(
            ".{sha256}.{}.{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let result = (|| {
            let module_hash =
                hex::decode(sha256).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            let mut file = fs::File::create_new(&tmp)?;
            file.write_all(MAGIC)?;
            file.write_all(&module_hash)?;
            file.write_all(&Sha256::digest(payload))?;
            file.write_all(payload)?;
            file.sync_all()?;
            fs::rename(&tmp, self.path(sha256))
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Removes an artifact that could not be used, so it is rewritten.
    pub fn remove(&self, sha256: &str) {
        let _ = fs::remove_file(self.path(sha256));
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    let mode = fs::metadata(dir)?.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is writable by other users (mode {mode:o}); precompiled code is only loaded from a private directory",
                dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}
