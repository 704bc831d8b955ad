//! Accounts and tokens: signup, login, refresh rotation with reuse
//! detection, logout, JWKS.

use chrono::{DateTime, Utc};

use crate::helpers::{TestApp, error_code, eventually, spawn_app, spawn_app_with};

pub fn unique_email() -> String {
    format!("Shopper.{}@Example.test", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn signup_login_and_the_token_works_on_the_api() {
    let app = spawn_app().await;
    let email = unique_email();
    let (status, user) = app
        .post_json(
            "/api/auth/signup",
            None,
            serde_json::json!({"email": email, "password": "long enough pw", "name": "Kim"}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["email"], email.to_lowercase(), "emails are normalised");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(user["id"].as_i64().unwrap())
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"));

    let (status, dup) = app
        .post_json("/api/auth/signup", None, serde_json::json!({"email": email.to_uppercase(), "password": "another password", "name": "Kim"}))
        .await;
    assert_eq!(
        (status, dup["error"]["code"].as_str()),
        (409, Some("email_taken"))
    );

    let (status, tokens) = app
        .post_json(
            "/api/auth/login",
            None,
            serde_json::json!({"email": email, "password": "long enough pw"}),
        )
        .await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert!(tokens["expires_in"].as_u64().unwrap() <= 900);
    let access = tokens["access_token"].as_str().unwrap();
    let (status, _) = app.get_with("/api/coupons/my", Some(access)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_the_same_answer() {
    let app = spawn_app().await;
    let email = unique_email();
    app.post_json(
        "/api/auth/signup",
        None,
        serde_json::json!({"email": email, "password": "right password", "name": "Lee"}),
    )
    .await;
    let (s1, wrong) = app
        .post_json(
            "/api/auth/login",
            None,
            serde_json::json!({"email": email, "password": "wrong password"}),
        )
        .await;
    let (s2, unknown) = app
        .post_json(
            "/api/auth/login",
            None,
            serde_json::json!({"email": unique_email(), "password": "right password"}),
        )
        .await;
    assert_eq!((s1, s2), (401, 401));
    assert_eq!(wrong, unknown, "no user enumeration through the message");
    assert_eq!(wrong["error"]["code"], "invalid_credentials");
}

#[tokio::test]
async fn signup_validation_names_each_bad_field_and_writes_nothing() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/api/auth/signup",
            None,
            serde_json::json!({"email": "not-an-email", "password": "short", "name": " "}),
        )
        .await;
    assert_eq!(status, 422);
    for field in ["email", "password", "name"] {
        assert!(
            body["error"]["fields"][field].is_string(),
            "{field}: {body}"
        );
    }
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_family() {
    let app = spawn_app().await;
    let email = unique_email();
    app.post_json(
        "/api/auth/signup",
        None,
        serde_json::json!({"email": email, "password": "password one", "name": "Park"}),
    )
    .await;
    let (_, first) = app
        .post_json(
            "/api/auth/login",
            None,
            serde_json::json!({"email": email, "password": "password one"}),
        )
        .await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();

    let (status, second) = app
        .post_json(
            "/api/auth/refresh",
            None,
            serde_json::json!({"refresh_token": r1}),
        )
        .await;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "rotated");

    // r1 leaked and is replayed: refused, and r2 dies with its family.
    let (status, body) = app
        .post_json(
            "/api/auth/refresh",
            None,
            serde_json::json!({"refresh_token": r1}),
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("invalid_token"))
    );
    let (status, _) = app
        .post_json(
            "/api/auth/refresh",
            None,
            serde_json::json!({"refresh_token": r2}),
        )
        .await;
    assert_eq!(status, 401, "the whole family is revoked");
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE token_hash = $1 OR token_hash = $2",
    )
    .bind(r1.as_bytes())
    .bind(r2.as_bytes())
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert_eq!(stored, 0, "tokens are stored hashed, never in clear");
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let email = unique_email();
    app.post_json(
        "/api/auth/signup",
        None,
        serde_json::json!({"email": email, "password": "password two", "name": "Choi"}),
    )
    .await;
    let (_, pair) = app
        .post_json(
            "/api/auth/login",
            None,
            serde_json::json!({"email": email, "password": "password two"}),
        )
        .await;
    let (access, refresh) = (
        pair["access_token"].as_str().unwrap(),
        pair["refresh_token"].as_str().unwrap(),
    );
    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            None,
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, 401, "logout needs the access token");
    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            Some(access),
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = app
        .post_json(
            "/api/auth/refresh",
            None,
            serde_json::json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_jwks_publishes_the_verification_key_and_no_secret() {
    let app = spawn_app().await;
    for path in ["/api/auth/jwks", "/.well-known/jwks.json"] {
        let jwks = app.get_json(path, None).await;
        let keys = jwks["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0]["kty"], "OKP");
        assert_eq!(keys[0]["crv"], "Ed25519");
        assert_eq!(keys[0]["kid"], "dev-1");
        assert!(keys[0].get("d").is_none(), "no private part");
    }
}

#[tokio::test]
async fn jwt_negative_suite_answers_401_never_500() {
    use contract::jwt::{AccessClaims, Role, now_unix};
    let app = spawn_app().await;
    let user = app.create_users(1).await[0];
    let now = now_unix();
    let base = AccessClaims {
        sub: user.to_string(),
        role: Role::User,
        iat: now,
        nbf: now,
        exp: now + 600,
        aud: "coupon-api".into(),
        iss: "coupon-platform".into(),
        sid: None,
    };
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let payload = b64(&serde_json::to_vec(&base).unwrap());
    let public_pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../contract/test-keys/test-ed25519.pub.pem"
    ))
    .unwrap();
    // Made by hand: the services link no HMAC code (contract::jwt_crypto).
    let hs256 = {
        let header = b64(br#"{"alg":"HS256","typ":"JWT","kid":"dev-1"}"#);
        let signed = format!("{header}.{payload}");
        format!(
            "{signed}.{}",
            b64(&hmac_sha256(&public_pem, signed.as_bytes()))
        )
    };
    assert_eq!(
        hmac_sha256(b"Jefe", b"what do ya want for nothing?")[..4],
        [0x5b, 0xdc, 0xc1, 0x46],
        "RFC 4231 test case 2"
    );
    let unknown_kid = contract::jwt::TokenSigner::from_private_pem(
        "rotated-away",
        include_bytes!("../../../contract/test-keys/test-ed25519.pem"),
        "coupon-platform",
        "coupon-api",
    )
    .unwrap()
    .sign(user, Role::User, now, 600);
    let cases = [
        (
            "alg none",
            format!(
                "{}.{payload}.",
                b64(br#"{"alg":"none","typ":"JWT","kid":"dev-1"}"#)
            ),
        ),
        ("HS256 signed with the public key", hs256),
        (
            "expired beyond leeway",
            app.signer.sign_claims(&AccessClaims {
                exp: now - 120,
                iat: now - 300,
                nbf: now - 300,
                ..base.clone()
            }),
        ),
        (
            "nbf in the future",
            app.signer.sign_claims(&AccessClaims {
                nbf: now + 600,
                ..base.clone()
            }),
        ),
        (
            "wrong aud",
            app.signer.sign_claims(&AccessClaims {
                aud: "other-api".into(),
                ..base.clone()
            }),
        ),
        (
            "wrong iss",
            app.signer.sign_claims(&AccessClaims {
                iss: "evil".into(),
                ..base.clone()
            }),
        ),
        ("unknown kid", unknown_kid),
        (
            "malformed claims",
            format!(
                "{}.{}.sig",
                b64(br#"{"alg":"EdDSA","kid":"dev-1"}"#),
                b64(br#"{"sub":[1]}"#)
            ),
        ),
        ("three dots of nothing", "..".to_owned()),
    ];
    for (what, token) in cases {
        let (status, code) = error_code(
            app.client
                .get(app.url("/api/coupons/my"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{what}");
        assert!(
            code == "invalid_token" || code == "token_expired",
            "{what}: {code}"
        );
    }
}

/// Signs up and logs in a fresh account; returns the login response's
/// headers and token pair.
async fn signed_in(app: &TestApp) -> (reqwest::header::HeaderMap, serde_json::Value) {
    let email = unique_email();
    app.post_json(
        "/api/auth/signup",
        None,
        serde_json::json!({"email": email, "password": "password three", "name": "Han"}),
    )
    .await;
    let response = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": "password three"}))
        .send()
        .await
        .expect("POST login");
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (headers, response.json().await.expect("a token pair"))
}

async fn refresh_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM refresh_tokens")
        .fetch_one(&app.db)
        .await
        .expect("count refresh tokens")
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/refresh"))
        .json(&serde_json::json!({"refresh_token": token}))
        .send()
        .await
        .expect("POST refresh")
}

#[tokio::test]
async fn token_responses_are_never_cached() {
    let app = spawn_app().await;
    let (headers, pair) = signed_in(&app).await;
    let refreshed = refresh(&app, pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 200);
    for (what, headers) in [("login", &headers), ("refresh", refreshed.headers())] {
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["pragma"], "no-cache", "{what}");
    }
}

#[tokio::test]
async fn a_refused_refresh_token_is_reported_as_a_refresh_token() {
    let app = spawn_app().await;
    let response = refresh(&app, "not-a-token-we-issued").await;
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_token");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("refresh token"), "{message}");
    assert!(!message.contains("access token"), "{message}");
}

#[tokio::test]
async fn a_token_whose_header_has_crit_is_refused_with_invalid_token() {
    use contract::jwt::{AccessClaims, Role, now_unix};
    use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
    let app = spawn_app().await;
    let user = app.create_users(1).await[0];
    let now = now_unix();
    let claims = AccessClaims {
        sub: user.to_string(),
        role: Role::User,
        iat: now,
        nbf: now,
        exp: now + 600,
        aud: "coupon-api".into(),
        iss: "coupon-platform".into(),
        sid: None,
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some("dev-1".into());
    header.crit = Some(vec!["x-bind-to-channel".into()]);
    header.extras.insert("x-bind-to-channel", "tls-exporter");
    let key = EncodingKey::from_ed_pem(include_bytes!(
        "../../../contract/test-keys/test-ed25519.pem"
    ))
    .unwrap();
    let critical = encode(&header, &claims, &key).unwrap();
    let (status, code) = error_code(
        app.client
            .get(app.url("/api/coupons/my"))
            .bearer_auth(&critical)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code.as_str()), (401, "invalid_token"));
    // The same claims without `crit` are fine: the refusal is the header's.
    let (status, _) = app
        .get_with("/api/coupons/my", Some(&app.signer.sign_claims(&claims)))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_refresh_family_ends_at_its_maximum_lifetime_however_often_rotated() {
    let app = spawn_app_with(Default::default(), |s| {
        s.auth.refresh_family_max_secs = 3600;
    })
    .await;
    let (_, pair) = signed_in(&app).await;
    let first = pair["refresh_token"].as_str().unwrap();
    let rotated = refresh(&app, first).await;
    assert_eq!(rotated.status(), 200);
    let next: serde_json::Value = rotated.json().await.unwrap();
    let next = next["refresh_token"].as_str().unwrap();
    // The new token does not outlive the family (30-day tokens, 1-hour family).
    let (started, expires): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT family_started_at, expires_at FROM refresh_tokens WHERE used_at IS NULL",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    assert!(expires <= started + chrono::Duration::seconds(3600));
    // An hour after the login, rotation is refused, though the token itself
    // has not expired.
    sqlx::query(
        "UPDATE refresh_tokens SET family_started_at = family_started_at - interval '1 hour', \
         expires_at = now() + interval '1 day'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, code) = error_code(refresh(&app, next).await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_token"));
}

#[tokio::test]
async fn revoked_and_ended_refresh_families_are_purged_and_live_ones_kept() {
    let app = spawn_app_with(Default::default(), |s| {
        s.auth.refresh_purge_interval_secs = 1;
    })
    .await;
    // Live: rotated once (a used token and the current one).
    let (_, live) = signed_in(&app).await;
    let used = live["refresh_token"].as_str().unwrap().to_owned();
    let rotated: serde_json::Value = refresh(&app, &used).await.json().await.unwrap();
    // Revoked by logout.
    let (_, gone) = signed_in(&app).await;
    let (status, _) = app
        .post_json(
            "/api/auth/logout",
            gone["access_token"].as_str(),
            serde_json::json!({"refresh_token": gone["refresh_token"]}),
        )
        .await;
    assert_eq!(status, 204);
    // Past the family's lifetime (90 days by default).
    let (_, old) = signed_in(&app).await;
    let old_user: i64 = sqlx::query_scalar(
        "SELECT user_id FROM refresh_tokens WHERE revoked_at IS NULL ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE refresh_tokens SET family_started_at = now() - interval '91 days' \
         WHERE user_id = $1",
    )
    .bind(old_user)
    .execute(&app.db)
    .await
    .unwrap();
    assert!(old["refresh_token"].is_string());
    // Four rows were made (the purge may already have taken some).
    eventually(std::time::Duration::from_secs(10), "purge", || async {
        refresh_rows(&app).await == 2
    })
    .await;
    // The live family is whole: replaying its used token still revokes it.
    let (status, _) = error_code(refresh(&app, &used).await).await;
    assert_eq!(status, 401);
    let (status, _) =
        error_code(refresh(&app, rotated["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(status, 401, "reuse detection survived the purge");
}

/// HMAC-SHA256 (RFC 2104), for the algorithm-confusion token above.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}
