//! The gateway's TLS 1.2 cipher suites, probed with `openssl s_client`
//! (rustls, the suite's client, implements no CBC suite to offer).

use std::process::Command;

use crate::helpers::Stack;

/// A TLS 1.2 handshake with nginx offering only `suite`: the suite agreed
/// on, or None when nginx refused the handshake.
fn handshake_offering_only(stack: &Stack, suite: &str) -> Option<String> {
    let output = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", stack.gateway.port))
        .args(["-servername", "localhost", "-tls1_2", "-cipher", suite])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client (scripts/dev installs openssl)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let agreed = stdout
        .lines()
        .find_map(|line| {
            line.split_once("Cipher is ")
                .map(|(_, s)| s.trim().to_owned())
        })
        .filter(|s| s != "(NONE)");
    assert_eq!(
        agreed.is_some(),
        output.status.success(),
        "s_client with {suite}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    agreed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_1_2_handshakes_offering_only_cbc_or_sha1_suites_are_refused_and_aead_suites_work() {
    let stack = Stack::start().await;
    // The gateway's certificate is ECDSA: these are the CBC suites it could
    // otherwise agree on (HMAC-SHA1 and HMAC-SHA256).
    for suite in [
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-ECDSA-AES128-SHA256",
    ] {
        assert_eq!(
            handshake_offering_only(&stack, suite),
            None,
            "nginx agreed on {suite}"
        );
    }
    for suite in [
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
    ] {
        assert_eq!(
            handshake_offering_only(&stack, suite).as_deref(),
            Some(suite),
            "an AEAD suite"
        );
    }
}
