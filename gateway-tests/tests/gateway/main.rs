//! End-to-end through nginx (HTTPS with HTTP/2, WSS), two instances of each
//! service behind it; see `helpers::Stack`.

mod client;
mod e2e;
mod edge;
mod helpers;
mod instances;
mod multi_event;
// The cuttable TCP proxy of coupon-service's tests, shared rather than
// copied.
#[expect(dead_code, reason = "this suite cuts and restores; it never stalls")]
#[path = "../../../coupon-service/tests/api/proxy.rs"]
mod proxy;
mod tls;
mod upstream_errors;
mod ws_limits;
