//! Who is using the console, as extractors: a handler that takes [`Admin`] runs only for a
//! signed-in tenant admin, one that takes [`Posted<Admin>`] also only for a form of this
//! session (CSRF token) sent from this site.
//!
//! The browser holds a random session token in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` over TLS); the admin key is sent once, at sign-in, and never stored in the
//! browser. Every request re-checks the key the session signed in with.

use std::sync::Arc;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use trolley_core::domain::{Actor, Tenant, secret};
use trolley_core::service::ConsoleUser;

use crate::ConsoleState;
use crate::error::ConsoleError;

pub const SESSION_COOKIE: &str = "trolley_console";
/// The sign-in form's own CSRF token (double submit): there is no session yet to hold one.
pub const SIGN_IN_COOKIE: &str = "trolley_console_sign_in";
/// The form field (and, for scripts, the `X-CSRF-Token` header) carrying the token.
pub const CSRF_FIELD: &str = "csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A signed-in tenant admin.
#[derive(Debug, Clone)]
pub struct Admin {
    pub tenant: Arc<Tenant>,
    pub actor: Actor,
    pub csrf: String,
}

/// The signed-in platform operator.
#[derive(Debug, Clone)]
pub struct Operator {
    pub csrf: String,
}

/// A role a console page is for.
pub trait Role: Sized + 'static {
    fn of(user: ConsoleUser) -> Result<Self, ConsoleError>;
    fn csrf(&self) -> &str;
}

impl Role for Admin {
    fn of(user: ConsoleUser) -> Result<Self, ConsoleError> {
        match user {
            ConsoleUser::TenantAdmin {
                tenant,
                actor,
                csrf_token,
            } => Ok(Admin {
                tenant,
                actor,
                csrf: csrf_token,
            }),
            ConsoleUser::Operator { .. } => Err(ConsoleError::WrongRole {
                home: "/console/tenants",
            }),
        }
    }

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl Role for Operator {
    fn of(user: ConsoleUser) -> Result<Self, ConsoleError> {
        match user {
            ConsoleUser::Operator { csrf_token } => Ok(Operator { csrf: csrf_token }),
            ConsoleUser::TenantAdmin { .. } => Err(ConsoleError::WrongRole { home: "/console" }),
        }
    }

    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub(crate) fn console(req: &HttpRequest) -> Result<web::Data<ConsoleState>, ConsoleError> {
    req.app_data::<web::Data<ConsoleState>>()
        .cloned()
        .ok_or_else(|| {
            ConsoleError::from(trolley_api::ApiError::new(
                trolley_api::Code::Internal,
                "console state missing",
            ))
        })
}

/// Where to come back to after signing in: this page, with its query.
fn here(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(pq) if req.method() == actix_web::http::Method::GET => pq.as_str().to_owned(),
        _ => "/console".to_owned(),
    }
}

async fn user_of(req: &HttpRequest) -> Result<ConsoleUser, ConsoleError> {
    let signed_out = || ConsoleError::SignIn { next: here(req) };
    let token = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(signed_out)?;
    console(req)?
        .sessions
        .user(&token)
        .await?
        .ok_or_else(signed_out)
}

/// A page for role `R`: signed-in users of another role are sent to their own home.
pub struct Signed<R>(pub R);

impl<R: Role> FromRequest for Signed<R> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { R::of(user_of(&req).await?).map(Signed) })
    }
}

/// The fields of a url-encoded form, in order (a field may repeat).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Result<Self, ConsoleError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Fields)
            .map_err(|e| {
                ConsoleError::from(trolley_api::ApiError::new(
                    trolley_api::Code::InvalidInput,
                    format!("the form could not be read: {e}"),
                ))
            })
    }

    /// The first value of `name`, trimmed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// The first value of `name`, trimmed; `None` when absent or empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

/// A form posted by role `R` from a page of this session: the CSRF token must match and
/// the browser must not say the request came from another site.
pub struct Posted<R> {
    pub user: R,
    pub fields: Fields,
}

impl<R: Role> FromRequest for Posted<R> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            // The origin is checked before anything else, so a cross-site post learns nothing.
            same_site(&req)?;
            let user = R::of(user_of(&req).await?)?;
            let body = body.await.map_err(|e| {
                ConsoleError::from(trolley_api::ApiError::new(
                    trolley_api::Code::InvalidInput,
                    format!("the form could not be read: {e}"),
                ))
            })?;
            let fields = Fields::parse(&body)?;
            let presented = fields.get(CSRF_FIELD).or_else(|| header(&req, CSRF_HEADER));
            check_token(user.csrf(), presented)?;
            Ok(Posted { user, fields })
        })
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Refuses a request the browser says came from another site (`Sec-Fetch-Site`) or whose
/// `Origin` is not this server.
pub fn same_site(req: &HttpRequest) -> Result<(), ConsoleError> {
    if matches!(
        header(req, "sec-fetch-site"),
        Some("cross-site" | "same-site")
    ) {
        return Err(ConsoleError::CsrfRefused);
    }
    // `null` names no site (privacy settings, redirects): the CSRF token decides then.
    if let Some(origin) = header(req, "origin").filter(|o| *o != "null") {
        let info = req.connection_info();
        let own = format!("{}://{}", info.scheme(), info.host());
        if origin != own {
            return Err(ConsoleError::CsrfRefused);
        }
    }
    Ok(())
}

/// Compares a presented CSRF token with the expected one in constant time.
pub fn check_token(expected: &str, presented: Option<&str>) -> Result<(), ConsoleError> {
    let presented = presented.ok_or(ConsoleError::CsrfRefused)?;
    // `secret::verify` compares digests without leaking how much of the token matched.
    if !expected.is_empty() && secret::verify(presented, &secret::hash(expected)) {
        Ok(())
    } else {
        Err(ConsoleError::CsrfRefused)
    }
}

/// A cookie only this site's pages send back, never readable by scripts, `Secure` when the
/// console is served over TLS.
pub fn cookie(req: &HttpRequest, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .finish()
}

/// The cookie that makes the browser forget `name`.
pub fn removal(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut gone = cookie(req, name, String::new());
    gone.set_max_age(CookieDuration::ZERO);
    gone
}
