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

/// How one request takes its token from one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// From this node's lease: already taken here, given back if the request is refused.
    Leased,
    /// From Redis: `want` tokens, the request's own plus the next lease (when `renews`,
    /// this request is the one renewing the bucket's lease).
    Shared { want: u32, renews: bool },
}

impl Take {
    /// Tokens to ask Redis for.
    pub fn want(self) -> u32 {
        match self {
            Take::Leased => 0,
            Take::Shared { want, .. } => want,
        }
    }
}

/// This node's leases, by bucket key.
#[derive(Debug, Default)]
pub struct Leases {
    leases: HashMap<String, Lease>,
}

impl Leases {
    /// Takes the request's token from every bucket's lease where it can. `Ok` when every
    /// bucket had one (no need to ask Redis); else what to ask Redis for, per bucket, and
    /// [`Self::settle`] must follow with Redis's answer.
    pub fn take(
        &mut self,
        buckets: &[(String, RateLimit)],
        now: Instant,
    ) -> Result<RateDecision, Vec<Take>> {
        let takes: Vec<Take> = buckets
            .iter()
            .map(|(key, limit)| match self.leases.get_mut(key) {
                Some(lease) if lease.usable(*limit, now) => {
                    lease.left -= 1;
                    Take::Leased
                }
                _ => self.shared(key, *limit, now),
            })
            .collect();
        if takes.iter().any(|t| matches!(t, Take::Shared { .. })) || buckets.is_empty() {
            return Err(takes);
        }
        let state: Vec<(TokenBucket, RateLimit)> = buckets
            .iter()
            .map(|(key, limit)| {
                let tokens = self
                    .leases
                    .get(key)
                    .map_or(0.0, |l| l.shared_left + f64::from(l.left));
                (
                    TokenBucket {
                        tokens,
                        updated_ms: 0,
                    },
                    *limit,
                )
            })
            .collect();
        Ok(decide(&state, true))
    }

    /// How many tokens to ask Redis for: the request's own, plus the next lease when the
    /// bucket is leased and no other request is renewing it. The size adapts here: doubled
    /// when the last lease ran out in time, halved when it expired unused, back to nothing
    /// after an idle spell.
    fn shared(&mut self, key: &str, limit: RateLimit, now: Instant) -> Take {
        let cap = lease_cap(limit);
        let single = Take::Shared {
            want: 1,
            renews: false,
        };
        if cap <= 1 {
            return single;
        }
        let Some(lease) = self.leases.get_mut(key) else {
            // A bucket's first request asks for its own token only: a key seen once never
            // holds tokens back.
            return single;
        };
        if lease.limit != limit {
            return single;
        }
        // A renewal in flight (one abandoned by a dropped request counts for a TTL at most).
        if lease.renewing.is_some_and(|since| now < since + LEASE_TTL) {
            return single;
        }
        lease.renewing = Some(now);
        lease.size = if now >= lease.until + LEASE_TTL {
            0
        } else if now >= lease.until && lease.left > 0 {
            lease.size / 2
        } else if lease.left == 0 {
            (lease.size * 2).clamp(1, cap)
        } else {
            lease.size
        };
        Take::Shared {
            want: 1 + lease.size,
            renews: true,
        }
    }

    /// Settles what [`Self::take`] started, with Redis's answer: `Some((given, shared_left))`
    /// when the request was allowed (`given[i]` tokens taken from bucket `i`, which then
    /// held `shared_left[i]`), `None` when it was refused or Redis did not answer. Granted
    /// tokens beyond the request's own become the bucket's lease; a refusal gives leased
    /// tokens back.
    pub fn settle(
        &mut self,
        buckets: &[(String, RateLimit)],
        takes: &[Take],
        answer: Option<(&[u32], &[f64])>,
        now: Instant,
    ) {
        if self.leases.len() > MAX_LEASES {
            self.leases.retain(|_, lease| now < lease.until);
        }
        for (i, ((key, limit), take)) in buckets.iter().zip(takes).enumerate() {
            match (*take, answer) {
                (Take::Leased, Some(_)) => {}
                (Take::Leased, None) => {
                    if let Some(lease) = self.leases.get_mut(key) {
                        lease.left = lease.left.saturating_add(1);
                    }
                }
                (Take::Shared { renews, .. }, None) => {
                    if let (true, Some(lease)) = (renews, self.leases.get_mut(key)) {
                        lease.renewing = None;
                    }
                }
                (Take::Shared { renews, .. }, Some((given, shared_left))) => {
                    let (Some(given), Some(shared_left)) = (given.get(i), shared_left.get(i))
                    else {
                        continue;
                    };
                    self.install(
                        key,
                        *limit,
                        given.saturating_sub(1),
                        *shared_left,
                        renews,
                        now,
                    );
                }
            }
        }
    }

