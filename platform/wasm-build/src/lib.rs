//! Build-script helper that compiles Trolley's guest plugins to wasm32-wasip2 components. (placeholder until implemented).
