//! Catalog: search and page through the tenant's items, edit one (price, category, claim
//! policy, title), add one. Writes go through the same `CatalogService::upsert` and the same
//! request parsing as `PUT /v1/admin/catalog/items/{sku}`, so the console and the API accept
//! exactly the same items.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::html;
use trolley_api::AppState;
use trolley_core::domain::listing::CatalogFilter;
use trolley_core::domain::{CatalogItem, CatalogItemInput, Sku};
use trolley_core::error::CoreError;

use super::item_form::{ItemForm, item_fields, read_item};
use super::lists::{
    list_base, list_status, page_request, problem_box, query_fields, refused, search_form,
};
use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input, field_error, next_page, time};
use crate::session::{Admin, Fields, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/catalog", web::get().to(list))
        .route("/catalog", web::post().to(add))
        // Skus may hold `/` and `:`, so the sku is the rest of the path.
        .route("/catalog/{sku:.+}", web::get().to(edit))
        .route("/catalog/{sku:.+}", web::post().to(save));
}

/// `GET /console/catalog?q=&category=&cursor=`
async fn list(
    req: HttpRequest,
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let fields = query_fields(&req);
    render_list(&admin, &state, &fields, ItemForm::default(), StatusCode::OK).await
}

async fn render_list(
    admin: &Admin,
    state: &AppState,
    fields: &Fields,
    adding: ItemForm,
    status: StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let tenant = &admin.tenant;
    let q = fields.non_empty("q");
    let category = fields.non_empty("category");
    let filter = CatalogFilter {
        q: q.map(str::to_owned),
        category: category.map(str::to_owned),
        seller: None,
    };
    let (page, problem) = match state
        .lists
        .catalog_items(tenant, filter, &page_request(fields))
        .await
    {
        Ok(page) => (Some(page), None),
        Err(e) => (None, Some(refused(e)?)),
    };
    let base = list_base("/console/catalog", &[("q", q), ("category", category)]);
    let filtered = q.is_some() || category.is_some();
    let default = tenant.config.default_claim_policy;
    let body = html! {
        (search_form("catalog-search", "/console/catalog", filtered, html! {
            div.field {
                label for="catalog-q" { "SKU or title" }
                input #catalog-q type="search" name="q" value=[q] placeholder="e.g. milk";
            }
            div.field {
                label for="catalog-category" { "Category" }
                input #catalog-category type="text" name="category" value=[category];
            }
        }))
        (problem_box(problem.as_deref()))
        @if let Some(page) = &page {
            @if page.items.is_empty() {
                @if filtered {
                    (page::empty("No items match: q matches the start of a SKU or any part of a title; the category must match exactly."))
                } @else {
                    (page::empty("No catalog items yet: add one below, or PUT /v1/admin/catalog/items/{sku}."))
                }
            } @else {
                div.table-wrap { table data-testid="catalog-table" {
                    thead { tr { th { "SKU" } th { "Title" } th.num { "Price" } th { "Category" } th { "Seller" } th { "Claim policy" } } }
                    tbody { @for item in &page.items {
                        tr {
                            td { a href=(format!("/console/catalog/{}", item.sku)) { code { (item.sku) } } }
                            td { (item.title.as_deref().unwrap_or("")) }
                            td.num { (item.price.amount()) " " (item.price.currency()) }
                            td { (item.category) }
                            td { @match &item.seller { Some(s) => (s), None => span.muted { "–" } } }
                            td { @match item.claim_policy {
                                Some(c) => (c.as_str()),
                                None => span.muted { "default (" (default.as_str()) ")" },
                            } }
                        }
                    } }
                } }
                (next_page(&base, page.next_cursor.as_deref()))
            }
        }
        section.card aria-labelledby="add-title" {
            h2 #add-title { "Add an item" }
            form #item-add .stack method="post" action="/console/catalog" {
                (csrf_input(&admin.csrf))
                div.field {
                    label for="add-sku" { "SKU" }
                    input #add-sku type="text" name="sku" required maxlength="64" value=(adding.sku)
                        aria-invalid=[adding.error("sku").map(|_| "true")]
                        aria-describedby=[adding.error("sku").map(|_| "add-sku-error")];
                    p.hint { "Letters, digits and . _ - : / (at most 64)." }
                    (field_error("add-sku", adding.error("sku")))
                }
                (item_fields("add", &adding, tenant.currency, default))
                div.actions { button type="submit" { "Add item" } }
            }
        }
    };
    Ok(Page {
        admin,
        nav: Nav::Catalog,
        title: "Catalog".into(),
        notice: None,
        body,
    }
    .render_with(list_status(problem.as_deref(), status)))
}

