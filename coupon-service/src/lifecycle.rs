//! The order coupon-service stops in, stage by stage (see
//! [`crate::startup::Application::run_until_stopped`]):
//!
//! 1. the HTTP server stops accepting and answers every request in flight
//!    (each waits for its batch to commit, so nothing answered is lost);
//! 2. [`HOUSEKEEPING`]: loops that only load, sweep or tidy;
//! 3. [`PRODUCERS`]: the batch writers and the stock ticker, whose queues
//!    are empty once no request is in flight;
//! 4. [`RELAY`]: last, so what the producers committed and handed over can
//!    still be published; what it has not published stays in the outbox for
//!    any instance's relay.

use service_kit::tasks::Stage;

pub const HOUSEKEEPING: Stage = 0;
pub const PRODUCERS: Stage = 1;
pub const RELAY: Stage = 2;
