//! Order types & plugins: upload a module, see its versions, activate one through a form
//! generated from its config schema, roll back in one click.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use serde::Deserialize;
use trolley_api::AppState;
use trolley_core::domain::{Activation, PluginId, PluginRecord, RunQuery, TrialFailure};
use trolley_core::error::CoreError;
use trolley_core::service::plugins::MAX_PLUGIN_BYTES;

use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input, json_block, short_id, time};
use crate::schema_form::{self, FormErrors};
use crate::session::{Admin, CSRF_HEADER, Posted, Signed, check_token, same_site};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/order-types", web::get().to(list))
        .route("/plugins", web::post().to(upload))
        .route("/plugins/{plugin_id}", web::get().to(show))
        .route(
            "/order-types/{order_type}/activate",
            web::post().to(activate),
        )
        .route(
            "/order-types/{order_type}/rollback",
            web::post().to(rollback),
        );
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    order_type: Option<String>,
}

fn notice_of(done: &Done, active: &[Activation]) -> Option<Notice> {
    let ot = done.order_type.as_deref()?;
    let serving = active
        .iter()
        .find(|a| a.order_type == ot)
        .map(|a| a.plugin.info.version.as_str())
        .unwrap_or("nothing");
    match done.done.as_deref()? {
        "activated" => Some(Notice::Success(format!("{ot} now runs version {serving}."))),
        "rolled_back" => Some(Notice::Success(format!(
            "{ot} rolled back: it runs version {serving} again."
        ))),
        _ => None,
    }
}

/// `GET /console/order-types`
async fn list(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = &admin.tenant;
    let active = state.plugins.order_types(tenant).await?;
    let plugins = state.plugins.list(tenant).await?;
    // Every order type the tenant maps a category to, or has a plugin for.
    let mut order_types: BTreeMap<String, (Option<&Activation>, Vec<&PluginRecord>)> =
        BTreeMap::new();
    for ot in tenant.config.category_order_types.values() {
        order_types.entry(ot.clone()).or_default();
    }
    for a in &active {
        order_types.entry(a.order_type.clone()).or_default().0 = Some(a);
    }
    for p in &plugins {
        order_types
            .entry(p.info.order_type.clone())
            .or_default()
            .1
            .push(p);
    }
    let body = html! {
        section.card aria-labelledby="upload-title" {
            h2 #upload-title { "Upload a plugin" }
            div.dropzone data-upload="/console/plugins" data-csrf=(admin.csrf) {
                p { strong { "Drop a " code { ".wasm" } " plugin here" } }
                p.hint { "A component built for wasm32-wasip2 with the plugin SDK, at most " (MAX_PLUGIN_BYTES / 1024 / 1024) " MiB." }
                label for="wasm-file" { "or choose a file" }
                input #wasm-file type="file" accept=".wasm,application/wasm";
            }
            p #upload-status .hint aria-live="polite" {}
        }
        @if order_types.is_empty() {
            (page::empty("No order types yet: map a category to an order type in Configuration, then upload its plugin."))
        }
        @for (ot, (activation, versions)) in &order_types {
            section.card data-order-type=(ot) {
                h2 { (ot) }
                @match activation {
                    Some(a) => p {
                        "Runs " strong { (a.plugin.info.name) " " (a.plugin.info.version) }
                        " since " (time(a.activated_at)) ". "
                    },
                    None => p.muted { "No version active: carts of this order type are not judged by any plugin." },
                }
                @if let Some(a) = activation {
                    details { summary { "Config in use" } (json_block(&a.config)) }
                    form.inline method="post" action=(format!("/console/order-types/{ot}/rollback"))
                        data-confirm=(format!("Roll {ot} back to the version it ran before?")) {
                        (csrf_input(&admin.csrf))
                        button.secondary type="submit" { "Roll back" }
                    }
                }
                @if versions.is_empty() {
                    p.muted { "No plugin uploaded for it." }
                } @else {
                    div.table-wrap { table {
                        thead { tr { th { "Version" } th { "Name" } th.num { "Size" } th { "SHA-256" } th { "Uploaded" } th {} } }
                        tbody {
                            @for p in versions {
                                tr {
                                    td { a href=(format!("/console/plugins/{}", p.id)) { (p.info.version) } }
                                    td { (p.info.name) }
                                    td.num { (kib(p.size_bytes)) }
                                    td { (short_id(&p.sha256)) }
                                    td { (time(p.created_at)) }
                                    td { @if activation.is_some_and(|a| a.plugin.id == p.id) { span.badge.ok { "active" } } }
                                }
                            }
                        }
                    } }
                }
            }
        }
    };
    let notice = notice_of(&done, &active);
    Ok(Page {
        admin: &admin,
        nav: Nav::OrderTypes,
        title: "Order types & plugins".into(),
        notice,
        body,
    }
    .render())
}

