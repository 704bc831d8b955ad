//! End-to-end through nginx (HTTPS with HTTP/2, WSS), two instances of each
//! service behind it; see `helpers::Stack`.

mod client;
mod e2e;
mod edge;
mod helpers;
mod instances;
mod multi_event;
// The cuttable TCP proxy of coupon-service's tests, shared rather than
// copied; this suite may not use every part of it.
#[allow(dead_code)]
#[path = "../../../coupon-service/tests/api/proxy.rs"]
mod proxy;
mod tls;
mod upstream_errors;
mod ws_limits;
