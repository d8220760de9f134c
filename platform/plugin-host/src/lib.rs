//! Runs order-type plugins: wasmtime engine, component loading, sandbox limits. (placeholder until implemented).