    fn install(
        &mut self,
        key: &str,
        limit: RateLimit,
        extra: u32,
        shared_left: f64,
        renews: bool,
        now: Instant,
    ) {
        if lease_cap(limit) <= 1 {
            return;
        }
        let lease = self.leases.entry(key.to_owned()).or_insert(Lease {
            limit,
            left: 0,
            size: 0,
            shared_left,
            until: now,
            renewing: None,
        });
        if renews {
            lease.renewing = None;
        }
        if lease.limit != limit || now >= lease.until {
            // A new shape, or tokens past their time: those are dropped.
            lease.limit = limit;
            lease.left = 0;
        }
        lease.shared_left = shared_left;
        if extra > 0 || lease.left == 0 {
            // Tokens granted to a concurrent renewal add up rather than replace each other.
            lease.left = lease.left.saturating_add(extra);
            lease.until = now + LEASE_TTL;
        }
    }

    /// Tokens this node holds for `key` beyond what Redis reports (for the headers).
    pub fn held(&self, key: &str) -> u32 {
        self.leases.get(key).map_or(0, |l| l.left)
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

    /// One request that Redis allows, granting everything asked for; the tokens it asked.
    fn allowed_by_redis(leases: &mut Leases, b: &[(String, RateLimit)], now: Instant) -> Vec<u32> {
        match leases.take(b, now) {
            Ok(_) => Vec::new(),
            Err(takes) => {
                let given: Vec<u32> = takes.iter().map(|t| t.want()).collect();
                let left = vec![1000.0; b.len()];
                leases.settle(b, &takes, Some((&given, &left)), now);
                given
            }
        }
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
        for _ in 0..10 {
            assert_eq!(
                allowed_by_redis(&mut leases, &b, now),
                vec![1],
                "every request asks Redis"
            );
        }
    }

    #[test]
    fn a_lease_grows_with_demand_and_serves_without_redis() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        // First request: its own token only.
        assert_eq!(allowed_by_redis(&mut leases, &b, now), vec![1]);
        // Then the lease doubles each time it runs out in time: 1, 2, 4, ...
        let mut sizes = Vec::new();
        for _ in 0..6 {
            let asked = allowed_by_redis(&mut leases, &b, now);
            sizes.push(asked[0] - 1);
            for _ in 0..asked[0] - 1 {
                assert!(leases.take(&b, now).is_ok_and(|d| d.allowed));
            }
        }
        assert_eq!(sizes, vec![1, 2, 4, 8, 16, 32]);
    }

