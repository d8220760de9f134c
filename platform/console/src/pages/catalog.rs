//! Catalog: search and page through the tenant's items, edit one (price, category, claim
//! policy, title), add one. Writes go through the same `CatalogService::upsert` and the same
//! request parsing as `PUT /v1/admin/catalog/items/{sku}`, so the console and the API accept
//! exactly the same items.
//!
//! The small helpers every list page shares (filters from the query, a refused filter shown
//! above the table) live here too, at the end: catalog is the first list in the console.

use std::collections::BTreeMap;
use std::str::FromStr as _;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use maud::{Markup, html};
use rust_decimal::Decimal;
use trolley_api::AppState;
use trolley_api::dto::catalog::CatalogItemRequest;
use trolley_core::domain::listing::{CatalogFilter, PageRequest};
use trolley_core::domain::{CatalogItem, CatalogItemInput, ClaimPolicy, Currency, Price, Sku};
use trolley_core::error::CoreError;

use crate::error::ConsoleError;
use crate::page::{self, Nav, Notice, Page, csrf_input, field_error, next_page, time};
use crate::session::{Admin, Fields, Posted, Signed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/console/catalog", web::get().to(list))
        .route("/console/catalog", web::post().to(add))
        // Skus may hold `/` and `:`, so the sku is the rest of the path.
        .route("/console/catalog/{sku:.+}", web::get().to(edit))
        .route("/console/catalog/{sku:.+}", web::post().to(save));
}

/// An item form as shown: what was typed (or stored), and what was wrong with it, by field.
#[derive(Debug, Default, Clone, PartialEq)]
struct ItemForm {
    sku: String,
    price: String,
    category: String,
    title: String,
    claim: String,
    /// Field name → message; `_` for what belongs to no one field.
    errors: BTreeMap<&'static str, String>,
}

impl ItemForm {
    fn of(item: &CatalogItem) -> Self {
        Self {
            sku: item.sku.to_string(),
            price: item.price.amount().to_string(),
            category: item.category.clone(),
            title: item.title.clone().unwrap_or_default(),
            claim: item
                .claim_policy
                .map(|c| c.as_str().to_owned())
                .unwrap_or_default(),
            errors: BTreeMap::new(),
        }
    }

    fn submitted(fields: &Fields, sku: &str) -> Self {
        let get = |name| fields.get(name).unwrap_or_default().to_owned();
        Self {
            sku: sku.to_owned(),
            price: get("price"),
            category: get("category"),
            title: get("title"),
            claim: get("claim_policy"),
            errors: BTreeMap::new(),
        }
    }

    fn error(&self, field: &str) -> Option<&str> {
        self.errors.get(field).map(String::as_str)
    }
}

/// Reads an item form. `keep` is the stored item whose seller and attributes the console
/// does not edit, so saving the form keeps them. Every field is checked, so each error
/// shows beside its own field at once; what is left is checked by the API's own parsing.
fn read_item(
    fields: &Fields,
    sku: &str,
    currency: Currency,
    keep: Option<&CatalogItem>,
) -> Result<CatalogItemInput, ItemForm> {
    let mut form = ItemForm::submitted(fields, sku);
    if let Err(CoreError::InvalidInput(why)) = Sku::parse(sku) {
        form.errors.insert("sku", why);
    }
    let price = match fields.non_empty("price") {
        None => Err(format!("Enter a price, e.g. 12.50 ({currency}).")),
        Some(raw) => match Decimal::from_str(raw) {
            Err(_) => Err(format!(
                "“{raw}” is not a price: use digits and a dot, e.g. 12.50."
            )),
            Ok(amount) => Price::parse(amount, currency)
                .map(|p| p.amount())
                .map_err(|e| e.to_string()),
        },
    };
    let price = match price {
        Ok(amount) => amount,
        Err(why) => {
            form.errors.insert("price", why);
            Decimal::ZERO
        }
    };
    let category = fields.non_empty("category");
    if category.is_none() {
        form.errors.insert("category", "Enter a category.".into());
    }
    let claim = match fields.non_empty("claim_policy") {
        None => None,
        Some(raw) => {
            let parsed = ClaimPolicy::parse(raw);
            if parsed.is_none() {
                form.errors.insert(
                    "claim_policy",
                    "Choose interest, soft, reserve or the tenant default.".into(),
                );
            }
            parsed
        }
    };
    if !form.errors.is_empty() {
        return Err(form);
    }
    CatalogItemRequest {
        price,
        category: category.unwrap_or_default().to_owned(),
        seller: keep.and_then(|k| k.seller.clone()),
        attributes: keep
            .map(|k| k.attributes.as_map().clone())
            .unwrap_or_default(),
        claim_policy: claim.map(Into::into),
        title: fields.non_empty("title").map(str::to_owned),
    }
    .parse(sku, currency)
    .map_err(|e| {
        let why = e.to_string();
        let field = ["category", "title"]
            .into_iter()
            .find(|f| why.starts_with(f))
            .unwrap_or("_");
        form.errors.insert(field, why);
        form
    })
}

