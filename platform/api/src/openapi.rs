use utoipa::Modify;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::error::Problem;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Trolley",
        version = "1.0.0",
        description = "Multi-tenant cart platform. Money is a decimal string in the cart's ISO 4217 currency; ids are UUID v7; times are RFC 3339 UTC. Errors are RFC 9457 application/problem+json with a stable `code`. Every mutating call accepts `Idempotency-Key`."
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "platform", description = "Platform operator: tenants"),
        (name = "catalog", description = "Tenant admin: catalog items"),
        (name = "config", description = "Tenant admin: configuration"),
        (name = "plugins", description = "Tenant admin: order-type plugins and their activation"),
        (name = "carts", description = "Storefront: carts and lines"),
        (name = "checkout", description = "Storefront: checkout snapshots and orders"),
        (name = "inventory", description = "Tenant admin: stock"),
        (name = "audit", description = "Tenant admin: who changed what, before and after"),
        (name = "keys", description = "Tenant admin: API keys and customer-token secrets"),
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
