//! SDK for writing Trolley order-type plugins in Rust. (placeholder until implemented).
