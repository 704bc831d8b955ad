//! The gateway's limit on open WebSockets per client address (limit_conn
//! on /ws): one address cannot take a notify-service node's slots, and
//! other addresses keep theirs.

use std::net::{IpAddr, Ipv4Addr};

use crate::{
    client::{Refusal, WsClient},
    helpers::{GatewayOptions, Stack, WITHIN},
};

const GREEDY: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));
const NEIGHBOUR: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_opening_more_websockets_than_the_limit_is_refused_with_429_and_other_addresses_are_unaffected()
 {
    let stack = Stack::start().await;
    let limit = 3;
    let gateway = stack
        .extra_gateway(
            "ws-limit",
            GatewayOptions {
                ws_conn_per_ip: limit,
                ..stack.gateway_options()
            },
        )
        .await;
    let url = format!("wss://localhost:{}/ws", gateway.port);
    let users = stack.create_users(2).await;

    // Up to the limit from one address: signed-in sockets that notify-service
    // welcomes.
    let mut held = Vec::new();
    for _ in 0..limit {
        let mut socket = open(&stack, &url, GREEDY, &users[0].1)
            .await
            .unwrap_or_else(|refused| panic!("within the limit, refused: {refused:?}"));
        socket.next_of("welcome").await;
        held.push(socket);
    }
    // One more from that address: 429 in the API's error shape.
    let refused = match open(&stack, &url, GREEDY, &users[0].1).await {
        Ok(_) => panic!("socket {} from one address was accepted", limit + 1),
        Err(refused) => refused,
    };
    assert_eq!(refused.status(), 429, "{refused:?}");
    assert_eq!(
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body: serde_json::Value =
        serde_json::from_slice(refused.body().as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("a JSON body ({e}): {refused:?}"));
    assert_eq!(body["error"]["code"], "too_many_connections", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");

    // Another address (another household) gets its own allowance.
    let mut neighbours = Vec::new();
    for _ in 0..limit {
        let mut socket = open(&stack, &url, NEIGHBOUR, &users[1].1)
            .await
            .unwrap_or_else(|refused| panic!("another address was refused: {refused:?}"));
        socket.next_of("welcome").await;
        neighbours.push(socket);
    }

    // The limit counts sockets open now: one closed, one more accepted.
    held.pop().expect("sockets are held").close().await;
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        match open(&stack, &url, GREEDY, &users[0].1).await {
            Ok(mut socket) => {
                socket.next_of("welcome").await;
                break;
            }
            Err(refused) => {
                assert_eq!(refused.status(), 429, "{refused:?}");
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "a closed socket did not free its place"
                );
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// A signed-in socket from `from` through the gateway at `url`.
async fn open(stack: &Stack, url: &str, from: IpAddr, token: &str) -> Result<WsClient, Refusal> {
    WsClient::connect_from(from, url, stack.tls.clone(), Some(token)).await
}
