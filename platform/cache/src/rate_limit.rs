//! Token-bucket rate limits: shared by every node through one Redis script, or per node
//! in process (the embedded default, and the fallback while Redis is away).

use async_trait::async_trait;
use redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use trolley_core::domain::{RateDecision, RateLimit, TokenBucket, decide, take_all};
use trolley_core::ports::RateLimiter;

use crate::link::RedisLink;

/// Buckets kept before idle ones are dropped.
const MAX_BUCKETS: usize = 100_000;

/// Per-node buckets in memory.
pub struct InProcessRateLimiter {
    epoch: Instant,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

impl Default for InProcessRateLimiter {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl InProcessRateLimiter {
    fn now_ms(&self) -> i64 {
        i64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(i64::MAX)
    }

    pub fn take_now(&self, wanted: &[(String, RateLimit)]) -> RateDecision {
        let now = self.now_ms();
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() > MAX_BUCKETS {
            // A bucket idle for a minute has refilled under any sane limit: forgetting it
            // changes nothing.
            buckets.retain(|_, b| now - b.updated_ms < 60_000);
        }
        let mut taken: Vec<(TokenBucket, RateLimit)> = wanted
            .iter()
            .map(|(key, limit)| {
                let bucket = buckets
                    .get(key)
                    .copied()
                    .unwrap_or_else(|| TokenBucket::full(*limit, now));
                (bucket, *limit)
            })
            .collect();
        let decision = take_all(&mut taken, now);
        for ((key, _), (bucket, _)) in wanted.iter().zip(taken) {
            buckets.insert(key.clone(), bucket);
        }
        decision
    }
}

#[async_trait]
impl RateLimiter for InProcessRateLimiter {
    async fn take(&self, buckets: &[(String, RateLimit)]) -> RateDecision {
        self.take_now(buckets)
    }
}

/// The arithmetic of `trolley_core::domain::rate_limit::take_all`, in Lua, on Redis's clock
/// so every node agrees on time. Returns `{allowed, tokens×1000 per bucket…}`.
const TAKE_ALL: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens, stamps = {}, {}
local allowed = 1
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tk, last = tonumber(b[1]), tonumber(b[2])
  if tk == nil or last == nil then tk, last = burst, now end
  local elapsed = now - last
  if elapsed < 0 then elapsed = 0 end
  tk = math.min(burst, tk + elapsed * rate / 1000)
  if last < now then last = now end
  tokens[i], stamps[i] = tk, last
  if tk < 1 then allowed = 0 end
end
local out = {allowed}
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  if allowed == 1 then tokens[i] = tokens[i] - 1 end
  redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'ts', tostring(stamps[i]))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 1000)
  out[i + 1] = math.floor(tokens[i] * 1000)
end
return out
";

/// Buckets in Redis, shared by every node; per-node buckets while Redis is away.
pub struct RedisRateLimiter {
    link: Arc<RedisLink>,
    script: Script,
    fallback: InProcessRateLimiter,
}

impl RedisRateLimiter {
    pub fn new(link: Arc<RedisLink>) -> Self {
        Self {
            link,
            script: Script::new(TAKE_ALL),
            fallback: InProcessRateLimiter::default(),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    #[tracing::instrument(name = "ratelimit.take", skip_all)]
    async fn take(&self, buckets: &[(String, RateLimit)]) -> RateDecision {
        let mut invocation = self.script.prepare_invoke();
        for (key, limit) in buckets {
            invocation
                .key(self.link.key(&format!("rl:{key}")))
                .arg(limit.per_second.max(1))
                .arg(limit.burst);
        }
        let answer = self
            .link
            .call(|mut conn| async move { invocation.invoke_async::<Vec<i64>>(&mut conn).await })
            .await;
        match answer {
            Ok(values) if values.len() == buckets.len() + 1 => {
                let state: Vec<(TokenBucket, RateLimit)> = buckets
                    .iter()
                    .zip(&values[1..])
                    .map(|((_, limit), milli)| {
                        let bucket = TokenBucket {
                            tokens: *milli as f64 / 1000.0,
                            updated_ms: 0,
                        };
                        (bucket, *limit)
                    })
                    .collect();
                decide(&state, values[0] == 1)
            }
            Ok(values) => {
                tracing::warn!(
                    ?values,
                    "unexpected rate-limit script answer; limiting in process"
                );
                self.fallback.take_now(buckets)
            }
            Err(_) => self.fallback.take_now(buckets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_process_buckets_refuse_past_the_burst() {
        let limiter = InProcessRateLimiter::default();
        let limit = RateLimit {
            per_second: 1,
            burst: 2,
        };
        let wanted = [("a".to_owned(), limit)];
        assert!(limiter.take_now(&wanted).allowed);
        assert!(limiter.take_now(&wanted).allowed);
        let refused = limiter.take_now(&wanted);
        assert!(!refused.allowed);
        assert!(refused.retry_after_secs() >= 1);
        assert!(
            limiter.take_now(&[("b".to_owned(), limit)]).allowed,
            "another key has its own bucket"
        );
    }
}
