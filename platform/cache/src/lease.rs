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
//! - its size follows this node's demand: it doubles when half of a lease went within its
//!   time (or all of it), and halves when one expired with tokens left, so a node that
//!   slows down stops taking what it will not use.
//!
//! A lease is topped up when half of it is used: the request that takes that token also
//! asks Redis for the next batch (a top-up never refuses), while the others go on serving
//! from what is left. Waiting for a lease to run out instead sent every request in flight
//! to Redis each time one did (BENCHMARKS.md).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use trolley_core::domain::{RateDecision, RateLimit, TokenBucket, decide};

/// How long a lease's tokens may be used after its last grant before they are dropped.
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

    /// Whether another request is asking Redis for this lease's next batch (one abandoned
    /// by a dropped request counts for a TTL at most).
    fn renewal_in_flight(&self, now: Instant) -> bool {
        self.renewing.is_some_and(|since| now < since + LEASE_TTL)
    }
}

/// How one request takes its token from one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Take {
    /// From this node's lease: already taken here, given back if the request is refused.
    Leased,
    /// From this node's lease, which is half used: this request also asks Redis for the
    /// next `more` tokens, so the lease is topped up before it runs out (when one ran out,
    /// every request in flight went to Redis until it was renewed).
    TopUp { more: u32 },
    /// From Redis: `want` tokens, the request's own plus the next lease (when `renews`,
    /// this request is the one renewing the bucket's lease).
    Shared { want: u32, renews: bool },
}

impl Take {
    /// Whether the request's own token came from this node's lease.
    fn own_token_leased(self) -> bool {
        !matches!(self, Take::Shared { .. })
    }

    /// Whether this request is the one asking Redis for the bucket's next lease.
    fn renews(self) -> bool {
        matches!(self, Take::TopUp { .. } | Take::Shared { renews: true, .. })
    }

