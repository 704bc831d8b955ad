//! The audit trail: every admin action recorded in PostgreSQL, append-only,
//! in the transaction of the change itself (a change that rolls back leaves
//! no record; a record never describes a change that did not happen): who
//! (the admin's account), what (the action and its target), the target
//! before and after, and the request that did it (its request id, as in the
//! service's log lines, and the W3C trace id it came with, if any).
//! `GET /api/admin/audit` lists it, newest first, filtered and paged; no
//! route changes it, and the table refuses UPDATE, DELETE and TRUNCATE
//! (migration `20261211000001_admin_audit.sql`).

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{PgConnection, PgPool, QueryBuilder};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::AdminUser,
    error::ApiError,
    paging::{PageQuery, Paging},
    state::AppState,
    telemetry::RequestId,
};

/// What an admin did: `event.create`, `event.update`, `event.close`,
/// `event.draw_now`, `user.disable` or `user.enable`. The names are the
/// API's and the table's (its CHECK lists the same ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Action {
    #[serde(rename = "event.create")]
    EventCreate,
    /// Any change through `PATCH` (a draw's beacon value included).
    #[serde(rename = "event.update")]
    EventUpdate,
    #[serde(rename = "event.close")]
    EventClose,
    /// "Draw now": the draw time moved to now.
    #[serde(rename = "event.draw_now")]
    EventDrawNow,
    #[serde(rename = "user.disable")]
    UserDisable,
    #[serde(rename = "user.enable")]
    UserEnable,
}

impl Action {
    const ALL: [Self; 6] = [
        Self::EventCreate,
        Self::EventUpdate,
        Self::EventClose,
        Self::EventDrawNow,
        Self::UserDisable,
        Self::UserEnable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EventCreate => "event.create",
            Self::EventUpdate => "event.update",
            Self::EventClose => "event.close",
            Self::EventDrawNow => "event.draw_now",
            Self::UserDisable => "user.disable",
            Self::UserEnable => "user.enable",
        }
    }

    /// What the action changes: an event or an account.
    pub fn target_type(self) -> &'static str {
        match self {
            Self::UserDisable | Self::UserEnable => "user",
            _ => "event",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

/// Who acts, from which request: an extractor that admits ADMIN tokens
/// only (as `AdminUser`) and reads the request's ids for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub admin_id: i64,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
}

