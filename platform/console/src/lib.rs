//! The tenant console and the demo storefront (SPEC §12), embedded in the `trolley` binary.
//!
//! Server-rendered HTML (maud templates, checked and escaped at compile time) with a little
//! hand-written JavaScript: no front-end toolchain and no CDN, every asset is
//! `include_str!`ed. Forms post back to the server with the session's CSRF token and work
//! without JavaScript; scripts only do what a form cannot (drag-and-drop upload, the demo
//! shop's live cart). Pages call the same use cases as the REST API, scoped to the signed-in
//! tenant, and share its error registry.

pub mod assets;
pub mod demo;
mod error;
mod page;
mod pages;
mod schema_form;
mod session;

use actix_web::middleware::Compress;
use actix_web::{HttpResponse, http::header, web};
use trolley_core::service::ConsoleSessions;

pub use demo::{DemoSlot, DemoTenant};
pub use session::{CSRF_HEADER, SESSION_COOKIE};

/// What the console's handlers reach beyond the API's `AppState`.
#[derive(Clone)]
pub struct ConsoleState {
    pub sessions: ConsoleSessions,
    pub demo: DemoSlot,
}

/// Mounts `/`, `/console/…` and `/demo/…`.
pub fn configure(state: web::Data<ConsoleState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .route(
                "/",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header((header::LOCATION, "/console"))
                        .finish()
                }),
            )
            // Pages and assets are text that compresses 3–4×; the API keeps its own
            // encoding choices.
            .service(
                web::scope("/console")
                    .wrap(Compress::default())
                    .configure(pages::configure)
                    .route("/assets/{name}", web::get().to(assets::serve))
                    // Last: a console address no page takes is a page too, not a problem
                    // document.
                    .route("/{rest:.*}", web::get().to(not_found)),
            );
        demo::configure(cfg);
    }
}

async fn not_found() -> HttpResponse {
    page::bare(
        actix_web::http::StatusCode::NOT_FOUND,
        "Page not found",
        maud::html! {
            p { "The console has no page at this address." }
            p { a href="/console" { "Go to the overview" } }
        },
    )
}
