//! Route registration. Registering a handler here is also what puts it in the OpenAPI
//! document (`utoipa-actix-web`), so the spec cannot list a route the server lacks.

mod admin;
mod admin_lists;
mod carts;
mod checkout;
mod credentials;
mod metrics;
mod ops;
mod platform;
mod plugin_runs;
mod plugins;
mod shop;
mod stream;
mod webhooks;

use actix_web::middleware::from_fn;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::cors::cors;
use crate::extract::{BATCH_LIMIT, json_config};
use crate::idempotency::idempotency;
use crate::outage::database_gate;
use crate::rate_limit::rate_limit_headers;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(ops::health)
        .service(ops::ready)
        .service(metrics::metrics);
    cfg.service(
        scope("/v1")
            .wrap(from_fn(idempotency))
            .wrap(from_fn(rate_limit_headers))
            // Outside the idempotency layer: during an outage not even a key is looked up.
            .wrap(from_fn(database_gate))
            // Outermost: preflights are answered before anything else runs, and every
            // answer (errors included) gets the CORS headers its origin may read.
            .wrap(from_fn(cors))
            .service(platform::create_tenant)
            .service(platform::list_tenants)
            .service(platform::get_tenant)
            .service(platform::patch_tenant)
            .service(checkout::sweep)
            .service(webhooks::relay)
            .service(
                // Catalog batches carry up to 1000 items: a larger body limit than elsewhere.
                scope("/admin/catalog")
                    .app_data(json_config(BATCH_LIMIT))
                    .service(admin_lists::list_catalog_items)
                    .service(admin::put_item)
                    .service(admin::batch_items)
                    .service(admin::get_item)
                    .service(admin::delete_item),
            )
            .service(admin_lists::list_inventory)
            .service(admin_lists::list_carts)
            .service(admin_lists::get_cart_detail)
            .service(admin_lists::list_checkouts)
            .service(admin_lists::list_orders)
            .service(admin_lists::list_events)
            .service(admin::get_config)
            .service(admin::put_config)
            .service(admin::patch_config)
            .service(admin::list_audit)
            .service(credentials::list_api_keys)
            .service(credentials::create_api_key)
            .service(credentials::revoke_api_key)
            .service(credentials::list_customer_token_secrets)
            .service(credentials::add_customer_token_secret)
            .service(credentials::delete_customer_token_secret)
            .service(plugins::upload_plugin)
            .service(plugins::list_plugins)
            .service(plugins::get_plugin)
            .service(plugins::list_order_types)
            .service(plugins::activate_order_type)
            .service(plugins::rollback_order_type)
            .service(plugin_runs::list_runs)
            .service(plugin_runs::get_run)
            .service(plugin_runs::dry_run)
            .service(webhooks::create_webhook)
            .service(webhooks::list_webhooks)
            .service(webhooks::get_webhook)
            .service(webhooks::patch_webhook)
            .service(webhooks::delete_webhook)
            .service(webhooks::rotate_webhook_secret)
            .service(webhooks::list_deliveries)
            .service(webhooks::retry_delivery)
            .service(webhooks::replay_webhook)
            .service(webhooks::list_event_schemas)
            .service(webhooks::get_event_schema)
            .service(carts::create_cart)
            .service(carts::get_my_cart)
            .service(carts::get_cart)
            .service(carts::add_line)
            .service(carts::patch_line)
            .service(carts::delete_line)
            .service(carts::clear_lines)
            .service(carts::put_context)
            .service(carts::merge_carts)
            .service(stream::stream_cart)
            .service(shop::list_shop_items)
            .service(shop::get_shop_item)
            .service(checkout::put_inventory)
            .service(checkout::get_inventory)
            .service(checkout::start_checkout)
            .service(checkout::get_checkout)
            .service(checkout::complete_checkout)
            .service(checkout::cancel_checkout)
            .service(checkout::get_order),
    );
}
