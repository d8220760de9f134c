//! Trolley's HTTP API: thin actix-web handlers over `trolley-core`'s use cases, auth as
//! extractors, one problem+json error registry, and the OpenAPI document generated from
//! the route registrations themselves.

pub mod auth;
pub mod client_addr;
pub mod conditional;
pub mod cors;
pub mod dto;
pub mod error;
mod event_schemas;
pub mod extract;
pub mod idempotency;
pub mod known_routes;
pub mod live;
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
    openapi::declare_headers(&mut api);
    openapi::enumerate_problem_codes(&mut api);
    openapi::describe_every_response(&mut api);
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
        // The docs live at `/docs/`; the address people type and link has no slash.
        cfg.route(
            "/docs",
            web::get().to(|| async {
                actix_web::HttpResponse::PermanentRedirect()
                    .insert_header((actix_web::http::header::LOCATION, "/docs/"))
                    .finish()
            }),
        );
    }
}

/// The answer for any request no route takes: `405` with `Allow` for a known path called
/// with another method (`204` with `Allow` for a plain `OPTIONS`), else `404`.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    use actix_web::http::{Method, header::ALLOW};
    let methods = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.routes.methods(req.path()));
    let Some(methods) = methods else {
        return Err(ApiError::new(Code::NotFound, "no such resource"));
    };
    let allow = known_routes::allow_header(&methods);
    if req.method() == Method::OPTIONS {
        return Ok(actix_web::HttpResponse::NoContent()
            .insert_header((ALLOW, allow))
            .finish());
    }
    Err(ApiError::new(
        Code::MethodNotAllowed,
        format!("{} takes {allow}, not {}", req.path(), req.method()),
    )
    .with_header(ALLOW, allow))
}
