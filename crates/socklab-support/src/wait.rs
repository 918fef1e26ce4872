//! Waiting, bounded, for something that no call reports: a counter in a server, a connection's
//! state in `/proc/net/tcp`, a thread's state, bytes in a receive queue.
//!
//! When a test can be *told* that something happened (a channel, a `Barrier`, a read that
//! returns), it should be. Some things only show when looked at; then the only honest wait is
//! to look again and again, with a bound, and to fail loudly at the bound instead of hanging.
//! These functions are that loop, written once. They yield the processor between looks for the
//! first few milliseconds (loopback changes take microseconds), then sleep briefly between
//! looks, so that a long wait does not take a core from the code it is waiting for. A sleep
//! here never *decides* anything: the condition does.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

/// How long the loop only yields between looks before it starts to sleep between them.
const SPIN: Duration = Duration::from_millis(2);

/// The sleep between looks after [`SPIN`]: short next to any bound a test sets.
const NAP: Duration = Duration::from_micros(500);

/// Calls `probe` until `done` accepts what it returned, or until `limit` has passed, and
/// returns the last value either way (the caller decides what a value that never got there
/// means). `probe` is called at least once.
///
/// With a fallible probe, `done` can stop at the first error:
/// `last(limit, || state(), |s| s.as_ref().map_or(true, |s| *s == want))`.
pub fn last<T>(
    limit: Duration,
    mut probe: impl FnMut() -> T,
    mut done: impl FnMut(&T) -> bool,
) -> T {
    let started = Instant::now();
    loop {
        let value = probe();
        let waited = started.elapsed();
        if done(&value) || waited >= limit {
            return value;
        }
        if waited < SPIN {
            thread::yield_now();
        } else {
            thread::sleep(NAP.min(limit - waited));
        }
    }
}

/// Waits until `done()` holds, for at most `limit`; fails with `TimedOut` naming `what`
/// otherwise. In a test, `.unwrap()` it: the panic message says what never happened.
pub fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> io::Result<()> {
    try_until(limit, what, || Ok(done()))
}

/// [`until`] with a check that can fail: its first error ends the wait and is returned.
pub fn try_until(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> io::Result<bool>,
) -> io::Result<()> {
    match last(limit, &mut done, |r| !matches!(r, Ok(false))) {
        Ok(true) => Ok(()),
        Ok(false) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: did not happen within {limit:?}"),
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// A condition that another thread makes true ends the wait, well before the bound.
    #[test]
    fn returns_once_the_condition_holds() {
        let flag = Arc::new(AtomicBool::new(false));
        let setter = {
            let flag = Arc::clone(&flag);
            thread::spawn(move || flag.store(true, Ordering::Relaxed))
        };
        let started = Instant::now();
        until(Duration::from_secs(10), "the flag", || {
            flag.load(Ordering::Relaxed)
        })
        .unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        setter.join().unwrap();
    }

    /// A condition that never holds fails with `TimedOut` naming it, and not before the bound
    /// (a lower bound: the wait really waited).
    #[test]
    fn times_out_naming_what_never_happened() {
        let limit = Duration::from_millis(50);
        let started = Instant::now();
        let err = until(limit, "the moon to turn blue", || false).unwrap_err();
        assert!(started.elapsed() >= limit);
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(err.to_string().contains("the moon to turn blue"), "{err}");
    }

    /// A failing check ends the wait at once with its own error.
    #[test]
    fn the_first_error_ends_the_wait() {
        let started = Instant::now();
        let err = try_until(Duration::from_secs(10), "x", || {
            Err(io::Error::other("broken probe"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "broken probe");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    /// `last` hands back the value that satisfied it, or the last one seen at the bound.
    #[test]
    fn last_returns_the_last_value_seen() {
        let mut n = 0;
        let got = last(
            Duration::from_secs(10),
            || {
                n += 1;
                n
            },
            |v| *v == 3,
        );
        assert_eq!(got, 3);
        let got = last(Duration::from_millis(20), || 7, |v| *v == 8);
        assert_eq!(got, 7, "never 8: the last value seen");
    }
}
