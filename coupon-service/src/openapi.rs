//! The OpenAPI document of the public API, served at `/api/openapi.json`.
//!
//! Paths are collected from the very `service(...)` registrations in
//! `startup::routes` (utoipa-actix-web), so a route cannot be served without
//! being documented.

use actix_web::{HttpResponse, web};
use contract::errors::ErrorEnvelope;
use utoipa::{
    Modify, OpenApi,
    openapi::{
        Content, PathItem, RefOr, Response,
        path::{Operation, ParameterIn},
        schema::Ref,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flash-sale coupon API",
        description = "First-come coupon issuance. Errors are always \
            {\"error\": {\"code\": \"<snake_case>\", \"message\": \"...\"}}; 422 adds \"fields\".",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorEnvelope)),
    tags(
        (name = "events", description = "Public event list and detail with live stock"),
        (name = "coupons", description = "Issuance, my coupons, redemption"),
        (name = "queue", description = "The waiting room of a queued sale: join, status, proof"),
        (name = "draw", description = "The draw of a lottery sale: enter, the result, proof"),
        (name = "auth", description = "Accounts and tokens"),
        (name = "admin", description = "Event setup (ADMIN tokens)"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Adds what every operation can answer besides its own outcomes — the
/// app-wide extractor and token handlers (`error.rs`, `auth/`) answer the
/// same way on every route — where the operation does not list it, and gives
/// every error response the envelope as its body. Run on the whole document,
/// after the routes' descriptions are collected.
pub fn complete(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        for operation in operations(item) {
            for (status, description) in common_errors(path, operation) {
                operation
                    .responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| Response::new(description).into());
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                let is_error = status.starts_with('4') || status.starts_with('5');
                if let (true, RefOr::T(response)) = (is_error, response)
                    && response.content.is_empty()
                {
                    response.content.insert(
                        "application/json".to_owned(),
                        Content::new(Some(Ref::from_schema_name("ErrorEnvelope"))).into(),
                    );
                }
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
        &mut item.query,
    ]
    .into_iter()
    .flatten()
}

/// The errors an operation can meet before (or beside) its handler.
fn common_errors(path: &str, operation: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut errors = Vec::new();
    let has_param = |place: ParameterIn| {
        operation.parameters.iter().flatten().any(|p| match p {
            RefOr::T(p) => p.parameter_in == place,
            RefOr::Ref(_) => false,
        })
    };
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        errors.push((
            "401",
            "unauthorized (no token), invalid_token or token_expired",
        ));
    }
    if path.starts_with("/api/admin/") {
        errors.push(("403", "forbidden: the token is not an ADMIN's"));
    }
    if has_param(ParameterIn::Path) {
        errors.push((
            "404",
            "not_found: the path names nothing (e.g. an id that is not an integer)",
        ));
    }
    if has_param(ParameterIn::Query) {
        errors.push(("400", "invalid_query: a query parameter of the wrong type"));
        errors.push(("422", "validation_failed: a query parameter out of range"));
    }
    if operation.request_body.is_some() {
        errors.push(("400", "malformed_json or malformed_body"));
        errors.push(("413", "payload_too_large"));
        errors.push((
            "415",
            "unsupported_media_type: the body must be application/json",
        ));
        errors.push(("422", "validation_failed (with per-field errors)"));
    }
    errors
}

/// The document, built once at start-up (see `startup::api_doc`).
pub struct Document(pub String);

pub async fn openapi_json(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
