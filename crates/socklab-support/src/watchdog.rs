//! A bound on a whole step of a test, so that a bug fails the test instead of hanging CI.
//!
//! Socket timeouts (`set_read_timeout` and friends) bound single calls; [`within`] bounds a
//! whole sequence of them, including ones in code under test that has no timeout of its own.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `body` on its own thread and returns its result, or panics (failing the test) if it
/// has not finished within `limit`. A panic inside `body` is passed on as it was.
///
/// The thread of a body that overran is left behind; the failing test's process is about to
/// report and exit anyway.
pub fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done_tx, done_rx) = mpsc::channel();
    let worker = thread::Builder::new()
        .name(format!("within: {what}"))
        .spawn(move || {
            let result = body();
            // The receiver is gone only if the watchdog already gave up; nothing to do then.
            let _ = done_tx.send(());
            result
        })
        .expect("spawn watchdog thread");
    match done_rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => {
            panic!("`{what}` did not finish within {limit:?}: a blocking call is stuck")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A quick body's value comes back.
    #[test]
    fn returns_the_value() {
        assert_eq!(within(Duration::from_secs(5), "add", || 2 + 2), 4);
    }

    /// A body that never finishes makes `within` panic with the step's name.
    #[test]
    #[should_panic(expected = "`park forever` did not finish")]
    fn overrun_panics() {
        within(Duration::from_millis(50), "park forever", || {
            let (_tx, rx) = mpsc::channel::<()>();
            // Blocks until the test process exits: the sender is never used.
            let _ = rx.recv();
        });
    }
}
