//! Configuration: every tenant config field with its bounds (the form is generated from the
//! config's OpenAPI schema, the same document API clients read), checked before saving,
//! with a preview of exactly what changes.

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use maud::{Markup, html};
use serde_json::{Map, Value};
use trolley_api::AppState;
use trolley_api::dto::tenants::TenantConfigDto;
use trolley_core::domain::{AuditAction, TenantConfig};
use trolley_core::error::CoreError;

use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input};
use crate::schema_form::{self, Empty, FormErrors};
use crate::session::{Admin, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/config", web::get().to(show))
        .route("/config", web::post().to(submit));
}

/// The config's schema from the API's own OpenAPI document, its `$ref`s inlined.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let doc = serde_json::to_value(trolley_api::openapi()).unwrap_or_default();
    let schemas = &doc["components"]["schemas"];
    let mut schema = schemas["TenantConfigDto"].clone();
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for prop in props.values_mut() {
            let target = prop
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
                .map(str::to_owned);
            if let Some(name) = target {
                let description = prop.get("description").cloned();
                *prop = schemas[name.as_str()].clone();
                if let (Some(d), Some(obj)) = (description, prop.as_object_mut()) {
                    obj.insert("description".into(), d);
                }
            }
        }
    }
    schema
});

fn as_map(config: &TenantConfig) -> Map<String, Value> {
    serde_json::to_value(TenantConfigDto::from(config))
        .ok()
        .and_then(|v| v.as_object().cloned())
        .unwrap_or_default()
}

async fn show(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    query: web::Query<Saved>,
) -> Result<HttpResponse, ConsoleError> {
    let (config, revision) = state.tenants.config(admin.tenant.id).await?;
    let notice = query
        .saved
        .is_some()
        .then(|| Notice::Success("Configuration saved.".into()));
    Ok(editor(
        &admin,
        &as_map(&config),
        revision,
        &FormErrors::default(),
        notice,
        StatusCode::OK,
    ))
}

#[derive(serde::Deserialize)]
struct Saved {
    saved: Option<String>,
}

fn editor(
    admin: &Admin,
    values: &Map<String, Value>,
    revision: i64,
    errors: &FormErrors,
    notice: Option<Notice>,
    status: StatusCode,
) -> HttpResponse {
    // `novalidate`: the server checks the form and shows each error beside its field, the
    // same words the API uses, rather than the browser's bubbles.
    let body = html! {
        p.hint { "Every field with its bounds. Empty a field to put it back to its default. Nothing is saved before you have seen what changes." }
        @for e in &errors.general { p.field-error role="alert" { (e) } }
        form.stack method="post" action="/console/config" #config novalidate {
            (csrf_input(&admin.csrf))
            input type="hidden" name="revision" value=(revision);
            input type="hidden" name="step" value="preview";
            (schema_form::render(&SCHEMA, values, errors))
            div.actions { button type="submit" { "Review changes" } }
        }
    };
    Page {
        admin,
        nav: Nav::Config,
        title: "Configuration".into(),
        notice,
        body,
    }
    .render_with(status)
}

fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn diff_table(before: &Map<String, Value>, after: &Map<String, Value>) -> (Markup, usize) {
    let changed: Vec<&String> = after
        .keys()
        .chain(before.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let n = changed.len();
    let markup = html! {
        @if changed.is_empty() {
            p.empty { "Nothing changes." }
        } @else {
            div.table-wrap { table data-testid="config-diff" {
                thead { tr { th { "Field" } th { "Now" } th { "After saving" } } }
                tbody { @for k in changed {
                    tr { td { code { (k) } } td.diff-old { (shown(before.get(k))) } td.diff-new { (shown(after.get(k))) } }
                } }
            } }
        }
    };
    (markup, n)
}

async fn submit(
    form: Posted<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = &form.user;
    let revision: i64 = form
        .fields
        .get("revision")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| {
            CoreError::InvalidInput("the form lost its revision: reload the page".into())
        })?;
    let (current, current_revision) = state.tenants.config(admin.tenant.id).await?;
    let before = as_map(&current);
    let submitted_values = |patch: &Value| {
        let mut values = before.clone();
        if let Some(obj) = patch.as_object() {
            for (k, v) in obj {
                values.insert(k.clone(), v.clone());
            }
        }
        values
    };
    let patch = match schema_form::read_with(&SCHEMA, &form.fields, Empty::Null) {
        Ok(patch) => patch,
        Err(errors) => {
            return Ok(editor(
                admin,
                &before,
                revision,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    // Checked exactly as `PATCH /v1/admin/config` checks it. A merge patch merges objects
    // key by key, but a form shows the whole map: an object field is reset first, so a key
    // taken out of the text goes.
    let objects: Map<String, Value> = patch
        .as_object()
        .map(|p| {
            p.iter()
                .filter(|(_, v)| v.is_object())
                .map(|(k, _)| (k.clone(), Value::Null))
                .collect()
        })
        .unwrap_or_default();
    let checked = TenantConfigDto::patched(&current, &Value::Object(objects))
        .and_then(|reset| TenantConfigDto::patched(&reset, &patch))
        .map_err(|e| e.detail)
        .and_then(|next| next.validate().map(|()| next).map_err(|e| e.to_string()));
    let next = match checked {
        Ok(next) => next,
        Err(message) => {
            let errors = FormErrors::from_messages_for(&SCHEMA, &[message]);
            return Ok(editor(
                admin,
                &submitted_values(&patch),
                revision,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let after = as_map(&next);
    if form.fields.get("step") != Some("save") {
        let (diff, changes) = diff_table(&before, &after);
        let body = html! {
            (diff)
            form.actions method="post" action="/console/config" #config-confirm {
                (csrf_input(&admin.csrf))
                input type="hidden" name="revision" value=(revision);
                input type="hidden" name="step" value="save";
                @for (k, v) in &form.fields.0 {
                    @if k.starts_with("config.") { input type="hidden" name=(k) value=(v); }
                }
                @if changes > 0 { button type="submit" { "Save " (changes) " change" @if changes > 1 { "s" } } }
                a.button.secondary href="/console/config" { "Back to editing" }
            }
        };
        return Ok(Page {
            admin,
            nav: Nav::Config,
            title: "Review configuration changes".into(),
            notice: None,
            body,
        }
        .render());
    }
    if current_revision != revision {
        let errors = FormErrors {
            general: vec!["Someone changed the configuration since you opened this page: your changes were not saved. Here is the configuration as it is now.".into()],
            ..FormErrors::default()
        };
        return Ok(editor(
            admin,
            &before,
            current_revision,
            &errors,
            None,
            StatusCode::CONFLICT,
        ));
    }
    match state
        .tenants
        .change_config(
            admin.tenant.id,
            Some(revision),
            &admin.actor,
            AuditAction::ConfigPatch,
            |_| Ok::<_, CoreError>(next.clone()),
        )
        .await
    {
        Ok(_) => Ok(page::see_other("/console/config?saved=1")),
        Err(CoreError::ConfigChanged { current_revision }) => {
            let (now, _) = state.tenants.config(admin.tenant.id).await?;
            let errors = FormErrors {
                general: vec!["Someone changed the configuration while you were saving: nothing was saved. Here it is as it is now.".into()],
                ..FormErrors::default()
            };
            Ok(editor(
                admin,
                &as_map(&now),
                current_revision,
                &errors,
                None,
                StatusCode::CONFLICT,
            ))
        }
        Err(CoreError::InvalidInput(message)) => {
            let errors = FormErrors::from_messages_for(&SCHEMA, &[message]);
            Ok(editor(
                admin,
                &submitted_values(&patch),
                revision,
                &errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
        Err(other) => Err(other.into()),
    }
}
