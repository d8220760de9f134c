use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use trolley_core::domain::{ApiKeyInfo, CustomerTokenSecret, KeyKind};
use trolley_core::service::NewApiKey;

/// Which requests a key authenticates: `storefront` (`X-Api-Key`) or `admin`
/// (`Authorization: Bearer`).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyKindDto {
    Storefront,
    Admin,
}

impl From<KeyKindDto> for KeyKind {
    fn from(k: KeyKindDto) -> Self {
        match k {
            KeyKindDto::Storefront => KeyKind::Storefront,
            KeyKindDto::Admin => KeyKind::Admin,
        }
    }
}

impl From<KeyKind> for KeyKindDto {
    fn from(k: KeyKind) -> Self {
        match k {
            KeyKind::Storefront => KeyKindDto::Storefront,
            KeyKind::Admin => KeyKindDto::Admin,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub kind: KeyKindDto,
    /// 1–100 characters, e.g. `web storefront` or `ci deploys`.
    pub name: String,
}

/// A key as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyResponse {
    /// What the audit log names the key by (`actor`).
    pub key_id: Uuid,
    pub kind: KeyKindDto,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request, to within a minute; `null` if never.
    pub last_used_at: Option<DateTime<Utc>>,
    /// `null` while the key works.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<&ApiKeyInfo> for ApiKeyResponse {
    fn from(k: &ApiKeyInfo) -> Self {
        Self {
            key_id: k.id,
            kind: k.kind.into(),
            name: k.name.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key. `key` is shown here only: Trolley keeps its SHA-256.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreatedResponse {
    pub key_id: Uuid,
    pub kind: KeyKindDto,
    pub name: String,
    pub key: String,
    pub created_at: DateTime<Utc>,
}

impl From<NewApiKey> for ApiKeyCreatedResponse {
    fn from(k: NewApiKey) -> Self {
        Self {
            key_id: k.info.id,
            kind: k.info.kind.into(),
            name: k.info.name,
            key: k.key,
            created_at: k.info.created_at,
        }
    }
}

/// A customer-token secret as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerTokenSecretResponse {
    pub secret_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl From<&CustomerTokenSecret> for CustomerTokenSecretResponse {
    fn from(s: &CustomerTokenSecret) -> Self {
        Self {
            secret_id: s.id,
            created_at: s.created_at,
        }
    }
}

/// A new customer-token secret. `secret` is shown here only. Sign new customer tokens
/// (HS256) with it; tokens signed with the older secrets keep verifying until those are
/// deleted.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerTokenSecretCreatedResponse {
    pub secret_id: Uuid,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl From<CustomerTokenSecret> for CustomerTokenSecretCreatedResponse {
    fn from(s: CustomerTokenSecret) -> Self {
        Self {
            secret_id: s.id,
            secret: s.secret,
            created_at: s.created_at,
        }
    }
}
