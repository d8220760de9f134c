//! The console's page shell: navigation, notices, and the small pieces every page uses
//! (tables, pagination, field errors), so pages only say what they show.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::session::{Admin, CSRF_FIELD};

/// Scripts and styles come from this server only; no inline script can run.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's sections, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Overview,
    Catalog,
    Inventory,
    OrderTypes,
    Config,
    Carts,
    Checkouts,
    Orders,
    Keys,
}

const SECTIONS: [(Nav, &str, &str); 9] = [
    (Nav::Overview, "Overview", "/console"),
    (Nav::Catalog, "Catalog", "/console/catalog"),
    (Nav::Inventory, "Inventory", "/console/inventory"),
    (
        Nav::OrderTypes,
        "Order types & plugins",
        "/console/order-types",
    ),
    (Nav::Config, "Configuration", "/console/config"),
    (Nav::Carts, "Carts", "/console/carts"),
    (Nav::Checkouts, "Checkouts", "/console/checkouts"),
    (Nav::Orders, "Orders", "/console/orders"),
    (Nav::Keys, "API keys", "/console/keys"),
];

/// A notice shown above a page's content, e.g. after a form did its work.
pub enum Notice {
    Success(String),
    Error(String),
}

/// A page of a tenant admin's console.
pub struct Page<'a> {
    pub admin: &'a Admin,
    pub nav: Nav,
    pub title: String,
    pub notice: Option<Notice>,
    pub body: Markup,
}

impl Page<'_> {
    pub fn render(self) -> HttpResponse {
        self.render_with(StatusCode::OK)
    }

    /// The page with another status, e.g. `422` for a form shown again with its errors.
    pub fn render_with(self, status: StatusCode) -> HttpResponse {
        let tenant = &self.admin.tenant;
        let markup = shell(
            &self.title,
            html! {
                header.topbar {
                    a.brand href="/console" { "Trolley" }
                    span.tenant title=(tenant.id) { (tenant.name) }
                    (sign_out_form(&self.admin.csrf))
                }
                div.frame {
                    nav.sidebar aria-label="Console sections" {
                        ul {
                            @for (nav, label, href) in SECTIONS {
                                li {
                                    a href=(href) aria-current=[(nav == self.nav).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                    main #main {
                        h1 { (self.title) }
                        @if let Some(notice) = &self.notice { (notice_box(notice)) }
                        (self.body)
                    }
                }
            },
        );
        respond(status, markup)
    }
}

pub fn sign_out_form(csrf: &str) -> Markup {
    html! {
        form.sign-out method="post" action="/console/sign-out" {
            (csrf_input(csrf))
            button.link type="submit" { "Sign out" }
        }
    }
}

pub fn notice_box(notice: &Notice) -> Markup {
    match notice {
        Notice::Success(text) => html! { p.notice.success role="status" { (text) } },
        Notice::Error(text) => html! { p.notice.error role="alert" { (text) } },
    }
}

/// The document around a page's content.
pub fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Trolley console" }
                link rel="stylesheet" href=(crate::assets::CONSOLE_CSS_PATH);
                link rel="icon" href=(crate::assets::ICON_PATH);
                script src=(crate::assets::CONSOLE_JS_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                (body)
            }
        }
    }
}

/// A page outside the signed-in frame (sign-in, errors).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let markup = shell(
        title,
        html! {
            main #main .narrow {
                p.brand-large { "Trolley" }
                h1 { (title) }
                (body)
            }
        },
    );
    respond(status, markup)
}

pub fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        // The server's default `no-referrer` makes browsers send `Origin: null` with a
        // page's form posts; `same-origin` lets them name this site (and still tells other
        // sites nothing).
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(markup.into_string())
}

/// After a form did its work: back to a page (303, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

pub fn sign_in_url(next: &str) -> String {
    let next: String = form_urlencode(next);
    format!("/console/sign-in?next={next}")
}

pub fn form_urlencode(value: &str) -> String {
    serde_urlencoded::to_string([("", value)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

pub fn csrf_input(csrf: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(csrf); }
}

/// The error beside a field, tied to it for screen readers (`aria-describedby`).
pub fn field_error(id: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p.field-error id=(format!("{id}-error")) role="alert" { (error) }
        }
    }
}

/// An RFC 3339 time, readable, with the exact value on hover.
pub fn time(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.to_rfc3339()) title=(at.to_rfc3339()) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
    }
}

pub fn empty(text: &str) -> Markup {
    html! { p.empty { (text) } }
}

/// A "Next page" link keeping the page's filters (`base` ends in `?` or `&`).
pub fn next_page(base: &str, next_cursor: Option<&str>) -> Markup {
    html! {
        @if let Some(cursor) = next_cursor {
            nav.pager aria-label="Pages" {
                a.button href=(format!("{base}cursor={}", form_urlencode(cursor))) { "Next page →" }
            }
        }
    }
}

/// Pre-formatted JSON, escaped.
pub fn json_block(value: &serde_json::Value) -> Markup {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    html! { pre.json { code { (text) } } }
}

/// A short id for tables (full id on hover).
pub fn short_id(id: &str) -> Markup {
    let short: String = id.chars().take(8).collect();
    html! { code title=(id) { (short) "…" } }
}
