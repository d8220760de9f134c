//! Token-bucket rate limits: shared by every node through one Redis script, or per node
//! in process (the embedded default, and the fallback while Redis is away).

use async_trait::async_trait;
use redis::Script;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use trolley_core::domain::{RateDecision, RateLimit, TokenBucket, take_all};
use trolley_core::ports::RateLimiter;

use crate::lease::Leases;
use crate::link::RedisLink;

/// A lock whose holder panicked is still used: the worst a half-done update leaves is a
/// bucket or a lease a token off, which beats failing every later request.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

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
        let mut buckets = lock(&self.buckets);
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
/// so every node agrees on time, taking up to `want` tokens per bucket (the request's own
/// and a lease: `crate::lease`; 0 where the node took the request's token from its lease;
/// negative for a lease's top-up, which never refuses). The request is allowed when every
/// bucket with a positive `want` holds a whole token; then each gives `min(|want|, whole
/// tokens held)`, and none gives anything otherwise. Returns `{allowed, tokens×1000 left
/// per bucket…, tokens given per bucket…}`.
const TAKE_ALL: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens, stamps = {}, {}
local allowed = 1
for i = 1, #KEYS do
  local rate, burst = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local b = redis.call('HMGET', KEYS[i], 't', 'ts')
  local tk, last = tonumber(b[1]), tonumber(b[2])
  if tk == nil or last == nil then tk, last = burst, now end
  local elapsed = now - last
  if elapsed < 0 then elapsed = 0 end
  tk = math.min(burst, tk + elapsed * rate / 1000)
  if last < now then last = now end
  tokens[i], stamps[i] = tk, last
  if tonumber(ARGV[3 * i]) > 0 and tk < 1 then allowed = 0 end
end
local out = {allowed}
local given = {}
for i = 1, #KEYS do
  local rate, burst, want = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  given[i] = 0
  if allowed == 1 then
    given[i] = math.min(math.abs(want), math.floor(tokens[i]))
    tokens[i] = tokens[i] - given[i]
  end
  redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'ts', tostring(stamps[i]))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst * 1000 / rate) + 1000)
  out[i + 1] = math.floor(tokens[i] * 1000)
end
for i = 1, #KEYS do
  out[#KEYS + 1 + i] = given[i]
end
return out
";

/// Buckets in Redis, shared by every node; per-node buckets while Redis is away.
/// A busy bucket is leased (`crate::lease`): this node takes a batch of tokens at once and
/// serves the next requests from it without asking Redis.
pub struct RedisRateLimiter {
    link: Arc<RedisLink>,
    script: Script,
    leases: Mutex<Leases>,
    fallback: InProcessRateLimiter,
}

impl RedisRateLimiter {
    pub fn new(link: Arc<RedisLink>) -> Self {
        Self {
            link,
            script: Script::new(TAKE_ALL),
            leases: Mutex::new(Leases::default()),
            fallback: InProcessRateLimiter::default(),
        }
    }

    fn leases(&self) -> MutexGuard<'_, Leases> {
        lock(&self.leases)
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    #[tracing::instrument(name = "ratelimit.take", skip_all)]
    async fn take(&self, buckets: &[(String, RateLimit)]) -> RateDecision {
        let takes = match self.leases().take(buckets, Instant::now()) {
            Ok(decision) => return decision,
            Err(takes) => takes,
        };
        let mut invocation = self.script.prepare_invoke();
        for ((key, limit), take) in buckets.iter().zip(&takes) {
            invocation
                .key(self.link.key(&format!("rl:{key}")))
                .arg(limit.per_second.max(1))
                .arg(limit.burst)
                .arg(take.want());
        }
        let answer = self
            .link
            .call(|mut conn| async move { invocation.invoke_async::<Vec<i64>>(&mut conn).await })
            .await;
        let n = buckets.len();
        let values = match answer {
            Ok(values) if values.len() == 2 * n + 1 => values,
            other => {
                if let Ok(values) = other {
                    tracing::warn!(
                        ?values,
                        "unexpected rate-limit script answer; limiting in process"
                    );
                }
                self.leases().settle(buckets, &takes, None, Instant::now());
                return self.fallback.take_now(buckets);
            }
        };
        let allowed = values[0] == 1;
        let shared_left: Vec<f64> = values[1..=n].iter().map(|m| *m as f64 / 1000.0).collect();
        let given: Vec<u32> = values[n + 1..]
            .iter()
            .map(|g| u32::try_from(*g).unwrap_or(0))
            .collect();
        let mut leases = self.leases();
        leases.settle(
            buckets,
            &takes,
            allowed.then_some((given.as_slice(), shared_left.as_slice())),
            Instant::now(),
        );
        leases.decide(buckets, &shared_left, allowed)
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
