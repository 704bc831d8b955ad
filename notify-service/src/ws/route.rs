//! `GET /ws`: the checks that can be made on the upgrade request itself,
//! then the handshake; the socket then lives in [`super::connection`].

use std::net::{IpAddr, Ipv6Addr};

use actix_web::{HttpRequest, HttpResponse, http::header, web};
use contract::jwt::{Principal, TokenError};
use service_kit::client_address::{self, AddressKey};

use super::{
    admission::{Place, query_carries_token},
    connection::Connection,
    unauthenticated::Refused,
};
use crate::{error::ApiError, state::AppState};

pub async fn upgrade(
    req: HttpRequest,
    body: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let refuse = |reason: &str, error: ApiError| {
        state
            .metrics
            .rejected_upgrades
            .with_label_values(&[reason])
            .inc();
        Err(error)
    };
    if !is_websocket_upgrade(&req) {
        return refuse("not_websocket", ApiError::UpgradeRequired);
    }
    if query_carries_token(req.query_string()) {
        return refuse("token_in_query", ApiError::TokenInQuery);
    }
    if !state.origins.allows(req.headers().get(header::ORIGIN)) {
        return refuse("origin", ApiError::OriginNotAllowed);
    }
    let principal: Option<Principal> = match bearer_token(&req) {
        None => None,
        Some(token) => match state.verify(token) {
            Ok(principal) => Some(principal),
            Err(TokenError::Expired) => return refuse("token_expired", ApiError::TokenExpired),
            Err(TokenError::Invalid) => return refuse("invalid_token", ApiError::InvalidToken),
        },
    };
    if let Some(p) = &principal
        && state.hub.user_connections(p.user_id)
            >= state.settings.websocket.max_connections_per_user
    {
        return refuse("user_limit", ApiError::TooManyConnections);
    }
    if !state.liveness.subscriber.is_up() {
        // Nothing published would reach a socket here now.
        return refuse("not_ready", ApiError::NotReady);
    }
    // A socket with a token takes a member's place; one without waits for
    // its auth frame in the unauthenticated budget.
    let place = if principal.is_some() {
        match state.slots.try_acquire() {
            Some(slot) => Place::Member(slot),
            None => return refuse("node_limit", ApiError::ServerFull),
        }
    } else {
        match state
            .unauthenticated
            .try_acquire(client_address(&req, &state))
        {
            Ok(pending) => Place::Pending(pending),
            Err(Refused::Node) => {
                return refuse("unauthenticated_limit", ApiError::UnauthenticatedFull);
            }
            Err(Refused::Address) => {
                return refuse("address_limit", ApiError::TooManyUnauthenticated);
            }
        }
    };
    let (response, session, stream) =
        actix_ws::handle(&req, body).map_err(|_| ApiError::UpgradeRequired)?;
    let max = state.settings.websocket.max_frame_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let connection = Box::new(Connection::new(state.into_inner(), session, stream, place));
    actix_web::rt::spawn(connection.run(principal));
    Ok(response)
}

/// The key the client's per-address limits count by.
fn client_address(req: &HttpRequest, state: &AppState) -> AddressKey {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip());
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect();
    AddressKey::from(client_address::client_address(
        peer,
        &forwarded,
        &state.trusted_proxies,
    ))
}

fn is_websocket_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// `Authorization: Bearer <token>`. A header with any other shape yields
/// an empty token, which `verify` refuses: a client that sent credentials
/// learns at once that they were not taken.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let value = value.to_str().unwrap_or_default();
    Some(match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => "",
    })
}
