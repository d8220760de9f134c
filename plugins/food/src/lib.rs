//! Food delivery order type for Trolley. (placeholder until implemented).
