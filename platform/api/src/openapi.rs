use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::{Code, PriceChangeProblem, Problem, ShortageProblem, TrialFailureProblem};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Trolley",
        version = "1.0.0",
        description = "Multi-tenant cart platform. Money is a decimal string in the cart's ISO 4217 currency; ids are UUID v7; times are RFC 3339 UTC. Errors are RFC 9457 application/problem+json with a stable `code`. Every mutating call accepts `Idempotency-Key`. Every answer carries `X-Request-Id` (the caller's own when it sent a valid one): quote it when reporting a problem. Browser storefronts on an origin listed in the tenant's `cors_allowed_origins` may call the storefront operations directly (CORS)."
    ),
    modifiers(&Security),
    components(schemas(Problem, ShortageProblem, PriceChangeProblem, TrialFailureProblem)),
    tags(
        (name = "platform", description = "Platform operator: tenants"),
        (name = "catalog", description = "Tenant admin: catalog items"),
        (name = "config", description = "Tenant admin: configuration"),
        (name = "plugins", description = "Tenant admin: order-type plugins and their activation"),
        (name = "carts", description = "Storefront: carts and lines"),
        (name = "storefront catalog", description = "Storefront: what the tenant sells, read-only"),
        (name = "checkout", description = "Storefront: checkout snapshots and orders"),
        (name = "inventory", description = "Tenant admin: stock"),
        (name = "admin lists", description = "Tenant admin: paged lists of catalog items, stock, carts, checkouts, orders and a subject's events (`{items, next_cursor}`), and one cart as support sees it"),
        (name = "audit", description = "Tenant admin: who changed what, before and after"),
        (name = "keys", description = "Tenant admin: API keys and customer-token secrets"),
        (name = "webhooks", description = "Tenant admin: webhook endpoints and their deliveries; the event schemas"),
        (name = "operations", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let bearer = |desc: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(desc))
                    .build(),
            )
        };
        components.add_security_scheme(
            "operator_token",
            bearer("Platform operator token from the server's configuration"),
        );
        components.add_security_scheme("admin_key", bearer("The tenant's admin key"));
        components.add_security_scheme(
            "customer_token",
            bearer("HS256 JWT with `sub` = customer id and `exp`, signed with the tenant's customer-token secret"),
        );
        components.add_security_scheme(
            "storefront_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
        components.add_security_scheme(
            "cart_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Cart-Token"))),
        );
    }
}

/// The answers every `/v1` operation can give whatever it does, declared once here instead
/// of on each route: a malformed request (400), a refused value (422), the database away
/// (503); and by what the operation does and takes: a full database on a write (507), a
/// missing credential (401), the storefront rate limits (429), a body too large or not JSON
/// (413, 415). Responses a route declares itself are left as they are.
pub(crate) fn declare_common_errors(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let problem = |description: &str| {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build(),
        )
    };
    for (path, item) in api.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let operations = [
            (false, &mut item.get),
            (true, &mut item.put),
            (true, &mut item.post),
            (true, &mut item.delete),
            (true, &mut item.patch),
        ];
        for (writes, op) in operations {
            let Some(op) = op else { continue };
            let security = serde_json::to_string(&op.security).unwrap_or_default();
            let mut common = vec![
                (
                    "400",
                    "invalid_request: a malformed body, header or path parameter",
                ),
                (
                    "422",
                    "invalid_input (or another code of the registry): a value is refused",
                ),
                (
                    "503",
                    "database_unavailable or service_unavailable: retry after `Retry-After`",
                ),
            ];
            if security.contains('"') {
                common.push(("401", "unauthorized: a credential is missing or unknown"));
            }
            if security.contains("storefront_key") {
                common.push((
                    "429",
                    "rate_limited: the tenant's or shopper's limit; retry after `Retry-After`",
                ));
            }
            if writes {
                common.push((
                    "507",
                    "insufficient_storage: the database has no space left; nothing was changed",
                ));
            }
            if op.request_body.is_some() {
                common.push(("413", "payload_too_large"));
                common.push(("415", "unsupported_media_type"));
            }
            for (status, description) in common {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| problem(description));
            }
        }
    }
}

/// `Problem.code` as the closed list of codes the server answers, so generated clients get
/// a union type to switch on.
pub(crate) fn enumerate_problem_codes(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Object, Schema, SchemaType, Type};

    let Some(RefOr::T(Schema::Object(problem))) = api
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("Problem"))
    else {
        return;
    };
    let Some(RefOr::T(Schema::Object(code))) = problem.properties.get_mut("code") else {
        return;
    };
    let mut codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
    codes.sort_unstable();
    let mut listed = Object::with_type(SchemaType::Type(Type::String));
    listed.description = code.description.take();
    listed.examples = std::mem::take(&mut code.examples);
    listed.enum_values = Some(codes.into_iter().map(Into::into).collect());
    *code = listed;
}

/// The response headers clients read, declared on the answers that carry them: `ETag` on
/// every cart answer, `Idempotent-Replayed` where `Idempotency-Key` is taken, the
/// `RateLimit-*` trio on storefront answers, `Retry-After` on the retryable errors.
/// (`X-Request-Id`, on every answer, is described once in the document's description.)
pub(crate) fn declare_headers(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

    let header = |description: &str, kind: Type| {
        RefOr::T(
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new().schema_type(SchemaType::Type(kind)),
                ))
                .description(Some(description))
                .build(),
        )
    };
    for (path, item) in api.paths.paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            let storefront = serde_json::to_string(&op.security)
                .unwrap_or_default()
                .contains("storefront_key");
            let idempotent = op
                .parameters
                .iter()
                .flatten()
                .any(|p| matches!(p, RefOr::T(p) if p.name == "Idempotency-Key"));
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                let success = status.starts_with('2');
                let shows_cart = serde_json::to_string(&response.content)
                    .unwrap_or_default()
                    .contains("/CartResponse\"")
                    || serde_json::to_string(&response.content)
                        .unwrap_or_default()
                        .contains("/MergeResponse\"");
                let headers = &mut response.headers;
                if success && shows_cart {
                    headers.entry("ETag".into()).or_insert_with(|| {
                        header("`\"<version>-<fingerprint>\"`: changes whenever what the cart shows changes. Send it back as `If-Match` on a change (only its version is compared) or `If-None-Match` on a read (`304` when nothing changed)", Type::String)
                    });
                }
                if success && idempotent {
                    headers.entry("Idempotent-Replayed".into()).or_insert_with(|| {
                        header("`true` when this is the stored answer to an earlier request with the same Idempotency-Key (nothing was applied again)", Type::String)
                    });
                }
                if storefront && (success || status == "429") {
                    for (name, description) in [
                        (
                            "RateLimit-Limit",
                            "Requests the tightest of the tenant's and shopper's buckets allows in a burst",
                        ),
                        ("RateLimit-Remaining", "Requests left in that bucket now"),
                        ("RateLimit-Reset", "Seconds until that bucket is full again"),
                    ] {
                        headers
                            .entry(name.into())
                            .or_insert_with(|| header(description, Type::Integer));
                    }
                }
                if matches!(status.as_str(), "429" | "503") {
                    headers.entry("Retry-After".into()).or_insert_with(|| {
                        header("Seconds to wait before retrying", Type::Integer)
                    });
                }
            }
        }
    }
}

/// Gives every response the `description` OpenAPI requires (a route that documents none
/// gets its status's reason phrase), so the document validates as OpenAPI 3.1.
pub(crate) fn describe_every_response(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;

    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.trim().is_empty()
                {
                    response.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
}
