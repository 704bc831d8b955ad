//! The connections notify-service needs to push, kept by its background
//! loops and read by `/readyz` (and by the upgrade route: no subscription,
//! no new sockets).

use service_kit::connected::Connected;

use crate::metrics::Metrics;

pub struct Liveness {
    /// The RabbitMQ consumer holds a channel.
    pub consumer: Connected,
    /// The cross-instance fan-out subscription is live.
    pub subscriber: Connected,
}

impl Liveness {
    pub fn new(metrics: &Metrics) -> Self {
        Self {
            consumer: Connected::new(metrics.amqp_consumer_up.clone()),
            subscriber: Connected::new(metrics.redis_subscriber_up.clone()),
        }
    }
}
