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

/// The body of a JSON merge patch: `application/merge-patch+json` (RFC 7396), or plain
/// `application/json`, which clients send by habit and means the same here.
pub fn merge_patch_body(req: &HttpRequest, body: &[u8]) -> Result<serde_json::Value, ApiError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence != "application/merge-patch+json" && essence != "application/json" {
        return Err(ApiError::new(
            Code::UnsupportedMediaType,
            "send the patch as Content-Type: application/merge-patch+json",
        ));
    }
    if body.len() > JSON_LIMIT {
        return Err(json_error(JsonPayloadError::Overflow { limit: JSON_LIMIT }));
    }
    serde_json::from_slice(body).map_err(|e| json_error(JsonPayloadError::Deserialize(e)))
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
        // A cart's ETag is `"<version>-<fingerprint>"` (see `conditional`): the version is
        // what a change must apply to.
        let version = tag.split_once('-').map_or(tag, |(version, _)| version);
        Some(version.parse().unwrap_or(-1))
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

/// What `If-Match` on a config change names. A config change must send one: unlike a cart
/// line, a config is edited by people in consoles and scripts that read it a while ago, and
/// a lost update there silently undoes someone's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigIfMatch {
    /// No `If-Match` at all.
    Absent,
    /// `If-Match: *`: whatever revision is current (an explicit opt-out).
    Any,
    /// `"<revision>"`; an unparsable tag is kept as an impossible revision (412).
    Revision(i64),
}

impl ConfigIfMatch {
    /// The revision a change must apply to, `None` for any; `Absent` is
    /// `428 precondition_required`.
    pub fn required(self) -> Result<Option<i64>, ApiError> {
        match self {
            ConfigIfMatch::Absent => Err(ApiError::new(
                Code::PreconditionRequired,
                "send If-Match with the config's ETag (from GET /v1/admin/config)",
            )),
            ConfigIfMatch::Any => Ok(None),
            ConfigIfMatch::Revision(revision) => Ok(Some(revision)),
        }
    }

    /// The revision a change must apply to, `None` for any (also when absent).
    pub fn optional(self) -> Option<i64> {
        match self {
            ConfigIfMatch::Revision(revision) => Some(revision),
            ConfigIfMatch::Absent | ConfigIfMatch::Any => None,
        }
    }
}

impl FromRequest for ConfigIfMatch {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let if_match = match req.headers().get(IF_MATCH).map(|v| v.to_str()) {
            None => ConfigIfMatch::Absent,
            Some(Ok(raw)) => match IfMatch::parse(raw) {
                None => ConfigIfMatch::Any,
                Some(revision) => ConfigIfMatch::Revision(revision),
            },
            Some(Err(_)) => ConfigIfMatch::Revision(-1),
        };
        ready(Ok(if_match))
    }
}

/// `ETag` value for a cart version or a config revision.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

/// Reads a plugin upload (the admin API's and the console's) up to the maximum module size;
/// a larger one is refused as soon as it passes the maximum, saying what the maximum is.
pub async fn plugin_module(mut payload: web::Payload) -> Result<web::BytesMut, ApiError> {
    let too_large = |size: usize| {
        ApiError::from(trolley_core::CoreError::PluginTooLarge {
            size,
            max: trolley_core::service::plugins::MAX_PLUGIN_BYTES,
        })
    };
    let mut body = web::BytesMut::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(Code::InvalidRequest, format!("the upload broke off: {e}"))
        })?;
        if body.len() + chunk.len() > trolley_core::service::plugins::MAX_PLUGIN_BYTES {
            return Err(too_large(body.len() + chunk.len()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_forms() {
        assert_eq!(IfMatch::parse("\"7\""), Some(7));
        assert_eq!(IfMatch::parse("W/\"7\""), Some(7));
        assert_eq!(IfMatch::parse("7"), Some(7));
        assert_eq!(IfMatch::parse("\"7-0a1b2c3d\""), Some(7));
        assert_eq!(IfMatch::parse("W/\"7-0a1b2c3d\""), Some(7));
        assert_eq!(IfMatch::parse("\"-7\""), Some(-1));
        assert_eq!(IfMatch::parse("*"), None);
        assert_eq!(IfMatch::parse("\"abc\""), Some(-1));
    }
}
