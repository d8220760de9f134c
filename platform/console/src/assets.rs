//! The console's static files, embedded in the binary. Browsers revalidate them by `ETag`
//! (a digest of the content): a new binary's assets apply at once, an unchanged one costs
//! a `304`.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

pub const CONSOLE_CSS: &str = include_str!("../assets/console.css");
pub const CONSOLE_JS: &str = include_str!("../assets/console.js");
pub const ICON: &str = include_str!("../assets/icon.svg");

pub const CONSOLE_CSS_PATH: &str = "/console/assets/console.css";
pub const CONSOLE_JS_PATH: &str = "/console/assets/console.js";
pub const ICON_PATH: &str = "/console/assets/icon.svg";

struct Asset {
    name: &'static str,
    body: &'static str,
    content_type: &'static str,
    etag: String,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    [
        ("console.css", CONSOLE_CSS, "text/css; charset=utf-8"),
        ("console.js", CONSOLE_JS, "text/javascript; charset=utf-8"),
        ("icon.svg", ICON, "image/svg+xml"),
    ]
    .into_iter()
    .map(|(name, body, content_type)| Asset {
        name,
        body,
        content_type,
        etag: format!(
            "\"{}\"",
            &hex::encode(Sha256::digest(body.as_bytes()))[..16]
        ),
    })
    .collect()
});

/// `GET /console/assets/{name}`: revalidated by `ETag`, so a new binary's assets are
/// picked up at once.
pub async fn serve(req: actix_web::HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name.as_str()) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such console asset");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == asset.etag);
    let mut answer = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    if fresh {
        answer.finish()
    } else {
        answer.content_type(asset.content_type).body(asset.body)
    }
}
