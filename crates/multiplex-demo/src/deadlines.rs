//! Deadlines without timer threads: every connection's deadline in one sorted set, and the
//! wait's timeout taken from the nearest.
//!
//! A connection's deadline is the idle timeout after its last progress, but never later than
//! the frame timeout after the first byte of the frame now arriving: a client dripping one byte
//! at a time (slowloris) makes progress forever, yet its frame never completes. The frame clock
//! starts again with each new frame, so a long pipelined stream of complete frames is never
//! mistaken for a slow one, and it stops while the server itself refuses to read
//! (back-pressure).
//!
//! Times are added with `checked_add`: a configured timeout of years (or `Duration::MAX`)
//! means "not in any lifetime that matters", never a panic on overflow.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `at + d`, or the furthest time this platform's clock can represent near it when that
/// overflows: a deadline that will not come.
pub fn later(at: Instant, d: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);
    at.checked_add(d)
        .or_else(|| at.checked_add(FAR))
        .unwrap_or(at)
}

/// When a connection that made progress at `now` must be closed if nothing else happens.
///
/// `frame_started` is when the frame partly received began (`None` between frames, or while
/// reading is paused by back-pressure).
pub fn deadline(
    now: Instant,
    frame_started: Option<Instant>,
    idle_timeout: Duration,
    frame_timeout: Duration,
) -> Instant {
    let idle = later(now, idle_timeout);
    match frame_started {
        Some(began) => idle.min(later(began, frame_timeout)),
        None => idle,
    }
}

/// Every connection's deadline, nearest first: `(when, token)`.
#[derive(Debug, Default)]
pub struct Deadlines {
    set: BTreeSet<(Instant, usize)>,
}

impl Deadlines {
    /// Sets `token`'s deadline, replacing `old`.
    pub fn reset(&mut self, token: usize, old: Instant, new: Instant) {
        self.set.remove(&(old, token));
        self.set.insert((new, token));
    }

    /// Adds a connection's first deadline.
    pub fn insert(&mut self, token: usize, at: Instant) {
        self.set.insert((at, token));
    }

    /// Forgets a connection's deadline.
    pub fn remove(&mut self, token: usize, at: Instant) {
        self.set.remove(&(at, token));
    }

    /// The nearest deadline.
    pub fn first(&self) -> Option<Instant> {
        self.set.first().map(|(at, _)| *at)
    }

    /// A connection whose deadline is at or before `now`, if any.
    pub fn expired(&self, now: Instant) -> Option<usize> {
        self.set
            .first()
            .filter(|(at, _)| *at <= now)
            .map(|(_, token)| *token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An absurd timeout is a deadline far away, not a panic.
    #[test]
    fn huge_timeouts_do_not_overflow() {
        let now = Instant::now();
        let d = deadline(now, Some(now), Duration::MAX, Duration::MAX);
        assert!(d > now + Duration::from_secs(365 * 24 * 3600));
    }

    /// A frame in progress caps the deadline at its frame timeout; between frames only the
    /// idle timeout counts.
    #[test]
    fn the_frame_clock_caps_the_idle_deadline() {
        let now = Instant::now();
        let (idle, frame) = (Duration::from_secs(30), Duration::from_secs(10));
        let began = now - Duration::from_secs(4);
        assert_eq!(deadline(now, Some(began), idle, frame), began + frame);
        assert_eq!(deadline(now, None, idle, frame), now + idle);
    }
}