impl FromRequest for Actor {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            AdminUser::from_request(req, payload)
                .into_inner()
                .map(|admin| Self {
                    admin_id: admin.0.id(),
                    request_id: req.extensions().get::<RequestId>().map(|r| r.0.clone()),
                    trace_id: req
                        .headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .and_then(trace_id_of),
                }),
        )
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`);
/// `None` for anything else, an all-zero id included.
pub fn trace_id_of(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let valid = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && hex(span, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0');
    valid.then(|| trace.to_owned())
}

/// Records one action in the caller's transaction.
pub async fn record(
    tx: &mut PgConnection,
    actor: &Actor,
    action: Action,
    target_id: i64,
    before: Option<Value>,
    after: Option<Value>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO admin_audit (actor_id, action, target_type, target_id, before, after, \
         request_id, trace_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(actor.admin_id)
    .bind(action.as_str())
    .bind(action.target_type())
    .bind(target_id)
    .bind(before)
    .bind(after)
    .bind(&actor.request_id)
    .bind(&actor.trace_id)
    .execute(tx)
    .await?;
    Ok(())
}

/// A value as the audit stores it (JSON; `null` if it cannot be written).
pub fn snapshot<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// One recorded action.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    /// When it was written, in the change's own transaction.
    pub at: DateTime<Utc>,
    /// The admin's account id.
    pub actor_id: i64,
    #[schema(value_type = Action)]
    pub action: String,
    /// `event` or `user`.
    pub target_type: String,
    pub target_id: i64,
    /// The target before the change (absent for a creation).
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub before: Option<Value>,
    /// The target after the change.
    #[schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>)]
    pub after: Option<Value>,
    /// The request's id (`X-Request-Id`, as in the service's log lines).
    pub request_id: Option<String>,
    /// The W3C trace id the request came with (`traceparent`).
    pub trace_id: Option<String>,
}

/// `GET /api/admin/audit` filters (all optional, combined with AND).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action.
    #[param(value_type = Option<String>, pattern = "^(event\\.(create|update|close|draw_now)|user\\.(disable|enable))$")]
    pub action: Option<String>,
    /// Only actions on events or on accounts.
    #[param(value_type = Option<String>, pattern = "^(event|user)$")]
    pub target_type: Option<String>,
    /// Only actions on this event or account (with `target_type`).
    #[param(value_type = Option<i64>, minimum = 1)]
    pub target_id: Option<String>,
    /// Only actions of this admin.
    #[param(value_type = Option<i64>, minimum = 1)]
    pub actor_id: Option<String>,
}

/// A validated filter.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: Option<Action>,
    pub target_type: Option<&'static str>,
    pub target_id: Option<i64>,
    pub actor_id: Option<i64>,
}

fn positive_id(field: &str, raw: Option<&str>) -> Result<Option<i64>, ApiError> {
    raw.map(|raw| {
        raw.parse::<i64>()
            .ok()
            .filter(|id| *id >= 1)
            .ok_or_else(|| ApiError::validation(field, "must be a whole number from 1"))
    })
    .transpose()
}

impl AuditQuery {
    pub fn filter(&self) -> Result<AuditFilter, ApiError> {
        let action = self
            .action
            .as_deref()
            .map(|raw| {
                Action::parse(raw).ok_or_else(|| {
                    ApiError::validation(
                        "action",
                        "must be event.create, event.update, event.close, event.draw_now, \
                         user.disable or user.enable",
                    )
                })
            })
            .transpose()?;
        let target_type = match self.target_type.as_deref() {
            None => None,
            Some("event") => Some("event"),
            Some("user") => Some("user"),
            Some(_) => {
                return Err(ApiError::validation("target_type", "must be event or user"));
            }
        };
        let target_id = positive_id("target_id", self.target_id.as_deref())?;
        if target_id.is_some() && target_type.is_none() && action.is_none() {
            return Err(ApiError::validation(
                "target_id",
                "needs target_type (event and account ids overlap)",
            ));
        }
        Ok(AuditFilter {
            action,
            target_type,
            target_id,
            actor_id: positive_id("actor_id", self.actor_id.as_deref())?,
        })
    }
}

/// A page of the trail, newest first, and the total matching.
pub async fn list(
    db: &PgPool,
    filter: &AuditFilter,
    paging: Paging,
) -> sqlx::Result<(Vec<AuditEntry>, i64)> {
    let conditions = |q: &mut QueryBuilder<sqlx::Postgres>| {
        q.push(" WHERE true");
        if let Some(action) = filter.action {
            q.push(" AND action = ").push_bind(action.as_str());
        }
        if let Some(target_type) = filter
            .target_type
            .or(filter.action.map(Action::target_type))
        {
            q.push(" AND target_type = ").push_bind(target_type);
        }
        if let Some(id) = filter.target_id {
            q.push(" AND target_id = ").push_bind(id);
        }
        if let Some(id) = filter.actor_id {
            q.push(" AND actor_id = ").push_bind(id);
        }
    };
    let mut page = QueryBuilder::new(
        "SELECT id, at, actor_id, action, target_type, target_id, before, after, request_id, \
         trace_id FROM admin_audit",
    );
    conditions(&mut page);
    page.push(" ORDER BY id DESC LIMIT ")
        .push_bind(paging.size())
        .push(" OFFSET ")
        .push_bind(paging.offset());
    let items = page.build_query_as().fetch_all(db).await?;
    let mut count = QueryBuilder::new("SELECT count(*) FROM admin_audit");
    conditions(&mut count);
    let total = count.build_query_scalar().fetch_one(db).await?;
    Ok((items, total))
}

/// `GET /api/admin/audit` answer.
#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    items: Vec<AuditEntry>,
    page: i64,
    size: i64,
    /// Entries matching the filter (all pages).
    total: i64,
}

/// The audit trail: every admin action, newest first, filtered by action,
/// target and admin, a page at a time. Read-only: nothing in the API
/// changes it.
#[utoipa::path(tag = "admin", security(("bearer" = [])), params(AuditQuery, PageQuery), responses(
    (status = 200, body = AuditPage),
    (status = 422, description = "validation_failed: bad action, target_type, target_id, actor_id, page or size"),
    (status = 401), (status = 403), (status = 503, description = "unavailable")))]
#[get("/audit")]
pub async fn audit_trail(
    _admin: AdminUser,
    filter: web::Query<AuditQuery>,
    paging: web::Query<PageQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let filter = filter.filter()?;
    let paging = paging.paging()?;
    let (items, total) = list(&state.db, &filter, paging)
        .await
        .map_err(ApiError::store_down("the audit trail"))?;
    Ok(HttpResponse::Ok()
        .insert_header(("cache-control", "no-store"))
        .json(AuditPage {
            items,
            page: paging.page(),
            size: paging.size(),
            total,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_id_is_read_from_a_valid_traceparent_only() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(
            trace_id_of(&format!("00-{id}-00f067aa0ba902b7-01")).as_deref(),
            Some(id)
        );
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_id_of(bad), None, "{bad:?}");
        }
    }

    fn query(
        action: Option<&str>,
        target_type: Option<&str>,
        target_id: Option<&str>,
    ) -> AuditQuery {
        AuditQuery {
            action: action.map(Into::into),
            target_type: target_type.map(Into::into),
            target_id: target_id.map(Into::into),
            actor_id: None,
        }
    }

    #[test]
    fn filters_are_checked_and_an_id_needs_its_kind() {
        let f = query(Some("user.disable"), None, Some("7"))
            .filter()
            .unwrap();
        assert_eq!(f.action, Some(Action::UserDisable));
        assert_eq!(f.target_id, Some(7));
        assert!(query(Some("event.delete"), None, None).filter().is_err());
        assert!(query(None, Some("coupon"), None).filter().is_err());
        assert!(
            query(None, None, Some("7")).filter().is_err(),
            "ambiguous id"
        );
        assert!(query(None, Some("event"), Some("0")).filter().is_err());
        assert!(query(None, Some("event"), Some("x")).filter().is_err());
        assert_eq!(
            query(None, Some("event"), Some("9")).filter().unwrap(),
            AuditFilter {
                target_type: Some("event"),
                target_id: Some(9),
                ..Default::default()
            }
        );
    }

    #[test]
    fn every_action_names_its_target() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            let kind = action.as_str().split('.').next().unwrap();
            assert_eq!(kind, action.target_type());
        }
    }
}