fn kib(bytes: i64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// `POST /console/plugins` (body `application/wasm`, `X-CSRF-Token`): what the page's
/// drop zone sends. Answers JSON for the script: where to go, or what went wrong.
async fn upload(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    payload: web::Payload,
) -> Result<HttpResponse, ConsoleError> {
    same_site(&req)?;
    check_token(
        &admin.csrf,
        req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()),
    )?;
    let refuse = |e: trolley_api::ApiError| {
        HttpResponse::build(e.code.status()).json(serde_json::json!({ "detail": e.detail }))
    };
    // The admin API's own reader: the same size limit and the same words when it is passed.
    let body = match trolley_api::extract::plugin_module(payload).await {
        Ok(body) => body,
        Err(e) => return Ok(refuse(e)),
    };
    match state
        .plugins
        .upload(&admin.tenant, &body, &admin.actor)
        .await
    {
        Ok((plugin, _)) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "plugin_id": plugin.id.to_string(),
            "location": format!("/console/plugins/{}", plugin.id),
        }))),
        Err(e) => Ok(refuse(trolley_api::ApiError::from(e))),
    }
}

/// What an activation form shows again when it was refused.
#[derive(Default)]
struct Refusal {
    errors: FormErrors,
    check_failures: Vec<TrialFailure>,
    submitted: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `GET /console/plugins/{plugin_id}`
async fn show(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_plugin_id(&path)?;
    plugin_page(&admin, &state, id, Refusal::default(), StatusCode::OK).await
}

fn parse_plugin_id(raw: &str) -> Result<PluginId, ConsoleError> {
    raw.parse()
        .map_err(|_| ConsoleError::from(CoreError::PluginNotFound))
}

async fn plugin_page(
    admin: &Admin,
    state: &AppState,
    id: PluginId,
    refusal: Refusal,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = &admin.tenant;
    let plugin = state.plugins.get(tenant, id).await?;
    let ot = plugin.info.order_type.clone();
    let active = state.plugins.active(tenant, &ot).await?;
    let is_active = active.as_ref().is_some_and(|a| a.plugin.id == plugin.id);
    // The form starts from what was just submitted, else the config the order type runs.
    let values = refusal.submitted.clone().unwrap_or_else(|| {
        active
            .as_ref()
            .and_then(|a| a.config.as_object().cloned())
            .unwrap_or_default()
    });
    let runs = state
        .plugin_runs
        .list(
            tenant,
            &ot,
            RunQuery {
                failed_only: false,
                before: None,
                limit: 100,
            },
        )
        .await?;
    let mine: Vec<_> = runs
        .iter()
        .filter(|r| r.plugin.sha256 == plugin.sha256)
        .collect();
    let failed = mine.iter().filter(|r| r.failure.is_some()).count();
    let mean_us = if mine.is_empty() {
        None
    } else {
        Some(mine.iter().map(|r| r.report.duration_us).sum::<u64>() / mine.len() as u64)
    };
    // `novalidate`: the server checks the form and shows each error beside its field, the
    // same words the API uses, rather than the browser's bubbles.
    let body = html! {
        section.card {
            dl.facts {
                dt { "Order type" } dd { (ot) }
                dt { "Name" } dd { (plugin.info.name) }
                dt { "Version" } dd { (plugin.info.version) " " @if is_active { span.badge.ok { "active" } } }
                dt { "Size" } dd { (kib(plugin.size_bytes)) " (" (plugin.size_bytes) " bytes)" }
                dt { "SHA-256" } dd { code { (plugin.sha256) } }
                dt { "Contract" } dd {
                    @match &plugin.contract {
                        Some(c) => { "trolley:order-type@" (c.version) " — exports " (c.exports.join(", ")) }
                        None => span.muted { "not recorded (uploaded before Trolley kept it)" },
                    }
                }
                dt { "Uploaded" } dd { (time(plugin.created_at)) }
                dt { "Recorded runs" } dd {
                    (mine.len()) " recorded, " (failed) " failed"
                    @if let Some(us) = mean_us { ", mean " (format!("{:.2}", us as f64 / 1000.0)) " ms" }
                    span.muted { " (the last 100 runs of " (ot) " the server kept: every failure and a sample of successes)" }
                }
            }
        }
        section.card aria-labelledby="activate-title" {
            h2 #activate-title { "Activate " (plugin.info.version) " for " (ot) }
            p.hint { "The form comes from the plugin's config schema. Activation first tries the new version on a few recent carts; it is refused if it fails where the version in use answers." }
            @for e in &refusal.errors.general { p.field-error role="alert" { (e) } }
            @if !refusal.check_failures.is_empty() {
                div.notice.error role="alert" {
                    p { "The new version failed on carts the current one answers:" }
                    ul { @for f in &refusal.check_failures {
                        li { code { (f.cart_id) } ": " (f.failure.kind) " — " (f.failure.message) }
                    } }
                }
            }
            form.stack method="post" action=(format!("/console/order-types/{ot}/activate")) #activate novalidate {
                (csrf_input(&admin.csrf))
                input type="hidden" name="plugin_id" value=(plugin.id);
                (schema_form::render(&plugin.info.config_schema, &values, &refusal.errors))
                @if !refusal.check_failures.is_empty() {
                    label.check { input type="checkbox" name="force" value="true"; "Activate anyway (skip the check on recent carts)" }
                }
                div.actions { button type="submit" { "Activate" } a.button.secondary href="/console/order-types" { "Cancel" } }
            }
            details { summary { "Config schema" } (json_block(&plugin.info.config_schema)) }
        }
        (recent_runs(&mine))
    };
    Ok(Page {
        admin,
        nav: Nav::OrderTypes,
        title: format!("{} {}", plugin.info.name, plugin.info.version),
        notice: None,
        body,
    }
    .render_with(status))
}

