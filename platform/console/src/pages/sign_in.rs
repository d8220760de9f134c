//! Signing in and out: with the tenant's admin key, the operator token, or the one-click
//! link `trolley serve --demo` prints.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use trolley_core::domain::secret;
use trolley_core::error::CoreError;
use trolley_core::service::SignedIn;

use crate::error::ConsoleError;
use crate::page::{self, csrf_input, field_error};
use crate::session::{
    self, CSRF_FIELD, Fields, SESSION_COOKIE, SIGN_IN_COOKIE, check_token, same_site,
};

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Only a console page is a place to come back to: never another site.
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/console",
    }
}

/// `GET /console/sign-in`
pub async fn show(req: HttpRequest, query: web::Query<Next>) -> HttpResponse {
    form(&req, safe_next(query.next.as_deref()), None, StatusCode::OK)
}

/// Which credential was refused, and why.
enum Refused {
    AdminKey(String),
    OperatorToken(String),
}

fn form(
    req: &HttpRequest,
    next: &str,
    refused: Option<Refused>,
    status: StatusCode,
) -> HttpResponse {
    let csrf = secret::generate("");
    let (key_error, operator_error) = match &refused {
        Some(Refused::AdminKey(e)) => (Some(e.as_str()), None),
        Some(Refused::OperatorToken(e)) => (None, Some(e.as_str())),
        None => (None, None),
    };
    let body = html! {
        p.muted { "Sign in with your tenant's admin key (" code { "tak_…" } "). It is checked once and never stored in this browser." }
        form.stack.card method="post" action="/console/sign-in" #sign-in {
            (csrf_input(&csrf))
            input type="hidden" name="next" value=(next);
            div.field {
                label for="admin_key" { "Admin key" }
                input #admin_key type="password" name="admin_key" autocomplete="off" required
                    autofocus aria-invalid=[key_error.map(|_| "true")]
                    aria-describedby=[key_error.map(|_| "admin_key-error")];
                (field_error("admin_key", key_error))
            }
            div { button type="submit" { "Sign in" } }
        }
        details open[operator_error.is_some()] {
            summary { "Platform operator" }
            form.stack.card method="post" action="/console/sign-in" #operator-sign-in {
                (csrf_input(&csrf))
                div.field {
                    label for="operator_token" { "Operator token" }
                    input #operator_token type="password" name="operator_token" autocomplete="off" required
                        aria-invalid=[operator_error.map(|_| "true")]
                        aria-describedby=[operator_error.map(|_| "operator_token-error")];
                    (field_error("operator_token", operator_error))
                }
                div { button type="submit" { "Sign in as operator" } }
            }
        }
    };
    let mut answer = page::bare(status, "Sign in", body);
    // The form's token rides in a cookie too (double submit): there is no session yet.
    let _ = answer.add_cookie(&session::cookie(req, SIGN_IN_COOKIE, csrf));
    answer
}

