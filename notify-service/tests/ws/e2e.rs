//! End to end with coupon-service: a coupon issued through its API reaches
//! every device of the winner, and the sell-out every watcher.
//!
//! `spawn_coupon_service` starts coupon-service's real `Application` the way
//! its own tests do (its own database, this test's Redis prefix and RabbitMQ
//! names, so both services share the deployment).

use std::time::{Duration, Instant};

use chrono::Utc;
use coupon_service::{
    configuration::Settings as CouponSettings,
    events::{NewEvent, store},
    startup::Application as CouponApplication,
};
use secrecy::SecretString;
use serde_json::json;
use sqlx::PgPool;
use test_support::{
    TEST_PRIVATE_KEY_PATH, TEST_PUBLIC_KEY_PATH, TestDatabase, insert_users, test_redis_nodes,
};

use crate::{
    client::Client,
    helpers::{Deployment, Faults},
};

pub struct CouponService {
    pub address: String,
    pub db: PgPool,
    pub http: reqwest::Client,
    /// Dropped with the service: the database goes with the test.
    _database: TestDatabase,
}

pub async fn spawn_coupon_service(d: &Deployment) -> CouponService {
    let database = TestDatabase::new().await;
    let mut s = CouponSettings::defaults().expect("coupon-service defaults");
    s.application.port = 0;
    s.application.workers = 2;
    s.database.url = SecretString::from(database.url());
    s.database.acquire_timeout_ms = 1000;
    s.redis.key_prefix = d.redis_prefix.clone();
    if let Some(nodes) = test_redis_nodes() {
        s.redis.mode = service_kit::redis::RedisMode::Cluster;
        s.redis.nodes = nodes.into_iter().map(SecretString::from).collect();
    }
    s.rabbitmq.exchange = d.topology.exchange.clone();
    s.rabbitmq.dead_letter_exchange = d.topology.dead_letter_exchange.clone();
    s.rabbitmq.queue_prefix = d.topology.queue_prefix.clone();
    s.rabbitmq.queue_type = d.topology.queue_type.clone();
    s.rabbitmq.queue_expires_ms = d.topology.queue_expires_ms;
    s.auth.public_key_path = TEST_PUBLIC_KEY_PATH.into();
    s.auth.private_key_path = Some(TEST_PRIVATE_KEY_PATH.into());
    s.issuance.preload_interval_ms = 200;
    let app = CouponApplication::build(s)
        .await
        .expect("coupon-service builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    CouponService {
        address,
        db: PgPool::connect(&database.url()).await.expect("test pool"),
        http: reqwest::Client::new(),
        _database: database,
    }
}

impl CouponService {
    pub async fn create_users(&self, n: i64) -> Vec<i64> {
        insert_users(&self.db, n).await
    }

    /// An event on sale now.
    pub async fn create_event(&self, total: i32) -> i64 {
        let now = Utc::now();
        store::insert(
            &self.db,
            &NewEvent {
                title: "End-to-end sale".into(),
                description: "notify-service test".into(),
                total_count: total,
                max_per_user: 1,
                start_time: now - chrono::Duration::minutes(1),
                end_time: now + chrono::Duration::hours(1),
                discount_type: "percentage".into(),
                discount_value: 10,
                min_purchase_amount: 0,
                valid_days: 30,
                code_prefix: "E2E".into(),
                admission: Default::default(),
                queue_opens_at: None,
                claim_window_secs: coupon_service::events::model::DEFAULT_CLAIM_WINDOW_SECS,
                queue_only_existing_accounts: false,
                entry_opens_at: None,
                entry_closes_at: None,
                draw_at: None,
                draw_beacon_round: None,
                draw_beacon: None,
            },
        )
        .await
        .expect("insert event")
        .id
    }

