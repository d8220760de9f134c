//! Token buckets: the arithmetic behind request rate limits.
//!
//! The Redis adapter runs the same arithmetic in a Lua script (so every node shares one
//! bucket); the in-process fallback runs this code. Time is in milliseconds and tokens are
//! fractional, so a rate of 0.5/s works as well as 10,000/s.

use serde::{Deserialize, Serialize};

/// A bucket's shape: it holds at most `burst` tokens and refills `per_second` a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The smaller of each dimension: how a tenant's wish meets the operator's maximum.
    pub fn within(self, max: RateLimit) -> RateLimit {
        RateLimit {
            per_second: self.per_second.min(max.per_second),
            burst: self.burst.min(max.burst),
        }
    }

    fn per_ms(self) -> f64 {
        f64::from(self.per_second) / 1000.0
    }
}

/// A bucket's state: tokens left at `updated_ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenBucket {
    pub tokens: f64,
    pub updated_ms: i64,
}

/// The answer for one request against one or more buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    /// The burst of the tightest bucket (the `RateLimit-Limit` header).
    pub limit: u32,
    /// Whole tokens left in the tightest bucket after this request.
    pub remaining: u32,
    /// Milliseconds until the tightest bucket holds a token again (0 when it does now).
    pub retry_after_ms: u64,
    /// Milliseconds until the tightest bucket is full again (the `RateLimit-Reset` header).
    pub reset_ms: u64,
}

impl RateDecision {
    /// `Retry-After` in whole seconds, never 0 for a refusal.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_ms.div_ceil(1000).max(1)
    }

    /// `RateLimit-Reset` in whole seconds.
    pub fn reset_secs(&self) -> u64 {
        self.reset_ms.div_ceil(1000)
    }
}

impl TokenBucket {
    /// A bucket first seen at `now_ms`: full.
    pub fn full(limit: RateLimit, now_ms: i64) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            updated_ms: now_ms,
        }
    }

    /// Adds the tokens earned since the last update, up to the burst. A clock that goes
    /// backwards (another node's, a step) refills nothing.
    pub fn refill(&mut self, limit: RateLimit, now_ms: i64) {
        let elapsed = (now_ms - self.updated_ms).max(0) as f64;
        self.tokens = (self.tokens + elapsed * limit.per_ms()).min(f64::from(limit.burst));
        self.updated_ms = self.updated_ms.max(now_ms);
    }

    /// Milliseconds until this bucket holds `tokens` more than now.
    fn ms_until(&self, limit: RateLimit, tokens: f64) -> u64 {
        if tokens <= 0.0 {
            0
        } else if limit.per_second == 0 {
            u64::MAX
        } else {
            (tokens / limit.per_ms()).ceil() as u64
        }
    }
}

/// Takes one token from every bucket, or none: a request refused by the shopper's bucket
/// must not spend the tenant's. Buckets are refilled to `now_ms` first. The decision is
/// reported from the bucket with the fewest whole tokens left.
pub fn take_all(buckets: &mut [(TokenBucket, RateLimit)], now_ms: i64) -> RateDecision {
    for (bucket, limit) in buckets.iter_mut() {
        bucket.refill(*limit, now_ms);
    }
    let allowed = buckets.iter().all(|(bucket, _)| bucket.tokens >= 1.0);
    if allowed {
        for (bucket, _) in buckets.iter_mut() {
            bucket.tokens -= 1.0;
        }
    }
    decide(buckets, allowed)
}

/// The decision the headers report, from buckets already updated (by [`take_all`] or by
/// the Redis script running the same arithmetic).
pub fn decide(buckets: &[(TokenBucket, RateLimit)], allowed: bool) -> RateDecision {
    let tightest = buckets
        .iter()
        .min_by(|(a, _), (b, _)| a.tokens.total_cmp(&b.tokens));
    let Some((bucket, limit)) = tightest else {
        return RateDecision {
            allowed: true,
            limit: 0,
            remaining: 0,
            retry_after_ms: 0,
            reset_ms: 0,
        };
    };
    let retry_after_ms = if allowed {
        0
    } else {
        buckets
            .iter()
            .map(|(b, l)| b.ms_until(*l, 1.0 - b.tokens))
            .max()
            .unwrap_or(0)
    };
    RateDecision {
        allowed,
        limit: limit.burst,
        remaining: bucket.tokens.max(0.0).floor() as u32,
        retry_after_ms,
        reset_ms: bucket.ms_until(*limit, f64::from(limit.burst) - bucket.tokens),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMIT: RateLimit = RateLimit {
        per_second: 10,
        burst: 3,
    };

    fn take(bucket: &mut TokenBucket, limit: RateLimit, now: i64) -> RateDecision {
        let mut one = [(*bucket, limit)];
        let decision = take_all(&mut one, now);
        *bucket = one[0].0;
        decision
    }

    #[test]
    fn a_burst_then_a_refusal_then_a_refill() {
        let mut bucket = TokenBucket::full(LIMIT, 0);
        for left in [2, 1, 0] {
            let d = take(&mut bucket, LIMIT, 0);
            assert!(d.allowed);
            assert_eq!(d.remaining, left);
        }
        let refused = take(&mut bucket, LIMIT, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_ms, 100);
        assert_eq!(refused.retry_after_secs(), 1);
        assert_eq!(refused.reset_ms, 300);
        assert!(take(&mut bucket, LIMIT, 100).allowed);
    }

    #[test]
    fn a_refusal_by_one_bucket_spends_no_other() {
        let roomy = RateLimit {
            per_second: 100,
            burst: 100,
        };
        let tight = RateLimit {
            per_second: 1,
            burst: 1,
        };
        let mut buckets = [
            (TokenBucket::full(roomy, 0), roomy),
            (TokenBucket::full(tight, 0), tight),
        ];
        let first = take_all(&mut buckets, 0);
        assert!(first.allowed);
        assert_eq!((first.limit, first.remaining), (1, 0));
        let second = take_all(&mut buckets, 0);
        assert!(!second.allowed);
        assert_eq!(second.retry_after_ms, 1000);
        assert_eq!(
            buckets[0].0.tokens, 99.0,
            "the refused request spent nothing"
        );
    }

    #[test]
    fn a_tenant_cannot_exceed_the_operator_maximum() {
        let wish = RateLimit {
            per_second: 1_000_000,
            burst: 5,
        };
        let max = RateLimit {
            per_second: 500,
            burst: 1000,
        };
        assert_eq!(
            wish.within(max),
            RateLimit {
                per_second: 500,
                burst: 5
            }
        );
    }

    proptest! {
        /// Over any schedule, a bucket never allows more than its burst plus what its rate
        /// refilled, and its tokens stay within [0, burst].
        #[test]
        fn never_more_than_burst_plus_refill(
            per_second in 1u32..1000,
            burst in 1u32..100,
            steps in proptest::collection::vec(0i64..50, 1..300),
        ) {
            let limit = RateLimit { per_second, burst };
            let mut bucket = TokenBucket::full(limit, 0);
            let mut now = 0;
            let mut allowed = 0u64;
            for step in steps {
                now += step;
                if take(&mut bucket, limit, now).allowed {
                    allowed += 1;
                }
                prop_assert!(bucket.tokens >= 0.0 && bucket.tokens <= f64::from(burst));
            }
            let ceiling = f64::from(burst) + now as f64 * f64::from(per_second) / 1000.0;
            prop_assert!(allowed as f64 <= ceiling + 1e-9);
        }
    }
}
