//! What the link does to each packet: a pure function of the time it arrived, its size, the
//! link's settings and a seeded random stream.
//!
//! Nothing here touches a device or a clock, so the rules can be read, and tested, on their
//! own (the unit tests below run without namespaces). The relay asks [`Scheduler::decide`]
//! about every packet it reads and does what the answer says.
//!
//! The rules, in the order a packet meets them:
//!
//! 1. **Cut**: a cut link drops everything (a dead peer, a black hole).
//! 2. **MTU**: a packet longer than the link's MTU is dropped (the hosts' interfaces have the
//!    same MTU, so this only bites if they are told otherwise).
//! 3. **Loss**: dropped with probability `loss`.
//! 4. **Rate**: with a rate limit, the packet waits behind the bytes queued before it, then
//!    takes `8 × length / rate` seconds to "serialise". A queue longer than `queue_bytes` is
//!    full: the packet is dropped at its tail, as a router's queue drops.
//! 5. **Delay and jitter**: it then travels for `delay`, plus or minus up to `jitter`
//!    (uniformly). Jitter alone never reorders: a packet never arrives before the one sent
//!    before it, as on a real path whose queue varies.
//! 6. **Reordering**: with probability `reorder`, the packet is held back `reorder_hold`
//!    longer, and packets behind it overtake it.
//! 7. **Duplication**: with probability `duplicate`, it arrives twice.
//!
//! Every packet draws the same four random numbers whatever happens to it, so the fate of
//! packet *n* depends only on the seed and on *n*: one lost packet does not shift the dice
//! for all the packets after it, and a run with the same seed repeats exactly.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The link's settings. Build one with struct update syntax:
/// `LinkConfig { delay: Duration::from_millis(20), loss: 0.01, ..LinkConfig::default() }`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way delay, each direction.
    pub delay: Duration,
    /// Up to this much more or less delay, uniformly at random (never reordering).
    pub jitter: Duration,
    /// Probability that a packet is lost, 0.0 to 1.0.
    pub loss: f64,
    /// Rate limit in bits per second, each direction; `None` for no limit.
    pub rate_bps: Option<u64>,
    /// With a rate limit, the most bytes that may wait to be serialised; more are dropped.
    pub queue_bytes: usize,
    /// The link's MTU (and its hosts' interfaces'), in bytes: 1280 (IPv6's minimum) or more.
    pub mtu: u16,
    /// Probability that a packet is held back and overtaken, 0.0 to 1.0.
    pub reorder: f64,
    /// How long a reordered packet is held back.
    pub reorder_hold: Duration,
    /// Probability that a packet is delivered twice, 0.0 to 1.0.
    pub duplicate: f64,
    /// The seed of the random choices: the same seed, the same fates.
    pub seed: u64,
    /// How many bytes of each packet the trace keeps (headers are decoded from them).
    pub snaplen: usize,
    /// How many packets the trace keeps; later ones are counted, not kept.
    pub trace_limit: usize,
}

impl Default for LinkConfig {
    /// A perfect Ethernet-sized link: MTU 1500, no delay, no loss, no limit.
    fn default() -> Self {
        LinkConfig {
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            loss: 0.0,
            rate_bps: None,
            queue_bytes: 64 * 1024,
            mtu: 1500,
            reorder: 0.0,
            reorder_hold: Duration::from_millis(1),
            duplicate: 0.0,
            seed: 1,
            snaplen: 128,
            trace_limit: 100_000,
        }
    }
}

/// The smallest MTU the lab accepts: IPv6 is switched off on an interface below it.
pub const MIN_MTU: u16 = 1280;

impl LinkConfig {
    /// Checks the settings, with one line saying what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("loss", self.loss),
            ("reorder", self.reorder),
            ("duplicate", self.duplicate),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} must be a probability (0 to 1), not {p}"));
            }
        }
        if self.mtu < MIN_MTU {
            return Err(format!(
                "MTU {} is below {MIN_MTU}, IPv6's minimum",
                self.mtu
            ));
        }
        if self.rate_bps == Some(0) {
            return Err("a rate limit of 0 bit/s would carry nothing: use cut instead".into());
        }
        if self.rate_bps.is_some() && self.queue_bytes < usize::from(self.mtu) {
            return Err(format!(
                "a queue of {} bytes cannot hold one {}-byte packet",
                self.queue_bytes, self.mtu
            ));
        }
        Ok(())
    }
}

