//! End-to-end tests of the gateway (`tests/gateway`): nginx rendered from
//! `nginx/*.template` by the same shell code as `scripts/dev up`, in front of
//! two coupon-service and two notify-service processes (the binaries in
//! `src/bin`), over HTTPS (HTTP/2) and WSS.
//!
//! The library part only holds what the service wrappers share.

use std::io::Read;

/// Ends the process when its standard input closes: the test that started
/// it has gone (even if it was killed and could not clean up), so an
/// instance never outlives its test.
pub fn exit_when_stdin_closes() {
    std::thread::spawn(|| {
        let mut sink = [0_u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}
