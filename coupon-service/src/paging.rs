//! Page and size of every paged list, as a client sends them.
//!
//! Both arrive as text and are parsed here, so that a non-number, a negative
//! number or one past `i64` is the same 422 `validation_failed` naming the
//! field as any other out-of-range value (serde's own error would be a 400
//! that does not say which field). The offset is computed with checked
//! arithmetic and bounded: `MAX_PAGE × MAX_SIZE` is the deepest a client can
//! reach, so no request can make PostgreSQL refuse an OFFSET or scan
//! without end.

use serde::Deserialize;

use crate::error::ApiError;

/// Highest page number a client may ask for.
pub const MAX_PAGE: i64 = 10_000;
/// Largest page.
pub const MAX_SIZE: i64 = 100;
pub const DEFAULT_SIZE: i64 = 20;

/// The `page` and `size` query parameters of every paged list (a handler
/// takes this next to its own filter query).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 10000, default = 1)]
    pub page: Option<String>,
    /// Items per page.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100, default = 20)]
    pub size: Option<String>,
}

impl PageQuery {
    pub fn paging(&self) -> Result<Paging, ApiError> {
        Paging::parse(self.page.as_deref(), self.size.as_deref(), DEFAULT_SIZE)
    }
}

/// A validated page request: `page` in 1..=`MAX_PAGE`, `size` in
/// 1..=`MAX_SIZE` (private fields: only `parse` makes one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Paging {
    page: i64,
    size: i64,
}

impl Paging {
    /// From the raw query values; absent means the default (page 1, size
    /// `default_size`).
    pub fn parse(
        page: Option<&str>,
        size: Option<&str>,
        default_size: i64,
    ) -> Result<Self, ApiError> {
        let page = number("page", page, 1, 1, MAX_PAGE)?;
        let size = number("size", size, default_size, 1, MAX_SIZE)?;
        Ok(Self { page, size })
    }

    /// Rows to skip, at most `(MAX_PAGE - 1) × MAX_SIZE`.
    pub fn offset(&self) -> i64 {
        // `parse` bounds both factors, so this never saturates; saturating
        // rather than panicking keeps it safe should that ever change.
        (self.page - 1).saturating_mul(self.size)
    }

    pub fn page(&self) -> i64 {
        self.page
    }

    pub fn size(&self) -> i64 {
        self.size
    }
}

fn number(
    field: &str,
    raw: Option<&str>,
    default: i64,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let Some(raw) = raw else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::validation(
            field,
            &format!("must be a whole number from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(err: ApiError) -> String {
        match err {
            ApiError::Validation { fields, .. } => fields[0].0.clone(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_when_absent() {
        let p = Paging::parse(None, None, 20).unwrap();
        assert_eq!((p.page, p.size, p.offset()), (1, 20, 0));
    }

    #[test]
    fn out_of_range_and_non_numbers_name_their_field() {
        for page in [
            "0",
            "-1",
            "abc",
            "1.5",
            "",
            "10001",
            "92233720368547760",
            "99999999999999999999",
        ] {
            let err = Paging::parse(Some(page), Some("10"), 20).unwrap_err();
            assert_eq!(field_of(err), "page", "page={page}");
        }
        for size in ["0", "101", "-5", "x", "9223372036854775807"] {
            let err = Paging::parse(Some("1"), Some(size), 20).unwrap_err();
            assert_eq!(field_of(err), "size", "size={size}");
        }
    }

    #[test]
    fn the_deepest_page_has_a_finite_offset() {
        let p = Paging::parse(Some("10000"), Some("100"), 20).unwrap();
        assert_eq!(p.offset(), 999_900);
    }
}
