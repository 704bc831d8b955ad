//! Layered settings: the service's built-in defaults (a YAML text compiled
//! into the binary), then an optional file named by `APP_CONFIG_FILE`, then
//! `APP_<SECTION>__<KEY>` environment variables.

use config::{Config, Environment, File, FileFormat};
use serde::de::DeserializeOwned;

/// All three layers.
pub fn layered<T: DeserializeOwned>(defaults_yaml: &str) -> anyhow::Result<T> {
    let mut builder = Config::builder().add_source(File::from_str(defaults_yaml, FileFormat::Yaml));
    if let Ok(path) = std::env::var("APP_CONFIG_FILE") {
        builder = builder.add_source(File::with_name(&path));
    }
    Ok(builder
        .add_source(
            Environment::with_prefix("APP")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                // Lists given in one variable, comma-separated.
                .list_separator(",")
                .with_list_parse_key("redis.nodes"),
        )
        .build()?
        .try_deserialize()?)
}

/// The built-in defaults alone (tests start from these).
pub fn defaults<T: DeserializeOwned>(defaults_yaml: &str) -> anyhow::Result<T> {
    Ok(Config::builder()
        .add_source(File::from_str(defaults_yaml, FileFormat::Yaml))
        .build()?
        .try_deserialize()?)
}

/// Refuses a secret that still holds the placeholder of an example file
/// (`.env.example`, `secrets.example.yaml`): "change-me", in any case. A
/// stack started from the example as it is would otherwise run on
/// passwords anybody can read. The secret itself is never in the message.
pub fn refuse_placeholder(setting: &str, secret: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !secret.to_ascii_lowercase().contains("change-me"),
        "invalid setting: {setting} still holds the \"change-me\" placeholder of an example file; set a real secret"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Sample {
        section: Section,
    }

    #[derive(serde::Deserialize)]
    struct Section {
        port: u16,
    }

    #[test]
    fn defaults_parse_from_yaml() {
        let s: Sample = defaults("section:\n  port: 8081\n").unwrap();
        assert_eq!(s.section.port, 8081);
        assert!(
            defaults::<Sample>("section: {}\n").is_err(),
            "a missing key is an error"
        );
    }
}
