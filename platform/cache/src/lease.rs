//! Tokens a node takes from a shared Redis bucket ahead of use, so that a busy bucket is
//! not a Redis round trip (and a Lua script on one hot key) for every request.
//!
//! A lease never lets a node admit more than the shared bucket held: its tokens were taken
//! out of Redis, so the total over every node stays within burst + refill. What a lease
//! costs is the other way: tokens a node took and did not use within [`LEASE_TTL`] are
//! dropped, never returned, so other nodes may be refused slightly early. Two rules keep
//! that small:
//! - a lease is at most a tenth of the burst and what the bucket refills in 20 ms
//!   ([`lease_cap`]): a shopper's bucket (50/s by default) is never leased at all;
//! - its size follows this node's demand: it doubles when a lease ran out before its time
//!   and halves when one expired with tokens left, so a node that slows down stops taking
//!   what it will not use.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use trolley_core::domain::{RateDecision, RateLimit, TokenBucket, decide};

/// How long leased tokens may be used before they are dropped.
pub const LEASE_TTL: Duration = Duration::from_millis(100);

/// The most one lease may hold, whatever the bucket.
const MAX_LEASE: u32 = 1000;

/// Leases kept before expired ones are dropped.
const MAX_LEASES: usize = 100_000;

/// The largest lease for `limit`: 1 means the bucket is not leased (every request asks
/// Redis for its one token).
pub fn lease_cap(limit: RateLimit) -> u32 {
    (limit.burst / 10)
        .min(limit.per_second / 50)
        .clamp(1, MAX_LEASE)
}

#[derive(Debug, Clone, Copy)]
struct Lease {
    limit: RateLimit,
    /// Tokens left to use.
    left: u32,
    /// How many tokens the next renewal asks for beyond the request's own (0 until the
    /// bucket has been asked twice).
    size: u32,
    /// Tokens the shared bucket still held when this lease was taken (for the headers).
    shared_left: f64,
    until: Instant,
    /// Since when a request is asking Redis for this bucket's next lease. Only one asks at
    /// a time: requests that miss meanwhile take their own token only, or a burst of
    /// concurrent misses would each take a lease (and the doubling would run away).
    renewing: Option<Instant>,
}

impl Lease {
    fn usable(&self, limit: RateLimit, now: Instant) -> bool {
        self.limit == limit && self.left >= 1 && now < self.until
    }
}

/// This node's leases, by bucket key.
#[derive(Debug, Default)]
pub struct Leases {
    leases: HashMap<String, Lease>,
}

impl Leases {
    /// Takes one token from the lease of every bucket, or from none: `None` when some bucket
    /// has no usable lease and Redis must be asked.
    pub fn take(&mut self, buckets: &[(String, RateLimit)], now: Instant) -> Option<RateDecision> {
        let all_leased = buckets.iter().all(|(key, limit)| {
            self.leases
                .get(key)
                .is_some_and(|lease| lease.usable(*limit, now))
        });
        if !all_leased || buckets.is_empty() {
            return None;
        }
        let mut state = Vec::with_capacity(buckets.len());
        for (key, limit) in buckets {
            let lease = self.leases.get_mut(key)?;
            lease.left -= 1;
            let bucket = TokenBucket {
                tokens: lease.shared_left + f64::from(lease.left),
                updated_ms: 0,
            };
            state.push((bucket, *limit));
        }
        Some(decide(&state, true))
    }

    /// How many tokens to ask Redis for, per bucket, for a request that [`Self::take`]
    /// could not serve: one for the request itself, plus the next lease where the bucket is
    /// leased. The size adapts here: doubled when the last lease ran out in time, halved
    /// when it expired unused.
    pub fn wanted(&mut self, buckets: &[(String, RateLimit)], now: Instant) -> Vec<u32> {
        buckets
            .iter()
            .map(|(key, limit)| {
                let cap = lease_cap(*limit);
                if cap <= 1 {
                    return 1;
                }
                let size = match self.leases.get_mut(key) {
                    // A renewal in flight (one abandoned by a dropped request counts for
                    // a TTL at most).
                    Some(lease) if lease.renewing.is_some_and(|since| now < since + LEASE_TTL) => 0,
                    Some(lease) if lease.limit == *limit => {
                        lease.renewing = Some(now);
                        lease.size = if now >= lease.until + LEASE_TTL {
                            // Idle since: demand starts over.
                            0
                        } else if now >= lease.until && lease.left > 0 {
                            lease.size / 2
                        } else if lease.left == 0 {
                            (lease.size * 2).clamp(1, cap)
                        } else {
                            lease.size
                        };
                        lease.size
                    }
                    // A bucket's first request (or the first under a new limit) asks for
                    // its own token only: a key seen once never holds tokens back.
                    _ => 0,
                };
                1 + size
            })
            .collect()
    }

    /// The request that was renewing these buckets' leases got nothing (refused, or Redis
    /// did not answer): the next miss may renew.
    pub fn abandoned(&mut self, buckets: &[(String, RateLimit)]) {
        for (key, _) in buckets {
            if let Some(lease) = self.leases.get_mut(key) {
                lease.renewing = None;
            }
        }
    }