    #[test]
    fn a_lease_shrinks_when_it_expires_unused_and_never_outlives_its_ttl() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        allowed_by_redis(&mut leases, &b, now);
        for _ in 0..5 {
            let asked = allowed_by_redis(&mut leases, &b, now);
            for _ in 1..asked[0] {
                assert!(leases.take(&b, now).is_ok());
            }
        }
        assert_eq!(allowed_by_redis(&mut leases, &b, now), vec![1 + 32]);
        assert!(leases.take(&b, now).is_ok());
        let later = now + LEASE_TTL;
        match leases.take(&b, later) {
            Err(takes) => assert_eq!(
                takes,
                vec![Take::Shared {
                    want: 1 + 16,
                    renews: true
                }],
                "expired tokens are not used, and the next lease is halved"
            ),
            Ok(_) => panic!("an expired lease served a request"),
        }
    }

    #[test]
    fn a_leased_bucket_asks_redis_for_nothing_while_another_bucket_is_asked() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let tenant = key("t", BUSY);
        allowed_by_redis(&mut leases, &tenant, now);
        allowed_by_redis(&mut leases, &tenant, now);
        assert_eq!(leases.held("t"), 1);
        let shopper = RateLimit {
            per_second: 50,
            burst: 100,
        };
        let both = vec![tenant[0].clone(), ("s".to_owned(), shopper)];
        let Err(takes) = leases.take(&both, now) else {
            panic!("the shopper's bucket is not leased");
        };
        assert_eq!(
            takes,
            vec![
                Take::Leased,
                Take::Shared {
                    want: 1,
                    renews: false
                }
            ],
            "the tenant's token comes from the lease; nothing more is taken from Redis"
        );
        assert_eq!(leases.held("t"), 0);
        // Refused by the shopper's bucket: the tenant's leased token is given back.
        leases.settle(&both, &takes, None, now);
        assert_eq!(leases.held("t"), 1);
        // Allowed: it stays spent.
        let Err(takes) = leases.take(&both, now) else {
            panic!("the shopper's bucket is not leased");
        };
        leases.settle(&both, &takes, Some((&[0, 1], &[5.0, 50.0])), now);
        assert_eq!(leases.held("t"), 0);
    }

    #[test]
    fn concurrent_misses_renew_a_lease_once() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        allowed_by_redis(&mut leases, &b, now);
        let Err(first) = leases.take(&b, now) else {
            panic!("no lease yet");
        };
        assert_eq!(first[0].want(), 2);
        for _ in 0..50 {
            let Err(other) = leases.take(&b, now) else {
                panic!("no lease yet");
            };
            assert_eq!(
                other[0].want(),
                1,
                "the others ask for their own token only while the first renews"
            );
            leases.settle(&b, &other, Some((&[1], &[0.0])), now);
        }
        leases.settle(&b, &first, Some((&[2], &[0.0])), now);
        assert!(leases.take(&b, now).is_ok());
        let Err(next) = leases.take(&b, now) else {
            panic!("the lease is used up");
        };
        assert_eq!(next[0].want(), 1 + 2, "doubled once, not 50 times");
        leases.settle(&b, &next, None, now);
        let Err(after) = leases.take(&b, now) else {
            panic!("nothing was granted");
        };
        assert!(
            matches!(after[0], Take::Shared { renews: true, .. }),
            "a failed renewal frees the next"
        );
    }

    #[test]
    fn a_new_limit_drops_the_old_lease() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        allowed_by_redis(&mut leases, &b, now);
        allowed_by_redis(&mut leases, &b, now);
        let tighter = RateLimit {
            per_second: 5_000,
            burst: 20_000,
        };
        assert_eq!(
            leases.take(&key("t", tighter), now).map(|_| ()),
            Err(vec![Take::Shared {
                want: 1,
                renews: false
            }])
        );
    }
}

#[cfg(test)]
mod convergence {
    use super::*;

    /// 64 requests in flight at a time on a tenant and a shopper bucket, both busy: after
    /// a few round trips most requests are served from the leases.
    #[test]
    fn a_busy_pair_of_buckets_is_soon_served_from_leases() {
        let busy = RateLimit {
            per_second: 10_000_000,
            burst: 10_000_000,
        };
        let b = vec![("t".to_owned(), busy), ("s".to_owned(), busy)];
        let mut leases = Leases::default();
        let now = Instant::now();
        let mut local = Vec::new();
        for _ in 0..30 {
            let mut served = 0;
            let mut pending = Vec::new();
            for _ in 0..64 {
                match leases.take(&b, now) {
                    Ok(_) => served += 1,
                    Err(takes) => pending.push(takes),
                }
            }
            for takes in pending {
                let given: Vec<u32> = takes.iter().map(|t| t.want()).collect();
                leases.settle(&b, &takes, Some((&given, &[1e6, 1e6])), now);
            }
            local.push(served);
        }
        // The lease doubles once per round trip up to its cap; after that, only the round
        // in which a lease runs out goes to Redis.
        let later: usize = local[10..].iter().sum();
        assert!(later * 4 >= 20 * 64 * 3, "{local:?}");
    }
}
