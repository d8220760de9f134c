//! API keys and cart tokens: random, shown once, stored as SHA-256.
//!
//! The keys carry 244 bits of randomness, so a fast hash is the right tool: there is nothing
//! to brute-force, and a slow KDF would cost every request.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A fresh random secret with a readable prefix (`tsk_…` storefront, `tak_…` admin).
pub fn generate(prefix: &str) -> String {
    // Two v4 UUIDs are 244 random bits from the OS generator.
    format!(
        "{prefix}{}{}",
        Uuid::new_v4().simple(),
        Uuid::new_v4().simple()
    )
}

/// The stored form of a secret.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored hash without leaking, through timing, how many
/// leading characters matched.
pub fn verify(presented: &str, stored_hash: &str) -> bool {
    let presented = hash(presented);
    presented.len() == stored_hash.len()
        && presented
            .bytes()
            .zip(stored_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_verify_against_their_hash_only() {
        let s = generate("tsk_");
        assert!(s.starts_with("tsk_") && s.len() == 4 + 64);
        assert!(verify(&s, &hash(&s)));
        assert!(!verify(&generate("tsk_"), &hash(&s)));
    }
}
