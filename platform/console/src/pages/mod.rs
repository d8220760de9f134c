//! One module per console section; each mounts its own routes.

mod carts;
mod catalog;
mod checkouts;
mod config;
mod inventory;
mod item_form;
mod keys;
mod lists;
mod order_types;
mod orders;
mod overview;
mod sign_in;
mod tenants;

use actix_web::web;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in::show))
        .route("/sign-in", web::post().to(sign_in::submit))
        .route("/sign-in/demo", web::get().to(sign_in::demo_show))
        .route("/sign-in/demo", web::post().to(sign_in::demo_submit))
        .route("/sign-out", web::post().to(sign_in::sign_out));
    overview::configure(cfg);
    order_types::configure(cfg);
    config::configure(cfg);
    keys::configure(cfg);
    tenants::configure(cfg);
    catalog::configure(cfg);
    inventory::configure(cfg);
    carts::configure(cfg);
    checkouts::configure(cfg);
    orders::configure(cfg);
}