    pub async fn issue(&self, token: &str, event_id: i64) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}/api/coupons/issue", self.address))
            .bearer_auth(token)
            .json(&json!({"event_id": event_id}))
            .send()
            .await
            .expect("issue request");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coupon_issued_through_coupon_service_reaches_both_devices_once_and_watchers_see_the_sell_out()
 {
    let d = Deployment::new().await;
    let coupons = spawn_coupon_service(&d).await;
    let address = coupons.address.clone();
    let notify = d
        .spawn_with(Faults::default(), |s| s.coupon_api.url = address)
        .await;
    let users = coupons.create_users(2).await;
    let (winner, watcher_user) = (users[0], users[1]);
    let event = coupons.create_event(1).await;

    let mut web = d.connect(&notify, winner).await;
    let mut mobile = d.connect(&notify, winner).await;
    let mut watcher = d.connect(&notify, watcher_user).await;
    watcher
        .send_json(json!({"type": "subscribe", "event_id": event}))
        .await;
    assert_eq!(
        watcher.next_json().await,
        json!({"type": "subscribed", "event_id": event, "remaining": 1, "status": "active"})
    );

    let (status, body) = coupons.issue(&d.token(winner), event).await;
    let issued_at = Instant::now();
    assert_eq!(status, 201, "{body}");
    let code = body["coupon"]["code"].as_str().unwrap().to_owned();
    for device in [&mut web, &mut mobile] {
        let frame = device.next_json().await;
        eprintln!("push latency (201 → device): {:?}", issued_at.elapsed());
        assert_eq!(frame["type"], "coupon.issued");
        assert_eq!(frame["data"]["couponCode"], code.as_str());
        assert_eq!(frame["data"]["userId"], winner);
        assert_eq!(frame["data"]["eventId"], event);
        assert!(frame["seq"].is_string());
        device.ping_pong().await;
    }

    // The one coupon was the last: every watcher hears it (stock updates
    // may come first).
    let sold = watcher.next_of("coupon.soldout").await;
    assert_eq!(sold["data"]["eventId"], event);
    watcher
        .send_json(json!({"type": "subscribe", "event_id": event}))
        .await;
    // Already watched: a fresh snapshot all the same.
    let again = watcher.next_of("subscribed").await;
    assert_eq!(
        (again["remaining"].as_i64(), again["status"].as_str()),
        (Some(0), Some("sold_out"))
    );

    // An event unknown to Redis is looked up in coupon-service: 404 there
    // means event_not_found here.
    watcher
        .send_json(json!({"type": "subscribe", "event_id": event + 1000}))
        .await;
    assert_eq!(watcher.next_of("error").await["code"], "event_not_found");
    tokio::time::timeout(Duration::from_secs(1), web.ping_pong())
        .await
        .expect("still served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coupons_won_while_disconnected_arrive_on_resume_in_order_once() {
    let d = Deployment::new().await;
    let coupons = spawn_coupon_service(&d).await;
    let address = coupons.address.clone();
    let notify = d
        .spawn_with(Faults::default(), |s| s.coupon_api.url = address)
        .await;
    let user = coupons.create_users(1).await[0];
    let token = d.token(user);
    let mut events = Vec::new();
    for _ in 0..3 {
        events.push(coupons.create_event(10).await);
    }

    let mut phone = d.connect(&notify, user).await;
    assert_eq!(coupons.issue(&token, events[0]).await.0, 201);
    let since = phone.next_json().await["seq"].as_str().unwrap().to_owned();
    drop(phone);

    // Won while away (the phone was in a tunnel).
    let mut codes = Vec::new();
    for event in &events[1..] {
        let (status, body) = coupons.issue(&token, *event).await;
        assert_eq!(status, 201, "{body}");
        codes.push(body["coupon"]["code"].as_str().unwrap().to_owned());
    }
    crate::helpers::eventually(crate::helpers::WITHIN, "both fanned out", || async {
        notify.consumed("coupon.issued", "published") == 3.0
    })
    .await;

    let mut back = Client::connect(&notify.ws_url(), Some(&token))
        .await
        .unwrap();
    assert_eq!(back.next_json().await["type"], "welcome");
    back.send_json(json!({"type": "resume", "since": since}))
        .await;
    for (event, code) in events[1..].iter().zip(&codes) {
        let frame = back.next_json().await;
        assert_eq!(frame["type"], "coupon.issued");
        assert_eq!(frame["data"]["eventId"], *event);
        assert_eq!(frame["data"]["couponCode"], code.as_str());
    }
    assert_eq!(
        back.next_json().await,
        json!({"type": "resumed", "recovered": true, "replayed": 2})
    );
    back.ping_pong().await;
}
