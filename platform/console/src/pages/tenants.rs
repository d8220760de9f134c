//! The platform operator's page: create, list, suspend and resume tenants.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::html;
use trolley_api::AppState;
use trolley_core::domain::{Currency, TenantStatus};
use trolley_core::error::CoreError;
use trolley_core::service::NewTenantCredentials;

use crate::error::ConsoleError;
use crate::page::{self, Notice, csrf_input, notice_box, short_id, time};
use crate::session::{Operator, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tenants", web::get().to(list))
        .route("/tenants", web::post().to(create))
        .route("/tenants/{tenant_id}/status", web::post().to(set_status));
}

async fn list(
    Signed(operator): Signed<Operator>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    render(&operator, &state, None, None, StatusCode::OK).await
}

async fn render(
    operator: &Operator,
    state: &AppState,
    created: Option<(String, NewTenantCredentials)>,
    notice: Option<Notice>,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let tenants = state.tenants.list().await?;
    let body = html! {
        header.topbar {
            span.brand { "Trolley" }
            span.tenant { "Platform operator" }
            (page::sign_out_form(&operator.csrf))
        }
        main #main {
            h1 { "Tenants" }
            @if let Some(n) = &notice { (notice_box(n)) }
            @if let Some((name, c)) = &created {
                section.card role="status" data-testid="tenant-credentials" {
                    h2 { "“" (name) "” is ready" }
                    p { "Give these to the tenant now: they are shown only once." }
                    dl.facts {
                        dt { "Admin key" } dd.secret { (c.admin_key) }
                        dt { "Storefront key" } dd.secret { (c.storefront_key) }
                        dt { "Customer-token secret" } dd.secret { (c.customer_token_secret) }
                    }
                }
            }
            section.card {
                h2 { "Create a tenant" }
                form.inline method="post" action="/console/tenants" {
                    (csrf_input(&operator.csrf))
                    div.field {
                        label for="tenant-name" { "Name" }
                        input #tenant-name type="text" name="name" required maxlength="200";
                    }
                    div.field {
                        label for="tenant-currency" { "Currency" }
                        select #tenant-currency name="currency" {
                            @for c in Currency::ALL { option value=(c.code()) { (c.code()) } }
                        }
                    }
                    button type="submit" { "Create tenant" }
                }
            }
            div.table-wrap { table {
                thead { tr { th { "Name" } th { "Id" } th { "Currency" } th { "Created" } th { "Status" } th {} } }
                tbody { @for t in &tenants {
                    tr {
                        td { (t.name) }
                        td { (short_id(&t.id.to_string())) }
                        td { (t.currency.code()) }
                        td { (time(t.created_at)) }
                        td { @match t.status {
                            TenantStatus::Active => span.badge.ok { "active" },
                            TenantStatus::Suspended => span.badge.bad { "suspended" },
                        } }
                        td {
                            form method="post" action=(format!("/console/tenants/{}/status", t.id)) {
                                (csrf_input(&operator.csrf))
                                @match t.status {
                                    TenantStatus::Active => {
                                        input type="hidden" name="status" value="suspended";
                                        button.danger type="submit" { "Suspend" }
                                    }
                                    TenantStatus::Suspended => {
                                        input type="hidden" name="status" value="active";
                                        button.secondary type="submit" { "Resume" }
                                    }
                                }
                            }
                        }
                    }
                } }
            } }
        }
    };
    Ok(page::respond(status, page::shell("Tenants", body)))
}

async fn create(
    form: Posted<Operator>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let name = form.fields.get("name").unwrap_or_default().to_owned();
    let currency = form
        .fields
        .get("currency")
        .and_then(|c| c.parse::<Currency>().ok());
    let Some(currency) = currency else {
        return render(
            &form.user,
            &state,
            None,
            Some(Notice::Error("Choose a currency from the list.".into())),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    match state.tenants.create(&name, currency).await {
        Ok((tenant, credentials)) => {
            render(
                &form.user,
                &state,
                Some((tenant.name, credentials)),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(CoreError::InvalidInput(why)) => {
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

async fn set_status(
    form: Posted<Operator>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = path
        .parse()
        .map_err(|_| ConsoleError::from(CoreError::TenantNotFound))?;
    let status = form
        .fields
        .get("status")
        .and_then(TenantStatus::parse)
        .ok_or_else(|| CoreError::InvalidInput("status must be active or suspended".into()))?;
    state.tenants.update(id, None, Some(status)).await?;
    Ok(page::see_other("/console/tenants"))
}
