//! End-to-end through nginx (HTTPS with HTTP/2, WSS), two instances of each
//! service behind it; see `helpers::Stack`.

mod client;
mod e2e;
mod edge;
mod event_reads;
mod helpers;
mod instances;
mod limits;
mod multi_event;
mod tls;
mod upstream_errors;
mod ws_limits;
