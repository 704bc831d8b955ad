//! Structured logs: JSON lines by default, on stderr (so command output on
//! stdout stays clean). What is never logged — tokens, passwords, emails,
//! client addresses — is each service's discipline.

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

/// Installs the global subscriber; call once, from `main`. `level` is any
/// EnvFilter directive (RUST_LOG wins when set); `format` is `json` or
/// anything else for human-readable lines.
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let registry = tracing_subscriber::registry().with(filter);
    if format == "json" {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .init();
    } else {
        registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .init();
    }
}