/// The item fields both forms share.
fn item_fields(prefix: &str, form: &ItemForm, currency: Currency, default: ClaimPolicy) -> Markup {
    let id = |name: &str| format!("{prefix}-{name}");
    let invalid = |name: &str| form.error(name).map(|_| "true");
    let described = |name: &str| form.error(name).map(|_| format!("{}-error", id(name)));
    html! {
        div.field {
            label for=(id("price")) { "Price (" (currency) ")" }
            input id=(id("price")) type="text" name="price" inputmode="decimal" required value=(form.price)
                aria-invalid=[invalid("price")] aria-describedby=[described("price")];
            (field_error(&id("price"), form.error("price")))
        }
        div.field {
            label for=(id("category")) { "Category" }
            input id=(id("category")) type="text" name="category" required maxlength="64" value=(form.category)
                aria-invalid=[invalid("category")] aria-describedby=[described("category")];
            (field_error(&id("category"), form.error("category")))
        }
        div.field {
            label for=(id("claim")) { "Claim policy" }
            select id=(id("claim")) name="claim_policy"
                aria-invalid=[invalid("claim_policy")] aria-describedby=[described("claim_policy")] {
                option value="" selected[form.claim.is_empty()] { "Tenant default (" (default.as_str()) ")" }
                @for c in [ClaimPolicy::Interest, ClaimPolicy::Soft, ClaimPolicy::Reserve] {
                    option value=(c.as_str()) selected[form.claim == c.as_str()] { (c.as_str()) }
                }
            }
            p.hint { "interest: stock checked at checkout only · soft: shown, not held · reserve: held while in the cart" }
            (field_error(&id("claim"), form.error("claim_policy")))
        }
        div.field {
            label for=(id("title")) { "Title " span.muted { "(optional)" } }
            input id=(id("title")) type="text" name="title" maxlength="200" value=(form.title)
                aria-invalid=[invalid("title")] aria-describedby=[described("title")];
            (field_error(&id("title"), form.error("title")))
        }
        @if let Some(why) = form.error("_") { p.field-error role="alert" { (why) } }
    }
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
        form #catalog-search .inline method="get" action="/console/catalog" role="search" {
            div.field {
                label for="catalog-q" { "SKU or title" }
                input #catalog-q type="search" name="q" value=[q] placeholder="e.g. milk";
            }
            div.field {
                label for="catalog-category" { "Category" }
                input #catalog-category type="text" name="category" value=[category];
            }
            button type="submit" { "Search" }
            @if filtered { a.button.secondary href="/console/catalog" { "Clear" } }
        }
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
    .render_with(if problem.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        status
    }))
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
        Err(adding) => return Ok(Err(adding)),
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

// ---- Shared by the list pages -------------------------------------------------------------

/// The query string as form fields: a list page reads only the parameters it knows, and a
/// query it cannot read at all is no filter rather than a crash.
pub(super) fn query_fields(req: &HttpRequest) -> Fields {
    Fields::parse(req.query_string().as_bytes()).unwrap_or_default()
}

/// The page a list asks for: the server's default size, from `cursor`.
pub(super) fn page_request(fields: &Fields) -> PageRequest {
    PageRequest {
        limit: None,
        cursor: fields.non_empty("cursor").map(str::to_owned),
    }
}