/// Why the link dropped a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The link was cut.
    Cut,
    /// Longer than the link's MTU.
    Mtu,
    /// Random loss.
    Loss,
    /// The rate limiter's queue was full.
    QueueFull,
}

impl DropReason {
    /// One word, as the trace prints it.
    pub fn word(self) -> &'static str {
        match self {
            DropReason::Cut => "cut",
            DropReason::Mtu => "mtu",
            DropReason::Loss => "loss",
            DropReason::QueueFull => "queue full",
        }
    }
}

/// What happens to one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Delivered at `at` (on the lab's clock), `copies` times (2 when duplicated).
    Delivered {
        /// When it arrives at the other host.
        at: Duration,
        /// 1, or 2 when the link duplicated it.
        copies: u8,
    },
    /// Dropped by the link.
    Dropped(DropReason),
}

/// The state of one direction of the link.
#[derive(Debug)]
pub struct Scheduler {
    rng: SmallRng,
    /// When the rate limiter finishes serialising what it holds.
    busy_until: Duration,
    /// The arrival time of the last in-order packet: jitter never goes before it.
    last_arrival: Duration,
}

impl Scheduler {
    /// A direction of the link whose random choices come from `seed`.
    pub fn new(seed: u64) -> Self {
        Scheduler {
            rng: SmallRng::seed_from_u64(seed),
            busy_until: Duration::ZERO,
            last_arrival: Duration::ZERO,
        }
    }

    /// The scheduler of one direction of a link whose seed is `seed`: each direction has its
    /// own dice, both from the one seed, so that a run repeats exactly (and a user-space
    /// relay outside the lab, given the same seed, decides the same fates).
    pub fn for_direction(seed: u64, direction: crate::Direction) -> Self {
        Scheduler::new(match direction {
            crate::Direction::AToB => seed,
            crate::Direction::BToA => seed ^ 0x9e37_79b9_7f4a_7c15,
        })
    }

    // ANCHOR: decide
    /// The fate of a packet of `len` bytes that reached the link at `now`.
    pub fn decide(&mut self, config: &LinkConfig, cut: bool, now: Duration, len: usize) -> Fate {
        // Four draws for every packet, used or not: fates depend on the packet's number only.
        let (u_loss, u_jitter, u_reorder, u_dup): (f64, f64, f64, f64) = (
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
            self.rng.random(),
        );
        if cut {
            return Fate::Dropped(DropReason::Cut);
        }
        if len > usize::from(config.mtu) {
            return Fate::Dropped(DropReason::Mtu);
        }
        if u_loss < config.loss {
            return Fate::Dropped(DropReason::Loss);
        }
        let sent = match config.rate_bps {
            None => now,
            Some(rate) => {
                let start = self.busy_until.max(now);
                let queued_bytes = bytes_in(start - now, rate);
                if queued_bytes + len as u64 > config.queue_bytes as u64 {
                    return Fate::Dropped(DropReason::QueueFull);
                }
                self.busy_until = start + serialisation(len, rate);
                self.busy_until
            }
        };
        // Uniform in [delay - jitter, delay + jitter], never below zero.
        let spread = config.jitter.mul_f64(2.0 * u_jitter);
        let delay = (config.delay + spread).saturating_sub(config.jitter);
        let mut at = (sent + delay).max(self.last_arrival);
        if u_reorder < config.reorder {
            // Held back, outside the in-order sequence: the packets behind it may pass.
            at += config.reorder_hold;
        } else {
            self.last_arrival = at;
        }
        let copies = if u_dup < config.duplicate { 2 } else { 1 };
        Fate::Delivered { at, copies }
    }
    // ANCHOR_END: decide
}

/// How long `len` bytes take to serialise at `rate` bits per second.
fn serialisation(len: usize, rate: u64) -> Duration {
    Duration::from_nanos((len as u64 * 8).saturating_mul(1_000_000_000) / rate)
}

