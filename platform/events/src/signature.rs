//! Standard Webhooks signatures: `v1,` + base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! keyed with the bytes of a `whsec_` secret. A request signed with several secrets (during
//! a rotation's overlap) carries all their signatures, separated by single spaces; a receiver
//! accepts it when any one verifies.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use trolley_core::domain::WebhookSecret;

/// The signature of one message under one key: `v1,<base64>`.
pub fn sign(secret_key: &[u8], msg_id: &str, timestamp_secs: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails; an empty signature would only
    // make receivers reject the request, never accept a forged one.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret_key) else {
        return String::new();
    };
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The `webhook-signature` header value: one signature per secret, space-separated.
pub fn signature_header(
    secrets: &[WebhookSecret],
    msg_id: &str,
    timestamp_secs: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| sign(&secret.key(), msg_id, timestamp_secs, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const MSG_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1_614_265_330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;
    const EXPECTED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let secret = WebhookSecret::from_stored(SECRET).expect("a whsec_ secret");
        assert_eq!(sign(&secret.key(), MSG_ID, TIMESTAMP, BODY), EXPECTED);
    }

    #[test]
    fn any_change_changes_the_signature() {
        let key = WebhookSecret::from_stored(SECRET)
            .expect("a whsec_ secret")
            .key();
        assert_ne!(sign(&key, "msg_other", TIMESTAMP, BODY), EXPECTED);
        assert_ne!(sign(&key, MSG_ID, TIMESTAMP + 1, BODY), EXPECTED);
        assert_ne!(sign(&key, MSG_ID, TIMESTAMP, b"{}"), EXPECTED);
    }

    #[test]
    fn the_header_carries_one_signature_per_secret() {
        let old = WebhookSecret::from_stored(SECRET).expect("a whsec_ secret");
        let new = WebhookSecret::generate();
        let header = signature_header(&[new.clone(), old], MSG_ID, TIMESTAMP, BODY);
        let parts: Vec<_> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], sign(&new.key(), MSG_ID, TIMESTAMP, BODY));
        assert_eq!(parts[1], EXPECTED);
        assert_eq!(signature_header(&[], MSG_ID, TIMESTAMP, BODY), "");
    }
}