/// A filter or cursor the list refused is the admin's to fix: its message is shown above
/// the table (400). Anything else fails the page.
pub(super) fn refused(e: CoreError) -> Result<String, ConsoleError> {
    match e {
        CoreError::InvalidFilter(_)
        | CoreError::InvalidCursor
        | CoreError::PageLimitOutOfRange { .. } => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

/// A list's path with its filters, ending so `cursor=…` can follow (what `next_page` needs).
pub(super) fn list_base(path: &str, filters: &[(&str, Option<&str>)]) -> String {
    let mut base = format!("{path}?");
    for (name, value) in filters {
        if let Some(value) = value {
            base.push_str(name);
            base.push('=');
            base.push_str(&page::form_urlencode(value));
            base.push('&');
        }
    }
    base
}

/// Why a list shows no table, above where the table would be.
pub(super) fn problem_box(problem: Option<&str>) -> Markup {
    html! {
        @if let Some(why) = problem {
            p.notice.error role="alert" data-testid="filter-error" { (why) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_good_item_form_reads_as_the_api_would() {
        let input = read_item(
            &fields(&[
                ("price", "12.50"),
                ("category", "dairy"),
                ("claim_policy", "reserve"),
                ("title", ""),
            ]),
            "milk-1l",
            Currency::Usd,
            None,
        )
        .unwrap();
        assert_eq!(input.price.amount(), Decimal::new(1250, 2));
        assert_eq!(input.claim_policy, Some(ClaimPolicy::Reserve));
        assert_eq!(input.title, None);
    }

    #[test]
    fn bad_prices_are_named_beside_the_price() {
        for (raw, says) in [
            ("-1", "negative"),
            ("abc", "is not a price"),
            ("1.234", "decimal places"),
            ("", "Enter a price"),
        ] {
            let form = read_item(
                &fields(&[("price", raw), ("category", "dairy")]),
                "milk",
                Currency::Usd,
                None,
            )
            .unwrap_err();
            assert!(
                form.error("price").unwrap().contains(says),
                "{raw}: {form:?}"
            );
            assert_eq!(form.price, raw, "what was typed is shown again");
        }
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let form = read_item(
            &fields(&[("price", "x"), ("claim_policy", "hoard")]),
            "bad sku",
            Currency::Usd,
            None,
        )
        .unwrap_err();
        for field in ["sku", "price", "category", "claim_policy"] {
            assert!(form.error(field).is_some(), "{field}: {form:?}");
        }
    }

    #[test]
    fn an_edit_keeps_the_seller_and_attributes_it_does_not_show() {
        let mut attrs = BTreeMap::new();
        attrs.insert("colour".to_owned(), "red".to_owned());
        let stored = CatalogItem {
            sku: Sku::parse("shirt").unwrap(),
            price: Price::parse(Decimal::ONE, Currency::Usd).unwrap(),
            price_revision: 1,
            category: "apparel".into(),
            seller: Some("acme".into()),
            attributes: trolley_core::domain::Attributes::parse(attrs).unwrap(),
            claim_policy: None,
            title: None,
            updated_at: chrono::Utc::now(),
        };
        let input = read_item(
            &fields(&[("price", "2"), ("category", "apparel")]),
            "shirt",
            Currency::Usd,
            Some(&stored),
        )
        .unwrap();
        assert_eq!(input.seller.as_deref(), Some("acme"));
        assert_eq!(input.attributes, stored.attributes);
    }

    #[test]
    fn a_list_base_keeps_only_the_filters_in_use() {
        assert_eq!(
            list_base(
                "/console/catalog",
                &[("q", Some("a b&c")), ("category", None)]
            ),
            "/console/catalog?q=a+b%26c&"
        );
        assert_eq!(list_base("/console/orders", &[]), "/console/orders?");
    }

    #[test]
    fn only_filter_refusals_stay_on_the_page() {
        assert!(refused(CoreError::InvalidCursor).is_ok());
        assert!(refused(CoreError::InvalidFilter("status".into())).is_ok());
        assert!(refused(CoreError::CartNotFound).is_err());
    }
}
