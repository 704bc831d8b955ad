//! The admin event list's filter: `status` and a title search.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Longest title search (titles themselves are at most 200 characters).
pub const MAX_SEARCH_CHARS: usize = 100;

/// The admin list's `status`, from what PostgreSQL knows (`sold_out` is by
/// the committed count, which trails Redis by a write batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum AdminStatus {
    /// Not started, not closed.
    Upcoming,
    /// Started, not over, not closed, stock left.
    Live,
    /// Started, not over, not closed, every coupon issued.
    SoldOut,
    /// Over or closed.
    Ended,
    /// Closed early by an admin.
    Closed,
}

impl AdminStatus {
    const ALL: [Self; 5] = [
        Self::Upcoming,
        Self::Live,
        Self::SoldOut,
        Self::Ended,
        Self::Closed,
    ];

    /// The name clients send, and the store's SQL matches on.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Live => "live",
            Self::SoldOut => "sold_out",
            Self::Ended => "ended",
            Self::Closed => "closed",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// `GET /api/admin/events?status=&q=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminListQuery {
    /// Only events in this state (all when absent).
    #[param(value_type = Option<AdminStatus>, inline)]
    pub status: Option<String>,
    /// Part of the title, any case; `%` and `_` are taken literally.
    #[param(max_length = 100, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    pub q: Option<String>,
}

/// A validated admin list filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminFilter {
    pub status: Option<AdminStatus>,
    /// A `LIKE` pattern matching the search anywhere, metacharacters escaped.
    pub title_pattern: Option<String>,
}

impl AdminListQuery {
    pub fn filter(&self) -> Result<AdminFilter, ApiError> {
        let status = match self.status.as_deref() {
            None => None,
            Some(raw) => Some(AdminStatus::parse(raw).ok_or_else(|| {
                ApiError::validation(
                    "status",
                    "must be upcoming, live, sold_out, ended or closed",
                )
            })?),
        };
        let q = match self.q.as_deref() {
            Some(raw) => search_text("q", raw, MAX_SEARCH_CHARS)?.trim(),
            None => "",
        };
        let title_pattern = (!q.is_empty()).then(|| format!("%{}%", escape_like(q)));
        Ok(AdminFilter {
            status,
            title_pattern,
        })
    }
}

/// A search as typed, if it is short enough and has no control characters
/// (PostgreSQL refuses a NUL in text: it must be a 422 here, not a failed
/// query).
pub fn search_text<'a>(field: &str, raw: &'a str, max_chars: usize) -> Result<&'a str, ApiError> {
    if raw.chars().count() > max_chars {
        return Err(ApiError::validation(
            field,
            &format!("must be at most {max_chars} characters"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(ApiError::validation(
            field,
            "must not contain control characters",
        ));
    }
    Ok(raw)
}

/// `text` as a literal inside a `LIKE` pattern (PostgreSQL's default escape
/// character is the backslash).
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin(status: Option<&str>, q: Option<&str>) -> Result<AdminFilter, ApiError> {
        AdminListQuery {
            status: status.map(Into::into),
            q: q.map(Into::into),
        }
        .filter()
    }

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn a_blank_search_is_no_search_and_a_long_one_is_refused() {
        assert_eq!(admin(None, Some("  ")).unwrap().title_pattern, None);
        assert_eq!(
            admin(None, Some(" Spring "))
                .unwrap()
                .title_pattern
                .as_deref(),
            Some("%Spring%")
        );
        assert!(
            admin(None, Some(&"é".repeat(100))).is_ok(),
            "counted in characters"
        );
        assert!(admin(None, Some(&"a".repeat(101))).is_err());
        assert!(
            admin(None, Some(&format!("{} ", "a".repeat(100)))).is_err(),
            "counted as sent"
        );
        assert!(
            admin(None, Some("a\0b")).is_err(),
            "PostgreSQL refuses NUL in text"
        );
        assert!(admin(None, Some("tab\there")).is_err());
    }

    #[test]
    fn unknown_statuses_are_refused() {
        assert_eq!(
            admin(Some("sold_out"), None).unwrap().status,
            Some(AdminStatus::SoldOut)
        );
        assert!(admin(Some("SOLD_OUT"), None).is_err());
    }
}
