//! The console seam: where signed-in console sessions live. A session is a server-side row
//! the browser holds only a random token for; the admin key itself never reaches the browser
//! after sign-in (SPEC §12).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::StoreError;

/// Who a console session acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsolePrincipal {
    /// A tenant admin, by the key they signed in with.
    TenantAdmin,
    /// The platform operator, by the server's operator token.
    Operator,
}

impl ConsolePrincipal {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsolePrincipal::TenantAdmin => "tenant_admin",
            ConsolePrincipal::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tenant_admin" => Some(ConsolePrincipal::TenantAdmin),
            "operator" => Some(ConsolePrincipal::Operator),
            _ => None,
        }
    }
}

/// A stored console session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    /// SHA-256 of the cookie's token: a leaked table does not sign anyone in.
    pub token_hash: String,
    pub principal: ConsolePrincipal,
    /// SHA-256 of the credential signed in with (the admin key, or the operator token). Every
    /// request re-checks it, so revoking the key, suspending the tenant or changing the
    /// operator token ends the session at once.
    pub credential_hash: String,
    /// The synchronizer token every form and script request of this session must echo.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait ConsoleSessionRepository: Send + Sync {
    /// Stores `session`, and forgets sessions that expired before `session.created_at`.
    async fn insert(&self, session: &ConsoleSession) -> Result<(), StoreError>;
    /// The unexpired session with this token hash.
    async fn find(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>, StoreError>;
    async fn delete(&self, token_hash: &str) -> Result<(), StoreError>;
}
