//! A tenant's credentials as its admins manage them: named API keys (stored as SHA-256, see
//! [`super::secret`]) and customer-token secrets (stored as they are: verifying an HMAC
//! needs the key itself).

use chrono::{DateTime, Duration, Utc};
use std::fmt;
use uuid::Uuid;

use crate::error::CoreError;

/// Which kind of tenant credential a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Storefront,
    Admin,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Storefront => "storefront",
            KeyKind::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "storefront" => Some(KeyKind::Storefront),
            "admin" => Some(KeyKind::Admin),
            _ => None,
        }
    }

    /// The readable prefix of a key of this kind.
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Storefront => "tsk_",
            KeyKind::Admin => "tak_",
        }
    }

    /// Why `presented`, offered as a key of this kind, matched none: the common mix-up
    /// (the other kind's key in this place) is named, so the fix is obvious.
    pub fn unknown_key(self, presented: &str) -> &'static str {
        match self {
            KeyKind::Storefront if presented.starts_with(KeyKind::Admin.prefix()) => {
                "X-Api-Key holds an admin key (tak_…): storefront calls take the tenant's storefront key (tsk_…); the admin key goes in Authorization: Bearer on /v1/admin"
            }
            KeyKind::Storefront => {
                "X-Api-Key is not a live storefront key (tsk_…) of any tenant: it is unknown or was revoked"
            }
            KeyKind::Admin if presented.starts_with(KeyKind::Storefront.prefix()) => {
                "Authorization holds a storefront key (tsk_…): the admin API takes the tenant's admin key (tak_…) as Authorization: Bearer"
            }
            KeyKind::Admin => {
                "the admin key in Authorization: Bearer is not a live admin key (tak_…) of any tenant: it is unknown or was revoked"
            }
        }
    }

    /// The name the key created with the tenant gets (and the migration gave existing ones).
    pub fn initial_name(self) -> &'static str {
        match self {
            KeyKind::Storefront => "initial storefront key",
            KeyKind::Admin => "initial admin key",
        }
    }
}

/// What an admin calls a key: 1–100 characters, surrounding whitespace dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName(String);

impl KeyName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(name: &str) -> Result<Self, CoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_CHARS {
            return Err(CoreError::InvalidInput(format!(
                "name must be 1-{} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An API key as the admin API lists it: never its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub kind: KeyKind,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// When the key last authenticated a request, to within [`LAST_USED_RESOLUTION`].
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How stale a key's `last_used_at` may be. Recording every use would turn every request
/// into a write; recording at most once per this interval keeps it one small UPDATE per
/// key per minute whatever the traffic.
pub const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// Whether a key last recorded as used at `last_used_at` should be recorded again at `now`.
pub fn last_used_is_stale(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|at| at <= now - LAST_USED_RESOLUTION)
}

/// An HS256 key customer tokens may be signed with. A tenant has one or more; a token
/// verifies when any of them verifies it, so a new secret can be rolled out before the old
/// one is deleted.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerTokenSecret {
    pub id: Uuid,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl CustomerTokenSecret {
    /// A fresh random secret.
    pub fn generate(now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            secret: super::secret::generate("tcs_"),
            created_at: now,
        }
    }
}

/// Tenants end up in logs and panics through `Debug`; their secrets must not.
impl fmt::Debug for CustomerTokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomerTokenSecret")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_trimmed_and_bounded() {
        assert_eq!(KeyName::parse("  ci  ").unwrap().as_str(), "ci");
        assert!(KeyName::parse("   ").is_err());
        assert!(KeyName::parse(&"é".repeat(100)).is_ok());
        assert!(KeyName::parse(&"é".repeat(101)).is_err());
    }

    #[test]
    fn last_used_is_recorded_at_most_once_per_resolution() {
        let now = Utc::now();
        assert!(last_used_is_stale(None, now));
        assert!(!last_used_is_stale(Some(now - Duration::seconds(59)), now));
        assert!(last_used_is_stale(Some(now - Duration::seconds(60)), now));
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let s = CustomerTokenSecret::generate(Utc::now());
        assert!(!format!("{s:?}").contains(&s.secret));
    }
}
