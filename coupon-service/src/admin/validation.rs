//! Validation of admin event bodies, field by field, so a form can show each
//! error next to its field. Bodies are read as JSON objects: a wrong type is
//! reported under its field name too, and fields a client may not set
//! (`status`, `issued_count`, …) are refused by name, never acted on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::{
    admission::Admission,
    error::ApiError,
    events::{NewEvent, model::DEFAULT_CLAIM_WINDOW_SECS},
};

pub type Fields = Vec<(String, String)>;

/// Largest stock of one event (fits the Redis and PostgreSQL integers with
/// room; a bigger sale is several events).
const MAX_STOCK: i64 = 100_000_000;
const MAX_PER_USER: i64 = 1_000;
const MAX_VALID_DAYS: i64 = 3_650;
const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// An admitted place's claim window: long enough to press on a slow
/// phone, short enough that no-shows do not stall the room.
const MIN_CLAIM_WINDOW_SECS: i32 = 30;
const MAX_CLAIM_WINDOW_SECS: i32 = 3_600;

/// A change to an event; every field optional, the rules of a new event.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub total_count: Option<i32>,
    #[schema(minimum = 1, maximum = 1000)]
    pub max_per_user: Option<i32>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    #[schema(pattern = "^(percentage|fixed)$")]
    pub discount_type: Option<String>,
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub discount_value: Option<i64>,
    #[schema(minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub min_purchase_amount: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub valid_days: Option<i32>,
    #[schema(pattern = "^[A-Z0-9]{1,12}$")]
    pub code_prefix: Option<String>,
    pub admission: Option<Admission>,
    pub queue_opens_at: Option<DateTime<Utc>>,
    #[schema(minimum = 30, maximum = 3600)]
    pub claim_window_secs: Option<i32>,
    pub queue_only_existing_accounts: Option<bool>,
    pub entry_opens_at: Option<DateTime<Utc>>,
    pub entry_closes_at: Option<DateTime<Utc>>,
    pub draw_at: Option<DateTime<Utc>>,
    #[schema(max_length = 200)]
    pub draw_beacon_round: Option<String>,
    #[schema(pattern = "^([0-9a-f]{2}){1,128}$")]
    pub draw_beacon: Option<String>,
}

const EVENT_FIELDS: [&str; 20] = [
    "title",
    "description",
    "total_count",
    "max_per_user",
    "start_time",
    "end_time",
    "discount_type",
    "discount_value",
    "min_purchase_amount",
    "valid_days",
    "code_prefix",
    "admission",
    "queue_opens_at",
    "claim_window_secs",
    "queue_only_existing_accounts",
    "entry_opens_at",
    "entry_closes_at",
    "draw_at",
    "draw_beacon_round",
    "draw_beacon",
];

struct Reader<'a> {
    body: &'a Map<String, Value>,
    errors: Fields,
}

impl Reader<'_> {
    fn new(body: &Map<String, Value>) -> Reader<'_> {
        let errors = body
            .keys()
            .filter(|k| !EVENT_FIELDS.contains(&k.as_str()))
            .map(|k| (k.clone(), "is not a field an admin can set".to_owned()))
            .collect();
        Reader { body, errors }
    }

    fn fail(&mut self, field: &str, message: &str) {
        if !self.errors.iter().any(|(f, _)| f == field) {
            self.errors.push((field.to_owned(), message.to_owned()));
        }
    }

    /// The field parsed as `T`; absent (or null) → `None`, wrong type → error.
    fn optional<T: DeserializeOwned>(&mut self, field: &str, kind: &str) -> Option<T> {
        match self.body.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match serde_json::from_value(v.clone()) {
                Ok(t) => Some(t),
                Err(_) => {
                    self.fail(field, &format!("must be {kind}"));
                    None
                }
            },
        }
    }

    fn patch(&mut self) -> EventPatch {
        EventPatch {
            title: self.optional("title", "a string"),
            description: self.optional("description", "a string"),
            total_count: self.optional("total_count", "an integer"),
            max_per_user: self.optional("max_per_user", "an integer"),
            start_time: self.optional("start_time", "an RFC 3339 time"),
            end_time: self.optional("end_time", "an RFC 3339 time"),
            discount_type: self.optional("discount_type", "a string"),
            discount_value: self.optional("discount_value", "an integer"),
            min_purchase_amount: self.optional("min_purchase_amount", "an integer"),
            valid_days: self.optional("valid_days", "an integer"),
            code_prefix: self.optional("code_prefix", "a string"),
            admission: self.optional("admission", "first_come, queue or draw"),
            queue_opens_at: self.optional("queue_opens_at", "an RFC 3339 time"),
            claim_window_secs: self.optional("claim_window_secs", "an integer"),
            queue_only_existing_accounts: self
                .optional("queue_only_existing_accounts", "true or false"),
            entry_opens_at: self.optional("entry_opens_at", "an RFC 3339 time"),
            entry_closes_at: self.optional("entry_closes_at", "an RFC 3339 time"),
            draw_at: self.optional("draw_at", "an RFC 3339 time"),
            draw_beacon_round: self.optional("draw_beacon_round", "a string"),
            draw_beacon: self.optional("draw_beacon", "a hex string"),
        }
    }
}

