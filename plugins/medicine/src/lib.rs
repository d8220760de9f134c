//! Medicine order type for Trolley. (placeholder until implemented).
