//! Which methods each path takes, read from the OpenAPI document (itself generated from
//! the route registrations), so a known path called with the wrong method answers
//! `405` with `Allow` instead of `404`.

use actix_web::dev::ResourceDef;
use actix_web::http::Method;

pub struct KnownRoutes {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl KnownRoutes {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self { routes }
    }

    /// The methods `path` takes, or `None` when no route has that path.
    pub fn methods(&self, path: &str) -> Option<Vec<Method>> {
        let mut found: Option<Vec<Method>> = None;
        for (def, methods) in &self.routes {
            if def.is_match(path) {
                found
                    .get_or_insert_with(Vec::new)
                    .extend(methods.iter().cloned());
            }
        }
        found
    }
}

/// `GET, POST`: the `Allow` header's value.
pub fn allow_header(methods: &[Method]) -> String {
    methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_names_its_methods() {
        let routes = KnownRoutes::from_openapi(&crate::openapi());
        let cart = routes.methods("/v1/carts/0190b6f0-0000-7000-8000-000000000000");
        assert_eq!(cart, Some(vec![Method::GET]));
        let lines = routes
            .methods("/v1/carts/0190b6f0-0000-7000-8000-000000000000/lines")
            .unwrap_or_default();
        assert!(lines.contains(&Method::POST) && lines.contains(&Method::DELETE));
        assert_eq!(routes.methods("/v1/nothing-here"), None);
    }
}
