//! API keys: create storefront and admin keys (shown once), revoke them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;
use trolley_api::AppState;
use trolley_core::domain::{Actor, ApiKeyInfo};
use trolley_core::ports::KeyKind;
use trolley_core::service::NewApiKey;

use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input, short_id, time};
use crate::session::{Admin, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/keys", web::get().to(list))
        .route("/keys", web::post().to(create))
        .route("/keys/{key_id}/revoke", web::post().to(revoke));
}

async fn list(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    render(&admin, &state, None, None, StatusCode::OK).await
}

async fn render(
    admin: &Admin,
    state: &AppState,
    created: Option<NewApiKey>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let keys = state.tenants.api_keys(admin.tenant.id).await?;
    let body = html! {
        @if let Some(created) = &created {
            section.card role="status" {
                h2 { "New " (created.info.kind.as_str()) " key “" (created.info.name) "”" }
                p { "Copy it now: it is shown only once, and only its hash is stored." }
                p.secret data-testid="new-key" { (created.key) }
            }
        }
        section.card {
            h2 { "Create a key" }
            form.inline method="post" action="/console/keys" {
                (csrf_input(&admin.csrf))
                div.field {
                    label for="key-name" { "Name" }
                    input #key-name type="text" name="name" required maxlength="100" placeholder="e.g. checkout service";
                }
                div.field {
                    label for="key-kind" { "Kind" }
                    select #key-kind name="kind" {
                        option value="storefront" { "Storefront (tsk_…)" }
                        option value="admin" { "Admin (tak_…)" }
                    }
                }
                button type="submit" { "Create key" }
            }
        }
        div.table-wrap { table {
            thead { tr { th { "Name" } th { "Kind" } th { "Id" } th { "Created" } th { "Last used" } th { "State" } th {} } }
            tbody { @for k in &keys { (row(admin, k)) } }
        } }
    };
    Ok(Page {
        admin,
        nav: Nav::Keys,
        title: "API keys".into(),
        notice,
        body,
    }
    .render_with(status))
}

fn row(admin: &Admin, k: &ApiKeyInfo) -> maud::Markup {
    let own = admin.actor == Actor::ApiKey(k.id);
    html! {
        tr {
            td { (k.name) }
            td { (k.kind.as_str()) }
            td { (short_id(&k.id.to_string())) }
            td { (time(k.created_at)) }
            td { @match k.last_used_at { Some(at) => (time(at)), None => span.muted { "never" } } }
            td { @match k.revoked_at {
                Some(at) => { span.badge.bad { "revoked" } " " (time(at)) },
                None => span.badge.ok { "active" },
            } }
            td {
                @if own {
                    span.muted { "this session's key" }
                } @else if k.revoked_at.is_none() {
                    form method="post" action=(format!("/console/keys/{}/revoke", k.id))
                        data-confirm=(format!("Revoke “{}”? Requests with it are refused within a second.", k.name)) {
                        (csrf_input(&admin.csrf))
                        button.danger type="submit" { "Revoke" }
                    }
                }
            }
        }
    }
}

async fn create(
    form: Posted<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let kind = match form.fields.get("kind") {
        Some("admin") => KeyKind::Admin,
        _ => KeyKind::Storefront,
    };
    let name = form.fields.get("name").unwrap_or_default();
    match state
        .tenants
        .create_api_key(form.user.tenant.id, kind, name, &form.user.actor)
        .await
    {
        Ok(created) => render(&form.user, &state, Some(created), None, StatusCode::CREATED).await,
        Err(trolley_core::error::CoreError::InvalidInput(why)) => {
            render(
                &form.user,
                &state,
                None,
                Some(Notice::Error(why)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let key_id = path
        .parse()
        .map_err(|_| ConsoleError::from(trolley_core::error::CoreError::ApiKeyNotFound))?;
    match state
        .tenants
        .revoke_api_key(form.user.tenant.id, key_id, &form.user.actor)
        .await
    {
        Ok(()) => Ok(page::see_other("/console/keys")),
        Err(
            e @ (trolley_core::error::CoreError::LastAdminKey
            | trolley_core::error::CoreError::CannotRevokeOwnKey),
        ) => {
            render(
                &form.user,
                &state,
                None,
                Some(Notice::Error(e.to_string())),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}