/// `POST /console/sign-in`
pub async fn submit(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ConsoleError> {
    same_site(&req)?;
    let fields = Fields::parse(&body)?;
    let expected = req
        .cookie(SIGN_IN_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ConsoleError::CsrfRefused)?;
    check_token(&expected, fields.get(CSRF_FIELD))?;
    let console = session::console(&req)?;
    let next = safe_next(fields.get("next")).to_owned();
    if let Some(token) = fields.non_empty("operator_token") {
        return match console.sessions.sign_in_operator(token).await {
            Ok(signed_in) => Ok(signed_in_answer(&req, signed_in, "/console/tenants")),
            Err(CoreError::Unauthenticated(why)) => Ok(form(
                &req,
                &next,
                Some(Refused::OperatorToken(why.to_owned())),
                StatusCode::UNAUTHORIZED,
            )),
            Err(other) => Err(other.into()),
        };
    }
    let Some(key) = fields.non_empty("admin_key") else {
        return Ok(form(
            &req,
            &next,
            Some(Refused::AdminKey("Enter the admin key.".into())),
            StatusCode::UNPROCESSABLE_ENTITY,
        ));
    };
    match console.sessions.sign_in_admin(key).await {
        Ok((signed_in, _)) => Ok(signed_in_answer(&req, signed_in, &next)),
        Err(CoreError::Unauthenticated(why)) => Ok(form(
            &req,
            &next,
            Some(Refused::AdminKey(why.to_owned())),
            StatusCode::UNAUTHORIZED,
        )),
        Err(CoreError::TenantSuspended) => Ok(form(
            &req,
            &next,
            Some(Refused::AdminKey(
                "This tenant is suspended: ask the platform operator.".into(),
            )),
            StatusCode::FORBIDDEN,
        )),
        Err(other) => Err(other.into()),
    }
}

fn signed_in_answer(req: &HttpRequest, signed_in: SignedIn, to: &str) -> HttpResponse {
    let mut answer = page::see_other(to);
    let _ = answer.add_cookie(&session::cookie(req, SESSION_COOKIE, signed_in.token));
    let _ = answer.add_cookie(&session::removal(req, SIGN_IN_COOKIE));
    answer
}

/// `POST /console/sign-out`: ends the session on the server, not only in this browser.
pub async fn sign_out(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ConsoleError> {
    same_site(&req)?;
    let console = session::console(&req)?;
    if let Some(token) = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned())
        && let Some(user) = console.sessions.user(&token).await?
    {
        check_token(user.csrf_token(), Fields::parse(&body)?.get(CSRF_FIELD))?;
        console.sessions.sign_out(&token).await?;
    }
    let mut answer = page::see_other("/console/sign-in");
    let _ = answer.add_cookie(&session::removal(&req, SESSION_COOKIE));
    Ok(answer)
}

#[derive(Deserialize)]
pub struct DemoLink {
    token: Option<String>,
}

fn demo_refused() -> HttpResponse {
    page::bare(
        StatusCode::NOT_FOUND,
        "No demo sign-in here",
        html! {
            p { "This link signs in to the demo tenant of the server that printed it, while that server runs. This server has no demo tenant, or was restarted since (each start prints a new link)." }
            p { a href="/console/sign-in" { "Sign in with an admin key" } }
        },
    )
}

fn demo_form(token: &str, csrf: &str, tenant: &str) -> Markup {
    html! {
        p { "Sign in to the console of the demo tenant " strong { (tenant) } "." }
        form method="post" action="/console/sign-in/demo" #demo-sign-in {
            (csrf_input(csrf))
            input type="hidden" name="token" value=(token);
            button type="submit" autofocus { "Open the demo console" }
        }
    }
}

/// `GET /console/sign-in/demo?token=…`: the banner's link. It shows one button rather than
/// signing in on a `GET`, so no other page can sign a browser in behind its back.
pub async fn demo_show(req: HttpRequest, query: web::Query<DemoLink>) -> HttpResponse {
    let Ok(console) = session::console(&req) else {
        return demo_refused();
    };
    match (console.demo.get(), query.token.as_deref()) {
        (Some(demo), Some(token)) if secret::verify(token, &secret::hash(&demo.sign_in_token)) => {
            let csrf = secret::generate("");
            let mut answer = page::bare(
                StatusCode::OK,
                "Demo console",
                demo_form(token, &csrf, &demo.name),
            );
            let _ = answer.add_cookie(&session::cookie(&req, SIGN_IN_COOKIE, csrf));
            answer
        }
        _ => demo_refused(),
    }
}

/// `POST /console/sign-in/demo`
pub async fn demo_submit(req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, ConsoleError> {
    same_site(&req)?;
    let fields = Fields::parse(&body)?;
    let expected = req
        .cookie(SIGN_IN_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or(ConsoleError::CsrfRefused)?;
    check_token(&expected, fields.get(CSRF_FIELD))?;
    let console = session::console(&req)?;
    match (console.demo.get(), fields.get("token")) {
        (Some(demo), Some(token)) if secret::verify(token, &secret::hash(&demo.sign_in_token)) => {
            let (signed_in, _) = console.sessions.sign_in_admin(&demo.admin_key).await?;
            Ok(signed_in_answer(&req, signed_in, "/console"))
        }
        _ => Ok(demo_refused()),
    }
}
