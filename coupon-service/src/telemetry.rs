//! Structured logs: JSON lines by default, one span per request. Logs go to
//! stderr so command output (e.g. `dev-token`) stays clean on stdout.

use crate::configuration::LogSettings;

/// Installs the global subscriber (JSON lines on stderr by default); call
/// once, from `main`.
pub fn init(settings: &LogSettings) {
    service_kit::telemetry::init(&settings.level, &settings.format);
}

/// Request id header: set by nginx, echoed back, logged with every line of
/// the request, carried into message headers.
pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, stored in the request extensions by `request_span`.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// One span per request carrying its id, route and method. Only server
/// errors are logged here: in a flash sale most requests are (expected)
/// rejections, and a line for each would drown the log. No client IPs,
/// tokens or bodies are recorded.
pub async fn request_span(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::HttpMessage;
    use tracing::Instrument;
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let span = tracing::info_span!(
        "http",
        request_id = %request_id,
        http.method = %req.method(),
        http.route = req.match_pattern().unwrap_or_default(),
    );
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let mut response = next.call(req).instrument(span.clone()).await?;
    let status = response.status();
    if status.is_server_error() {
        span.in_scope(|| tracing::error!(http.status = status.as_u16(), "request failed"));
    }
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(
            actix_web::http::header::HeaderName::from_static(REQUEST_ID),
            value,
        );
    }
    Ok(response)
}
