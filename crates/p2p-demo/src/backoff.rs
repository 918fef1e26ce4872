//! Reconnecting with backoff: how long a node waits before dialing a lost peer again.
//!
//! A node that lost a peer dials it again at once (the peer may only have restarted), then,
//! while the dials fail, waits twice as long after each failure, up to a cap. Without the
//! doubling, every node of a mesh would hammer a dead address at a fixed rate; without the cap,
//! a peer that returns after a long absence would wait as long again to be noticed. The delay
//! goes back to the start once a handshake succeeds. (Real systems also add *jitter*, a random
//! part of the delay, so that many nodes that lost the same peer at the same moment do not dial
//! it in step; with one dial per node per peer, the mesh here does without.)

use std::time::Duration;

// ANCHOR: backoff
/// The delays between failed dials to one address: `base`, `2 × base`, `4 × base`, ... up to
/// `cap`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `base` and never waits longer than `cap` (nor less than `base`).
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            next: base,
        }
    }

    /// The delay to wait after this failure; the next one will be twice as long, capped.
    pub fn after_failure(&mut self) -> Duration {
        let now = self.next;
        self.next = self.next.saturating_mul(2).min(self.cap);
        now
    }

    /// Back to `base`, after a success.
    pub fn reset(&mut self) {
        self.next = self.base;
    }
}
// ANCHOR_END: backoff

#[cfg(test)]
mod tests {
    use super::*;

    /// The delays double from the base and stop at the cap; a reset starts over; an absurd cap
    /// does not overflow.
    #[test]
    fn delays_double_up_to_the_cap() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(500));
        let got: Vec<Duration> = (0..5).map(|_| b.after_failure()).collect();
        assert_eq!(got, [ms(100), ms(200), ms(400), ms(500), ms(500)]);
        b.reset();
        assert_eq!(b.after_failure(), ms(100));
        let mut huge = Backoff::new(ms(1), Duration::MAX);
        for _ in 0..200 {
            huge.after_failure();
        }
        assert_eq!(huge.after_failure(), Duration::MAX);
    }
}
