//! Email addresses: normalised (trimmed, lower-cased) and checked for a
//! plausible shape. Deliverability is not our business; uniqueness is.

/// The normalised address, or `None` when it cannot be one.
pub fn normalise(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    let plausible = !local.is_empty()
        && local.len() <= 64
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    plausible.then_some(email)
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn addresses_are_trimmed_and_lower_cased() {
        assert_eq!(
            normalise("  Alice@Example.COM ").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalise("a.b+tag@sub.example.org").as_deref(),
            Some("a.b+tag@sub.example.org")
        );
    }

    #[test]
    fn implausible_addresses_are_refused() {
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "a@b@example.com",
            "a@exa_mple.com",
            "a@.example.com",
            "a@example..com",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }
}
