//! The OpenAPI document of the public API, served at `/api/openapi.json`.
//!
//! Paths are collected from the very `service(...)` registrations in
//! `startup::routes` (utoipa-actix-web), so a route cannot be served without
//! being documented.

use actix_web::{HttpResponse, web};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Flash-sale coupon API",
        description = "First-come coupon issuance. Errors are always \
            {\"error\": {\"code\": \"<snake_case>\", \"message\": \"...\"}}; 422 adds \"fields\".",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "events", description = "Public event list and detail with live stock"),
        (name = "coupons", description = "Issuance, my coupons, redemption"),
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

/// The document, built once at start-up (see `startup::api_doc`).
pub struct Document(pub String);

pub async fn openapi_json(doc: web::Data<Document>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
