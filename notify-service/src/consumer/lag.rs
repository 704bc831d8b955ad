//! Consumer lag: how many messages wait in each queue, read every few
//! seconds with a passive declare on a channel of its own.

use std::time::Duration;

use contract::topology::{ROUTED_KINDS, Topology};
use lapin::{Connection, options::QueueDeclareOptions, types::FieldTable};

use crate::metrics::Metrics;

const EVERY: Duration = Duration::from_secs(5);

/// Runs until dropped (with the connection it reads through).
pub async fn poll_queue_depth(connection: &Connection, topology: &Topology, metrics: &Metrics) {
    let mut channel = None;
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        if channel.is_none() {
            channel = connection.create_channel().await.ok();
        }
        let Some(ch) = &channel else {
            continue;
        };
        for kind in ROUTED_KINDS {
            let queue = topology.queue(kind);
            match ch
                .queue_declare(
                    queue.as_str().into(),
                    QueueDeclareOptions {
                        passive: true,
                        ..QueueDeclareOptions::default()
                    },
                    FieldTable::default(),
                )
                .await
            {
                Ok(q) => metrics
                    .queue_depth
                    .with_label_values(&[queue.as_str()])
                    .set(i64::from(q.message_count())),
                Err(e) => {
                    tracing::debug!(error = %e, "queue depth unavailable");
                    channel = None;
                    break;
                }
            }
        }
    }
}