    /// The script's `want` for this bucket: tokens that must be there for the request
    /// (positive), tokens wanted if there are any (negative: a top-up never refuses), or
    /// nothing.
    pub fn want(self) -> i64 {
        match self {
            Take::Leased => 0,
            Take::TopUp { more } => -i64::from(more),
            Take::Shared { want, .. } => i64::from(want),
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
                    if !lease.renewal_in_flight(now) && lease.left <= lease.size / 2 {
                        // Half of it went within its time: the demand is there, so the
                        // next lease may be larger.
                        lease.renewing = Some(now);
                        lease.size = (lease.size * 2).clamp(1, lease_cap(*limit));
                        Take::TopUp { more: lease.size }
                    } else {
                        Take::Leased
                    }
                }
                _ => self.shared(key, *limit, now),
            })
            .collect();
        if takes.iter().any(|t| *t != Take::Leased) || buckets.is_empty() {
            return Err(takes);
        }
        let shared_left: Vec<f64> = buckets
            .iter()
            .map(|(key, _)| self.leases.get(key).map_or(0.0, |l| l.shared_left))
            .collect();
        Ok(self.decide(buckets, &shared_left, true))
    }

    /// The decision the headers report: what each shared bucket last held, plus what this
    /// node holds of it.
    pub fn decide(
        &self,
        buckets: &[(String, RateLimit)],
        shared_left: &[f64],
        allowed: bool,
    ) -> RateDecision {
        let state: Vec<(TokenBucket, RateLimit)> = buckets
            .iter()
            .zip(shared_left)
            .map(|((key, limit), shared)| {
                let bucket = TokenBucket {
                    tokens: shared + f64::from(self.held(key)),
                    updated_ms: 0,
                };
                (bucket, *limit)
            })
            .collect();
        decide(&state, allowed)
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
        if lease.renewal_in_flight(now) {
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
            let granted = answer.and_then(|(given, left)| Some((*given.get(i)?, *left.get(i)?)));
            match granted {
                // Refused, or Redis did not answer: a leased token goes back.
                None => {
                    if let Some(lease) = self.leases.get_mut(key) {
                        if take.own_token_leased() {
                            lease.left = lease.left.saturating_add(1);
                        }
                        if take.renews() {
                            lease.renewing = None;
                        }
                    }
                }
                Some(_) if *take == Take::Leased => {}
                Some((given, shared_left)) => {
                    // What the request did not use itself becomes lease.
                    let extra = if take.own_token_leased() {
                        given
                    } else {
                        given.saturating_sub(1)
                    };
                    self.install(key, *limit, extra, shared_left, take.renews(), now);
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

    /// Redis's part for a request it allows: everything asked for, when it is there.
    pub(super) fn grant(takes: &[Take]) -> Vec<u32> {
        takes
            .iter()
            .map(|t| u32::try_from(t.want().unsigned_abs()).unwrap_or(u32::MAX))
            .collect()
    }

    /// One request; `None` when the leases served it, else what Redis was asked (and
    /// granted in full).
    fn request(leases: &mut Leases, b: &[(String, RateLimit)], now: Instant) -> Option<Vec<Take>> {
        match leases.take(b, now) {
            Ok(decision) => {
                assert!(decision.allowed);
                None
            }
            Err(takes) => {
                let left = vec![1000.0; b.len()];
                leases.settle(b, &takes, Some((&grant(&takes), &left)), now);
                Some(takes)
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
                request(&mut leases, &b, now),
                Some(vec![Take::Shared {
                    want: 1,
                    renews: false
                }]),
                "every request asks Redis for its own token"
            );
        }
    }

    #[test]
    fn a_busy_bucket_asks_redis_once_per_half_lease_and_never_past_its_cap() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        let cap = lease_cap(BUSY);
        let mut asked = 0;
        for _ in 0..10_000 {
            if let Some(takes) = request(&mut leases, &b, now) {
                asked += 1;
                assert!(takes[0].want().unsigned_abs() <= u64::from(cap) + 1);
            }
            assert!(leases.held("t") <= 2 * cap);
        }
        // Doubling reaches the cap (200) in a few requests; then a top-up every 100.
        assert!(
            asked <= 120,
            "asked Redis {asked} times for 10,000 requests"
        );
    }

    #[test]
    fn a_lease_never_outlives_its_ttl_and_shrinks_when_it_expires_unused() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        for _ in 0..20 {
            request(&mut leases, &b, now);
        }
        assert!(leases.held("t") > 0);
        let size = leases.leases["t"].size;
        let later = now + LEASE_TTL;
        match leases.take(&b, later) {
            Err(takes) => assert_eq!(
                takes,
                vec![Take::Shared {
                    want: 1 + size / 2,
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
        for _ in 0..5 {
            request(&mut leases, &tenant, now);
        }
        let held = leases.held("t");
        assert!(held > 2);
        let shopper = RateLimit {
            per_second: 50,
            burst: 100,
        };
        let both = vec![tenant[0].clone(), ("s".to_owned(), shopper)];
        let Err(takes) = leases.take(&both, now) else {
            panic!("the shopper's bucket is not leased");
        };
        assert_eq!(
            takes[1],
            Take::Shared {
                want: 1,
                renews: false
            }
        );
        assert!(
            takes[0].want() <= 0,
            "the tenant's token comes from the lease: {:?}",
            takes[0]
        );
        assert_eq!(leases.held("t"), held - 1);
        // Refused by the shopper's bucket: the tenant's leased token is given back.
        leases.settle(&both, &takes, None, now);
        assert_eq!(leases.held("t"), held);
    }

    #[test]
    fn concurrent_misses_renew_a_lease_once() {
        let mut leases = Leases::default();
        let now = Instant::now();
        let b = key("t", BUSY);
        request(&mut leases, &b, now);
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
        leases.settle(&b, &first, None, now);
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
        for _ in 0..5 {
            request(&mut leases, &b, now);
        }
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
    /// a few round trips nearly all of them are served from the leases.
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
                let given = super::tests::grant(&takes);
                leases.settle(&b, &takes, Some((&given, &[1e6, 1e6])), now);
            }
            local.push(served);
        }
        // The lease doubles once per round trip up to its cap, and is topped up before it
        // runs out: after that, a round sends one or two requests to Redis.
        assert!(local[15..].iter().all(|&n| n >= 60), "{local:?}");
    }
}
