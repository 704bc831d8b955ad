//! What Redis holds, read before and after a run: `INFO memory`'s
//! `used_memory` for the whole server, and the keys under the run's prefix
//! (all of them, and the idempotency records among them). The `rejections`
//! scenario reports both around its refused presses: a refused keyed press
//! should leave Redis as it found it.

use serde::Serialize;

use crate::target::Target;

/// Keys `SCAN` asks for at a time.
const SCAN_COUNT: usize = 1_000;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct RedisUsage {
    /// `used_memory` of `INFO memory`, in bytes: the whole server's, so
    /// anything else using this Redis moves it too.
    pub used_memory: u64,
    /// Keys under the run's prefix (`--redis-prefix`; every key without one).
    pub keys: u64,
    /// Of those, idempotency records (`…idem:…`): the keyed presses' traces.
    pub idempotency_keys: u64,
}

impl RedisUsage {
    /// `later`'s `used_memory` less this one's, in bytes.
    pub fn used_memory_delta(&self, later: &Self) -> i64 {
        let bytes = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
        bytes(later.used_memory).saturating_sub(bytes(self.used_memory))
    }
}

pub async fn read(target: &Target) -> anyhow::Result<RedisUsage> {
    let mut c = target.redis.get_multiplexed_async_connection().await?;
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut c).await?;
    let used_memory = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("INFO memory has no used_memory"))?;
    let prefix = &target.config.redis_prefix;
    let keys = count(&mut c, &format!("{}*", glob_escape(prefix))).await?;
    let idempotency_keys = count(&mut c, &format!("{}*idem:*", glob_escape(prefix))).await?;
    Ok(RedisUsage {
        used_memory,
        keys,
        idempotency_keys,
    })
}

async fn count(c: &mut redis::aio::MultiplexedConnection, pattern: &str) -> anyhow::Result<u64> {
    let mut cursor: u64 = 0;
    let mut n = 0;
    loop {
        let (next, found): (u64, Vec<redis::Value>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query_async(c)
            .await?;
        n += found.len() as u64;
        if next == 0 {
            return Ok(n);
        }
        cursor = next;
    }
}

/// `prefix` matched literally by a `SCAN MATCH` glob.
fn glob_escape(prefix: &str) -> String {
    let mut escaped = String::with_capacity(prefix.len());
    for ch in prefix.chars() {
        if matches!(ch, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::glob_escape;

    #[test]
    fn prefixes_match_literally() {
        assert_eq!(glob_escape("bench:"), "bench:");
        assert_eq!(glob_escape("t[1]*?\\"), "t\\[1\\]\\*\\?\\\\");
    }
}