/// `POST /console/catalog`: adds an item; an existing sku is refused rather than
/// overwritten (editing is the item's own page).
async fn add(
    form: Posted<Admin>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = &form.user;
    let sku = form.fields.get("sku").unwrap_or_default().to_owned();
    match try_add(&state, admin, &form.fields, &sku).await? {
        Ok(()) => Ok(page::see_other(&format!(
            "/console/catalog/{sku}?done=added"
        ))),
        Err(adding) => {
            render_list(
                admin,
                &state,
                &Fields::default(),
                adding,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

async fn try_add(
    state: &AppState,
    admin: &Admin,
    fields: &Fields,
    sku: &str,
) -> Result<Result<(), ItemForm>, ConsoleError> {
    let input = match read_item(fields, sku, admin.tenant.currency, None) {
        Ok(input) => input,
        Err(adding) => return Ok(Err(*adding)),
    };
    let mut adding = ItemForm::submitted(fields, sku);
    match state.catalog.get(&admin.tenant, &input.sku).await {
        Ok(_) => {
            adding.errors.insert(
                "sku",
                format!("{sku} is already in the catalog: edit it instead."),
            );
            return Ok(Err(adding));
        }
        Err(CoreError::ItemNotFound(_)) => {}
        Err(other) => return Err(other.into()),
    }
    Ok(upsert(state, admin, input).await?.map_err(|(field, why)| {
        adding.errors.insert(field, why);
        adding
    }))
}

/// Writes one item; a refusal the admin can fix comes back as (field, message).
async fn upsert(
    state: &AppState,
    admin: &Admin,
    input: CatalogItemInput,
) -> Result<Result<(), (&'static str, String)>, ConsoleError> {
    match state
        .catalog
        .upsert(&admin.tenant, vec![input], &admin.actor)
        .await
    {
        Ok(_) => Ok(Ok(())),
        Err(e @ CoreError::InvalidPrice(_)) => Ok(Err(("price", e.to_string()))),
        Err(e @ CoreError::InvalidInput(_)) => Ok(Err(("_", e.to_string()))),
        Err(other) => Err(other.into()),
    }
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

/// `GET /console/catalog/{sku}`
async fn edit(
    Signed(admin): Signed<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
    done: web::Query<Done>,
) -> Result<HttpResponse, ConsoleError> {
    let item = load(&admin, &state, &path).await?;
    let notice = match done.done.as_deref() {
        Some("saved") => Some(Notice::Success(format!("Saved {}.", item.sku))),
        Some("added") => Some(Notice::Success(format!(
            "Added {} to the catalog.",
            item.sku
        ))),
        _ => None,
    };
    let form = ItemForm::of(&item);
    Ok(editor(&admin, &item, &form, notice, StatusCode::OK))
}

async fn load(admin: &Admin, state: &AppState, raw: &str) -> Result<CatalogItem, ConsoleError> {
    // A malformed sku names no item: the same 404 as an unknown one.
    let sku = Sku::parse(raw).map_err(|_| CoreError::ItemNotFound(raw.to_owned()))?;
    Ok(state.catalog.get(&admin.tenant, &sku).await?)
}

/// `POST /console/catalog/{sku}`
async fn save(
    form: Posted<Admin>,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let admin = &form.user;
    let item = load(admin, &state, &path).await?;
    let sku = item.sku.to_string();
    let input = match read_item(&form.fields, &sku, admin.tenant.currency, Some(&item)) {
        Ok(input) => input,
        Err(shown) => {
            return Ok(editor(
                admin,
                &item,
                &shown,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    match upsert(&state, admin, input).await? {
        Ok(()) => Ok(page::see_other(&format!(
            "/console/catalog/{sku}?done=saved"
        ))),
        Err((field, why)) => {
            let mut shown = ItemForm::submitted(&form.fields, &sku);
            shown.errors.insert(field, why);
            Ok(editor(
                admin,
                &item,
                &shown,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        }
    }
}

fn editor(
    admin: &Admin,
    item: &CatalogItem,
    form: &ItemForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> HttpResponse {
    let tenant = &admin.tenant;
    let body = html! {
        section.card {
            dl.facts {
                dt { "SKU" } dd { code { (item.sku) } }
                dt { "Price revision" } dd { (item.price_revision) span.muted { " (goes up on every price change; lines added at an older price show price_changed)" } }
                dt { "Seller" } dd { @match &item.seller { Some(s) => (s), None => span.muted { "none" } } }
                dt { "Attributes" } dd {
                    @if item.attributes.as_map().is_empty() { span.muted { "none" } }
                    @for (k, v) in item.attributes.as_map() { code { (k) "=" (v) } " " }
                }
                dt { "Updated" } dd { (time(item.updated_at)) }
                dt { "Stock" } dd { a href=(format!("/console/inventory?q={}", page::form_urlencode(item.sku.as_str()))) { "See its inventory" } }
            }
        }
        section.card aria-labelledby="edit-title" {
            h2 #edit-title { "Edit" }
            form #item-edit .stack method="post" action=(format!("/console/catalog/{}", item.sku)) {
                (csrf_input(&admin.csrf))
                (item_fields("edit", form, tenant.currency, tenant.config.default_claim_policy))
                p.hint { "Seller and attributes are kept as they are (change them through the API)." }
                div.actions {
                    button type="submit" { "Save" }
                    a.button.secondary href="/console/catalog" { "Back to the catalog" }
                }
            }
        }
    };
    Page {
        admin,
        nav: Nav::Catalog,
        title: item.title.clone().unwrap_or_else(|| item.sku.to_string()),
        notice,
        body,
    }
    .render_with(status)
}
