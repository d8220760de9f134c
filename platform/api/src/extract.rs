//! Input plumbing: turn actix's extractor failures into problem+json, bound body sizes, and
//! read the conditional-request headers.

use actix_web::dev::Payload;
use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::header::IF_MATCH;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::{Ready, ready};

use trolley_core::service::Precondition;

use crate::error::{ApiError, Code};

/// Largest JSON body for cart and config requests.
pub const JSON_LIMIT: usize = 64 * 1024;
/// Largest JSON body for catalog batches (1000 items).
pub const BATCH_LIMIT: usize = 4 * 1024 * 1024;

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::new(
            Code::PayloadTooLarge,
            format!("the body is {length} bytes; the limit is {limit}"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::new(
            Code::PayloadTooLarge,
            format!("the body exceeds the {limit}-byte limit"),
        ),
        JsonPayloadError::ContentType => ApiError::new(
            Code::UnsupportedMediaType,
            "send the body as Content-Type: application/json",
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() => {
            ApiError::new(Code::InvalidRequest, e.to_string())
        }
        JsonPayloadError::Deserialize(e) => ApiError::new(Code::MalformedJson, e.to_string()),
        other => ApiError::new(Code::InvalidRequest, other.to_string()),
    }
}

/// An optional JSON body: empty means `T::default()`; anything else must parse (with the
/// same errors as a required body), so a typo is never silently ignored.
pub fn optional_json<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    if body.len() > JSON_LIMIT {
        return Err(json_error(JsonPayloadError::Overflow { limit: JSON_LIMIT }));
    }
    serde_json::from_slice(body).map_err(|e| json_error(JsonPayloadError::Deserialize(e)))
}

/// JSON bodies up to `limit` bytes, with problem+json errors.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(|err, _| json_error(err).into())
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _| {
        ApiError::new(
            Code::InvalidRequest,
            format!("invalid path parameter: {err}"),
        )
        .into()
    })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _| {
        ApiError::new(Code::InvalidRequest, format!("invalid query string: {err}")).into()
    })
}

/// Raw bodies (plugin uploads, and every body the idempotency middleware fingerprints) up to
/// the largest plugin module.
pub fn payload_config() -> web::PayloadConfig {
    web::PayloadConfig::default().limit(trolley_core::service::plugins::MAX_PLUGIN_BYTES)
}

/// The cart version a mutation insists on, from `If-Match: "<version>"`.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Precondition);

impl IfMatch {
    /// `"7"`, `W/"7"` and `7` name version 7; `*` matches any version. Anything else can
    /// match no version, so it is kept as an impossible one and answers 412.
    fn parse(raw: &str) -> Option<i64> {
        let raw = raw.trim();
        if raw == "*" {
            return None;
        }
        let tag = raw.strip_prefix("W/").unwrap_or(raw).trim_matches('"');
        Some(tag.parse().unwrap_or(-1))
    }
}

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let if_match = match req.headers().get(IF_MATCH).map(|v| v.to_str()) {
            None => None,
            Some(Ok(raw)) => IfMatch::parse(raw),
            Some(Err(_)) => Some(-1),
        };
        ready(Ok(IfMatch(Precondition { if_match })))
    }
}

/// `ETag` value for a cart version.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(IfMatch::parse("\"7\""), Some(7));
        assert_eq!(IfMatch::parse("W/\"7\""), Some(7));
        assert_eq!(IfMatch::parse("7"), Some(7));
        assert_eq!(IfMatch::parse("*"), None);
        assert_eq!(IfMatch::parse("\"abc\""), Some(-1));
    }
}
