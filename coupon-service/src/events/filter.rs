//! The public list's `status` query parameter.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// The public list's `status`. Closed events count as ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum PublicStatus {
    /// Live and upcoming: live first (ending soonest first), then upcoming
    /// by start.
    #[default]
    Current,
    /// Started and not over (sold-out ones included).
    Live,
    /// Not started yet, soonest first.
    Upcoming,
    /// Over or closed, most recently ended first.
    Ended,
}

impl PublicStatus {
    fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "current" => Self::Current,
            "live" => Self::Live,
            "upcoming" => Self::Upcoming,
            "ended" => Self::Ended,
            _ => return None,
        })
    }
}

/// `GET /api/coupons/events?status=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PublicListQuery {
    /// `current` (the default: live and upcoming, live first), `live`,
    /// `upcoming` or `ended` (most recently ended first).
    #[param(value_type = Option<PublicStatus>, inline)]
    pub status: Option<String>,
}

impl PublicListQuery {
    pub fn status(&self) -> Result<PublicStatus, ApiError> {
        match self.status.as_deref() {
            None => Ok(PublicStatus::default()),
            Some(raw) => PublicStatus::parse(raw).ok_or_else(|| {
                ApiError::validation("status", "must be current, live, upcoming or ended")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_statuses_are_refused() {
        let public = |s: &str| {
            PublicListQuery {
                status: Some(s.into()),
            }
            .status()
        };
        assert_eq!(public("ended").unwrap(), PublicStatus::Ended);
        assert!(public("all").is_err());
        assert!(public("").is_err());
    }
}