/// How many bytes `rate` bits per second serialise in `time`.
fn bytes_in(time: Duration, rate: u64) -> u64 {
    (time.as_nanos() * u128::from(rate) / 8 / 1_000_000_000) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn fates(config: &LinkConfig, packets: usize) -> Vec<Fate> {
        let mut s = Scheduler::new(config.seed);
        (0..packets)
            .map(|i| s.decide(config, false, MS * i as u32, 100))
            .collect()
    }

    /// A perfect link delivers everything at once, once.
    #[test]
    fn perfect_link_delivers_at_once() {
        let config = LinkConfig::default();
        for (i, fate) in fates(&config, 100).into_iter().enumerate() {
            assert_eq!(
                fate,
                Fate::Delivered {
                    at: MS * i as u32,
                    copies: 1
                }
            );
        }
    }

    /// The same seed gives the same fates; another seed other fates.
    #[test]
    fn same_seed_same_fates() {
        let config = LinkConfig {
            loss: 0.3,
            jitter: MS * 5,
            delay: MS * 10,
            duplicate: 0.1,
            reorder: 0.1,
            ..LinkConfig::default()
        };
        assert_eq!(fates(&config, 1000), fates(&config, 1000));
        let other = LinkConfig {
            seed: 2,
            ..config.clone()
        };
        assert_ne!(fates(&config, 1000), fates(&other, 1000));
    }

    /// A loss of 0.3 drops about 30% (seeded, so exactly the same count every run).
    #[test]
    fn loss_drops_about_its_share() {
        let config = LinkConfig {
            loss: 0.3,
            ..LinkConfig::default()
        };
        let lost = fates(&config, 10_000)
            .iter()
            .filter(|f| **f == Fate::Dropped(DropReason::Loss))
            .count();
        assert!((2_700..=3_300).contains(&lost), "lost {lost} of 10000");
    }

    /// Jitter spreads the delay within its bounds and never reorders.
    #[test]
    fn jitter_stays_in_bounds_and_in_order() {
        let config = LinkConfig {
            delay: MS * 20,
            jitter: MS * 5,
            ..LinkConfig::default()
        };
        let mut last = Duration::ZERO;
        let mut s = Scheduler::new(7);
        let mut spread = (Duration::MAX, Duration::ZERO);
        for i in 0..1000u32 {
            // Sent 10 ms apart, so the in-order rule never has to step in.
            let now = MS * 10 * i;
            let Fate::Delivered { at, .. } = s.decide(&config, false, now, 100) else {
                panic!("a link without loss dropped a packet");
            };
            assert!(at >= last, "packet {i} overtook the one before it");
            last = at;
            spread = (spread.0.min(at - now), spread.1.max(at - now));
        }
        assert!(spread.0 >= MS * 15 && spread.1 <= MS * 25, "{spread:?}");
        assert!(
            spread.1 - spread.0 > MS * 8,
            "jitter had no effect: {spread:?}"
        );
    }

    /// At 8 Mbit/s, 1000 bytes take 1 ms; a full queue drops at its tail.
    #[test]
    fn rate_limit_serialises_and_queue_overflows() {
        let config = LinkConfig {
            rate_bps: Some(8_000_000),
            queue_bytes: 3_000,
            ..LinkConfig::default()
        };
        let mut s = Scheduler::new(1);
        // Four 1000-byte packets at once: 1 ms, 2 ms, 3 ms, then the queue holds 3000 bytes.
        let got: Vec<Fate> = (0..4)
            .map(|_| s.decide(&config, false, Duration::ZERO, 1000))
            .collect();
        assert_eq!(
            got,
            vec![
                Fate::Delivered { at: MS, copies: 1 },
                Fate::Delivered {
                    at: MS * 2,
                    copies: 1
                },
                Fate::Delivered {
                    at: MS * 3,
                    copies: 1
                },
                Fate::Dropped(DropReason::QueueFull),
            ]
        );
    }

    /// Cut and MTU drop before any dice are read.
    #[test]
    fn cut_and_mtu_drop() {
        let config = LinkConfig::default();
        let mut s = Scheduler::new(1);
        assert_eq!(
            s.decide(&config, true, Duration::ZERO, 100),
            Fate::Dropped(DropReason::Cut)
        );
        assert_eq!(
            s.decide(&config, false, Duration::ZERO, 1501),
            Fate::Dropped(DropReason::Mtu)
        );
    }

    /// Nonsense settings are refused with a reason.
    #[test]
    fn bad_settings_are_refused() {
        let bad = [
            LinkConfig {
                loss: 1.5,
                ..LinkConfig::default()
            },
            LinkConfig {
                mtu: 576,
                ..LinkConfig::default()
            },
            LinkConfig {
                rate_bps: Some(0),
                ..LinkConfig::default()
            },
        ];
        for config in bad {
            assert!(config.validate().is_err(), "{config:?} was accepted");
        }
        assert_eq!(LinkConfig::default().validate(), Ok(()));
    }
}
