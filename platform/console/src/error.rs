//! What a console page answers when it cannot show what was asked: the sign-in page for a
//! browser without a session, or an HTML page that says what went wrong. Statuses and
//! messages come from the API's error registry, so the console and the API never disagree.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use maud::html;
use trolley_api::ApiError;
use trolley_core::error::CoreError;

use crate::page;

#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go and sign in, then come back to `next`.
    SignIn { next: String },
    /// A form arrived without this session's CSRF token, or from another site.
    CsrfRefused,
    /// Signed in, but as someone this page is not for.
    WrongRole { home: &'static str },
    /// Anything the API would answer with a problem document (boxed: it is large, and
    /// every handler's `Result` carries this type).
    Api(Box<ApiError>),
}

impl From<CoreError> for ConsoleError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Unauthenticated(_) | CoreError::TenantSuspended => ConsoleError::SignIn {
                next: "/console".into(),
            },
            other => ConsoleError::Api(Box::new(ApiError::from(other))),
        }
    }
}

impl From<ApiError> for ConsoleError {
    fn from(e: ApiError) -> Self {
        ConsoleError::Api(Box::new(e))
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsoleError::SignIn { next } => write!(f, "sign in to see {next}"),
            ConsoleError::CsrfRefused => f.write_str("the form's CSRF token is missing or wrong"),
            ConsoleError::WrongRole { home } => write!(f, "this page is not for you; see {home}"),
            ConsoleError::Api(e) => write!(f, "{}", e.detail),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn { .. } | ConsoleError::WrongRole { .. } => StatusCode::SEE_OTHER,
            ConsoleError::CsrfRefused => StatusCode::FORBIDDEN,
            ConsoleError::Api(e) => e.code.status(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn { next } => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, page::sign_in_url(next)))
                .finish(),
            ConsoleError::WrongRole { home } => HttpResponse::SeeOther()
                .insert_header((header::LOCATION, *home))
                .finish(),
            ConsoleError::CsrfRefused => page::bare(
                StatusCode::FORBIDDEN,
                "Form refused",
                html! {
                    p { "This form was sent without this session's security token, or from another site, so nothing was changed." }
                    p { "Reload the page and try again." }
                    p { a href="/console" { "Back to the console" } }
                },
            ),
            ConsoleError::Api(e) => {
                let status = e.code.status();
                if status.is_server_error() {
                    tracing::error!(code = e.code.as_str(), detail = %e.detail, "console page failed");
                }
                page::bare(
                    status,
                    status.canonical_reason().unwrap_or("Error"),
                    html! {
                        p { (e.detail) }
                        p.muted { "code: " code { (e.code.as_str()) } }
                        p { a href="/console" { "Back to the console" } }
                    },
                )
            }
        }
    }
}
