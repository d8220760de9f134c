//! Cart answers with an `ETag` that changes exactly when what the shopper sees changes,
//! and the `304 Not Modified` a conditional read (`If-None-Match`) earns.
//!
//! The tag is `"<version>-<fingerprint>"`. The version alone is not enough: a cart's prices,
//! fees and availability change with the catalog, stock and the active plugin while its
//! version stays, and a `304` then would show the shopper a stale price. The fingerprint is
//! the start of a SHA-256 of the answer's fields up to `expires_at` (everything but the idle
//! deadline, which a read may renew, and the fields only a creation or a replacing add
//! carries). `If-Match` reads only the version (see `extract::IfMatch`): it guards the
//! lines against lost updates, which only the version says anything about.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpResponse, HttpResponseBuilder};
use sha2::{Digest, Sha256};

use crate::dto::carts::CartResponse;
use crate::error::{ApiError, Code, Result};

/// Where the fingerprinted part of a serialized cart ends.
const UNFINGERPRINTED: &[u8] = b",\"expires_at\":";

/// A cart serialized once, and its `ETag`.
pub struct CartBody {
    pub json: Vec<u8>,
    pub etag: String,
}

impl CartBody {
    pub fn of(cart: &CartResponse) -> Result<Self> {
        let json = serde_json::to_vec(cart)
            .map_err(|e| ApiError::new(Code::Internal, format!("cart does not serialize: {e}")))?;
        let end = json
            .windows(UNFINGERPRINTED.len())
            .position(|w| w == UNFINGERPRINTED)
            .unwrap_or(json.len());
        let digest = Sha256::digest(&json[..end]);
        let etag = format!("\"{}-{}\"", cart.version, hex::encode(&digest[..4]));
        Ok(Self { json, etag })
    }

    /// Whether `If-None-Match` names this answer (or is `*`).
    pub fn matches(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        value.split(',').map(str::trim).any(|tag| {
            // Weak comparison (RFC 9110 §13.1.2): `W/"…"` names the same answer.
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == self.etag
        })
    }

    /// The answer with `status`, or `304` with no body when `conditional` names it.
    pub fn respond(self, status: StatusCode, conditional: Option<&HeaderMap>) -> HttpResponse {
        if conditional.is_some_and(|headers| self.matches(headers)) {
            return HttpResponse::NotModified()
                .insert_header((header::ETAG, self.etag))
                .finish();
        }
        self.builder(status).body(self.json)
    }

    fn builder(&self, status: StatusCode) -> HttpResponseBuilder {
        let mut res = HttpResponse::build(status);
        res.content_type("application/json")
            .insert_header((header::ETAG, self.etag.clone()));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart(version: i64, total: &str, expires: i64) -> CartResponse {
        let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        CartResponse {
            cart_id: uuid::Uuid::nil(),
            status: "active".into(),
            order_type: None,
            currency: "EUR".into(),
            version,
            lines: Vec::new(),
            subtotal: total.parse().unwrap_or_default(),
            fees: Vec::new(),
            total: total.parse().unwrap_or_default(),
            violations: Vec::new(),
            fulfillment: None,
            plugin: None,
            plugin_status: "none".into(),
            plugin_failure: None,
            customer_id: None,
            context: Default::default(),
            merged_into: None,
            created_at: at,
            updated_at: at,
            expires_at: chrono::DateTime::from_timestamp(expires, 0).unwrap_or_default(),
            cart_token: None,
            replaced: None,
        }
    }

    fn tag(c: &CartResponse) -> String {
        CartBody::of(c).map(|b| b.etag).unwrap_or_default()
    }

    #[test]
    fn the_tag_follows_what_the_shopper_sees() {
        let base = tag(&cart(3, "10.00", 1_800_000_000));
        assert!(base.starts_with("\"3-") && base.ends_with('"'), "{base}");
        // A renewed idle deadline is not a change the shopper sees.
        assert_eq!(tag(&cart(3, "10.00", 1_900_000_000)), base);
        // A price (or fee, or availability) change at the same version is.
        assert_ne!(tag(&cart(3, "12.00", 1_800_000_000)), base);
        let mut created = cart(3, "10.00", 1_800_000_000);
        created.cart_token = Some("tct_x".into());
        assert_eq!(tag(&created), base);
    }

    #[test]
    fn if_none_match_forms() {
        let body = CartBody::of(&cart(3, "10.00", 1)).map_err(|e| e.to_string());
        let Ok(body) = body else { panic!("serializes") };
        let headers = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::IF_NONE_MATCH,
                v.parse().unwrap_or(header::HeaderValue::from_static("x")),
            );
            h
        };
        assert!(body.matches(&headers(&body.etag)));
        assert!(body.matches(&headers(&format!("W/{}", body.etag))));
        assert!(body.matches(&headers(&format!("\"1-00000000\", {}", body.etag))));
        assert!(body.matches(&headers("*")));
        assert!(!body.matches(&headers("\"3\"")));
        assert!(!body.matches(&HeaderMap::new()));
    }
}
