//! RabbitMQ names and the declaration both services run at connect time.
//!
//! Declarations are idempotent only when every declarer passes identical
//! arguments, so the one definition lives here.

use crate::messages::{
    COUPON_ISSUED, COUPON_SOLDOUT, DRAW_LOST, DRAW_WON, EVENT_STOCK, EVENT_UPDATED, QUEUE_ADMITTED,
    QUEUE_CLOSED, QUEUE_PROGRESS, SESSION_REVOKED,
};

/// The routing keys that get a queue of their own, in declaration order.
pub const ROUTED_KINDS: [&str; 10] = [
    COUPON_ISSUED,
    COUPON_SOLDOUT,
    EVENT_STOCK,
    EVENT_UPDATED,
    SESSION_REVOKED,
    QUEUE_PROGRESS,
    QUEUE_CLOSED,
    QUEUE_ADMITTED,
    DRAW_WON,
    DRAW_LOST,
];

/// Names and queue flavour of one deployment (tests use their own names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The topic exchange messages are published to (`coupon.exchange`).
    pub exchange: String,
    /// Dead-letter exchange: messages a consumer rejects end up here.
    pub dead_letter_exchange: String,
    /// Prepended to every queue name (empty in production).
    pub queue_prefix: String,
    /// `quorum` (replicated, the production choice) or `classic`.
    pub queue_type: String,
    /// Delete queues unused for this long; only for throwaway test names.
    pub queue_expires_ms: Option<u32>,
}

impl Default for Topology {
    fn default() -> Self {
        Self {
            exchange: "coupon.exchange".into(),
            dead_letter_exchange: "coupon.dlx".into(),
            queue_prefix: String::new(),
            queue_type: "quorum".into(),
            queue_expires_ms: None,
        }
    }
}

impl Topology {
    /// The queue consuming one routing key, e.g. `coupon.issued`.
    pub fn queue(&self, routing_key: &str) -> String {
        format!("{}{}", self.queue_prefix, routing_key)
    }

    /// Where dead-lettered messages wait for a human.
    pub fn dead_letter_queue(&self) -> String {
        format!("{}coupon.dead", self.queue_prefix)
    }
}

#[cfg(feature = "amqp")]
mod declare {
    use lapin::{
        Channel, ExchangeKind,
        options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions},
        types::{AMQPValue, FieldTable, LongString, ShortString},
    };

    use super::*;

    impl Topology {
        /// Declares exchanges, queues and bindings (durable); safe to repeat.
        pub async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
            let exchange_options = ExchangeDeclareOptions {
                durable: true,
                // Throwaway test exchanges disappear with their last queue.
                auto_delete: self.queue_expires_ms.is_some(),
                ..ExchangeDeclareOptions::default()
            };
            channel
                .exchange_declare(
                    self.exchange.as_str().into(),
                    ExchangeKind::Topic,
                    exchange_options,
                    FieldTable::default(),
                )
                .await?;
            channel
                .exchange_declare(
                    self.dead_letter_exchange.as_str().into(),
                    ExchangeKind::Fanout,
                    exchange_options,
                    FieldTable::default(),
                )
                .await?;

            let durable = QueueDeclareOptions {
                durable: true,
                ..QueueDeclareOptions::default()
            };
            let dead = self.dead_letter_queue();
            channel
                .queue_declare(dead.as_str().into(), durable, self.queue_arguments(false))
                .await?;
            channel
                .queue_bind(
                    dead.as_str().into(),
                    self.dead_letter_exchange.as_str().into(),
                    "".into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            for kind in ROUTED_KINDS {
                let queue = self.queue(kind);
                channel
                    .queue_declare(queue.as_str().into(), durable, self.queue_arguments(true))
                    .await?;
                channel
                    .queue_bind(
                        queue.as_str().into(),
                        self.exchange.as_str().into(),
                        kind.into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
            }
            Ok(())
        }

        fn queue_arguments(&self, dead_lettered: bool) -> FieldTable {
            let mut args = FieldTable::default();
            let text = |s: &str| AMQPValue::LongString(LongString::from(s.as_bytes().to_vec()));
            args.insert(ShortString::from("x-queue-type"), text(&self.queue_type));
            if dead_lettered {
                args.insert(
                    ShortString::from("x-dead-letter-exchange"),
                    text(&self.dead_letter_exchange),
                );
            }
            if let Some(ms) = self.queue_expires_ms {
                args.insert(ShortString::from("x-expires"), AMQPValue::LongUInt(ms));
            }
            args
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_follow_routing_keys_under_the_prefix() {
        let t = Topology {
            queue_prefix: "t42.".into(),
            ..Topology::default()
        };
        assert_eq!(t.queue(COUPON_ISSUED), "t42.coupon.issued");
        assert_eq!(t.dead_letter_queue(), "t42.coupon.dead");
        assert_eq!(Topology::default().queue(COUPON_SOLDOUT), "coupon.soldout");
    }
}
