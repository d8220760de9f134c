//! Trolley's HTTP API: thin actix-web handlers over `trolley-core`'s use cases, auth as
//! extractors, one problem+json error registry, and the OpenAPI document generated from
//! the route registrations themselves.

pub mod auth;
pub mod client_addr;
pub mod dto;
pub mod error;
pub mod extract;
pub mod idempotency;
mod openapi;
pub mod outage;
pub mod rate_limit;
mod routes;
pub mod state;
pub mod telemetry;

use actix_web::{App, web};
use utoipa::OpenApi as _;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

pub use error::{ApiError, Code, problem_json_errors};
pub use openapi::ApiDoc;
pub use state::AppState;

/// The OpenAPI document of every registered route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    openapi::declare_common_errors(&mut api);
    api
}

/// Mounts the API, `/openapi.json` and `/docs` on an actix app.
pub fn configure(
    state: web::Data<AppState>,
    api: utoipa::openapi::OpenApi,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(state)
            .app_data(extract::json_config(extract::JSON_LIMIT))
            .app_data(extract::path_config())
            .app_data(extract::query_config())
            .app_data(extract::payload_config());
        {
            let mut routes = utoipa_actix_web::service_config::ServiceConfig::new(cfg);
            routes::configure(&mut routes);
        }
        cfg.service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api));
    }
}

/// The answer for any path no route claims.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::new(Code::NotFound, "no such resource"))
}