fn recent_runs(runs: &[&trolley_core::domain::PluginRun]) -> Markup {
    html! {
        @if !runs.is_empty() {
            h2 { "Recent runs of this version" }
            div.table-wrap { table {
                thead { tr { th { "When" } th { "Trigger" } th { "Result" } th.num { "Duration" } } }
                tbody { @for r in runs.iter().take(20) {
                    tr {
                        td { (time(r.created_at)) }
                        td { (format!("{:?}", r.trigger).to_lowercase()) }
                        td { @match &r.failure {
                            Some(f) => span.badge.bad title=(f.message) { (f.kind) },
                            None => span.badge.ok { "answered" },
                        } }
                        td.num { (format!("{:.2} ms", r.report.duration_us as f64 / 1000.0)) }
                    }
                } }
            } }
        }
    }
}

/// `POST /console/order-types/{order_type}/activate`
async fn activate(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = &form.user;
    let ot = path.into_inner();
    let id = parse_plugin_id(form.fields.get("plugin_id").unwrap_or_default())?;
    let plugin = state.plugins.get(&admin.tenant, id).await?;
    let config = match schema_form::read(&plugin.info.config_schema, &form.fields) {
        Ok(config) => config,
        Err(errors) => {
            return plugin_page(
                admin,
                &state,
                id,
                Refusal {
                    errors,
                    ..Refusal::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let force = form.fields.get("force") == Some("true");
    let refused = |errors: FormErrors, check_failures: Vec<TrialFailure>| Refusal {
        errors,
        check_failures,
        submitted: config.as_object().cloned(),
    };
    match state
        .plugin_trial
        .activate(
            &admin.tenant,
            &ot,
            id,
            Some(config.clone()),
            force,
            &admin.actor,
        )
        .await
    {
        Ok(_) => Ok(page::see_other(&format!(
            "/console/order-types?done=activated&order_type={}",
            page::form_urlencode(&ot)
        ))),
        Err(CoreError::InvalidConfig(messages)) => {
            plugin_page(
                admin,
                &state,
                id,
                refused(FormErrors::from_messages(&messages), vec![]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(CoreError::ActivationCheckFailed { failures, .. }) => {
            plugin_page(
                admin,
                &state,
                id,
                refused(FormErrors::default(), failures),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(CoreError::InvalidInput(message)) => {
            let mut errors = FormErrors::default();
            errors.general.push(message);
            plugin_page(
                admin,
                &state,
                id,
                refused(errors, vec![]),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /console/order-types/{order_type}/rollback`
async fn rollback(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let ot = path.into_inner();
    state
        .plugins
        .rollback(&form.user.tenant, &ot, &form.user.actor)
        .await?;
    Ok(page::see_other(&format!(
        "/console/order-types?done=rolled_back&order_type={}",
        page::form_urlencode(&ot)
    )))
}
