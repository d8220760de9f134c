//! Console sessions (SPEC §12): sign in once with the tenant's admin key (or the operator
//! token), then a random session token in an `HttpOnly` cookie. The session row keeps the
//! hash of the credential and every request re-checks it, so a revoked key, a suspended
//! tenant or a changed operator token signs the browser out at once.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::{Actor, Tenant, secret};
use crate::error::CoreError;
use crate::ports::{Clock, ConsolePrincipal, ConsoleSession, ConsoleSessionRepository, KeyKind};
use crate::service::TenantService;

/// How long a console session lasts from sign-in: a working day, then sign in again.
pub const SESSION_TTL: Duration = Duration::hours(12);

/// A new session: the token goes to the browser (once, in a cookie), the rest stays here.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub token: String,
    pub session: ConsoleSession,
}

/// Who a live session acts for, checked against its credential just now.
#[derive(Debug, Clone)]
pub enum ConsoleUser {
    TenantAdmin {
        tenant: Arc<Tenant>,
        actor: Actor,
        csrf_token: String,
    },
    Operator {
        csrf_token: String,
    },
}

impl ConsoleUser {
    pub fn csrf_token(&self) -> &str {
        match self {
            ConsoleUser::TenantAdmin { csrf_token, .. } | ConsoleUser::Operator { csrf_token } => {
                csrf_token
            }
        }
    }
}

#[derive(Clone)]
pub struct ConsoleSessions {
    sessions: Arc<dyn ConsoleSessionRepository>,
    tenants: TenantService,
    clock: Arc<dyn Clock>,
    operator_token_hash: String,
}

impl ConsoleSessions {
    pub fn new(
        sessions: Arc<dyn ConsoleSessionRepository>,
        tenants: TenantService,
        clock: Arc<dyn Clock>,
        operator_token_hash: String,
    ) -> Self {
        Self {
            sessions,
            tenants,
            clock,
            operator_token_hash,
        }
    }

    /// Signs a tenant admin in with their admin key.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_admin(&self, admin_key: &str) -> Result<(SignedIn, Tenant), CoreError> {
        let (tenant, _) = self
            .tenants
            .authenticate_key(KeyKind::Admin, admin_key.trim())
            .await?;
        let signed_in = self
            .open(
                ConsolePrincipal::TenantAdmin,
                secret::hash(admin_key.trim()),
            )
            .await?;
        Ok((signed_in, tenant))
    }

    /// Signs the platform operator in with the server's operator token.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in_operator(&self, token: &str) -> Result<SignedIn, CoreError> {
        if !secret::verify(token.trim(), &self.operator_token_hash) {
            return Err(CoreError::Unauthenticated(
                "that is not this server's operator token",
            ));
        }
        self.open(ConsolePrincipal::Operator, self.operator_token_hash.clone())
            .await
    }

    async fn open(
        &self,
        principal: ConsolePrincipal,
        credential_hash: String,
    ) -> Result<SignedIn, CoreError> {
        let token = secret::generate("tcs_");
        let now = self.clock.now_millis();
        let session = ConsoleSession {
            token_hash: secret::hash(&token),
            principal,
            credential_hash,
            csrf_token: secret::generate(""),
            created_at: now,
            expires_at: now + SESSION_TTL,
        };
        self.sessions.insert(&session).await?;
        Ok(SignedIn { token, session })
    }

    /// The user of a session token, or `None` when the token is unknown, expired or its
    /// credential no longer works (the session is then deleted).
    #[tracing::instrument(skip_all)]
    pub async fn user(&self, token: &str) -> Result<Option<ConsoleUser>, CoreError> {
        let token_hash = secret::hash(token);
        let Some(session) = self
            .sessions
            .find(&token_hash, self.clock.now_millis())
            .await?
        else {
            return Ok(None);
        };
        let user = match session.principal {
            ConsolePrincipal::Operator => (session.credential_hash == self.operator_token_hash)
                .then(|| ConsoleUser::Operator {
                    csrf_token: session.csrf_token.clone(),
                }),
            ConsolePrincipal::TenantAdmin => match self
                .tenants
                .authenticate_key_hash(KeyKind::Admin, &session.credential_hash)
                .await
            {
                Ok((tenant, actor)) => Some(ConsoleUser::TenantAdmin {
                    tenant: Arc::new(tenant),
                    actor,
                    csrf_token: session.csrf_token.clone(),
                }),
                Err(CoreError::Unauthenticated(_) | CoreError::TenantSuspended) => None,
                Err(other) => return Err(other),
            },
        };
        if user.is_none() {
            self.sessions.delete(&token_hash).await?;
        }
        Ok(user)
    }

    /// Ends the session of `token` (nothing happens for an unknown one).
    pub async fn sign_out(&self, token: &str) -> Result<(), CoreError> {
        Ok(self.sessions.delete(&secret::hash(token)).await?)
    }
}
