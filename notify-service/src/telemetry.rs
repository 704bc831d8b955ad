//! Structured logs: JSON lines by default, on stderr. Tokens, user agents and
//! client addresses are never logged; user ids and event ids are.

use crate::configuration::LogSettings;

/// Installs the global subscriber (JSON lines on stderr by default); call
/// once, from `main`.
pub fn init(settings: &LogSettings) {
    service_kit::telemetry::init(&settings.level, &settings.format);
}