    /// Keeps what Redis granted beyond the one token the request used. `granted[i]` tokens
    /// were taken from bucket `i`, which then held `shared_left[i]`.
    pub fn granted(
        &mut self,
        buckets: &[(String, RateLimit)],
        granted: &[u32],
        shared_left: &[f64],
        now: Instant,
    ) {
        if self.leases.len() > MAX_LEASES {
            self.leases.retain(|_, lease| now < lease.until);
        }
        for (((key, limit), granted), shared_left) in buckets.iter().zip(granted).zip(shared_left) {
            if lease_cap(*limit) <= 1 {
                continue;
            }
            let extra = granted.saturating_sub(1);
            let lease = self.leases.entry(key.clone()).or_insert(Lease {
                limit: *limit,
                left: 0,
                size: 0,
                shared_left: *shared_left,
                until: now,
                renewing: None,
            });
            lease.renewing = None;
            if lease.limit != *limit || now >= lease.until {
                // A new shape, or tokens past their time: those are dropped.
                lease.limit = *limit;
                lease.left = 0;
            }
            // Tokens granted to a concurrent renewal add up rather than replace each other.
            lease.left = lease.left.saturating_add(extra);
            lease.shared_left = *shared_left;
            lease.until = now + LEASE_TTL;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUSY: RateLimit = RateLimit {
        per_second: 10_000,
        burst: 20_000,
    };

    fn key(k: &str, limit: RateLimit) -> Vec<(String, RateLimit)> {
        vec![(k.to_owned(), limit)]
    }

    #[test]
    fn small_buckets_are_never_leased() {
        let shopper = RateLimit {
            per_second: 50,
            burst: 100,
        };
        assert_eq!(lease_cap(shopper), 1);
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("s", shopper);
        assert_eq!(leases.wanted(&b, now), vec![1]);
        leases.granted(&b, &[1], &[99.0], now);
        assert_eq!(leases.take(&b, now), None, "every request asks Redis");
    }

    #[test]
    fn a_lease_grows_with_demand_and_serves_without_redis() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        // First request: its own token only.
        assert_eq!(leases.wanted(&b, now), vec![1]);
        leases.granted(&b, &[1], &[19_999.0], now);
        assert_eq!(leases.take(&b, now), None);
        // Then the lease doubles each time it runs out in time: 1, 2, 4, ...
        let mut sizes = Vec::new();
        for _ in 0..6 {
            let want = leases.wanted(&b, now)[0];
            sizes.push(want - 1);
            leases.granted(&b, &[want], &[10_000.0], now);
            for _ in 1..want {
                assert!(leases.take(&b, now).is_some_and(|d| d.allowed));
            }
            assert_eq!(leases.take(&b, now), None, "the lease is used up");
        }
        assert_eq!(sizes, vec![1, 2, 4, 8, 16, 32]);
    }

    #[test]
    fn a_lease_shrinks_when_it_expires_unused_and_never_outlives_its_ttl() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        leases.granted(&b, &[1], &[0.0], now);
        for _ in 0..5 {
            let want = leases.wanted(&b, now)[0];
            leases.granted(&b, &[want], &[0.0], now);
            while leases.take(&b, now).is_some() {}
        }
        let want = leases.wanted(&b, now)[0];
        assert_eq!(want, 1 + 32);
        leases.granted(&b, &[want], &[0.0], now);
        assert!(leases.take(&b, now).is_some());
        let later = now + LEASE_TTL;
        assert_eq!(leases.take(&b, later), None, "expired tokens are not used");
        assert_eq!(leases.wanted(&b, later), vec![1 + 16], "halved");
    }

    #[test]
    fn a_request_is_served_from_leases_only_when_every_bucket_has_one() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let tenant = key("t", BUSY);
        leases.granted(&tenant, &[1], &[0.0], now);
        let want = leases.wanted(&tenant, now);
        leases.granted(&tenant, &want, &[0.0], now);
        let both = vec![tenant[0].clone(), ("other".to_owned(), BUSY)];
        assert_eq!(leases.take(&both, now), None);
        assert!(
            leases.take(&tenant, now).is_some(),
            "the refused lookup spent no leased token"
        );
    }

    #[test]
    fn concurrent_misses_renew_a_lease_once() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        leases.granted(&b, &[1], &[0.0], now);
        let first = leases.wanted(&b, now);
        assert_eq!(first, vec![2]);
        for _ in 0..50 {
            assert_eq!(
                leases.wanted(&b, now),
                vec![1],
                "the others ask for their own token only while the first renews"
            );
        }
        leases.granted(&b, &first, &[0.0], now);
        assert!(leases.take(&b, now).is_some());
        assert_eq!(
            leases.wanted(&b, now),
            vec![1 + 2],
            "doubled once, not 50 times"
        );
        leases.abandoned(&b);
        assert_eq!(
            leases.wanted(&b, now),
            vec![1 + 4],
            "a failed renewal frees the next"
        );
    }

    #[test]
    fn a_new_limit_drops_the_old_lease() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        leases.granted(&b, &[1], &[0.0], now);
        let want = leases.wanted(&b, now);
        leases.granted(&b, &want, &[0.0], now);
        let tighter = RateLimit {
            per_second: 5_000,
            burst: 20_000,
        };
        assert_eq!(leases.take(&key("t", tighter), now), None);
        assert_eq!(leases.wanted(&key("t", tighter), now), vec![1]);
    }
}