fn into_error(fields: Fields) -> ApiError {
    let message = fields
        .iter()
        .map(|(f, m)| format!("{f} {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    ApiError::Validation { message, fields }
}

/// A new event from an admin's body.
pub fn new_event(body: &Map<String, Value>, now: DateTime<Utc>) -> Result<NewEvent, ApiError> {
    let mut r = Reader::new(body);
    let p = r.patch();
    for (field, present) in [
        ("title", p.title.is_some()),
        ("total_count", p.total_count.is_some()),
        ("start_time", p.start_time.is_some()),
        ("end_time", p.end_time.is_some()),
        ("discount_type", p.discount_type.is_some()),
        ("discount_value", p.discount_value.is_some()),
        ("code_prefix", p.code_prefix.is_some()),
    ] {
        if !present && !body.contains_key(field) {
            r.fail(field, "is required");
        }
    }
    let event = NewEvent {
        title: p.title.unwrap_or_default().trim().to_owned(),
        description: p.description.unwrap_or_default(),
        total_count: p.total_count.unwrap_or(0),
        max_per_user: p.max_per_user.unwrap_or(1),
        start_time: p.start_time.unwrap_or(now),
        end_time: p.end_time.unwrap_or(now),
        discount_type: p.discount_type.unwrap_or_default(),
        discount_value: p.discount_value.unwrap_or(0),
        min_purchase_amount: p.min_purchase_amount.unwrap_or(0),
        valid_days: p.valid_days.unwrap_or(30),
        code_prefix: p.code_prefix.unwrap_or_default(),
        admission: p.admission.unwrap_or_default(),
        queue_opens_at: p.queue_opens_at,
        claim_window_secs: p.claim_window_secs.unwrap_or(DEFAULT_CLAIM_WINDOW_SECS),
        queue_only_existing_accounts: p.queue_only_existing_accounts.unwrap_or(false),
        // Entries open at once unless the admin says when.
        entry_opens_at: p
            .entry_opens_at
            .or((p.admission == Some(Admission::Draw)).then_some(now)),
        entry_closes_at: p.entry_closes_at,
        draw_at: p.draw_at,
        draw_beacon_round: p.draw_beacon_round.map(|r| r.trim().to_owned()),
        draw_beacon: p.draw_beacon.map(|b| b.to_lowercase()),
    };
    let mut errors = r.errors;
    check_rules(&event, &mut errors);
    if event.end_time <= now {
        push(&mut errors, "end_time", "must be in the future");
    }
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(into_error(errors))
    }
}

/// A patch from an admin's body (rules are checked on the merged event).
pub fn patch(body: &Map<String, Value>) -> Result<EventPatch, ApiError> {
    let mut r = Reader::new(body);
    let p = r.patch();
    if r.errors.is_empty() {
        Ok(p)
    } else {
        Err(into_error(r.errors))
    }
}

/// The event after applying the patch, checked by the same rules.
pub fn merged(current: &NewEvent, p: &EventPatch) -> Result<NewEvent, ApiError> {
    let event = NewEvent {
        title: p
            .title
            .as_deref()
            .map_or_else(|| current.title.clone(), |t| t.trim().to_owned()),
        description: p
            .description
            .clone()
            .unwrap_or_else(|| current.description.clone()),
        total_count: p.total_count.unwrap_or(current.total_count),
        max_per_user: p.max_per_user.unwrap_or(current.max_per_user),
        start_time: p.start_time.unwrap_or(current.start_time),
        end_time: p.end_time.unwrap_or(current.end_time),
        discount_type: p
            .discount_type
            .clone()
            .unwrap_or_else(|| current.discount_type.clone()),
        discount_value: p.discount_value.unwrap_or(current.discount_value),
        min_purchase_amount: p.min_purchase_amount.unwrap_or(current.min_purchase_amount),
        valid_days: p.valid_days.unwrap_or(current.valid_days),
        code_prefix: p
            .code_prefix
            .clone()
            .unwrap_or_else(|| current.code_prefix.clone()),
        admission: p.admission.unwrap_or(current.admission),
        queue_opens_at: p.queue_opens_at.or(current.queue_opens_at),
        claim_window_secs: p.claim_window_secs.unwrap_or(current.claim_window_secs),
        queue_only_existing_accounts: p
            .queue_only_existing_accounts
            .unwrap_or(current.queue_only_existing_accounts),
        entry_opens_at: p.entry_opens_at.or(current.entry_opens_at),
        entry_closes_at: p.entry_closes_at.or(current.entry_closes_at),
        draw_at: p.draw_at.or(current.draw_at),
        draw_beacon_round: p
            .draw_beacon_round
            .as_deref()
            .map(|r| r.trim().to_owned())
            .or_else(|| current.draw_beacon_round.clone()),
        draw_beacon: p
            .draw_beacon
            .as_deref()
            .map(str::to_lowercase)
            .or_else(|| current.draw_beacon.clone()),
    };
    let mut errors = Vec::new();
    check_rules(&event, &mut errors);
    if errors.is_empty() {
        Ok(event)
    } else {
        Err(into_error(errors))
    }
}

fn push(errors: &mut Fields, field: &str, message: &str) {
    if !errors.iter().any(|(f, _)| f == field) {
        errors.push((field.to_owned(), message.to_owned()));
    }
}

/// The rules every event obeys (also enforced by CHECKs in PostgreSQL).
fn check_rules(e: &NewEvent, errors: &mut Fields) {
    let title = e.title.chars().count();
    if title == 0 || title > 200 {
        push(errors, "title", "must be 1 to 200 characters");
    }
    if e.description.chars().count() > 2000 {
        push(errors, "description", "must be at most 2000 characters");
    }
    if !(1..=MAX_STOCK).contains(&i64::from(e.total_count)) {
        push(
            errors,
            "total_count",
            "must be a positive number of coupons",
        );
    }
    if !(1..=MAX_PER_USER).contains(&i64::from(e.max_per_user)) {
        push(errors, "max_per_user", "must be at least 1");
    }
    if e.end_time <= e.start_time {
        push(errors, "end_time", "must be after start_time");
    }
    match e.discount_type.as_str() {
        "percentage" if !(1..=100).contains(&e.discount_value) => {
            push(
                errors,
                "discount_value",
                "must be 1 to 100 for a percentage",
            );
        }
        "fixed" if !(1..=MAX_AMOUNT).contains(&e.discount_value) => {
            push(errors, "discount_value", "must be a positive amount");
        }
        "percentage" | "fixed" => {}
        _ => push(errors, "discount_type", "must be percentage or fixed"),
    }
    if !(0..=MAX_AMOUNT).contains(&e.min_purchase_amount) {
        push(
            errors,
            "min_purchase_amount",
            "must be zero or a positive amount",
        );
    }
    if !(1..=MAX_VALID_DAYS).contains(&i64::from(e.valid_days)) {
        push(errors, "valid_days", "must be at least 1");
    }
    if !(MIN_CLAIM_WINDOW_SECS..=MAX_CLAIM_WINDOW_SECS).contains(&e.claim_window_secs) {
        push(errors, "claim_window_secs", "must be 30 to 3600 seconds");
    }
    if e.resolved_queue_opens_at()
        .is_some_and(|opens| opens > e.start_time)
    {
        push(errors, "queue_opens_at", "must be at or before start_time");
    }
    if e.admission == Admission::Draw {
        check_draw_rules(e, errors);
    }
    let prefix_ok = (1..=12).contains(&e.code_prefix.len())
        && e.code_prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !prefix_ok {
        push(
            errors,
            "code_prefix",
            "must be 1 to 12 characters A-Z or 0-9",
        );
    }
}

/// A draw's window: entries open, then close, then the draw, inside the
/// sale; the beacon named and its value well-formed.
fn check_draw_rules(e: &NewEvent, errors: &mut Fields) {
    let Some(closes) = e.entry_closes_at else {
        push(errors, "entry_closes_at", "is required for a draw");
        return;
    };
    match e.entry_opens_at {
        // Defaulted at creation; a sale switched to a draw names it.
        None => push(errors, "entry_opens_at", "is required for a draw"),
        Some(opens) if opens >= closes => {
            push(errors, "entry_closes_at", "must be after entry_opens_at");
        }
        Some(_) => {}
    }
    if let Some(draw_at) = e.resolved_draw_at() {
        if draw_at < closes {
            push(errors, "draw_at", "must be at or after entry_closes_at");
        } else if draw_at < e.start_time {
            push(errors, "draw_at", "must be at or after start_time");
        } else if draw_at >= e.end_time {
            push(errors, "draw_at", "must be before end_time");
        }
    }
    if e.draw_beacon_round
        .as_deref()
        .is_some_and(|r| r.is_empty() || r.chars().count() > 200)
    {
        push(errors, "draw_beacon_round", "must be 1 to 200 characters");
    }
    let beacon_ok = |b: &str| {
        (2..=256).contains(&b.len())
            && b.len().is_multiple_of(2)
            && b.bytes().all(|c| c.is_ascii_hexdigit())
    };
    if e.draw_beacon.as_deref().is_some_and(|b| !beacon_ok(b)) {
        push(
            errors,
            "draw_beacon",
            "must be 2 to 256 hex digits (an even number)",
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid(now: DateTime<Utc>) -> Map<String, Value> {
        json!({
            "title": "Welcome", "description": "", "total_count": 100, "max_per_user": 1,
            "start_time": now.to_rfc3339(), "end_time": (now + chrono::Duration::hours(1)).to_rfc3339(),
            "discount_type": "percentage", "discount_value": 10, "min_purchase_amount": 0,
            "valid_days": 30, "code_prefix": "WELCOME"
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn field_errors(body: Map<String, Value>, now: DateTime<Utc>) -> Vec<String> {
        match new_event(&body, now) {
            Err(ApiError::Validation { fields, .. }) => {
                fields.into_iter().map(|(f, _)| f).collect()
            }
            other => panic!("expected 422, got {other:?}"),
        }
    }

    #[test]
    fn a_draw_needs_its_window_in_order_inside_the_sale() {
        let now = Utc::now();
        let at = |mins: i64| json!((now + chrono::Duration::minutes(mins)).to_rfc3339());
        let draw = |extra: Value| {
            let mut body = valid(now);
            body.insert("admission".into(), json!("draw"));
            body.extend(extra.as_object().cloned().unwrap());
            body
        };
        // Entries from now until the start, drawn at the start by default.
        let e = new_event(&draw(json!({"entry_closes_at": at(1)})), now).unwrap();
        assert_eq!(e.entry_opens_at, Some(now));
        assert_eq!(e.resolved_draw_at(), e.entry_closes_at);
        for (extra, field) in [
            (json!({}), "entry_closes_at"),
            (
                json!({"entry_closes_at": at(-5), "entry_opens_at": at(-5)}),
                "entry_closes_at",
            ),
            (
                json!({"entry_closes_at": at(10), "draw_at": at(5)}),
                "draw_at",
            ),
            (
                json!({"entry_opens_at": at(-10), "entry_closes_at": at(-5), "draw_at": at(-1)}),
                "draw_at",
            ),
            (
                json!({"entry_closes_at": at(1), "draw_at": at(60)}),
                "draw_at",
            ),
            (
                json!({"entry_closes_at": at(1), "draw_beacon": "abc"}),
                "draw_beacon",
            ),
            (
                json!({"entry_closes_at": at(1), "draw_beacon": "zz"}),
                "draw_beacon",
            ),
            (
                json!({"entry_closes_at": at(1), "draw_beacon_round": ""}),
                "draw_beacon_round",
            ),
        ] {
            assert_eq!(
                field_errors(draw(extra.clone()), now),
                vec![field.to_owned()],
                "{extra}"
            );
        }
    }

    #[test]
    fn a_valid_body_becomes_an_event() {
        let now = Utc::now();
        let e = new_event(&valid(now), now).unwrap();
        assert_eq!((e.total_count, e.code_prefix.as_str()), (100, "WELCOME"));
    }

    #[test]
    fn each_invalid_field_is_named() {
        let now = Utc::now();
        let cases: Vec<(&str, Value, &str)> = vec![
            ("total_count", json!(0), "total_count"),
            ("total_count", json!(-5), "total_count"),
            ("total_count", json!("many"), "total_count"),
            ("max_per_user", json!(0), "max_per_user"),
            ("end_time", json!(now.to_rfc3339()), "end_time"),
            ("end_time", json!("tomorrow"), "end_time"),
            ("discount_type", json!("bogo"), "discount_type"),
            ("discount_value", json!(101), "discount_value"),
            ("discount_value", json!(0), "discount_value"),
            ("valid_days", json!(0), "valid_days"),
            ("code_prefix", json!("wel come"), "code_prefix"),
            ("code_prefix", json!("lower"), "code_prefix"),
            ("title", json!(""), "title"),
            ("status", json!("active"), "status"),
            ("issued_count", json!(0), "issued_count"),
            ("admission", json!("lottery"), "admission"),
            ("claim_window_secs", json!(5), "claim_window_secs"),
            ("claim_window_secs", json!(3601), "claim_window_secs"),
            ("queue_opens_at", json!("soon"), "queue_opens_at"),
            (
                "queue_only_existing_accounts",
                json!("yes"),
                "queue_only_existing_accounts",
            ),
        ];
        for (field, value, named) in cases {
            let mut body = valid(now);
            body.insert(field.into(), value.clone());
            assert_eq!(
                field_errors(body, now),
                vec![named.to_owned()],
                "{field} = {value}"
            );
        }
        let mut fixed = valid(now);
        fixed.insert("discount_type".into(), json!("fixed"));
        fixed.insert("discount_value".into(), json!(5000));
        assert!(
            new_event(&fixed, now).is_ok(),
            "fixed amounts above 100 are fine"
        );
    }

    #[test]
    fn a_queue_opens_before_the_start_by_default_and_never_after_it() {
        let now = Utc::now();
        let mut body = valid(now);
        body.insert("admission".into(), json!("queue"));
        let e = new_event(&body, now).unwrap();
        assert_eq!(
            e.resolved_queue_opens_at(),
            Some(e.start_time - chrono::Duration::minutes(30))
        );
        body.insert(
            "queue_opens_at".into(),
            json!((now + chrono::Duration::minutes(1)).to_rfc3339()),
        );
        assert_eq!(field_errors(body, now), vec!["queue_opens_at".to_owned()]);
    }

    #[test]
    fn missing_required_fields_are_named() {
        let now = Utc::now();
        let errors = field_errors(Map::new(), now);
        for f in [
            "title",
            "total_count",
            "start_time",
            "end_time",
            "discount_type",
            "discount_value",
            "code_prefix",
        ] {
            assert!(
                errors.contains(&f.to_owned()),
                "{f} missing from {errors:?}"
            );
        }
    }
}
