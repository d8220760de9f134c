//! Grocery order type for Trolley. (placeholder until implemented).
